#include "library_loader.h"

#include "edgekv/log.h"
#include "lua_vm.h"

namespace edgekv {

std::shared_ptr<const Library> CompileLibrary(std::string_view code, std::string* error) {
  std::unique_ptr<Library> lib = ParseLibrary(code, error);
  if (lib == nullptr) {
    error->insert(0, "ERR ");
    return nullptr;
  }
  if (!LuaVm::ForFunctions().LoadLibrary(*lib, &lib->functions, error)) return nullptr;
  return std::shared_ptr<const Library>(std::move(lib));
}

void LoadLibraries(FunctionRegistry& registry,
                   const std::vector<std::pair<std::string, std::string>>& libraries) {
  std::vector<LibraryChange> changes;
  changes.push_back({FunctionRegistry::Change::Kind::kFlush, {}, {}});
  for (const auto& [name, code] : libraries) {
    changes.push_back({FunctionRegistry::Change::Kind::kPut, name, code});
  }
  ApplyLibraryChanges(registry, changes);
}

void ApplyLibraryChanges(FunctionRegistry& registry,
                         std::span<const LibraryChange> changes) {
  std::vector<FunctionRegistry::Change> compiled;
  compiled.reserve(changes.size());
  for (const LibraryChange& c : changes) {
    std::shared_ptr<const Library> lib;
    if (c.kind == FunctionRegistry::Change::Kind::kPut) {
      std::string error;
      lib = CompileLibrary(c.code, &error);
      if (lib == nullptr) {
        Log(LogLevel::kWarning, "Function library '{}' could not be loaded: {}", c.name,
            error);
      }
    }
    compiled.push_back({c.kind, c.name, std::move(lib)});
  }
  std::vector<FunctionRegistry::Skipped> skipped;
  registry.ApplyAll(compiled, &skipped);
  for (const FunctionRegistry::Skipped& s : skipped) {
    LuaVm::ForFunctions().ForgetLibrary(s.library->id);
    Log(LogLevel::kWarning, "Function library '{}' could not be loaded: {}",
        s.library->name, s.error);
  }
  LuaVm::ForFunctions().SweepLibraries(registry);
}

}  // namespace edgekv
