// The key specifications COMMAND INFO and GETKEYSANDFLAGS report agree with
// the key positions the dispatcher locks, for every command.
#include "commands/command_meta.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "commands/command_table.h"

namespace edgekv {
namespace {

std::vector<const CommandSpec*> EveryCommand(const CommandTable& table) {
  std::vector<const CommandSpec*> out;
  for (const auto& s : table.all()) {
    out.push_back(s.get());
    for (const CommandSpec& sub : s->subcommands) out.push_back(&sub);
  }
  return out;
}

// A request for `spec` with `argc` arguments: the name (and subcommand),
// then "a2", "a3"...
std::vector<std::string> Request(const CommandSpec& spec, size_t argc) {
  std::vector<std::string> args;
  size_t bar = spec.name.find('|');
  args.push_back(spec.name.substr(0, bar));
  if (bar != std::string::npos) args.push_back(spec.name.substr(bar + 1));
  while (args.size() < argc) args.push_back("a" + std::to_string(args.size()));
  return args;
}

TEST(CommandMeta, KeySpecsFindTheKeysTheDispatcherLocks) {
  CommandTable table;
  int compared = 0;
  for (const CommandSpec* spec : EveryCommand(table)) {
    const CommandMeta* meta = FindCommandMeta(spec->name);
    bool has_specs = meta != nullptr && !meta->key_specs.empty();
    // Commands whose keys move with their arguments (EVAL's numkeys) lock
    // in their handlers: the dispatcher has no positions for them.
    const bool movable = has_specs && HasMovableKeys(*meta);
    ASSERT_EQ(spec->first_key > 0 || movable, has_specs) << spec->name;
    if (!has_specs || movable) continue;
    size_t min = static_cast<size_t>(spec->arity < 0 ? -spec->arity : spec->arity);
    for (size_t argc : {min, min + 2, min + 4}) {
      if (spec->arity > 0 && argc != min) continue;
      std::vector<std::string> args = Request(*spec, argc);
      std::vector<std::string_view> views(args.begin(), args.end());
      std::vector<KeyRef> by_spec;
      ASSERT_TRUE(KeysBySpec(*meta, views, &by_spec)) << spec->name;
      std::vector<std::string_view> found;
      for (const KeyRef& k : by_spec) found.push_back(k.key);
      EXPECT_EQ(found, CommandKeys(*spec, views)) << spec->name << " with " << argc;
      ++compared;
    }
  }
  EXPECT_GT(compared, 50);
}

TEST(CommandMeta, KeynumSpecsReadTheirCountFromTheArguments) {
  const CommandMeta* eval = FindCommandMeta("eval");
  ASSERT_NE(eval, nullptr);
  EXPECT_TRUE(HasMovableKeys(*eval));
  std::vector<std::string_view> args = {"EVAL", "return 1", "2", "a", "b", "argv1"};
  std::vector<KeyRef> keys;
  ASSERT_TRUE(KeysBySpec(*eval, args, &keys));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key, "a");
  EXPECT_EQ(keys[1].key, "b");
  EXPECT_EQ(keys[1].flags, "RW access update");
  keys.clear();
  args = {"EVAL", "return 1", "0", "argv1"};
  ASSERT_TRUE(KeysBySpec(*eval, args, &keys));
  EXPECT_TRUE(keys.empty());
  for (std::string_view bad : {"3", "-1", "x", ""}) {
    args = {"EVAL", "return 1", bad, "a"};
    keys.clear();
    EXPECT_FALSE(KeysBySpec(*eval, args, &keys)) << bad;
  }
  EXPECT_FALSE(HasMovableKeys(*FindCommandMeta("get")));
}

TEST(CommandMeta, EveryEntryNamesACommandEdgekvHas) {
  CommandTable table;
  for (const CommandMeta& meta : AllCommandMeta()) {
    EXPECT_NE(table.FindFullName(meta.name), nullptr) << meta.name;
    EXPECT_EQ(FindCommandMeta(meta.name), &meta);
  }
  EXPECT_EQ(FindCommandMeta("nosuch"), nullptr);
}

TEST(CommandMeta, SetAndBitfieldKeyFlagsFollowTheirArguments) {
  auto flags = [](std::vector<std::string_view> args) {
    std::vector<KeyRef> keys;
    std::string name(args[0]);
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    EXPECT_TRUE(KeysBySpec(*FindCommandMeta(name), args, &keys));
    return keys.size() == 1 ? std::string(keys[0].flags) : "";
  };
  EXPECT_EQ(flags({"SET", "k", "v"}), "OW update");
  EXPECT_EQ(flags({"SET", "k", "v", "EX", "1", "get"}), "RW access update");
  EXPECT_EQ(flags({"BITFIELD", "k", "GET", "u8", "0"}), "RO access");
  EXPECT_EQ(flags({"BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1"}),
            "RW access update");
}

}  // namespace
}  // namespace edgekv
