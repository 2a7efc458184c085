// A sorted set's members and scores in memory, ordered by (score, member),
// in one of Redis 7.0's two encodings:
//   listpack - the (score, member) pairs in order in one buffer (at most
//              zset-max-listpack-entries, members at most
//              zset-max-listpack-value bytes), read by a linear walk;
//   skiplist - Redis's skiplist with spans (rank and range in O(log n)),
//              its nodes also chained in a hash table by member (score
//              lookup in O(1), ZSCAN with Redis's cursor).
// A sorted set converts upward when it crosses a threshold and never back.
//
// Ranges are asked for with two primitives: CountBefore (how many elements
// come before a bound: a rank) and Walk (the elements between two ranks),
// so that every range command is the same code on both encodings.
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

class ZSetValue final : public Collection {
 public:
  ZSetValue();
  ~ZSetValue() override;

  size_t size() const override { return count_; }
  size_t bytes() const override;
  std::string_view encoding() const override { return list_ ? "skiplist" : "listpack"; }
  std::unique_ptr<Collection> Clone() const override;
  // Each member with its score as 8 bytes (EncodeScore), the log's and the
  // disk's form.
  void ForEachElement(const ElementVisitor& fn) const override;
  std::optional<std::string_view> FindElement(std::string_view elem,
                                              std::string* scratch) const override;
  // Keeps the score as it was written, -0 included, whatever the encoding:
  // a collection read whole from the disk reads as it did element by
  // element there.
  void LoadElement(std::string_view elem, std::string_view value,
                   const EncodingLimits& limits) override;

  static std::string EncodeScore(double score);
  static double DecodeScore(std::string_view bytes);  // 0 unless 8 bytes

  // Chooses the encoding of a new, empty sorted set for `size_hint` members
  // of at most `longest` bytes, as Redis's zsetTypeCreate.
  void Prepare(size_t size_hint, size_t longest, const EncodingLimits& limits);
  std::optional<double> Score(std::string_view member) const;
  // Sets member's score, adding the member when absent; true when it is new.
  bool Set(std::string_view member, double score, const EncodingLimits& limits);
  bool Remove(std::string_view member);
  // Moves a listpack to a skiplist (nothing for a skiplist).
  void Convert();

  // `before` holds for a prefix of the elements in order (a bound): the
  // number of elements it holds for.
  using Before = std::function<bool(double score, std::string_view member)>;
  size_t CountBefore(const Before& before) const;
  // The member's rank in ascending order; nullopt when absent.
  std::optional<size_t> Rank(std::string_view member) const;
  using Visitor = std::function<void(std::string_view member, double score)>;
  // The elements of ranks first..last (last < size()), ascending, or
  // descending (from last down to first) when `reverse`.
  void Walk(size_t first, size_t last, bool reverse, const Visitor& fn) const;
  // ZSCAN: a listpack is visited whole in one call (cursor 0 next).
  uint64_t Scan(uint64_t cursor, size_t count, const Visitor& fn) const;
  // An element picked at random (the set must not be empty).
  std::pair<std::string, double> Random(std::mt19937_64& rng) const;

 private:
  struct Node;
  struct List;
  // The pack entry holding member: its offset, or npos.
  size_t PackFind(std::string_view member, double* score) const;
  // Set's work; `exact` keeps a -0 that a listpack would make 0.
  bool Put(std::string_view member, double score, const EncodingLimits& limits,
           bool exact);
  void PackInsert(std::string_view member, double score, bool exact);
  void PackErase(size_t pos);
  void Splice(size_t pos, size_t len, std::string_view with);

  uint32_t count_ = 0;
  uint32_t pack_size_ = 0;
  char* pack_ = nullptr;  // listpack: score(8) varint len, member ...
  List* list_ = nullptr;  // skiplist
};

}  // namespace edgekv
