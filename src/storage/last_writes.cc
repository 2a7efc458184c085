#include "last_writes.h"

#include <algorithm>
#include <functional>

namespace edgekv {
namespace {

// Big-endian bytes [off, off + 8) of `key`, zero-padded: integers that order
// like the bytes.
uint64_t KeyWord(std::string_view key, size_t off) {
  uint64_t w = 0;
  for (size_t i = 0; i < 8; ++i) {
    w <<= 8;
    if (off + i < key.size()) w |= static_cast<unsigned char>(key[off + i]);
  }
  return w;
}

// True if a and b are the same key, given their inline words; keys of up to
// 16 bytes are decided without reading them.
bool SameKey(const LastWrite& a, const LastWrite& b,
             const std::vector<KeyWrite>& writes) {
  if (a.ns != b.ns || a.size != b.size || a.w0 != b.w0 || a.w1 != b.w1) return false;
  return a.size <= 16 || writes[a.index].key == writes[b.index].key;
}

}  // namespace

void LastWrites(const std::vector<KeyWrite>& writes, std::vector<uint64_t>* slots,
                std::vector<LastWrite>* last) {
  size_t cap = 16;
  while (cap < writes.size() * 2) cap <<= 1;
  slots->assign(cap, 0);  // hash high bits << 32 | index in `last` + 1
  last->clear();
  std::hash<std::string_view> hasher;
  auto hash_of = [&](const KeyWrite& w) {
    return hasher(w.key) ^ (w.ns * 0x9E3779B97F4A7C15ull);
  };
  constexpr size_t kAhead = 8;
  uint64_t ring[kAhead];
  for (size_t i = 0; i < std::min(kAhead, writes.size()); ++i) {
    ring[i] = hash_of(writes[i]);
    __builtin_prefetch(&(*slots)[ring[i] & (cap - 1)]);
  }
  for (size_t n = 0; n < writes.size(); ++n) {
    const KeyWrite& w = writes[n];
    uint64_t h = ring[n % kAhead];
    if (n + kAhead < writes.size()) {
      uint64_t next = hash_of(writes[n + kAhead]);
      ring[n % kAhead] = next;
      __builtin_prefetch(&(*slots)[next & (cap - 1)]);
    }
    LastWrite entry{w.ns, static_cast<uint32_t>(w.key.size()), KeyWord(w.key, 0),
                    KeyWord(w.key, 8), static_cast<uint32_t>(n)};
    uint64_t tag = h >> 32 << 32;
    size_t i = h & (cap - 1);
    while (true) {
      uint64_t slot = (*slots)[i];
      if (slot == 0) {
        last->push_back(entry);
        (*slots)[i] = tag | last->size();
        break;
      }
      if ((slot >> 32 << 32) == tag) {
        LastWrite& seen = (*last)[(slot & 0xffffffffu) - 1];
        if (SameKey(seen, entry, writes)) {
          seen.index = entry.index;  // a later write of the same key replaces it
          break;
        }
      }
      i = (i + 1) & (cap - 1);
    }
  }
  std::sort(last->begin(), last->end(),
            [&writes](const LastWrite& a, const LastWrite& b) {
              if (a.ns != b.ns) return a.ns < b.ns;
              if (a.w0 != b.w0) return a.w0 < b.w0;
              if (a.w1 != b.w1) return a.w1 < b.w1;
              if (a.size <= 16 || b.size <= 16) return a.size < b.size;  // zero padding
              return writes[a.index].key < writes[b.index].key;
            });
}

}  // namespace edgekv
