// SetValue: a set's members in memory, in its three encodings.
#include "types/set_value.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

namespace edgekv {
namespace {

std::vector<std::string> Members(const SetValue& s) {
  std::vector<std::string> out;
  s.ForEach([&](std::string_view m) { out.emplace_back(m); });
  return out;
}

TEST(SetValue, IntegersAreAnIntsetInOrderAtTheNarrowestWidth) {
  SetValue s;
  EncodingLimits limits;
  EXPECT_TRUE(s.Add("5", limits));
  EXPECT_TRUE(s.Add("-3", limits));
  EXPECT_FALSE(s.Add("5", limits));
  size_t narrow = s.bytes();
  EXPECT_TRUE(s.Add("9223372036854775807", limits));  // every member widens to 8 bytes
  EXPECT_TRUE(s.Add("-9223372036854775808", limits));
  EXPECT_GT(s.bytes(), narrow);
  EXPECT_EQ(s.encoding(), "intset");
  EXPECT_EQ(Members(s), (std::vector<std::string>{"-9223372036854775808", "-3", "5",
                                                  "9223372036854775807"}));
  EXPECT_TRUE(s.Contains("-3"));
  EXPECT_FALSE(s.Contains("4"));
  EXPECT_FALSE(s.Contains("05"));  // not the same member as 5
  EXPECT_TRUE(s.Remove("-3"));
  EXPECT_FALSE(s.Remove("-3"));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(Members(s), (std::vector<std::string>{"-9223372036854775808", "5",
                                                  "9223372036854775807"}));
}

TEST(SetValue, OnlyCanonicalIntegersGoInAnIntset) {
  int64_t v;
  for (const char* yes :
       {"0", "-1", "7", "9223372036854775807", "-9223372036854775808"}) {
    EXPECT_TRUE(SetValue::IsInteger(yes, &v)) << yes;
  }
  for (const char* no : {"", "-", "-0", "01", "+1", " 1", "1 ", "1.0",
                         "9223372036854775808", "-9223372036854775809", "0x10", "a"}) {
    EXPECT_FALSE(SetValue::IsInteger(no, &v)) << no;
  }
  SetValue s;
  EncodingLimits limits;
  s.Add("1", limits);
  s.Add("01", limits);  // a string: the set becomes a listpack
  EXPECT_EQ(s.encoding(), "listpack");
  EXPECT_EQ(Members(s), (std::vector<std::string>{"1", "01"}));
}

TEST(SetValue, ConvertsUpwardAtEachThresholdAndNeverBack) {
  EncodingLimits limits;
  limits.set_max_intset_entries = 4;
  limits.set_max_listpack_entries = 3;
  limits.set_max_listpack_value = 8;

  SetValue ints;  // past the intset's entries: a hashtable
  for (int i = 0; i < 4; ++i) ints.Add(std::to_string(i), limits);
  EXPECT_EQ(ints.encoding(), "intset");
  ints.Add("4", limits);
  EXPECT_EQ(ints.encoding(), "hashtable");
  for (int i = 0; i < 5; ++i) ints.Remove(std::to_string(i));
  EXPECT_EQ(ints.size(), 0u);
  EXPECT_EQ(ints.encoding(), "hashtable");

  SetValue few;  // a string into a small intset: a listpack
  few.Add("1", limits);
  few.Add("a", limits);
  EXPECT_EQ(few.encoding(), "listpack");
  few.Add("b", limits);
  EXPECT_EQ(few.encoding(), "listpack");  // at the limit it stays
  few.Add("c", limits);
  EXPECT_EQ(few.encoding(), "hashtable");

  SetValue wide;  // an integer longer than listpack values: a hashtable
  wide.Add("123456789", limits);
  wide.Add("a", limits);
  EXPECT_EQ(wide.encoding(), "hashtable");

  SetValue long_member;
  long_member.Add("a", limits);
  long_member.Add("123456789x", limits);
  EXPECT_EQ(long_member.encoding(), "hashtable");
  EXPECT_TRUE(long_member.Contains("123456789x"));
  EXPECT_TRUE(long_member.Contains("a"));
}

TEST(SetValue, PrepareChoosesTheEncodingOfANewSetByItsSize) {
  EncodingLimits limits;
  SetValue a, b, c;
  a.Prepare("1", 3, limits);
  EXPECT_EQ(a.encoding(), "intset");
  b.Prepare("x", 3, limits);
  EXPECT_EQ(b.encoding(), "listpack");
  c.Prepare("x", limits.set_max_listpack_entries + 1, limits);
  EXPECT_EQ(c.encoding(), "hashtable");
}

TEST(SetValue, CloneKeepsEncodingAndMembers) {
  EncodingLimits limits;
  for (const char* first : {"1", "a"}) {
    SetValue s;
    s.Add(first, limits);
    for (int i = 0; i < 700; i += 7) s.Add(std::to_string(i), limits);
    auto copy = s.Clone();
    EXPECT_EQ(copy->encoding(), s.encoding());
    EXPECT_EQ(Members(static_cast<const SetValue&>(*copy)), Members(s));
  }
}

TEST(SetValue, ScanOfAHashtableSeesEveryMemberOnceAcrossCursors) {
  EncodingLimits limits;
  SetValue s;
  for (int i = 0; i < 1000; ++i) s.Add("m" + std::to_string(i), limits);
  ASSERT_EQ(s.encoding(), "hashtable");
  std::multiset<std::string> seen;
  uint64_t cursor = 0;
  do {
    cursor = s.Scan(cursor, 10, [&](std::string_view m) { seen.emplace(m); });
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 1000u);
}

TEST(SetValue, RandomPicksEveryMemberOfEachEncoding) {
  EncodingLimits limits;
  std::mt19937_64 rng(1);
  for (const char* extra : {"", "x", "y"}) {
    SetValue s;
    for (int i = 0; i < 5; ++i) s.Add(std::to_string(i), limits);
    if (*extra == 'x') s.Add("x", limits);
    if (*extra == 'y') {
      for (int i = 0; i < 200; ++i) s.Add("y" + std::to_string(i), limits);
    }
    std::set<std::string> picked;
    for (int i = 0; i < 20000; ++i) picked.insert(s.Random(rng));
    EXPECT_EQ(picked.size(), s.size()) << s.encoding();
  }
}

}  // namespace
}  // namespace edgekv
