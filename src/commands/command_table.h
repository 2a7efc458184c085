// The registry of commands. Each family registers its commands in one place
// (RegisterStringFamily etc.), one line per command.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "command.h"

namespace edgekv {

class CommandTable {
 public:
  CommandTable();  // registers every family
  void Add(CommandSpec spec);
  // Case-insensitive; nullptr when unknown.
  const CommandSpec* Find(std::string_view name) const;
  const CommandSpec* FindSub(const CommandSpec& parent, std::string_view sub) const;
  // A command or, by its full name ("client|list"), a subcommand.
  const CommandSpec* FindFullName(std::string_view name) const;
  const std::vector<std::unique_ptr<CommandSpec>>& all() const { return specs_; }
  // How many ids commands and subcommands have (CommandSpec::id).
  size_t ids() const { return ids_; }

 private:
  std::vector<std::unique_ptr<CommandSpec>> specs_;
  std::unordered_map<std::string, const CommandSpec*> by_name_;
  size_t ids_ = 0;
};

// Families; each in its own file.
void RegisterConnectionFamily(CommandTable* t);
void RegisterStringFamily(CommandTable* t);
void RegisterBitFamily(CommandTable* t);
void RegisterHashFamily(CommandTable* t);
void RegisterSetFamily(CommandTable* t);
void RegisterZSetFamily(CommandTable* t);
void RegisterIntrospectionFamily(CommandTable* t);
void RegisterLatencyFamily(CommandTable* t);
void RegisterKeyFamily(CommandTable* t);
void RegisterTransactionFamily(CommandTable* t);
void RegisterServerFamily(CommandTable* t);
void RegisterCommandFamily(CommandTable* t);
void RegisterPersistenceFamily(CommandTable* t);
void RegisterReplicationFamily(CommandTable* t);
void RegisterScriptingFamily(CommandTable* t);
void RegisterFunctionFamily(CommandTable* t);

}  // namespace edgekv
