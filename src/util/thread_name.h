// Names the calling thread (as `top -H`, `perf` and gdb show it), and lowers
// the priority of background threads.
#pragma once

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace edgekv {

inline void SetThreadName(const std::string& name) {
  // The kernel keeps 15 characters.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Background work (LevelDB apply and compaction) yields the CPU to the
// threads that serve clients and replicate when both want it: on a small
// machine a compaction must not delay replies or a replica's view. The work
// is not starved on an idle CPU, and its queues are bounded (writers wait
// when the applier falls too far behind).
inline void LowerThreadPriority() {
  // On Linux a nice value applies to the one thread (task) it is set for.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

}  // namespace edgekv
