// Frees big collections on a background thread, as Redis's lazy free: the
// command (DEL, UNLINK, an overwrite, an expiry, FLUSHDB) that drops a hash,
// set or sorted set of more than kThreshold elements in a hashtable or
// skiplist returns at once; a compact one (listpack, intset) costs one free
// and goes at once. The thread starts with the first big free and stops,
// freeing what is left, at exit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "edgekv/collection.h"

namespace edgekv::lazy_free {

// Redis's LAZYFREE_THRESHOLD: elements above which freeing is deferred.
inline constexpr size_t kThreshold = 64;

// Frees c (owned) now, or hands it to the background thread when it is big.
void Free(Collection* c);
// Collections handed over and not freed yet (INFO lazyfree_pending_objects).
uint64_t Pending();
// Collections freed by the background thread (INFO lazyfreed_objects).
uint64_t Freed();

}  // namespace edgekv::lazy_free
