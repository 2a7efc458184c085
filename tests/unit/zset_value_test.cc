// ZSetValue: a sorted set in its two encodings, checked against a plain
// ordered model through every operation the commands use.
#include "types/zset_value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace edgekv {
namespace {

using Model = std::set<std::pair<double, std::string>>;

std::vector<std::pair<std::string, double>> All(const ZSetValue& z,
                                                bool reverse = false) {
  std::vector<std::pair<std::string, double>> out;
  if (z.size() > 0) {
    z.Walk(0, z.size() - 1, reverse,
           [&](std::string_view m, double s) { out.emplace_back(std::string(m), s); });
  }
  return out;
}

std::vector<std::pair<std::string, double>> All(const Model& m) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [s, member] : m) out.emplace_back(member, s);
  return out;
}

TEST(ZSetValue, OrdersByScoreThenMemberInBothEncodings) {
  for (size_t entries : {size_t{128}, size_t{0}}) {
    EncodingLimits limits;
    limits.zset_max_listpack_entries = entries;  // 0: a skiplist from the start
    ZSetValue z;
    EXPECT_TRUE(z.Set("b", 1, limits));
    EXPECT_TRUE(z.Set("a", 1, limits));
    EXPECT_TRUE(z.Set("c", -INFINITY, limits));
    EXPECT_TRUE(z.Set("d", INFINITY, limits));
    EXPECT_FALSE(z.Set("c", 2, limits));  // a new score moves it
    EXPECT_EQ(z.encoding(), entries == 0 ? "skiplist" : "listpack");
    using V = std::vector<std::pair<std::string, double>>;
    EXPECT_EQ(All(z), (V{{"a", 1}, {"b", 1}, {"c", 2}, {"d", INFINITY}}));
    EXPECT_EQ(All(z, true), (V{{"d", INFINITY}, {"c", 2}, {"b", 1}, {"a", 1}}));
    EXPECT_EQ(z.Rank("c"), 2u);
    EXPECT_FALSE(z.Rank("x").has_value());
    EXPECT_EQ(z.Score("b"), 1.0);
    EXPECT_EQ(z.CountBefore([](double s, std::string_view) { return s < 2; }), 2u);
    EXPECT_TRUE(z.Remove("a"));
    EXPECT_FALSE(z.Remove("a"));
    EXPECT_EQ(z.size(), 3u);
  }
}

TEST(ZSetValue, MatchesAnOrderedModelThroughRandomChanges) {
  EncodingLimits limits;
  limits.zset_max_listpack_entries = 16;  // converts partway
  std::mt19937_64 rng(5);
  ZSetValue z;
  Model model;
  std::map<std::string, double> scores;
  for (int step = 0; step < 20000; ++step) {
    std::string m = "m" + std::to_string(rng() % 300);
    if (rng() % 3 != 0) {
      double s = static_cast<double>(rng() % 50) / 4;  // many ties
      bool fresh = !scores.count(m);
      if (!fresh) model.erase({scores[m], m});
      scores[m] = s;
      model.insert({s, m});
      ASSERT_EQ(z.Set(m, s, limits), fresh);
    } else {
      bool had = scores.count(m) > 0;
      if (had) {
        model.erase({scores[m], m});
        scores.erase(m);
      }
      ASSERT_EQ(z.Remove(m), had);
    }
    ASSERT_EQ(z.size(), model.size());
    if (step % 997 == 0) {
      ASSERT_EQ(All(z), All(model));
      size_t r = 0;
      for (const auto& [s, member] : model) ASSERT_EQ(z.Rank(member), r++);
      // Ranks of a bound: elements with a score below 5.
      size_t below = 0;
      for (const auto& e : model) below += e.first < 5;
      ASSERT_EQ(z.CountBefore([](double s, std::string_view) { return s < 5; }), below);
    }
  }
  EXPECT_EQ(z.encoding(), "skiplist");
  // A piece from the middle, both ways.
  auto all = All(model);
  std::vector<std::pair<std::string, double>> mid, rev;
  z.Walk(10, 20, false, [&](std::string_view m, double s) { mid.emplace_back(m, s); });
  z.Walk(10, 20, true, [&](std::string_view m, double s) { rev.emplace_back(m, s); });
  EXPECT_EQ(mid, decltype(mid)(all.begin() + 10, all.begin() + 21));
  EXPECT_EQ(rev, decltype(rev)(all.rbegin() + static_cast<long>(all.size() - 21),
                               all.rbegin() + static_cast<long>(all.size() - 10)));
}

TEST(ZSetValue, ConvertsPastEitherThresholdAndNeverBack) {
  EncodingLimits limits;
  limits.zset_max_listpack_entries = 3;
  limits.zset_max_listpack_value = 4;
  ZSetValue many;
  for (int i = 0; i < 3; ++i) many.Set(std::to_string(i), i, limits);
  EXPECT_EQ(many.encoding(), "listpack");
  many.Set("3", 3, limits);
  EXPECT_EQ(many.encoding(), "skiplist");
  for (int i = 0; i < 4; ++i) many.Remove(std::to_string(i));
  EXPECT_EQ(many.encoding(), "skiplist");
  ZSetValue long_member;
  long_member.Set("abcde", 1, limits);
  EXPECT_EQ(long_member.encoding(), "skiplist");
}

TEST(ZSetValue, AListpackKeepsMinusZeroAsZeroAsRedisDoes) {
  EncodingLimits limits;
  ZSetValue z;
  z.Set("a", -0.0, limits);
  EXPECT_FALSE(std::signbit(*z.Score("a")));
}

TEST(ZSetValue, AListpackReadFromDiskKeepsMinusZeroAsWrittenThere) {
  // A skiplist's -0 goes to the disk as it is; read back whole into a
  // listpack, and copied, it reads as it did there.
  EncodingLimits limits;
  ZSetValue z;
  z.LoadElement("a", ZSetValue::EncodeScore(-0.0), limits);
  z.LoadElement("b", ZSetValue::EncodeScore(0.0), limits);
  ASSERT_EQ(z.encoding(), "listpack");
  EXPECT_TRUE(std::signbit(*z.Score("a")));
  EXPECT_FALSE(std::signbit(*z.Score("b")));
  auto copy = z.Clone();
  EXPECT_TRUE(std::signbit(*static_cast<const ZSetValue&>(*copy).Score("a")));
  z.Set("c", -0.0, limits);  // a command's -0 still becomes 0, as in Redis
  EXPECT_FALSE(std::signbit(*z.Score("c")));
}

TEST(ZSetValue, CloneScanRandomAndTheLogForm) {
  EncodingLimits limits;
  for (int n : {5, 500}) {
    ZSetValue z;
    for (int i = 0; i < n; ++i) z.Set("m" + std::to_string(i), i * 0.5, limits);
    auto copy = z.Clone();
    EXPECT_EQ(copy->encoding(), z.encoding());
    EXPECT_EQ(All(static_cast<const ZSetValue&>(*copy)), All(z));
    std::multiset<std::string> seen;
    uint64_t cursor = 0;
    do {
      cursor = z.Scan(cursor, 7, [&](std::string_view m, double) { seen.emplace(m); });
    } while (cursor != 0);
    EXPECT_EQ(seen.size(), static_cast<size_t>(n));
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(),
              static_cast<size_t>(n));
    std::mt19937_64 rng(3);
    std::set<std::string> picked;
    for (int i = 0; i < 20 * n; ++i) picked.insert(z.Random(rng).first);
    EXPECT_GT(picked.size(), static_cast<size_t>(n) * 9 / 10);
    ZSetValue loaded;
    z.ForEachElement([&](std::string_view m, std::string_view v) {
      EXPECT_EQ(v.size(), 8u);
      loaded.LoadElement(m, v, limits);
    });
    EXPECT_EQ(All(loaded), All(z));
  }
}

}  // namespace
}  // namespace edgekv
