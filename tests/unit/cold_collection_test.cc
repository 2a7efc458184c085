#include "types/cold_collection.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace edgekv {
namespace {

TEST(ColdCollection, KnowsOnlyItsChangesAndCountsTheWhole) {
  ColdCollection c(ValueType::kHash, 7, 1000, "hashtable");
  EXPECT_TRUE(c.on_disk());
  EXPECT_EQ(c.version(), 7u);
  EXPECT_EQ(c.size(), 1000u);
  EXPECT_EQ(c.Change("a"), nullptr);  // the disk knows
  const size_t empty = c.bytes();

  c.Set("a", "1", /*added=*/true);
  c.Set("b", "2", /*added=*/false);  // a field that was on disk, changed
  c.Remove("c");
  EXPECT_EQ(c.size(), 1000u);
  ASSERT_NE(c.Change("a"), nullptr);
  EXPECT_EQ(*c.Change("a"), std::optional<std::string>("1"));
  ASSERT_NE(c.Change("c"), nullptr);
  EXPECT_FALSE(c.Change("c")->has_value());  // removed
  EXPECT_EQ(c.FindElement("b", nullptr), std::optional<std::string_view>("2"));
  EXPECT_EQ(c.FindElement("c", nullptr), std::nullopt);
  EXPECT_GT(c.bytes(), empty);

  // A removed field set again is there again; its value replaced, once.
  c.Set("c", "3", /*added=*/true);
  c.Set("a", "11", /*added=*/false);
  EXPECT_EQ(c.size(), 1001u);
  EXPECT_EQ(c.changes(), 3u);
  std::map<std::string, std::optional<std::string>> seen;
  c.ForEachChange([&](std::string_view e, const std::optional<std::string>& v) {
    seen.emplace(std::string(e), v);
  });
  EXPECT_EQ(seen, (std::map<std::string, std::optional<std::string>>{
                      {"a", "11"}, {"b", "2"}, {"c", "3"}}));

  c.ClearChanges();
  EXPECT_EQ(c.changes(), 0u);
  EXPECT_EQ(c.Change("a"), nullptr);
  EXPECT_EQ(c.size(), 1001u);  // the size stays: the disk has them now
  EXPECT_EQ(c.bytes(), empty);
}

}  // namespace
}  // namespace edgekv
