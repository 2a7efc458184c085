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

namespace {
void Put(FunctionRegistry& registry, std::string_view name, std::string_view code) {
  std::string error;
  std::shared_ptr<const Library> lib = CompileLibrary(code, &error);
  if (lib != nullptr && !registry.Add(lib, true, &error)) {
    LuaVm::ForFunctions().ForgetLibrary(lib->id);
    lib = nullptr;
  }
  if (lib == nullptr) {
    Log(LogLevel::kWarning, "Function library '{}' could not be loaded: {}", name, error);
  }
}
}  // namespace

void LoadLibraries(FunctionRegistry& registry,
                   const std::vector<std::pair<std::string, std::string>>& libraries) {
  registry.Flush();
  for (const auto& [name, code] : libraries) Put(registry, name, code);
  LuaVm::ForFunctions().SweepLibraries(registry);
}

void ApplyLibraryChange(FunctionRegistry& registry, LibraryChange change,
                        std::string_view name, std::string_view code) {
  switch (change) {
    case LibraryChange::kPut:
      Put(registry, name, code);
      break;
    case LibraryChange::kDelete:
      registry.Delete(name);
      break;
    case LibraryChange::kFlush:
      registry.Flush();
      break;
  }
  LuaVm::ForFunctions().SweepLibraries(registry);
}

}  // namespace edgekv
