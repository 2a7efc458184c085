#include "edgekv/config.h"

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "edgekv/glob.h"
#include "edgekv/resp_parser.h"

namespace edgekv {
namespace {

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return r;
}

std::string Join(const std::vector<std::string>& v, size_t from) {
  std::string r;
  for (size_t i = from; i < v.size(); ++i) {
    if (i > from) r.push_back(' ');
    r += v[i];
  }
  return r;
}

}  // namespace

Config::Config() {
  for (auto& i : ints_) i.store(0);
  for (const auto& spec : AllDirectives()) {
    Status s = SetSpec(spec, spec.default_value);
    (void)s;  // defaults are valid by construction (tested)
  }
}

bool Config::IsSensitive(std::string_view name) {
  const DirectiveSpec* spec = Find(name);
  return spec != nullptr && spec->sensitive;
}

namespace {
// Older names Redis still accepts for a directive (CONFIG GET answers both).
constexpr std::pair<std::string_view, Cfg> kAliases[] = {
    {"lua-time-limit", Cfg::kBusyReplyThreshold},
    {"hash-max-ziplist-entries", Cfg::kHashMaxListpackEntries},
    {"hash-max-ziplist-value", Cfg::kHashMaxListpackValue},
    {"set-max-ziplist-entries", Cfg::kSetMaxListpackEntries},
    {"set-max-ziplist-value", Cfg::kSetMaxListpackValue},
    {"zset-max-ziplist-entries", Cfg::kZsetMaxListpackEntries},
    {"zset-max-ziplist-value", Cfg::kZsetMaxListpackValue},
};
}  // namespace

const DirectiveSpec* Config::Find(std::string_view name) {
  std::string n = Lower(name);
  if (n == "slaveof") n = "replicaof";
  std::optional<Cfg> aliased;
  for (const auto& [alias, id] : kAliases) {
    if (n == alias) aliased = id;
  }
  for (const auto& spec : AllDirectives()) {
    if (aliased.has_value() && spec.id == *aliased) return &spec;
    if (n == spec.name) return &spec;
  }
  return nullptr;
}

Status Config::SetSpec(const DirectiveSpec& spec, std::string_view value) {
  const size_t idx = static_cast<size_t>(spec.id);
  int64_t num = 0;
  switch (spec.type) {
    case DirectiveType::kBool: {
      std::string v = Lower(value);
      if (v == "yes") {
        num = 1;
      } else if (v == "no") {
        num = 0;
      } else {
        return Status::InvalidArgument("argument must be 'yes' or 'no'");
      }
      break;
    }
    case DirectiveType::kInt: {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), num);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return Status::InvalidArgument("argument couldn't be parsed into an integer");
      }
      break;
    }
    case DirectiveType::kMemory:
      if (!ParseMemory(value, &num)) {
        return Status::InvalidArgument("argument must be a memory value");
      }
      break;
    case DirectiveType::kEnum: {
      std::string v = Lower(value);
      bool found = false;
      for (int i = 0; spec.enum_values[i] != nullptr; ++i) {
        if (v == spec.enum_values[i]) {
          num = i;
          found = true;
        }
      }
      if (!found)
        return Status::InvalidArgument(
            "argument(s) must be one of the following: " + [&] {
              std::string all;
              for (int i = 0; spec.enum_values[i] != nullptr; ++i) {
                if (i) all += ", ";
                all += spec.enum_values[i];
              }
              return all;
            }());
      break;
    }
    case DirectiveType::kString:
      break;
  }
  if (spec.type == DirectiveType::kInt || spec.type == DirectiveType::kMemory) {
    if (num < spec.min || num > spec.max) {
      return Status::InvalidArgument("argument must be between " +
                                     std::to_string(spec.min) + " and " +
                                     std::to_string(spec.max) + " inclusive");
    }
  }
  if (spec.validate != nullptr) {
    std::string err = spec.validate(value);
    if (!err.empty()) return Status::InvalidArgument(err);
  }
  {
    MutexLock l(&mu_);
    if (spec.type == DirectiveType::kEnum) {
      strings_[idx] = spec.enum_values[num];
    } else if (spec.type == DirectiveType::kBool) {
      strings_[idx] = num ? "yes" : "no";
    } else if (spec.type == DirectiveType::kString) {
      strings_[idx] = std::string(value);
      num = value.empty() ? 0 : 1;
    } else {
      strings_[idx] = std::to_string(num);
    }
  }
  ints_[idx].store(num, std::memory_order_relaxed);
  if (spec.id == Cfg::kClientOutputBufferLimit) {
    std::istringstream in{std::string(value)};
    std::string cls, h, sft, sec;
    while (in >> cls >> h >> sft >> sec) {
      int64_t a = 0, b = 0, c = 0;
      if (cls == "normal" && ParseMemory(h, &a) && ParseMemory(sft, &b) &&
          ParseMemory(sec, &c)) {
        normal_hard_ = a;
        normal_soft_ = b;
        normal_soft_seconds_ = c;
      }
    }
  }
  return Status::Ok();
}

Status Config::Set(std::string_view name, std::string_view value, bool runtime) {
  const DirectiveSpec* spec = Find(name);
  if (spec == nullptr && runtime && IsRedisImmutable(Lower(name))) {
    return Status::InvalidArgument("can't set immutable config");
  }
  if (spec == nullptr) return Status::NotFound("Unknown option");
  if (runtime && !spec->mutable_at_runtime) {
    return Status::InvalidArgument("can't set immutable config");
  }
  Status s = SetSpec(*spec, value);
  if (s.ok() && runtime && on_change_) on_change_(spec->id);
  return s;
}

Status Config::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("Fatal error, can't open config file '" + path + "'");
  {
    MutexLock l(&mu_);
    config_file_ = path;
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::vector<std::string> words;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    if (!SplitInlineArgs(line, &words)) {
      return Status::InvalidArgument(path + ":" + std::to_string(lineno) +
                                     ": unbalanced quotes in '" + line + "'");
    }
    if (words.empty()) continue;
    std::string value = Join(words, 1);
    if (words.size() == 1) value.clear();
    Status s = Set(words[0], value, false);
    if (!s.ok()) {
      return Status::InvalidArgument(path + ":" + std::to_string(lineno) + ": '" +
                                     words[0] + "': " + s.message());
    }
  }
  return Status::Ok();
}

Status Config::ApplyArgs(const std::vector<std::string>& args) {
  size_t i = 0;
  while (i < args.size()) {
    if (args[i].rfind("--", 0) != 0 || args[i].size() <= 2) {
      return Status::InvalidArgument("expected '--directive value', got '" + args[i] +
                                     "'");
    }
    std::string name = args[i].substr(2);
    std::vector<std::string> vals;
    ++i;
    while (i < args.size() && !(args[i].rfind("--", 0) == 0 && args[i].size() > 2)) {
      vals.push_back(args[i++]);
    }
    Status s = Set(name, Join(vals, 0), false);
    if (!s.ok()) {
      return Status::InvalidArgument("'" + name + "': " + s.message());
    }
  }
  return Status::Ok();
}

std::vector<std::pair<std::string, std::string>> Config::Match(
    std::string_view pattern) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& spec : AllDirectives()) {
    if (GlobMatch(pattern, spec.name, true)) {
      std::string text = GetText(spec.id);
      out.emplace_back(spec.name, spec.normalize ? spec.normalize(text) : text);
    } else if (spec.id == Cfg::kReplicaof && GlobMatch(pattern, "slaveof", true)) {
      out.emplace_back("slaveof", GetText(spec.id));
    }
    for (const auto& [alias, id] : kAliases) {
      if (spec.id == id && GlobMatch(pattern, alias, true)) {
        out.emplace_back(std::string(alias), GetText(spec.id));
      }
    }
  }
  return out;
}

std::string Config::GetText(Cfg id) const {
  MutexLock l(&mu_);
  return strings_[static_cast<size_t>(id)];
}

std::string Config::String(Cfg id) const { return GetText(id); }

OutputLimit Config::NormalOutputLimit() const {
  OutputLimit lim;
  lim.hard_bytes = normal_hard_.load(std::memory_order_relaxed);
  lim.soft_bytes = normal_soft_.load(std::memory_order_relaxed);
  lim.soft_seconds = normal_soft_seconds_.load(std::memory_order_relaxed);
  return lim;
}

std::string Config::config_file() const {
  MutexLock l(&mu_);
  return config_file_;
}

}  // namespace edgekv
