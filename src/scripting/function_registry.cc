#include "function_registry.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <utility>

#include "commands/args.h"

namespace edgekv {

const FunctionDef* Library::Find(std::string_view function) const {
  auto it = std::lower_bound(
      functions.begin(), functions.end(), function,
      [](const FunctionDef& f, std::string_view name) { return f.name < name; });
  return it != functions.end() && it->name == function ? &*it : nullptr;
}

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
  std::string_view line = code.substr(0, eol);
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < line.size();) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t end = i;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])))
      ++end;
    if (end > i) parts.push_back(line.substr(i, end - i));
    i = end;
  }
  if (parts.empty()) {
    *error = "Invalid library metadata";
    return nullptr;
  }
  auto lib = std::make_unique<Library>();
  lib->engine.assign(parts[0].substr(2));
  bool named = false;
  for (size_t p = 1; p < parts.size(); ++p) {
    std::string_view part = parts[p];
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
                             bool replace, std::string* error) {
  if (next.libraries.count(library->name) != 0) {
    if (!replace) {
      *error = "Library '" + library->name + "' already exists";
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
  if (!AddTo(*next, std::move(library), replace, error)) return false;
  state_ = std::move(next);
  ++generation_;
  return true;
}

bool FunctionRegistry::AddAll(
    const std::vector<std::shared_ptr<const Library>>& libraries, bool flush,
    bool replace, std::string* error) {
  MutexLock lock(&mu_);
  auto next = flush ? std::make_shared<State>() : std::make_shared<State>(*state_);
  for (const auto& lib : libraries) {
    if (!AddTo(*next, lib, replace, error)) return false;
  }
  state_ = std::move(next);
  ++generation_;
  return true;
}

bool FunctionRegistry::Delete(std::string_view name) {
  MutexLock lock(&mu_);
  if (state_->libraries.count(name) == 0) return false;
  auto next = std::make_shared<State>(*state_);
  Remove(*next, name);
  state_ = std::move(next);
  ++generation_;
  return true;
}

void FunctionRegistry::Flush() {
  MutexLock lock(&mu_);
  state_ = std::make_shared<State>();
  ++generation_;
}

size_t FunctionRegistry::library_count() const { return Current()->libraries.size(); }
size_t FunctionRegistry::function_count() const { return Current()->functions.size(); }

uint64_t FunctionRegistry::generation() const {
  MutexLock lock(&mu_);
  return generation_;
}

}  // namespace edgekv
