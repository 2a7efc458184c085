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

  // A set on disk finds a score without counting ranks: a range of scores
  // is read from there with VisitFromScore rather than by ranks.
  virtual bool seeks_by_score() const { return false; }
  // The elements in order from the first whose score is at least `score`
  // (the last whose score is at most `score`, descending, when `reverse`),
  // until fn returns false.
  using Until = std::function<bool(std::string_view member, double score)>;
  virtual void VisitFromScore(double score, bool reverse, const Until& fn) const {
    const size_t n = size();
    size_t first = CountBefore([&](double s, std::string_view) { return s < score; });
    size_t last = CountBefore([&](double s, std::string_view) { return s <= score; });
    bool more = true;
    auto visit = [&](std::string_view m, double s) {
      if (more) more = fn(m, s);
    };
    if (!reverse && first < n) Walk(first, n - 1, false, visit);
    if (reverse && last > 0) Walk(0, last - 1, true, visit);
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
