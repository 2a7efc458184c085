// PING ECHO HELLO AUTH SELECT QUIT RESET.
#include "args.h"
#include "command_table.h"
#include "dispatcher.h"
#include "version.h"

namespace edgekv {
namespace {

// Compares without leaking, through timing, how much of a password matched.
bool SecureEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";

// Checks credentials for the default user; false writes the error.
bool Authenticate(CommandContext& ctx, std::string_view user, std::string_view pass) {
  std::string required = ctx.server->config().String(Cfg::kRequirepass);
  if (user != "default" || (!required.empty() && !SecureEquals(pass, required))) {
    ctx.reply->Error(kWrongPass);
    return false;
  }
  ctx.client->authenticated = true;
  return true;
}

void Ping(CommandContext& ctx) {
  if (ctx.argc() > 2) {
    ctx.reply->Error(WrongArity("ping"));
  } else if (ctx.argc() == 2) {
    ctx.reply->Bulk(ctx.arg(1));
  } else {
    ctx.reply->SimpleString("PONG");
  }
}

void Echo(CommandContext& ctx) { ctx.reply->Bulk(ctx.arg(1)); }

void Auth(CommandContext& ctx) {
  ctx.redacted = ~uint64_t{1};  // every argument (Redis leaks one with too many)
  if (ctx.argc() > 3) {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  if (ctx.argc() == 2 && ctx.server->config().String(Cfg::kRequirepass).empty()) {
    ctx.reply->Error(
        "ERR AUTH <password> called without any password configured for the "
        "default user. Are you sure your configuration is correct?");
    return;
  }
  std::string_view user = ctx.argc() == 3 ? ctx.arg(1) : "default";
  std::string_view pass = ctx.argc() == 3 ? ctx.arg(2) : ctx.arg(1);
  if (Authenticate(ctx, user, pass)) ctx.reply->Ok();
}

void Hello(CommandContext& ctx) {
  ClientState& c = *ctx.client;
  int64_t ver = c.resp.load();
  size_t i = 1;
  if (ctx.argc() >= 2) {
    if (!ParseInt64(ctx.arg(1), &ver)) {
      ctx.reply->Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (ver < 2 || ver > 3) {
      ctx.reply->Error("NOPROTO unsupported protocol version");
      return;
    }
    i = 2;
  }
  std::string_view setname;
  bool has_setname = false;
  for (; i < ctx.argc(); ++i) {
    bool more = i + 1 < ctx.argc();
    if (EqualsIgnoreCase(ctx.arg(i), "AUTH") && i + 2 < ctx.argc()) {
      if (i + 2 < 64) ctx.redacted |= uint64_t{3} << (i + 1);
      if (!Authenticate(ctx, ctx.arg(i + 1), ctx.arg(i + 2))) return;
      i += 2;
    } else if (EqualsIgnoreCase(ctx.arg(i), "SETNAME") && more) {
      setname = ctx.arg(i + 1);
      has_setname = true;
      ++i;
    } else {
      ctx.reply->Error("ERR Syntax error in HELLO option '" + std::string(ctx.arg(i)) +
                       "'");
      return;
    }
  }
  if (!c.authenticated) {
    ctx.reply->Error(
        "NOAUTH HELLO must be called with the client already authenticated, "
        "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
        "authenticate the client and select the RESP protocol version at the "
        "same time");
    return;
  }
  if (has_setname) {
    for (char ch : setname) {
      if (ch < '!' || ch > '~') {
        ctx.reply->Error(
            "ERR Client names cannot contain spaces, newlines or special "
            "characters.");
        return;
      }
    }
    MutexLock l(&c.mu);
    c.name = std::string(setname);
  }
  c.resp.store(static_cast<int>(ver));
  ctx.reply->set_resp(static_cast<int>(ver));
  ReplyBuilder& r = *ctx.reply;
  r.MapHeader(7);
  r.Bulk("server");
  r.Bulk("redis");
  r.Bulk("version");
  r.Bulk(kRedisCompatVersion);
  r.Bulk("proto");
  r.Integer(ver);
  r.Bulk("id");
  r.Integer(static_cast<int64_t>(c.id));
  r.Bulk("mode");
  r.Bulk("standalone");
  r.Bulk("role");
  r.Bulk("master");
  r.Bulk("modules");
  r.ArrayHeader(0);
}

void Select(CommandContext& ctx) {
  int db;
  if (std::string_view err = ParseInt32(ctx.arg(1), &db); !err.empty()) {
    ctx.reply->Error(err);
    return;
  }
  if (db < 0 || db >= ctx.server->store().databases()) {
    ctx.reply->Error(errors::kDbIndex);
    return;
  }
  ctx.client->db.store(db);
  ctx.reply->Ok();
}

void Quit(CommandContext& ctx) {
  ctx.client->close_after_reply = true;
  ctx.reply->Ok();
}

void Reset(CommandContext& ctx) {
  ClientState& c = *ctx.client;
  Dispatcher::ClearTransaction(*ctx.server, c);
  Dispatcher::StopMonitor(*ctx.server, c);
  c.db.store(0);
  c.resp.store(2);
  ctx.reply->set_resp(2);
  c.authenticated = ctx.server->config().String(Cfg::kRequirepass).empty();
  {
    MutexLock l(&c.mu);
    c.name.clear();
  }
  ctx.reply->SimpleString("RESET");
}

}  // namespace

void RegisterConnectionFamily(CommandTable* t) {
  // Inside MULTI, AUTH and HELLO are queued like other commands (as in Redis);
  // QUIT and RESET act at once. PING is refused while loading, as in Redis
  // (a load balancer's health check sees -LOADING).
  const uint32_t conn = kConnection | kFast | kLoading | kStale;
  const uint32_t any_time = kNoScript | kAllowBusy;  // also while a script is busy
  t->Add(
      {"ping", -1, kConnection | kFast, 0, 0, 0, Ping, "connection", "Ping the server"});
  t->Add({"echo", 2, conn, 0, 0, 0, Echo, "connection", "Echo the given string"});
  t->Add({"auth", -2, conn | kNoAuth | any_time, 0, 0, 0, Auth, "connection",
          "Authenticate to the server"});
  t->Add({"hello", -1, conn | kNoAuth | any_time, 0, 0, 0, Hello, "connection",
          "Handshake with the server"});
  t->Add(
      {"select", 2, conn, 0, 0, 0, Select, "connection", "Change the selected database"});
  t->Add({"quit", -1, conn | kNoAuth | kTxControl | any_time, 0, 0, 0, Quit, "connection",
          "Close the connection"});
  t->Add({"reset", 1, conn | kNoAuth | kTxControl | any_time, 0, 0, 0, Reset,
          "connection", "Reset the connection"});
}

}  // namespace edgekv
