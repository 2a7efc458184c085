// Names the calling thread (as `top -H`, `perf` and gdb show it), and lowers
// the priority of background threads.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace edgekv {

inline void SetThreadName(const std::string& name) {
  // The kernel keeps 15 characters.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Background work (LevelDB apply and compaction) runs only when no thread
// that serves clients or replicates wants the CPU. It is scheduled SCHED_IDLE:
// a waking client or replication thread preempts it at once, and the kernel
// places wake-ups on a CPU that runs only such work as on an idle one. A nice
// value alone is not enough: a nice-10 compaction that has a CPU to itself
// keeps it for its slice, and at P16 load that delayed a replica's view of a
// write by tens of milliseconds. The work is not starved: writers are paced
// at the applier's measured rate and stop at its bounded backlog (Applier),
// which frees the CPU for it. Where SCHED_IDLE is not available, nice 10.
inline void LowerThreadPriority() {
  sched_param param{};
  if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &param) == 0) return;
  // On Linux a nice value applies to the one thread (task) it is set for.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

}  // namespace edgekv
