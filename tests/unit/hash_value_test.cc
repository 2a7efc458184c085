// HashValue: a hash's fields in memory, in its two encodings.
#include "types/hash_value.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

namespace edgekv {
namespace {

std::map<std::string, std::string> Contents(const HashValue& h) {
  std::map<std::string, std::string> out;
  h.ForEach([&](std::string_view f, std::string_view v) {
    EXPECT_TRUE(out.emplace(std::string(f), std::string(v)).second) << "twice: " << f;
  });
  return out;
}

TEST(HashValue, SetGetAndDelInTheListpack) {
  HashValue h;
  EncodingLimits limits;
  EXPECT_TRUE(h.Set("a", "1", limits));
  EXPECT_TRUE(h.Set("", "empty field", limits));
  EXPECT_TRUE(h.Set(std::string("\0\r\n", 3), "", limits));
  EXPECT_FALSE(h.Set("a", "2", limits));  // replaced, not added
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.encoding(), "listpack");
  EXPECT_EQ(h.Get("a"), "2");
  EXPECT_EQ(h.Get(""), "empty field");
  EXPECT_EQ(h.Get(std::string("\0\r\n", 3)), "");
  EXPECT_FALSE(h.Get("b").has_value());
  EXPECT_TRUE(h.Del("a"));
  EXPECT_FALSE(h.Del("a"));
  EXPECT_EQ(h.size(), 2u);
  // Insertion order, as Redis's listpack.
  std::vector<std::string> order;
  h.ForEach([&](std::string_view f, std::string_view) { order.emplace_back(f); });
  EXPECT_EQ(order, (std::vector<std::string>{"", std::string("\0\r\n", 3)}));
}

TEST(HashValue, ConvertsPastEitherThresholdAndNeverBack) {
  EncodingLimits limits;
  limits.hash_max_listpack_entries = 4;
  limits.hash_max_listpack_value = 8;
  HashValue many;
  for (int i = 0; i < 4; ++i) many.Set("f" + std::to_string(i), "v", limits);
  EXPECT_EQ(many.encoding(), "listpack");  // at the limit it stays
  many.Set("f4", "v", limits);
  EXPECT_EQ(many.encoding(), "hashtable");
  for (int i = 0; i < 4; ++i) many.Del("f" + std::to_string(i));
  EXPECT_EQ(many.encoding(), "hashtable");
  EXPECT_EQ(Contents(many), (std::map<std::string, std::string>{{"f4", "v"}}));

  HashValue long_value;
  long_value.Set("a", "12345678", limits);
  EXPECT_EQ(long_value.encoding(), "listpack");
  long_value.Set("b", "123456789", limits);
  EXPECT_EQ(long_value.encoding(), "hashtable");
  HashValue long_field;
  long_field.Set("123456789", "", limits);
  EXPECT_EQ(long_field.encoding(), "hashtable");
}

TEST(HashValue, AListpackHoldsAtMost65534FieldsWhateverTheLimit) {
  EncodingLimits limits;
  limits.hash_max_listpack_entries = 100000;
  HashValue h;
  for (int i = 0; i < 65534; ++i) h.Set(std::to_string(i), "", limits);
  EXPECT_EQ(h.encoding(), "listpack");
  EXPECT_EQ(h.size(), 65534u);
  h.Set("one more", "", limits);
  EXPECT_EQ(h.encoding(), "hashtable");
  EXPECT_EQ(h.size(), 65535u);
  EXPECT_EQ(h.Get("65533"), std::optional<std::string_view>(""));
  EXPECT_TRUE(h.Del("0"));
  EXPECT_EQ(h.size(), 65534u);
  EXPECT_EQ(h.Clone()->size(), 65534u);
}

// Random operations against a std::map, in both encodings, with the table
// growing and shrinking.
TEST(HashValue, AgreesWithAMapUnderRandomChanges) {
  for (size_t max_entries : {size_t{0}, size_t{512}}) {
    EncodingLimits limits;
    limits.hash_max_listpack_entries = max_entries;
    HashValue h;
    std::map<std::string, std::string> model;
    std::mt19937_64 rng(42);
    for (int step = 0; step < 20000; ++step) {
      std::string f = "f" + std::to_string(rng() % 3000);
      if (rng() % 3 == 0) {
        EXPECT_EQ(h.Del(f), model.erase(f) == 1);
      } else {
        std::string v(rng() % 20, static_cast<char>('a' + rng() % 26));
        EXPECT_EQ(h.Set(f, v, limits), model.count(f) == 0);
        model[f] = v;
      }
      ASSERT_EQ(h.size(), model.size());
    }
    EXPECT_EQ(Contents(h), model);
    for (const auto& [f, v] : model) EXPECT_EQ(h.Get(f), v);
    auto copy = h.Clone();
    EXPECT_EQ(Contents(static_cast<const HashValue&>(*copy)), model);
    EXPECT_EQ(copy->encoding(), h.encoding());
  }
}

// Redis's guarantee for HSCAN: a field present from the first call to the
// last is returned, even when the table grows or shrinks between calls.
TEST(HashValue, ScanReturnsEveryStableFieldWhileTheTableChanges) {
  EncodingLimits limits;
  limits.hash_max_listpack_entries = 0;
  HashValue h;
  for (int i = 0; i < 1000; ++i) h.Set("stable" + std::to_string(i), "v", limits);
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int calls = 0;
  do {
    cursor = h.Scan(cursor, 20,
                    [&](std::string_view f, std::string_view) { seen.emplace(f); });
    // Grow the table during the first half, shrink it during the second.
    if (++calls < 10) {
      for (int i = 0; i < 500; ++i) {
        h.Set("extra" + std::to_string(calls) + "_" + std::to_string(i), "v", limits);
      }
    } else {
      for (int c = 1; c < 10; ++c) {
        for (int i = 0; i < 500; ++i)
          h.Del("extra" + std::to_string(c) + "_" + std::to_string(i));
      }
    }
    ASSERT_LT(calls, 100000);
  } while (cursor != 0);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(seen.count("stable" + std::to_string(i)), 1u) << i;
}

TEST(HashValue, AListpackScansWholeInOneCall) {
  HashValue h;
  EncodingLimits limits;
  for (int i = 0; i < 100; ++i) h.Set(std::to_string(i), "v", limits);
  size_t n = 0;
  EXPECT_EQ(h.Scan(0, 1, [&](std::string_view, std::string_view) { ++n; }), 0u);
  EXPECT_EQ(n, 100u);
}

TEST(HashValue, RandomPicksEveryFieldOfBothEncodings) {
  for (size_t max_entries : {size_t{0}, size_t{512}}) {
    EncodingLimits limits;
    limits.hash_max_listpack_entries = max_entries;
    HashValue h;
    for (int i = 0; i < 20; ++i)
      h.Set(std::to_string(i), "v" + std::to_string(i), limits);
    std::mt19937_64 rng(7);
    std::set<std::string> picked;
    for (int i = 0; i < 2000; ++i) {
      auto [f, v] = h.Random(rng);
      EXPECT_EQ("v" + std::string(f), v);
      picked.emplace(f);
    }
    EXPECT_EQ(picked.size(), 20u);
  }
}

TEST(HashValue, BytesFollowTheContents) {
  EncodingLimits limits;
  limits.hash_max_listpack_entries = 0;
  HashValue h;
  size_t empty = h.bytes();
  for (int i = 0; i < 1000; ++i)
    h.Set("field" + std::to_string(i), std::string(40, 'x'), limits);
  size_t full = h.bytes();
  EXPECT_GT(full, empty + 1000 * 40);
  for (int i = 0; i < 1000; ++i) h.Del("field" + std::to_string(i));
  EXPECT_LT(h.bytes(), full / 10);
}

}  // namespace
}  // namespace edgekv
