// What Redis 7.0 says of each command beyond what the dispatcher uses: its
// tips and its key specifications, for COMMAND INFO, COMMAND GETKEYS and
// COMMAND GETKEYSANDFLAGS. The facts are Redis's, for the commands edgekv
// has; a unit test checks each command's key specifications against the key
// positions the dispatcher locks.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace edgekv {

// A key specification with Redis's begin_search "index" and find_keys
// "range" or, with keynumidx set, "keynum" (EVAL's numkeys).
struct KeySpec {
  const char* flags;  // Redis's key-spec flags, space-separated: "RW access update"
  int index;          // the first key's argument position (keynum: where to begin)
  int lastkey;        // the last key, after the first; negative: from the end
  int keystep;
  int limit;
  const char* notes = nullptr;
  // keynum: the number of keys is at index + keynumidx, the first key at
  // index + firstkey.
  int keynumidx = -1;
  int firstkey = 0;
  bool keynum() const { return keynumidx >= 0; }
};

struct CommandMeta {
  const char* name;  // "client|list" for subcommands
  const char* tips;  // space-separated; "" for none
  std::vector<KeySpec> key_specs;
};

// Whether a command's keys depend on its arguments (COMMAND INFO's
// movablekeys): a keynum key spec.
bool HasMovableKeys(const CommandMeta& meta);

// Null for a command Redis gives neither tips nor key specs.
const CommandMeta* FindCommandMeta(std::string_view name);
const std::vector<CommandMeta>& AllCommandMeta();

// The keys a request names, per key specification, in order, with their
// flags: what COMMAND GETKEYSANDFLAGS reports. A specification whose flags
// say variable_flags gets the flags of this request (SET with GET reads the
// key, without it only overwrites it). False if a specification's keys run
// past the arguments.
struct KeyRef {
  std::string_view key;
  std::string_view flags;
};
bool KeysBySpec(const CommandMeta& meta, std::span<const std::string_view> args,
                std::vector<KeyRef>* out);

}  // namespace edgekv
