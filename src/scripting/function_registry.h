// The function libraries the server knows (FUNCTION LOAD), server-wide and
// persistent: every change is logged (wal_format.h's library operations),
// so libraries survive restarts and reach replicas. A library's functions
// are found here by name; each I/O thread runs a library's code in its own
// Lua state on first use (lua_vm.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/thread_annotations.h"

namespace edgekv {

struct FunctionDef {
  std::string name;
  std::string description;
  bool has_description = false;
  uint32_t flags = 0;  // ScriptFlag bits (script_cache.h)
  // As Script::strikes (shared by copies).
  std::shared_ptr<std::atomic<uint32_t>> strikes =
      std::make_shared<std::atomic<uint32_t>>(0);
};

struct Library {
  std::string name;
  std::string engine;  // "LUA"
  std::string code;    // as FUNCTION LOAD got it, the "#!lua" line included
  // What the Lua compiler reads: the code with its first line blanked (line
  // numbers stay those of the code).
  std::string body;
  std::vector<FunctionDef> functions;  // sorted by name
  uint64_t id = 0;                     // unique per load, for the Lua states' caches

  // By name, case-insensitively.
  const FunctionDef* Find(std::string_view function) const;
};

// Parses a library's "#!<engine> name=<name>" line into a Library without
// functions; null with Redis's error text (no "ERR ") in *error.
std::unique_ptr<Library> ParseLibrary(std::string_view code, std::string* error);

// Letters, digits and underscores, at least one: library and function names.
bool ValidFunctionName(std::string_view name);

class FunctionRegistry {
 public:
  struct Found {
    std::shared_ptr<const Library> library;
    const FunctionDef* function = nullptr;
  };
  Found Find(std::string_view function) const EXCLUDES(mu_);
  std::shared_ptr<const Library> FindLibrary(std::string_view name) const EXCLUDES(mu_);
  // By name.
  std::vector<std::shared_ptr<const Library>> All() const EXCLUDES(mu_);

  // Adds a compiled library (its functions known); with `replace` one of the
  // same name goes first. False with Redis's error text (no "ERR ") when the
  // name is taken, or a function name is another library's.
  bool Add(std::shared_ptr<const Library> library, bool replace, std::string* error)
      EXCLUDES(mu_);
  // Adds every library or none (FUNCTION RESTORE): `flush` first drops them
  // all; `replace` lets them replace libraries of the same name.
  bool AddAll(const std::vector<std::shared_ptr<const Library>>& libraries, bool flush,
              bool replace, std::string* error) EXCLUDES(mu_);
  bool Delete(std::string_view name) EXCLUDES(mu_);
  void Flush() EXCLUDES(mu_);

  // One logged change (a replica's), for ApplyAll.
  struct Change {
    enum class Kind { kPut, kDelete, kFlush } kind;
    std::string_view name;                   // kPut, kDelete
    std::shared_ptr<const Library> library;  // kPut: compiled; null if it did not compile
  };
  struct Skipped {
    std::shared_ptr<const Library> library;
    std::string error;
  };
  // Applies one batch's changes, in their order, as one change: a reader
  // sees all of them or none (FUNCTION RESTORE ... FLUSH reaches a replica
  // as a flush and puts). A put replaces a library of its name; one without
  // a library (it did not compile) is left out, and so is one that another
  // library's function names refuse, listed in *skipped.
  void ApplyAll(std::span<const Change> changes, std::vector<Skipped>* skipped)
      EXCLUDES(mu_);

  size_t library_count() const EXCLUDES(mu_);
  size_t function_count() const EXCLUDES(mu_);
  // Changes with every change: Lua states forget libraries that are gone.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  static uint64_t NewLibraryId();

 private:
  // Function names are case-insensitive (FCALL F1 runs f1), library names
  // are not, as in Redis.
  struct NoCase {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
  };
  struct State {
    std::map<std::string, std::shared_ptr<const Library>, std::less<>> libraries;
    std::map<std::string, const Library*, NoCase> functions;
  };
  // Checks and applies to `next`; false with the error.
  static bool AddTo(State& next, std::shared_ptr<const Library> library, bool replace,
                    bool join, std::string* error);
  static void Remove(State& next, std::string_view name);
  std::shared_ptr<const State> Current() const EXCLUDES(mu_);

  mutable Mutex mu_;
  // Copied on write: readers keep the one they took.
  std::shared_ptr<const State> state_ GUARDED_BY(mu_) = std::make_shared<State>();
  std::atomic<uint64_t> generation_{0};  // changed under mu_, read without it
};

}  // namespace edgekv
