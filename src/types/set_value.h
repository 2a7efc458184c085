// A set's members in memory, in one of Redis 7.2's three encodings:
//   intset    - a sorted array of integers, each 2, 4 or 8 bytes wide (all
//               members are canonical integers, at most
//               set-max-intset-entries of them);
//   listpack  - the members in insertion order in one buffer (at most
//               set-max-listpack-entries, none longer than
//               set-max-listpack-value bytes);
//   hashtable - a chained hash table, scanned with Redis's cursor.
// The last two are a HashValue whose fields have no values. A set converts
// upward when it crosses a threshold and never back, as in Redis.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "edgekv/collection.h"
#include "types/hash_value.h"

namespace edgekv {

class SetValue final : public Collection {
 public:
  SetValue();
  ~SetValue() override;

  size_t size() const override;
  size_t bytes() const override;
  std::string_view encoding() const override;
  std::unique_ptr<Collection> Clone() const override;
  void ForEachElement(const ElementVisitor& fn) const override;
  std::optional<std::string_view> FindElement(std::string_view elem,
                                              std::string*) const override {
    return Contains(elem) ? std::optional<std::string_view>(std::string_view())
                          : std::nullopt;
  }
  void LoadElement(std::string_view elem, std::string_view,
                   const EncodingLimits& limits) override {
    Add(elem, limits);
  }

  // Before adding `size_hint` members (SADD's count), as Redis 7.2 does: a
  // new, empty set takes the encoding setTypeCreate gives (an intset when
  // the first member is an integer and that many fit one, else a listpack
  // when they fit one, else a hashtable); a set that holds members becomes a
  // hashtable when that many would not fit its encoding (setTypeMaybeConvert).
  void Prepare(std::string_view first, size_t size_hint, const EncodingLimits& limits);
  bool Contains(std::string_view member) const;
  // True when the member is new.
  bool Add(std::string_view member, const EncodingLimits& limits);
  // True when the member was there.
  bool Remove(std::string_view member);

  using Visitor = std::function<void(std::string_view member)>;
  void ForEach(const Visitor& fn) const;
  // SSCAN: an intset or a listpack is visited whole in one call (cursor 0
  // next), a hashtable with Redis's reverse-binary cursor.
  uint64_t Scan(uint64_t cursor, size_t count, const Visitor& fn) const;
  // A member picked at random (the set must not be empty).
  std::string Random(std::mt19937_64& rng) const;

  // A canonical integer as Redis's intset takes it (no sign but '-', no
  // leading zero, no "-0", within int64).
  static bool IsInteger(std::string_view s, int64_t* out);

 private:
  enum class Enc : uint8_t { kIntset, kListpack, kHashtable };
  int64_t IntAt(size_t i) const;
  // Where v is or would go in the intset; *found when it is there.
  size_t IntSearch(int64_t v, bool* found) const;
  void IntInsert(size_t pos, int64_t v);
  // Moves an intset's members to a listpack or a hashtable.
  void ConvertIntset(Enc to);

  Enc enc_ = Enc::kIntset;
  uint8_t width_ = 2;  // bytes per intset member
  uint32_t ints_ = 0;  // intset members
  char* intset_ = nullptr;
  std::unique_ptr<HashValue> members_;  // listpack, hashtable
};

}  // namespace edgekv
