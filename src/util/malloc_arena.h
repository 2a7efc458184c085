// Grows the calling thread's malloc arena ahead of need.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <vector>

namespace edgekv {

// glibc gives each thread but the main one an arena of 64 MB heaps, mapped
// inaccessible and made usable page by page as the thread's allocations
// grow, each time with an mprotect(), which takes the process's memory-map
// lock for writing. When that lock is held by a thread that is not running
// (a background thread at nice 19 preempted inside an mprotect or munmap of
// its own), the growing thread (an I/O thread, a replica's link) waits with
// it. Allocating `bytes` once in blocks under the mmap threshold and freeing
// them leaves the arena's heap usable to that size (the memory itself is
// given back with MADV_DONTNEED), so later growth up to it needs no
// mprotect. Costs address space, not memory.
inline void ReserveMallocArena(size_t bytes) {
  constexpr size_t kBlock = 128 * 1024;  // under M_MMAP_THRESHOLD (main.cc)
  std::vector<void*> blocks;
  blocks.reserve(bytes / kBlock);
  for (size_t done = 0; done + kBlock <= bytes; done += kBlock) {
    void* p = std::malloc(kBlock);
    if (p == nullptr) break;
    blocks.push_back(p);
  }
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
}

// What each thread reserves: within an arena's first heap (64 MB).
inline constexpr size_t kArenaReserve = size_t{48} << 20;

}  // namespace edgekv
