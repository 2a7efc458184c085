// Names the calling thread (as `top -H`, `perf` and gdb show it), and lowers
// the priority of background threads.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace edgekv {

inline void SetThreadName(const std::string& name) {
  // The kernel keeps 15 characters.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Background work yields the CPU to the threads that serve clients and
// replicate when both want it: on a small machine it must not delay replies
// or a replica's view of a write.
//
// Not SCHED_IDLE: a background thread takes the process's memory-map lock
// (growing or trimming its malloc arena, unmapping a buffer, LevelDB mapping
// a table), and SCHED_IDLE gets so little of a busy CPU that one preempted
// while holding that lock holds up every thread that needs it next (an I/O
// thread, a replica's link) until the CPU has nothing else to run. At nice
// 19 it is back within a few milliseconds.
//
// The LevelDB applier runs at nice 10, and nice 19 while nobody waits for
// it (Applier::SetIdle). Clients wait for it at times (SCAN and KEYS walk
// LevelDB once it holds every earlier write, a full sync takes a snapshot,
// memory above maxmemory waits for entries to be on disk): then it keeps a
// share of a busy CPU; its queue is bounded (writers are paced).
inline pid_t ThreadId() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// On Linux a nice value applies to the one thread (task) it is set for.
inline bool SetNice(pid_t tid, int nice) {
  return ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice) == 0;
}

inline void LowerThreadPriority() { SetNice(ThreadId(), 10); }

// LevelDB's compactions run at nice 19: nothing waits for a compaction but
// the applier (LevelDB slows its writes when level 0 grows), which in turn
// paces writers.
inline void LowestThreadPriority() { SetNice(ThreadId(), 19); }

// Moves thread `tid` between nice 19 (idle) and nice 10 (the applier, see
// Applier::SetIdle). False if the kernel refused.
inline bool SetIdleNice(pid_t tid, bool idle) { return SetNice(tid, idle ? 19 : 10); }

// Whether a thread at nice 19 may go back to nice 10: the kernel allows it to
// a privileged process (CAP_SYS_NICE) or within RLIMIT_NICE. Tried on a
// thread of its own.
inline bool CanRaiseNice() {
  bool ok = false;
  std::thread probe([&ok] {
    pid_t tid = ThreadId();
    ok = SetIdleNice(tid, true) && SetIdleNice(tid, false);
  });
  probe.join();
  return ok;
}

}  // namespace edgekv
