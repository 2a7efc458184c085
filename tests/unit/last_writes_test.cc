// LastWrites: of each key's writes in a group, only the last one is kept, and
// the keys come out in LevelDB's order (namespace, then the bytes of the key).
// Checked against a plain std::map on hand-picked keys that defeat the inline
// comparisons (shared 16-byte prefixes, zero bytes, lengths around 8 and 16)
// and on random groups.
#include "storage/last_writes.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace edgekv {
namespace {

// What LastWrites must return: (ns, key, index of the last write), in order.
std::vector<std::pair<std::pair<uint32_t, std::string>, uint32_t>> Expected(
    const std::vector<KeyWrite>& writes) {
  std::map<std::pair<uint32_t, std::string>, uint32_t> last;
  for (uint32_t i = 0; i < writes.size(); ++i)
    last[{writes[i].ns, std::string(writes[i].key)}] = i;
  return {last.begin(), last.end()};
}

std::vector<std::pair<std::pair<uint32_t, std::string>, uint32_t>> Actual(
    const std::vector<KeyWrite>& writes) {
  std::vector<uint64_t> slots;
  std::vector<LastWrite> last;
  LastWrites(writes, &slots, &last);
  std::vector<std::pair<std::pair<uint32_t, std::string>, uint32_t>> out;
  for (const LastWrite& l : last) {
    const KeyWrite& w = writes[l.index];
    EXPECT_EQ(l.ns, w.ns);
    out.push_back({{w.ns, std::string(w.key)}, l.index});
  }
  return out;
}

std::vector<KeyWrite> WritesOf(
    const std::vector<std::pair<uint32_t, std::string>>& keys) {
  std::vector<KeyWrite> writes;
  for (const auto& [ns, key] : keys) writes.push_back({ns, key, "v", -1, true});
  return writes;
}

TEST(LastWritesTest, KeepsTheLastWriteOfEachKeyInKeyOrder) {
  using namespace std::string_literals;
  std::vector<std::pair<uint32_t, std::string>> keys = {
      {1, "b"},
      {1, "a"},
      {1, "a\0"s},  // equal to "a" in the inline words, longer
      {1, ""},
      {0, "b"},  // another namespace sorts first
      {1, "a\0\0"s},
      {1, "0123456789abcdef"},     // exactly 16 bytes
      {1, "0123456789abcdefX"},    // the same 16, then more
      {1, "0123456789abcdef\0"s},  // the same 16, then a zero byte
      {1, "0123456789abcdefW"},
      {1, "01234567"},
      {1, "01234567\0"s},
      {1, "a"},  // rewritten: this index wins
      {1, "0123456789abcdefX"},
      {1, std::string(40, 'z')},
      {1, std::string(39, 'z')},
      {1, "\xff"},
  };
  std::vector<KeyWrite> writes = WritesOf(keys);
  EXPECT_EQ(Actual(writes), Expected(writes));
  // Spot checks of what Expected encodes.
  auto actual = Actual(writes);
  ASSERT_FALSE(actual.empty());
  EXPECT_EQ(actual.front().first, (std::pair<uint32_t, std::string>{0, "b"}));
  EXPECT_EQ(actual.back().first, (std::pair<uint32_t, std::string>{1, "\xff"}));
}

TEST(LastWritesTest, RandomGroupsMatchAMap) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    // Few distinct bytes (with zero) and lengths around 8 and 16, so that
    // many keys share their inline words.
    std::vector<std::string> pool;
    for (int i = 0; i < 500; ++i) {
      std::string k(std::uniform_int_distribution<int>(0, 24)(rng), '\0');
      for (char& c : k) c = "\0ab\xff"[std::uniform_int_distribution<int>(0, 3)(rng)];
      pool.push_back(k);
    }
    std::vector<std::pair<uint32_t, std::string>> keys;
    for (int i = 0; i < 3000; ++i) {
      keys.push_back(
          {std::uniform_int_distribution<uint32_t>(0, 2)(rng),
           pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)]});
    }
    std::vector<KeyWrite> writes = WritesOf(keys);
    ASSERT_EQ(Actual(writes), Expected(writes)) << "round " << round;
  }
}

TEST(LastWritesTest, EmptyGroup) {
  std::vector<KeyWrite> none;
  EXPECT_TRUE(Actual(none).empty());
}

}  // namespace
}  // namespace edgekv
