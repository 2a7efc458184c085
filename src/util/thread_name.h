// Names the calling thread (as `top -H`, `perf` and gdb show it).
#pragma once

#include <pthread.h>

#include <string>

namespace edgekv {

inline void SetThreadName(const std::string& name) {
  // The kernel keeps 15 characters.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace edgekv
