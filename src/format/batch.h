// Encoding and decoding of WAL batches (docs/wal_format.md). Pure functions
// over bytes: no I/O, no locks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "edgekv/collection.h"
#include "edgekv/status.h"
#include "edgekv/wal_format.h"

namespace edgekv::wal {

// One decoded operation; views point into the batch bytes.
struct OpView {
  Op op;
  int db = 0;       // FLUSHDB, key ops; SWAPDB's first db
  int db2 = 0;      // SWAPDB's second db
  uint32_t ns = 0;  // FLUSHDB's new namespace
  uint8_t flags = 0;
  std::string_view key;    // a library's name for the library operations
  std::string_view value;  // a library's code for kLibraryPut
  std::string_view field;  // an element: a hash's field, a set's member
  int64_t expire_ms = -1;
  // The collection type of an element operation (kHashSet ... kSetRem).
  ValueType ctype = ValueType::kString;
};

// An operation that adds or changes one element of a collection (kHashSet,
// kSetAdd, kZAdd; its value is the element's value: "" for a set's member,
// the score's 8 bytes for a sorted set's).
inline bool IsElementSet(Op op) {
  return op == Op::kHashSet || op == Op::kSetAdd || op == Op::kZAdd;
}
// An operation that removes one element (kHashDel, kSetRem, kZRem).
inline bool IsElementDel(Op op) {
  return op == Op::kHashDel || op == Op::kSetRem || op == Op::kZRem;
}

// Builds a batch's operations; Finish() prepends the header.
class BatchBuilder {
 public:
  void Put(int db, std::string_view key, std::string_view value, int64_t expire_ms,
           uint8_t flags);
  void Erase(int db, std::string_view key, uint8_t flags);
  void HashSet(int db, std::string_view key, std::string_view field,
               std::string_view value, uint8_t flags);
  void HashDel(int db, std::string_view key, std::string_view field, uint8_t flags);
  // One element of a collection of type t, in that type's operation.
  void ElementSet(ValueType t, int db, std::string_view key, std::string_view elem,
                  std::string_view value, uint8_t flags);
  void ElementDel(ValueType t, int db, std::string_view key, std::string_view elem,
                  uint8_t flags);
  void Expire(int db, std::string_view key, int64_t expire_ms, uint8_t flags);
  void FlushDb(int db, uint32_t ns);
  void SwapDb(int a, int b);
  void LibraryPut(std::string_view name, std::string_view code);
  void LibraryDelete(std::string_view name);
  void LibraryFlush();

  bool empty() const { return count_ == 0; }
  uint32_t count() const { return count_; }
  size_t bytes() const { return ops_.size(); }
  void Clear() {
    ops_.clear();
    count_ = 0;
  }
  // Appends a complete frame (CRC, length, header, operations) to `out`.
  void AppendFrame(uint64_t seq, int64_t time_ms, std::string* out) const;

 private:
  std::string ops_;
  uint32_t count_ = 0;
};

struct BatchHeader {
  uint64_t seq = 0;
  int64_t time_ms = 0;
  uint32_t count = 0;
};

// Parses a batch payload, calling fn for each operation. Corruption if the
// payload is malformed.
Status DecodeBatch(std::string_view payload, BatchHeader* header,
                   const std::function<void(const OpView&)>& fn);

// Frame helpers.
uint32_t FrameCrc(std::string_view length_and_payload);
void PutFixed32(std::string* out, uint32_t v);
void PutFixed64(std::string* out, uint64_t v);
uint32_t GetFixed32(const char* p);
uint64_t GetFixed64(const char* p);

}  // namespace edgekv::wal
