// The scripts the server knows, by SHA1 of their body: those SCRIPT LOAD
// added stay until SCRIPT FLUSH; those EVAL added are kept for EVALSHA too,
// the least recently used evicted past kMaxEvalScripts, so that EVAL of
// ever-new texts cannot grow memory without bound (as Redis 7.4 does).
// Shared by every I/O thread; each thread compiles a script in its own Lua
// state on first use (lua_vm.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "edgekv/thread_annotations.h"

namespace edgekv {

// A script's "#!lua flags=..." line (absent: a script without one, which
// Redis runs with the pre-7.0 rules: writes allowed, and out of memory
// checked only when it writes).
enum ScriptFlag : uint32_t {
  kScriptNoWrites = 1u << 0,
  kScriptAllowOom = 1u << 1,
  kScriptAllowStale = 1u << 2,
  kScriptNoCluster = 1u << 3,
  kScriptAllowCrossSlot = 1u << 4,
  kScriptHasShebang = 1u << 5,
};

struct Script {
  std::string sha;   // 40 lower-case hex digits
  std::string body;  // as given
  // What the Lua compiler reads: the body, its shebang line turned into a
  // comment (line numbers stay those of the body).
  std::string code;
  uint32_t flags = 0;
  // Keyed mode's strikes (commands/script_runner.h): past kAloneStrikes
  // its runs go alone at once.
  mutable std::atomic<uint32_t> strikes{0};
};

// Parses a body's shebang into *flags (ScriptFlag) and *code; false with
// Redis's error text in *error.
bool ParseShebang(std::string_view body, uint32_t* flags, std::string* code,
                  std::string* error);

// 40 lower-case hex digits.
std::string Sha1Hex(std::string_view data);

class ScriptCache {
 public:
  static constexpr size_t kMaxEvalScripts = 500;

  // A script for this body (its SHA1 given), not yet cached; null with
  // Redis's error in *error for a bad shebang.
  static std::shared_ptr<Script> Prepare(std::string_view body, std::string sha,
                                         std::string* error);
  // Caches a prepared script (once it compiled) and returns the cached one
  // (another thread's, if it came first). `loaded`: SCRIPT LOAD's, kept
  // until FLUSH (a script EVAL cached first becomes one); else EVAL's.
  std::shared_ptr<const Script> Insert(std::shared_ptr<const Script> script, bool loaded)
      EXCLUDES(mu_);
  // By SHA1 (any case); null if unknown. Counts as a use.
  std::shared_ptr<const Script> Find(std::string_view sha) EXCLUDES(mu_);
  // As Find, without a reference of the caller's own: the script stays
  // valid on this thread until its next Find or FindForThread (the thread
  // keeps one). EVALSHA looks its script up twice per call, on every I/O
  // thread: copies of one shared pointer would have them all write its
  // count.
  const Script* FindForThread(std::string_view sha) EXCLUDES(mu_);
  bool Exists(std::string_view sha) const EXCLUDES(mu_);
  // SCRIPT FLUSH: forgets every script; Lua states rebuild themselves when
  // they see the generation change.
  void Flush() EXCLUDES(mu_);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  size_t size() const EXCLUDES(mu_);
  size_t body_bytes() const EXCLUDES(mu_);  // INFO used_memory_scripts_eval
  uint64_t evicted() const EXCLUDES(mu_);

 private:
  struct Slot {
    std::shared_ptr<const Script> script;
    bool loaded = false;
    std::list<std::string>::iterator lru;  // EVAL's only
  };
  static std::string Lower(std::string_view sha);
  // The script by SHA1 as this thread keeps it (an empty pointer if none).
  const std::shared_ptr<const Script>& FindKept(std::string_view sha) EXCLUDES(mu_);
  mutable Mutex mu_;
  std::unordered_map<std::string, Slot> by_sha_ GUARDED_BY(mu_);
  std::list<std::string> eval_lru_ GUARDED_BY(mu_);  // most recent first
  size_t body_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t evicted_ GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> generation_{0};

 public:
  // The script running now, if any (scripts run one at a time, alone
  // among commands): for BUSY, SCRIPT KILL and the placement of new
  // connections. The script's hook looks at the kill and abort requests.
  // `function`: FCALL's (its name), for FUNCTION STATS with `command`.
  void BeginRun(int64_t now_ms, std::string_view function = {},
                std::span<const std::string_view> command = {}) {
    if (!function.empty()) {
      MutexLock lock(&function_mu_);
      function_name_.assign(function);
      function_command_.assign(command.begin(), command.end());
    }
    function_.store(!function.empty(), std::memory_order_relaxed);
    kill_.store(false, std::memory_order_relaxed);
    wrote_.store(false, std::memory_order_relaxed);
    busy_noticed_.store(false, std::memory_order_relaxed);
    thread_.store(tl_thread_index, std::memory_order_relaxed);
    since_ms_.store(now_ms, std::memory_order_release);
  }
  void EndRun() {
    since_ms_.store(0, std::memory_order_release);
    thread_.store(-1, std::memory_order_relaxed);
  }
  bool running() const { return since_ms_.load(std::memory_order_acquire) != 0; }
  // The running script is a function (FCALL), not EVAL's.
  bool running_function() const { return function_.load(std::memory_order_relaxed); }
  // FUNCTION STATS: false when no function runs.
  bool RunningFunction(std::string* name, std::vector<std::string>* command,
                       int64_t* since_ms) const EXCLUDES(function_mu_) {
    *since_ms = since_ms_.load(std::memory_order_acquire);
    if (*since_ms == 0 || !running_function()) return false;
    MutexLock lock(&function_mu_);
    *name = function_name_;
    *command = function_command_;
    return true;
  }
  // When the running script began (unix ms), 0 when none.
  int64_t running_since() const { return since_ms_.load(std::memory_order_acquire); }
  // The I/O thread that runs it (see SetThreadIndex), -1 when none.
  int running_thread() const { return thread_.load(std::memory_order_relaxed); }
  void MarkWrote() { wrote_.store(true, std::memory_order_relaxed); }
  bool running_wrote() const { return wrote_.load(std::memory_order_relaxed); }
  void RequestKill() { kill_.store(true, std::memory_order_release); }
  bool TakeKill() { return kill_.exchange(false, std::memory_order_acq_rel); }
  // The server stops: a running script ends at its next hook, written or
  // not, and so does any script started later.
  void AbortAll() { abort_.store(true, std::memory_order_release); }
  bool aborting() const { return abort_.load(std::memory_order_acquire); }
  // The network layer numbers its I/O threads.
  static void SetThreadIndex(int index) { tl_thread_index = index; }
  // Set by the network layer before its threads start: called on the
  // running script's own thread, with its index, once per run, when the
  // script's hook finds that it has run busy-reply-threshold (other clients
  // are answered BUSY from then on). The thread hands its other clients to
  // threads that can answer them.
  std::function<void(int thread)> on_busy;
  // The hook's call, on the script's thread.
  void NoticeBusy() {
    if (busy_noticed_.exchange(true, std::memory_order_relaxed)) return;
    if (on_busy) on_busy(tl_thread_index);
  }
  bool busy_noticed() const { return busy_noticed_.load(std::memory_order_relaxed); }

 private:
  static thread_local int tl_thread_index;
  std::atomic<bool> busy_noticed_{false};
  std::atomic<int64_t> since_ms_{0};
  std::atomic<int> thread_{-1};
  std::atomic<bool> wrote_{false};
  std::atomic<bool> kill_{false};
  std::atomic<bool> abort_{false};
  std::atomic<bool> function_{false};
  mutable Mutex function_mu_;
  std::string function_name_ GUARDED_BY(function_mu_);
  std::vector<std::string> function_command_ GUARDED_BY(function_mu_);
};

}  // namespace edgekv
