// How much memory the machine has, and how much this process may use.
#pragma once

#include <sys/sysinfo.h>

#include <cstdint>
#include <fstream>

namespace edgekv {

// The machine's memory (INFO total_system_memory, as Redis reports it).
inline int64_t PhysicalMemoryBytes() {
  struct sysinfo si;
  return sysinfo(&si) == 0 ? static_cast<int64_t>(si.totalram) * si.mem_unit : 0;
}

// The machine's memory, or the container's limit when lower (cgroup v2, then
// v1). Read once.
inline int64_t UsableMemoryBytes() {
  static const int64_t bytes = [] {
    int64_t total = PhysicalMemoryBytes();
    for (const char* path :
         {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
      std::ifstream in(path);
      int64_t limit = 0;
      if (in >> limit && limit > 0 && (total == 0 || limit < total)) total = limit;
    }
    return total;
  }();
  return bytes;
}

}  // namespace edgekv
