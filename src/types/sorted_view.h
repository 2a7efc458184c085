// What the range commands (ZRANK, ZCOUNT, the ZRANGE family) read of a
// sorted set: its elements in (score, member) order through ZSetValue's two
// range primitives, CountBefore and Walk. A sorted set in memory is read
// through MemorySortedView; one only on disk through its score index
// (Store::ReadSorted), without coming into memory.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

#include "types/zset_value.h"

namespace edgekv {

class SortedView {
 public:
  virtual ~SortedView() = default;
  virtual size_t size() const = 0;
  virtual size_t CountBefore(const ZSetValue::Before& before) const = 0;
  virtual std::optional<size_t> Rank(std::string_view member) const = 0;
  // Ranks first..last (last < size()), descending when `reverse`.
  virtual void Walk(size_t first, size_t last, bool reverse,
                    const ZSetValue::Visitor& fn) const = 0;

  // The elements in order from the first whose score is at least `score`
  // (the last whose score is at most `score`, descending, when `reverse`),
  // until fn returns false. Only a set on disk finds a score without
  // counting ranks; a view that cannot returns false, visiting nothing, and
  // its score ranges are read by ranks.
  using Until = std::function<bool(std::string_view member, double score)>;
  virtual bool VisitFromScore(double /*score*/, bool /*reverse*/,
                              const Until& /*fn*/) const {
    return false;
  }
};

class MemorySortedView final : public SortedView {
 public:
  explicit MemorySortedView(const ZSetValue& z) : z_(z) {}
  size_t size() const override { return z_.size(); }
  size_t CountBefore(const ZSetValue::Before& before) const override {
    return z_.CountBefore(before);
  }
  std::optional<size_t> Rank(std::string_view member) const override {
    return z_.Rank(member);
  }
  void Walk(size_t first, size_t last, bool reverse,
            const ZSetValue::Visitor& fn) const override {
    z_.Walk(first, last, reverse, fn);
  }

 private:
  const ZSetValue& z_;
};

}  // namespace edgekv
