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
// The LevelDB applier runs at nice 10, and SCHED_IDLE while nobody waits for
// it (Applier::SetIdle). Clients wait for it at times (SCAN and KEYS walk
// LevelDB once it holds every earlier write, a full sync takes a snapshot,
// memory above maxmemory waits for entries to be on disk): then it keeps a
// share of a busy CPU; its queue is bounded (writers are paced).
inline void LowerThreadPriority() {
  // On Linux a nice value applies to the one thread (task) it is set for.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

// LevelDB's compactions run SCHED_IDLE: only on CPU time no other thread
// wants. A waking client or replication thread preempts them at once, and
// the kernel places wake-ups on a CPU that runs only such work as on an idle
// one; at nice 10 a compaction that had a CPU to itself kept it for its
// slice, which delayed a replica's view of writes by tens of milliseconds
// under load. Nothing waits for a compaction but the applier (LevelDB slows
// its writes when level 0 grows), which in turn paces writers. Where
// SCHED_IDLE is not available, nice 19.
inline void RunOnlyWhenIdle() {
  sched_param param{};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) == 0) return;
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19);
}

inline pid_t ThreadId() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Moves thread `tid` between SCHED_IDLE and SCHED_OTHER at nice 10 (the
// applier, see Applier::SetIdle). False if the kernel refused.
inline bool SetIdlePolicy(pid_t tid, bool idle) {
  sched_param param{};
  return ::sched_setscheduler(tid, idle ? SCHED_IDLE : SCHED_OTHER, &param) == 0;
}

// Whether a thread at nice 10 may leave SCHED_IDLE again: the kernel allows
// it to a privileged process (CAP_SYS_NICE) or within RLIMIT_NICE. Tried on
// a thread of its own.
inline bool CanLeaveIdlePolicy() {
  bool ok = false;
  std::thread probe([&ok] {
    pid_t tid = ThreadId();
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 10);
    ok = SetIdlePolicy(tid, true) && SetIdlePolicy(tid, false);
  });
  probe.join();
  return ok;
}

}  // namespace edgekv
