// CLIENT subcommands that steer clients rather than describe them: PAUSE and
// UNPAUSE (hold every command, or the writes, for a while: a coordinator's
// switchover), REPLY (ON/OFF/SKIP), UNBLOCK (end another client's WAIT),
// NO-EVICT and HELP. Registered with the other CLIENT subcommands
// (server_family.cc).
#pragma once

#include "command.h"

namespace edgekv {

void ClientPause(CommandContext& ctx);
void ClientUnpause(CommandContext& ctx);
void ClientReply(CommandContext& ctx);
void ClientUnblock(CommandContext& ctx);
void ClientNoEvict(CommandContext& ctx);
void ClientHelp(CommandContext& ctx);

}  // namespace edgekv
