// Function libraries from their code: FUNCTION LOAD's and RESTORE's, and
// those a restart reads from disk or a replica gets in the stream. The
// library's code runs in the calling thread's function state (lua_vm.h).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "function_registry.h"

namespace edgekv {

// A library with its functions; null with the error reply text ("ERR ...")
// in *error.
std::shared_ptr<const Library> CompileLibrary(std::string_view code, std::string* error);

// Sets the registry to these libraries (name, code), as a restart finds them
// on disk; a library that no longer compiles is logged and skipped.
void LoadLibraries(FunctionRegistry& registry,
                   const std::vector<std::pair<std::string, std::string>>& libraries);

// A logged library change (wal_format.h): kLibraryPut with the name and
// code, kLibraryDelete with the name, kLibraryFlush.
struct LibraryChange {
  FunctionRegistry::Change::Kind kind;
  std::string_view name;
  std::string_view code;
};
// Applies one batch's changes as one (FunctionRegistry::ApplyAll), each put
// compiled first; one that does not compile or fit is logged and left out.
void ApplyLibraryChanges(FunctionRegistry& registry,
                         std::span<const LibraryChange> changes);

}  // namespace edgekv
