#include "command_table.h"

#include "args.h"

namespace edgekv {

CommandTable::CommandTable() {
  RegisterConnectionFamily(this);
  RegisterStringFamily(this);
  RegisterBitFamily(this);
  RegisterHashFamily(this);
  RegisterSetFamily(this);
  RegisterZSetFamily(this);
  RegisterIntrospectionFamily(this);
  RegisterLatencyFamily(this);
  RegisterKeyFamily(this);
  RegisterTransactionFamily(this);
  RegisterServerFamily(this);
  RegisterCommandFamily(this);
  RegisterPersistenceFamily(this);
  RegisterReplicationFamily(this);
  RegisterScriptingFamily(this);
  RegisterFunctionFamily(this);
}

namespace {
int KeyTypeOf(const CommandSpec& spec) {
  if (spec.first_key <= 0 || (spec.flags & kAnyKeyType)) return -1;
  std::string_view g = spec.group;
  if (g == "string" || g == "bitmap") return static_cast<int>(ValueType::kString);
  if (g == "hash") return static_cast<int>(ValueType::kHash);
  if (g == "set") return static_cast<int>(ValueType::kSet);
  if (g == "sorted-set") return static_cast<int>(ValueType::kZSet);
  return -1;
}
}  // namespace

void CommandTable::Add(CommandSpec spec) {
  spec.id = ids_++;
  spec.key_type = KeyTypeOf(spec);
  for (auto& sub : spec.subcommands) {
    sub.id = ids_++;
    sub.name = spec.name + "|" + sub.name;
    if (sub.group == std::string_view("generic")) sub.group = spec.group;
  }
  specs_.push_back(std::make_unique<CommandSpec>(std::move(spec)));
  by_name_[specs_.back()->name] = specs_.back().get();
}

namespace {
bool LowerInto(std::string_view in, char* buf, size_t cap, size_t* len) {
  if (in.size() > cap) return false;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  *len = in.size();
  return true;
}
}  // namespace

const CommandSpec* CommandTable::Find(std::string_view name) const {
  char buf[64];
  size_t len;
  if (!LowerInto(name, buf, sizeof(buf), &len)) return nullptr;
  auto it = by_name_.find(std::string(buf, len));
  return it == by_name_.end() ? nullptr : it->second;
}

const CommandSpec* CommandTable::FindFullName(std::string_view name) const {
  size_t bar = name.find('|');
  if (bar == std::string_view::npos) return Find(name);
  const CommandSpec* parent = Find(name.substr(0, bar));
  if (parent == nullptr) return nullptr;
  std::string_view sub = name.substr(bar + 1);
  if (sub.find('|') != std::string_view::npos) return nullptr;
  return FindSub(*parent, sub);
}

const CommandSpec* CommandTable::FindSub(const CommandSpec& parent,
                                         std::string_view sub) const {
  char buf[64];
  size_t len;
  if (!LowerInto(sub, buf, sizeof(buf), &len)) return nullptr;
  std::string_view s(buf, len);
  for (const auto& c : parent.subcommands) {
    std::string_view n(c.name);
    if (n.substr(n.find('|') + 1) == s) return &c;
  }
  return nullptr;
}

bool ArityOk(const CommandSpec& spec, size_t argc) {
  int n = static_cast<int>(argc);
  return spec.arity >= 0 ? n == spec.arity : n >= -spec.arity;
}

std::vector<std::string_view> CommandKeys(const CommandSpec& spec,
                                          std::span<const std::string_view> args) {
  std::vector<std::string_view> keys;
  int argc = static_cast<int>(args.size());
  if (spec.numkeys_at > 0 && spec.numkeys_at < argc) {
    // A count the command itself will refuse names no keys.
    int64_t n = 0;
    if (ParseInt64(args[static_cast<size_t>(spec.numkeys_at)], &n) && n > 0 &&
        n < argc - spec.numkeys_at) {
      for (int64_t i = 1; i <= n; ++i)
        keys.push_back(args[static_cast<size_t>(spec.numkeys_at + i)]);
    }
  }
  if (spec.first_key <= 0) return keys;
  int last = spec.last_key < 0 ? argc + spec.last_key : spec.last_key;
  int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last && i < argc; i += step) {
    keys.push_back(args[static_cast<size_t>(i)]);
  }
  return keys;
}

}  // namespace edgekv
