// A hash's fields in memory, in one of Redis's two encodings:
//   listpack  - one buffer of (field, value) pairs in insertion order, read
//               by a linear walk: the compact form of small hashes;
//   hashtable - a chained hash table of one allocation per field (next
//               pointer, lengths, field and value bytes) with power-of-two
//               buckets, scanned with Redis's reverse-binary cursor.
// A hash starts as a listpack and converts, once, when it gets more than
// hash-max-listpack-entries fields or a field or value longer than
// hash-max-listpack-value bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "edgekv/collection.h"

namespace edgekv {

class HashValue final : public Collection {
 public:
  // The most fields a listpack holds, whatever the limit set (its count is
  // 16 bits).
  static constexpr size_t kMaxPackFields = UINT16_MAX - 1;
  // Nor more bytes than this (Redis's listpack stops at 1 GB too).
  static constexpr size_t kMaxPackBytes = size_t{1} << 30;
  HashValue();
  ~HashValue() override;

  size_t size() const override;
  size_t bytes() const override;
  std::string_view encoding() const override {
    return is_table() ? "hashtable" : "listpack";
  }
  std::unique_ptr<Collection> Clone() const override;
  bool listpack() const { return !is_table(); }
  void ForEachElement(const ElementVisitor& fn) const override { ForEach(fn); }
  std::optional<std::string_view> FindElement(std::string_view elem,
                                              std::string*) const override {
    return Get(elem);
  }
  void LoadElement(std::string_view elem, std::string_view value,
                   const EncodingLimits& limits) override {
    Set(elem, value, limits);
  }

  // The field's value; nullopt when absent. The view lasts until the next
  // change to the hash.
  std::optional<std::string_view> Get(std::string_view field) const;
  // Sets field to value; true when the field is new.
  bool Set(std::string_view field, std::string_view value, const EncodingLimits& limits) {
    return Set(field, value, limits.hash_max_listpack_entries,
               limits.hash_max_listpack_value);
  }
  // The same with the listpack's limits given (a set's members are kept as
  // fields without values: SetValue).
  bool Set(std::string_view field, std::string_view value, size_t max_entries,
           size_t max_value);
  // Removes field; true when it was there.
  bool Del(std::string_view field);
  // Moves a listpack to a hashtable (nothing for a hashtable).
  void Convert();
  // The listpack's bytes (0 for a hashtable).
  size_t pack_bytes() const { return is_table() ? 0 : pack_size_; }

  using Visitor = std::function<void(std::string_view field, std::string_view value)>;
  // Every field, in the encoding's order.
  void ForEach(const Visitor& fn) const;
  // HSCAN: visits some fields from `cursor` and returns the next cursor (0
  // when done). A listpack is visited whole in one call, as Redis does.
  uint64_t Scan(uint64_t cursor, size_t count, const Visitor& fn) const;
  // A field picked at random (the hash must not be empty).
  std::pair<std::string_view, std::string_view> Random(std::mt19937_64& rng) const;

 private:
  struct Node;
  struct Table;
  static uint64_t HashOf(std::string_view field);
  static constexpr uint32_t kTable = UINT32_MAX;  // pack_size_ of a hashtable
  bool is_table() const { return pack_size_ == kTable; }
  std::string_view pack() const { return {pack_, pack_size_}; }
  // Replaces pack bytes [pos, pos + len) with `with` (the buffer is kept at
  // its exact size, as Redis's listpack: small hashes are most of them).
  void Splice(size_t pos, size_t len, std::string_view with);

  // 24 bytes with the vtable (pack_count_ takes the base's tail padding):
  // the object of every small hash, a 32-byte chunk from malloc.
  uint16_t pack_count_ = 0;  // a listpack's fields (a hashtable counts its own)
  uint32_t pack_size_ = 0;   // a listpack's bytes, or kTable
  union {
    char* pack_;    // listpack: varint flen, field, varint vlen, value ...
    Table* table_;  // hashtable
  };
};

}  // namespace edgekv
