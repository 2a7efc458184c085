// Small pieces the in-memory encodings share: the allocator's chunk size,
// the listpacks' varint lengths, and Redis's reverse-binary scan cursor.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

namespace edgekv::element {

// What glibc malloc hands out for a request of n bytes.
inline size_t Chunk(size_t n) { return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15}); }

inline void PutVarint(std::string* out, size_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// The bytes PutVarint writes for v.
inline size_t VarintLength(size_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

// PutVarint into a buffer of at least VarintLength(v) bytes; returns the end.
inline char* EncodeVarint(char* out, size_t v) {
  for (; v >= 0x80; v >>= 7) *out++ = static_cast<char>(v | 0x80);
  *out++ = static_cast<char>(v);
  return out;
}

inline size_t GetVarint(const char** p) {
  size_t v = 0;
  int shift = 0;
  for (;;) {
    auto b = static_cast<unsigned char>(*(*p)++);
    v |= static_cast<size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
    shift += 7;
  }
}

// Replaces bytes [pos, pos + len) of the malloc'ed buffer `buf` of `size`
// bytes with `with`, keeping the buffer at its exact size (as Redis's
// listpack: small collections are most of them); nullptr when empty.
inline void Splice(char*& buf, uint32_t& size, size_t pos, size_t len,
                   std::string_view with) {
  const size_t old_size = size;
  const size_t new_size = old_size - len + with.size();
  const size_t tail = old_size - pos - len;
  if (new_size > old_size) {
    char* grown = static_cast<char*>(std::realloc(buf, new_size));
    if (grown == nullptr) throw std::bad_alloc();
    buf = grown;
  }
  if (tail > 0) std::memmove(buf + pos + with.size(), buf + pos + len, tail);
  if (!with.empty()) std::memcpy(buf + pos, with.data(), with.size());
  if (new_size < old_size) {
    if (new_size == 0) {
      std::free(buf);
      buf = nullptr;
    } else if (char* shrunk = static_cast<char*>(std::realloc(buf, new_size))) {
      buf = shrunk;
    }
  }
  size = static_cast<uint32_t>(new_size);
}

// The cursor after `cursor` in a table of mask + 1 buckets, as Redis's
// dictScan: the high bits count, so a scan sees every element present all
// along even when the table grows or shrinks between calls.
inline uint64_t NextCursor(uint64_t cursor, uint64_t mask) {
  auto rev = [](uint64_t v) {
    uint64_t r = 0;
    for (int i = 0; i < 64; ++i) {
      r = (r << 1) | (v & 1);
      v >>= 1;
    }
    return r;
  };
  cursor |= ~mask;
  return rev(rev(cursor) + 1);
}

}  // namespace edgekv::element
