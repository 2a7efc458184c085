// The write-ahead log's on-disk format; docs/wal_format.md is its prose spec.
// These constants outlive processes: changing any of them needs a new version.
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgekv::wal {

// Segment file: "<dir>/wal/<first sequence, 20 digits>.wal".
inline constexpr char kMagic[6] = {'E', 'K', 'V', 'W', 'A', 'L'};
// Version 2 added the function library operations, version 3 the
// per-element operations on hashes, version 4 those on sets and sorted
// sets; segments of older versions are still read (their operations are a
// subset).
inline constexpr uint8_t kVersion = 4;
inline constexpr uint8_t kOldestReadableVersion = 1;
// magic(6) version(1) reserved(1) first_seq(8, little endian)
inline constexpr size_t kSegmentHeaderSize = 16;

// Record frame: crc32(4) length(4) payload(length). The CRC (zlib crc32) covers
// the length field and the payload; all integers are little endian.
inline constexpr size_t kFrameHeaderSize = 8;
// A payload larger than this is corruption, not a record (bounds allocation).
inline constexpr uint32_t kMaxPayload = 1u << 31;

// Payload: one batch, applied atomically:
//   seq(8) time_ms(8) count(4) then `count` operations.
inline constexpr size_t kBatchHeaderSize = 20;

enum class Op : uint8_t {
  kPut = 1,  // db(2) flags(1) key(varint len + bytes) value(varint + bytes) expire_ms(8)
  kErase = 2,    // db(2) flags(1) key
  kFlushDb = 3,  // db(2) namespace(4): the db's keys now live in a new, empty namespace
  kSwapDb = 4,   // a(2) b(2)
  // Function libraries (FUNCTION LOAD/DELETE/FLUSH/RESTORE): server-wide,
  // no db. The code is the whole FUNCTION LOAD text, "#!lua name=" included.
  kLibraryPut = 5,     // name(varint + bytes) code(varint + bytes)
  kLibraryDelete = 6,  // name
  kLibraryFlush = 7,   // nothing: every library is gone
  // Collections (version 3): one record per element changed, never the
  // whole collection. With kFlagCreated the key did not exist and is now an
  // empty collection of the operation's type, without an expiry.
  kHashSet = 8,  // db(2) flags(1) key field(varint + bytes) value(varint + bytes)
  kHashDel = 9,  // db(2) flags(1) key field: the field was there
  // A collection's new expiry alone (EXPIRE, PERSIST): kNoExpire (-1) for none.
  kExpire = 10,  // db(2) flags(1) key expire_ms(8)
  // Sets and sorted sets (version 4).
  kSetAdd = 11,  // db(2) flags(1) key member(varint + bytes): the member is new
  kSetRem = 12,  // db(2) flags(1) key member: the member was there
  // The member now has this score (an IEEE double, little endian).
  kZAdd = 13,  // db(2) flags(1) key member score(8)
  kZRem = 14,  // db(2) flags(1) key member: the member was there
};

// Flags on key operations: how the operation changed the key counts, so that
// DBSIZE and INFO keyspace stay exact on every tier and replica.
inline constexpr uint8_t kFlagCreated = 1;    // the key did not exist before
inline constexpr uint8_t kFlagHadExpire = 2;  // it had a TTL before
inline constexpr uint8_t kFlagHasExpire = 4;  // it has a TTL after
// kHashSet, kSetAdd, kZAdd: the element is new (the collection grew by one).
inline constexpr uint8_t kFlagNewElement = 8;
// kPut, kErase: the key held a collection, whose elements go with it.
inline constexpr uint8_t kFlagWasCollection = 16;

}  // namespace edgekv::wal
