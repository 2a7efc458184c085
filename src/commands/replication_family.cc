// REPLICAOF SLAVEOF ROLE PSYNC REPLCONF WAIT.
#include "args.h"
#include "command_table.h"
#include "db/engine.h"
#include "dispatcher.h"
#include "edgekv/log.h"
#include "edgekv/wal_format.h"
#include "keyspace.h"
#include "replication/feeder.h"

namespace edgekv {
namespace {

// Turns this server into a master (NO ONE) or a replica of host:port. The
// network layer's link manager notices the change and (re)connects.
void ReplicaOf(CommandContext& ctx) {
  Replication& repl = ctx.server->replication();
  Engine* engine = ctx.server->engine();
  if (EqualsIgnoreCase(ctx.arg(1), "NO") && EqualsIgnoreCase(ctx.arg(2), "ONE")) {
    if (repl.is_replica()) {
      repl.SetUpstream("", 0);
      // A new history starts here; replicas of the old coordinator that are
      // not ahead of us can still continue from our log (replid2).
      repl.NewHistory(engine != nullptr ? engine->wal().last_seq() : 0);
      if (engine != nullptr) {
        engine->SaveReplicationIds();
        if (engine->sync_incomplete()) {
          Log(LogLevel::kWarning,
              "Promoted during a full sync: the dataset holds only the part of "
              "the snapshot that had arrived");
          (void)engine->MarkSyncIncomplete(false);
        }
      }
      ctx.server->store().set_delete_expired(true);
      ctx.server->loading.store(false);
      Log(LogLevel::kNotice, "MASTER MODE enabled (user request from 'id={}')",
          ctx.client->id);
    }
    ctx.reply->Ok();
    return;
  }
  int64_t port;
  if (!ParseInt64(ctx.arg(2), &port) || port <= 0 || port > 65535) {
    ctx.reply->Error("ERR Invalid master port");
    return;
  }
  UpstreamInfo up = repl.upstream();
  // The same upstream again is a no-op, as in Redis, unless it refused this
  // replica: then REPLICAOF is how to try again (after upgrading one side).
  if (repl.is_replica() && up.host == ctx.arg(1) && up.port == port &&
      up.state != LinkState::kRefused) {
    ctx.reply->SimpleString("OK Already connected to specified master");
    return;
  }
  ctx.server->store().set_delete_expired(false);
  repl.SetUpstream(std::string(ctx.arg(1)), static_cast<int>(port));
  Log(LogLevel::kNotice, "Connecting to MASTER {}:{}", ctx.arg(1), port);
  ctx.reply->Ok();
}

void Role(CommandContext& ctx) {
  Replication& repl = ctx.server->replication();
  Engine* engine = ctx.server->engine();
  uint64_t seq = engine != nullptr ? engine->wal().last_seq() : 0;
  ReplyBuilder& r = *ctx.reply;
  if (repl.is_replica()) {
    UpstreamInfo up = repl.upstream();
    // A refused link is down for good: Redis's "connect" (to be connected).
    static const char* kStates[] = {"none", "connecting", "sync", "connected", "connect"};
    r.ArrayHeader(5);
    r.Bulk("slave");
    r.Bulk(up.host);
    r.Integer(up.port);
    r.Bulk(kStates[static_cast<int>(up.state)]);
    r.Integer(static_cast<int64_t>(seq));
    return;
  }
  auto replicas = repl.replicas();
  r.ArrayHeader(3);
  r.Bulk("master");
  r.Integer(static_cast<int64_t>(seq));
  r.ArrayHeader(replicas.size());
  for (auto& rep : replicas) {
    r.ArrayHeader(3);
    r.Bulk(rep.ip);
    r.Bulk(std::to_string(rep.port));
    r.Bulk(std::to_string(rep.ack_seq));
  }
}

// PSYNC <replid> <seq>: from here on this connection feeds a replica.
void PSync(CommandContext& ctx) {
  Engine* engine = ctx.server->engine();
  if (engine == nullptr) {
    ctx.reply->Error("LOADING edgekv is loading the dataset in memory");
    return;
  }
  ClientState& c = *ctx.client;
  if (c.feeder || c.monitor)
    return;  // already a replica (or a monitor): ignored, as in Redis
  // A replica must read the log format this server writes: one that cannot
  // is refused now, with a reason it shows, rather than fed records it
  // would take for corruption. A fleet upgrades its replicas first.
  const int reads =
      c.replica_log_format > 0 ? c.replica_log_format : kLogFormatOfSilentReplicas;
  if (reads < wal::kVersion) {
    std::string addr = c.addr.substr(0, c.addr.rfind(':')) + ":" +
                       std::to_string(c.replica_listening_port);
    ctx.server->replication().refused_replicas.fetch_add(1);
    if (ctx.server->replication().FirstRefusal(addr)) {
      Log(LogLevel::kWarning,
          "Replica {} refused: it reads the log up to format {}, this server writes "
          "format {}. Upgrade the replica.",
          addr, reads, wal::kVersion);
    }
    ctx.reply->Error(
        fmt::format("INCOMPATIBLE this edgekv writes log format {} and the replica reads "
                    "up to format "
                    "{}: upgrade the replica",
                    wal::kVersion, reads));
    return;
  }
  int64_t seq = 0;
  if (!ParseInt64(ctx.arg(2), &seq)) seq = -1;
  ReplicaInfo info;
  info.client_id = c.id;
  info.ip = c.addr.substr(0, c.addr.rfind(':'));
  info.port = c.replica_listening_port;
  info.state = "wait_bgsave";
  info.ack_ms = ctx.now_ms;
  ctx.server->replication().AddReplica(info);
  auto feeder = std::make_shared<Feeder>(engine, &ctx.server->replication(), c.id);
  std::string line = feeder->Start(std::string(ctx.arg(1)),
                                   seq < 0 ? UINT64_MAX : static_cast<uint64_t>(seq));
  ctx.reply->buffer()->append(line);
  ctx.reply->buffer()->append("\r\n");
  c.feeder = std::move(feeder);
  c.is_replica.store(true, std::memory_order_relaxed);
}

void ReplConf(CommandContext& ctx) {
  if (ctx.argc() % 2 == 0) {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  ClientState& c = *ctx.client;
  for (size_t i = 1; i + 1 < ctx.argc(); i += 2) {
    std::string_view k = ctx.arg(i), v = ctx.arg(i + 1);
    if (EqualsIgnoreCase(k, "listening-port")) {
      int64_t p;
      if (!ParseInt64(v, &p)) {
        ctx.reply->Error(errors::kNotInteger);
        return;
      }
      c.replica_listening_port = static_cast<int>(p);
      ctx.server->replication().UpdateReplica(
          c.id, [p](ReplicaInfo& r) { r.port = static_cast<int>(p); });
    } else if (EqualsIgnoreCase(k, "ack")) {
      // No reply to an ACK, as in Redis: the replica does not read one.
      int64_t seq;
      if (!ParseInt64(v, &seq)) return;
      int64_t now = ctx.now_ms;
      // "ACK <seq> ACK-TIME <coordinator ms of that record>" gives lag in ms.
      int64_t rec_ms = 0;
      if (i + 3 < ctx.argc() && EqualsIgnoreCase(ctx.arg(i + 2), "ack-time")) {
        (void)ParseInt64(ctx.arg(i + 3), &rec_ms);
      }
      ctx.server->replication().UpdateReplica(c.id, [seq, now, rec_ms](ReplicaInfo& r) {
        r.ack_seq = static_cast<uint64_t>(seq);
        r.ack_ms = now;
        if (rec_ms > 0) r.ack_record_ms = rec_ms;
      });
      return;
    } else if (EqualsIgnoreCase(k, "getack")) {
      // Sent by a coordinator to its replica; from anyone else ignored,
      // without a reply, as in Redis.
      return;
    } else if (EqualsIgnoreCase(k, "rdb-only")) {
      int64_t only;
      if (!ParseInt64(v, &only)) {
        ctx.reply->Error(errors::kNotInteger);
        return;
      }
      if (only < 0 || only > 1) {
        ctx.reply->Error("ERR value is out of range, value must between 0 and 1");
        return;
      }
    } else if (EqualsIgnoreCase(k, "capa")) {
      int64_t format;
      if (v.substr(0, kLogFormatCapa.size()) == kLogFormatCapa &&
          ParseInt64(v.substr(kLogFormatCapa.size()), &format) && format > 0 &&
          format < 256) {
        c.replica_log_format = static_cast<int>(format);
      }
    } else if (!EqualsIgnoreCase(k, "ip-address")) {
      ctx.reply->Error("ERR Unrecognized REPLCONF option: " + std::string(k));
      return;
    }
  }
  ctx.reply->Ok();
}

// WAIT numreplicas timeout: blocks until that many replicas acknowledged this
// client's last write, or the timeout (ms, 0 = forever) passes.
// WAIT's timeout in milliseconds, with Redis's errors
// (getTimeoutFromObjectOrReply).
bool ParseWaitTimeout(CommandContext& ctx, int64_t* timeout) {
  if (!ParseInt64(ctx.arg(2), timeout)) {
    ctx.reply->Error("ERR timeout is not an integer or out of range");
    return false;
  }
  if (*timeout < 0) {
    ctx.reply->Error("ERR timeout is negative");
    return false;
  }
  return true;
}

void Wait(CommandContext& ctx) {
  if (ctx.server->replication().is_replica() &&
      ctx.server->config().Bool(Cfg::kReplicaWriteForward)) {
    // On a forwarding replica: wait until this replica has applied the
    // client's forwarded writes (read-your-writes here); 1 when it has.
    int64_t timeout;
    if (!ParseWaitTimeout(ctx, &timeout)) return;
    uint64_t target = ctx.client->forwarded_seq;
    ServerContext* server = ctx.server;
    auto applied = [server] {
      Engine* e = server->engine();
      return e == nullptr ? 0 : e->wal().last_seq();
    };
    // Inside EXEC nothing blocks: the answer is what holds now (Redis).
    if (applied() >= target || ctx.in_exec) {
      ctx.reply->Integer(applied() >= target ? 1 : 0);
      return;
    }
    ctx.client->blocked_deadline_ms = timeout == 0 ? 0 : ctx.now_ms + timeout;
    ctx.client->blocked = [applied, target](ReplyBuilder& reply, bool timed_out) {
      bool ok = applied() >= target;
      if (!ok && !timed_out) return false;
      reply.Integer(ok ? 1 : 0);
      return true;
    };
    return;
  }
  if (ctx.server->replication().is_replica()) {
    ctx.reply->Error(
        "ERR WAIT cannot be used with replica instances. Please also note that "
        "since Redis 4.0 if a replica is configured to be writable (which is not "
        "the default) writes to replicas are just local and are not propagated.");
    return;
  }
  int64_t n, timeout;
  if (!ParseInt64(ctx.arg(1), &n)) {
    ctx.reply->Error(errors::kNotInteger);
    return;
  }
  if (!ParseWaitTimeout(ctx, &timeout)) return;
  Replication* repl = &ctx.server->replication();
  // A client that wrote nothing waits for replicas too, as in Redis: every
  // online replica has acknowledged its (empty) writes, and WAIT blocks
  // until the timeout when fewer than n are online.
  uint64_t target = ctx.client->last_write_seq;
  int acked = repl->CountAcked(target);
  if (acked >= n || ctx.in_exec) {  // inside EXEC nothing blocks (Redis)
    ctx.reply->Integer(acked);
    return;
  }
  ctx.client->blocked_deadline_ms = timeout == 0 ? 0 : ctx.now_ms + timeout;
  ctx.client->blocked = [repl, target, n](ReplyBuilder& reply, bool timed_out) {
    int got = repl->CountAcked(target);
    if (got < n && !timed_out) return false;
    reply.Integer(got);
    return true;
  };
}

}  // namespace

void RegisterReplicationFamily(CommandTable* t) {
  const uint32_t adm = kAdmin | kNoScript;
  const uint32_t replicaof = adm | kStale | kNoAsyncLoading | kWhileSyncing;
  t->Add(
      {"replicaof", 3, replicaof, 0, 0, 0, ReplicaOf, "server", "Make this a replica"});
  t->Add({"slaveof", 3, replicaof, 0, 0, 0, ReplicaOf, "server", "Alias of REPLICAOF"});
  t->Add({"role", 1, kNoScript | kLoading | kStale | kFast, 0, 0, 0, Role, "server",
          "Replication role", "admin dangerous"});
  t->Add({"psync", -3, adm | kNoAsyncLoading | kNoMulti, 0, 0, 0, PSync, "server",
          "Start replication (replicas)"});
  t->Add({"replconf", -1, adm | kLoading | kStale | kAllowBusy, 0, 0, 0, ReplConf,
          "server", "Replica settings"});
  t->Add({"wait", 3, kNoScript, 0, 0, 0, Wait, "generic", "Wait for replicas",
          "connection"});
}

}  // namespace edgekv
