#include "function_registry.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <utility>

#include "commands/args.h"

namespace edgekv {

const FunctionDef* Library::Find(std::string_view function) const {
  for (const FunctionDef& f : functions) {
    if (EqualsIgnoreCase(f.name, function)) return &f;
  }
  return nullptr;
}

bool FunctionRegistry::NoCase::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) <
               std::tolower(static_cast<unsigned char>(y));
      });
}

namespace {

// Redis's sdssplitargs: words split at white space; double quotes (with
// escapes \n \r \t \b \a \xHH) and single quotes (with \') may start
// anywhere in a word and must be followed by white space or the end. False on
// unbalanced quotes.
bool SplitArgs(std::string_view line, std::vector<std::string>* out) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && space(line[i])) ++i;
    if (i >= n) return true;
    std::string word;
    bool in_double = false, in_single = false, done = false;
    while (!done) {
      if (in_double) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && hex(line[i + 2]) >= 0 &&
            hex(line[i + 3]) >= 0) {
          word.push_back(static_cast<char>(hex(line[i + 2]) * 16 + hex(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          char c = line[++i];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          word.push_back(c);
        } else if (line[i] == '"') {
          if (i + 1 < n && !space(line[i + 1])) return false;
          done = true;
        } else {
          word.push_back(line[i]);
        }
      } else if (in_single) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          word.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !space(line[i + 1])) return false;
          done = true;
        } else {
          word.push_back(line[i]);
        }
      } else if (i >= n || space(line[i])) {
        done = true;
      } else if (line[i] == '"') {
        in_double = true;
      } else if (line[i] == '\'') {
        in_single = true;
      } else {
        word.push_back(line[i]);
      }
      if (i < n) ++i;
    }
    out->push_back(std::move(word));
  }
}

}  // namespace

bool ValidFunctionName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::unique_ptr<Library> ParseLibrary(std::string_view code, std::string* error) {
  if (code.substr(0, 2) != "#!") {
    *error = "Missing library metadata";
    return nullptr;
  }
  const size_t eol = code.find('\n');
  if (eol == std::string_view::npos) {
    *error = "Invalid library metadata";
    return nullptr;
  }
  std::vector<std::string> parts;
  if (!SplitArgs(code.substr(0, eol), &parts) || parts.empty()) {
    *error = "Invalid library metadata";
    return nullptr;
  }
  auto lib = std::make_unique<Library>();
  lib->engine.assign(std::string_view(parts[0]).substr(2));
  bool named = false;
  for (size_t p = 1; p < parts.size(); ++p) {
    std::string_view part = parts[p];  // NOLINT: parts outlives it
    if (part.size() >= 5 && EqualsIgnoreCase(part.substr(0, 5), "name=")) {
      if (named) {
        *error = "Invalid metadata value, name argument was given multiple times";
        return nullptr;
      }
      lib->name.assign(part.substr(5));
      named = true;
      continue;
    }
    *error = "Invalid metadata value given: " + std::string(part);
    return nullptr;
  }
  if (!named) {
    *error = "Library name was not given";
    return nullptr;
  }
  if (!EqualsIgnoreCase(lib->engine, "lua")) {
    *error = "Engine '" + lib->engine + "' not found";
    return nullptr;
  }
  if (!ValidFunctionName(lib->name)) {
    *error =
        "Library names can only contain letters, numbers, or underscores(_) and must be "
        "at "
        "least one character long";
    return nullptr;
  }
  lib->engine = "LUA";
  lib->code.assign(code);
  lib->body.assign(code.substr(eol));  // from the newline: line numbers stay
  lib->id = FunctionRegistry::NewLibraryId();
  return lib;
}

uint64_t FunctionRegistry::NewLibraryId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<const FunctionRegistry::State> FunctionRegistry::Current() const {
  MutexLock lock(&mu_);
  return state_;
}

FunctionRegistry::Found FunctionRegistry::Find(std::string_view function) const {
  std::shared_ptr<const State> state = Current();
  auto it = state->functions.find(function);
  if (it == state->functions.end()) return {};
  const Library* lib = it->second;
  auto owner = state->libraries.find(lib->name);
  return {owner->second, lib->Find(function)};
}

std::shared_ptr<const Library> FunctionRegistry::FindLibrary(
    std::string_view name) const {
  std::shared_ptr<const State> state = Current();
  auto it = state->libraries.find(name);
  return it == state->libraries.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Library>> FunctionRegistry::All() const {
  std::shared_ptr<const State> state = Current();
  std::vector<std::shared_ptr<const Library>> out;
  out.reserve(state->libraries.size());
  for (const auto& [name, lib] : state->libraries) out.push_back(lib);
  return out;
}

void FunctionRegistry::Remove(State& next, std::string_view name) {
  auto it = next.libraries.find(name);
  if (it == next.libraries.end()) return;
  for (const FunctionDef& f : it->second->functions) next.functions.erase(f.name);
  next.libraries.erase(it);
}

bool FunctionRegistry::AddTo(State& next, std::shared_ptr<const Library> library,
                             bool replace, bool join, std::string* error) {
  if (next.libraries.count(library->name) != 0) {
    if (!replace) {
      // FUNCTION LOAD quotes the name, RESTORE's join does not (Redis 7.0).
      *error = join ? "Library " + library->name + " already exists"
                    : "Library '" + library->name + "' already exists";
      return false;
    }
    Remove(next, library->name);
  }
  for (const FunctionDef& f : library->functions) {
    if (next.functions.count(f.name) != 0) {
      *error = "Function " + f.name + " already exists";
      return false;
    }
  }
  for (const FunctionDef& f : library->functions) next.functions[f.name] = library.get();
  next.libraries[library->name] = std::move(library);
  return true;
}

bool FunctionRegistry::Add(std::shared_ptr<const Library> library, bool replace,
                           std::string* error) {
  MutexLock lock(&mu_);
  auto next = std::make_shared<State>(*state_);
  if (!AddTo(*next, std::move(library), replace, false, error)) return false;
  state_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
  return true;
}

bool FunctionRegistry::AddAll(
    const std::vector<std::shared_ptr<const Library>>& libraries, bool flush,
    bool replace, std::string* error) {
  MutexLock lock(&mu_);
  auto next = flush ? std::make_shared<State>() : std::make_shared<State>(*state_);
  for (const auto& lib : libraries) {
    if (!AddTo(*next, lib, replace, !flush, error)) return false;
  }
  state_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
  return true;
}

bool FunctionRegistry::Delete(std::string_view name) {
  MutexLock lock(&mu_);
  if (state_->libraries.count(name) == 0) return false;
  auto next = std::make_shared<State>(*state_);
  Remove(*next, name);
  state_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
  return true;
}

void FunctionRegistry::ApplyAll(std::span<const Change> changes,
                                std::vector<Skipped>* skipped) {
  MutexLock lock(&mu_);
  auto next = std::make_shared<State>(*state_);
  for (const Change& c : changes) {
    switch (c.kind) {
      case Change::Kind::kFlush:
        *next = State();
        break;
      case Change::Kind::kDelete:
        Remove(*next, c.name);
        break;
      case Change::Kind::kPut: {
        std::string error;
        if (c.library != nullptr && !AddTo(*next, c.library, true, false, &error)) {
          skipped->push_back({c.library, std::move(error)});
        }
        break;
      }
    }
  }
  state_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
}

void FunctionRegistry::Flush() {
  MutexLock lock(&mu_);
  state_ = std::make_shared<State>();
  generation_.fetch_add(1, std::memory_order_release);
}

size_t FunctionRegistry::library_count() const { return Current()->libraries.size(); }
size_t FunctionRegistry::function_count() const { return Current()->functions.size(); }

}  // namespace edgekv
