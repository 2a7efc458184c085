// How the disk tier lays out a key's records in LevelDB (docs/disk_format.md
// in prose). Pure functions over bytes.
//
//   'd' ns(4) key                       -> type(1) expire_ms(8) body
//        a string's body is its value; a collection's is version(8) size(8)
//   'e' ns(4) klen(4) key version(8) element -> the element's value (a
//        hash field's value)
//   's' ns(4) klen(4) key version(8) score(8) member -> the score as in 'e':
//        a sorted set's members in (score, member) order, the score encoded
//        so that its bytes sort as the numbers do (PutOrderedScore)
//   'v' ns(4) klen(4) key version(8)    -> "" : the elements of a collection
//        that was deleted or replaced ('e' and 's'), removed in the background
// Integers in keys are big-endian (they sort), in values little-endian. A
// collection gets a new version each time it is created, so that DEL only
// drops its 'd' record and names its elements garbage ('v'): O(1) whatever
// its size.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "edgekv/collection.h"
#include "format/batch.h"

namespace edgekv::disk {

// The layout's version, kept under 'm' "format". Older layouts are converted
// when LevelDB is opened: version 1 had no type byte in 'd' values (strings
// only), version 2 no score index ('s').
inline constexpr uint8_t kFormatVersion = 3;

inline void PutBE32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutBE64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline uint32_t GetBE32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// A score whose 8 bytes compare as the doubles do: the sign bit flipped for
// positive numbers, every bit for negative ones. -0 is written as 0, so that
// the two sort together by member, as they do in memory.
inline uint64_t OrderedScore(double score) {
  if (score == 0) score = 0;
  auto bits = std::bit_cast<uint64_t>(score);
  constexpr uint64_t kSign = uint64_t{1} << 63;
  return (bits & kSign) != 0 ? ~bits : bits | kSign;
}
inline void PutOrderedScore(std::string* out, double score) {
  PutBE64(out, OrderedScore(score));
}

// A decoded 'd' value.
struct Record {
  ValueType type = ValueType::kString;
  int64_t expire_ms = -1;
  std::string_view value;  // a string's
  uint64_t version = 0;    // a collection's
  uint64_t size = 0;
};

inline bool DecodeRecord(std::string_view v, Record* r) {
  if (v.size() < 9) return false;
  r->type = static_cast<ValueType>(static_cast<uint8_t>(v[0]));
  r->expire_ms = static_cast<int64_t>(wal::GetFixed64(v.data() + 1));
  if (r->type == ValueType::kString) {
    r->value = v.substr(9);
    return true;
  }
  if (v.size() < 25) return false;
  r->version = wal::GetFixed64(v.data() + 9);
  r->size = wal::GetFixed64(v.data() + 17);
  return true;
}

inline void EncodeString(std::string* out, int64_t expire_ms, std::string_view value) {
  out->push_back(static_cast<char>(ValueType::kString));
  wal::PutFixed64(out, static_cast<uint64_t>(expire_ms));
  out->append(value);
}

inline void EncodeCollection(std::string* out, ValueType type, int64_t expire_ms,
                             uint64_t version, uint64_t size) {
  out->push_back(static_cast<char>(type));
  wal::PutFixed64(out, static_cast<uint64_t>(expire_ms));
  wal::PutFixed64(out, version);
  wal::PutFixed64(out, size);
}

// tag ns klen key version: the prefix of a collection's elements ('e') or
// its garbage record ('v').
inline void PutVersionKey(std::string* out, char tag, uint32_t ns, std::string_view key,
                          uint64_t version) {
  out->push_back(tag);
  PutBE32(out, ns);
  PutBE32(out, static_cast<uint32_t>(key.size()));
  out->append(key);
  PutBE64(out, version);
}

// The 's' key of member at `score` in a sorted set's index.
inline void PutScoreKey(std::string* out, uint32_t ns, std::string_view key,
                        uint64_t version, double score, std::string_view member) {
  PutVersionKey(out, 's', ns, key, version);
  PutOrderedScore(out, score);
  out->append(member);
}

}  // namespace edgekv::disk
