#include "client_control.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "args.h"
#include "client_state.h"
#include "server_context.h"

namespace edgekv {

void ClientPause(CommandContext& ctx) {
  // Redis's order: the mode, then the timeout.
  auto mode = ServerContext::PauseMode::kAll;
  if (ctx.argc() == 4) {
    if (EqualsIgnoreCase(ctx.arg(3), "write")) {
      mode = ServerContext::PauseMode::kWrite;
    } else if (!EqualsIgnoreCase(ctx.arg(3), "all")) {
      ctx.reply->Error("ERR CLIENT PAUSE mode must be WRITE or ALL");
      return;
    }
  } else if (ctx.argc() > 4) {
    ctx.reply->Error("ERR unknown subcommand or wrong number of arguments for '" +
                     std::string(ctx.arg(1)) + "'. Try CLIENT HELP.");
    return;
  }
  int64_t timeout = 0;
  if (!ParseInt64(ctx.arg(2), &timeout)) {
    ctx.reply->Error("ERR timeout is not an integer or out of range");
    return;
  }
  if (timeout < 0) {
    ctx.reply->Error("ERR timeout is negative");
    return;
  }
  // As Redis: a timeout past the end of time pauses until then.
  timeout = std::min(timeout, INT64_MAX - ctx.now_ms);
  ctx.server->Pause(ctx.now_ms + timeout, mode, !ctx.in_exec && !ctx.all_locked);
  ctx.reply->Ok();
}

void ClientUnpause(CommandContext& ctx) {
  ctx.server->Unpause();
  ctx.reply->Ok();
}

// OFF and SKIP write no reply of their own: the connection drops what is
// written while reply_off or reply_skip say so (Connection::ProcessInput).
void ClientReply(CommandContext& ctx) {
  ClientState& c = *ctx.client;
  // Inside EXEC, Redis leaves the transaction's reply short (its array
  // announces replies it then drops); edgekv refuses instead.
  if (ctx.in_exec) {
    ctx.reply->Error("ERR CLIENT REPLY can't be used inside a transaction");
    return;
  }
  if (EqualsIgnoreCase(ctx.arg(2), "on")) {
    c.reply_off = false;
    c.reply_skip = 0;
    ctx.reply->Ok();
  } else if (EqualsIgnoreCase(ctx.arg(2), "off")) {
    c.reply_off = true;
  } else if (EqualsIgnoreCase(ctx.arg(2), "skip")) {
    if (!c.reply_off) c.reply_skip = 2;  // this command's reply and the next's
  } else {
    ctx.reply->Error("ERR syntax error");
  }
}

void ClientUnblock(CommandContext& ctx) {
  // Redis's order: the reason, then the id.
  auto how = ClientState::kUnblockTimeout;
  if (ctx.argc() == 4) {
    if (EqualsIgnoreCase(ctx.arg(3), "error")) {
      how = ClientState::kUnblockError;
    } else if (!EqualsIgnoreCase(ctx.arg(3), "timeout")) {
      ctx.reply->Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      return;
    }
  } else if (ctx.argc() > 4) {
    ctx.reply->Error("ERR unknown subcommand or wrong number of arguments for '" +
                     std::string(ctx.arg(1)) + "'. Try CLIENT HELP.");
    return;
  }
  int64_t id = 0;
  if (!ParseInt64(ctx.arg(2), &id)) {
    ctx.reply->Error("ERR value is not an integer or out of range");
    return;
  }
  // The client's own thread ends its blocked command (Connection::PollBlocked
  // looks every millisecond).
  bool unblocked = false;
  ctx.server->clients().ForEach([&](ClientState& c) {
    if (static_cast<int64_t>(c.id) == id && c.blocked_now.load()) {
      int none = ClientState::kNoUnblock;
      unblocked = c.unblock_request.compare_exchange_strong(none, how);
    }
  });
  ctx.reply->Integer(unblocked ? 1 : 0);
}

void ClientNoEvict(CommandContext& ctx) {
  if (EqualsIgnoreCase(ctx.arg(2), "on")) {
    ctx.client->no_evict = true;
  } else if (EqualsIgnoreCase(ctx.arg(2), "off")) {
    ctx.client->no_evict = false;
  } else {
    ctx.reply->Error("ERR syntax error");
    return;
  }
  ctx.reply->Ok();
}

void ClientHelp(CommandContext& ctx) {
  // Redis's text, for the subcommands edgekv has (no TRACKING, CACHING,
  // GETREDIR, TRACKINGINFO: no client-side caching yet).
  static constexpr std::string_view kLines[] = {
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "KILL <ip:port>",
      "    Kill connection made from <ip:port>.",
      "KILL <option> <value> [<option> <value> [...]]",
      "    Kill connections. Options are:",
      "    * ADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made from the specified address",
      "    * LADDR (<ip:port>|<unixsocket>:0)",
      "      Kill connections made to specified local address",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Kill connections by type.",
      "    * USER <username>",
      "      Kill connections authenticated by <username>.",
      "    * SKIPME (YES|NO)",
      "      Skip killing current connection (default: yes).",
      "LIST [options ...]",
      "    Return information about client connections. Options:",
      "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
      "      Return clients of specified type.",
      "UNPAUSE",
      "    Stop the current client pause, resuming traffic.",
      "PAUSE <timeout> [WRITE|ALL]",
      "    Suspend all, or just write, clients for <timeout> milliseconds.",
      "REPLY (ON|OFF|SKIP)",
      "    Control the replies sent to the current connection.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "SETINFO <LIB-NAME|LIB-VER> <value>",
      "    Set client library name or version.",
      "UNBLOCK <clientid> [TIMEOUT|ERROR]",
      "    Unblock the specified blocked client.",
      "NO-EVICT (ON|OFF)",
      "    Protect current client connection from eviction.",
  };
  ReplyHelp(ctx.reply, "CLIENT", kLines);
}

}  // namespace edgekv
