// MULTI EXEC DISCARD WATCH UNWATCH. EXEC runs the queued commands with every
// stripe locked, so no other client sees a state between two of them.
#include "command_table.h"
#include "dispatcher.h"
#include "keyspace.h"

namespace edgekv {
namespace {

void Multi(CommandContext& ctx) {
  if (ctx.client->in_multi) {
    ctx.reply->Error("ERR MULTI calls can not be nested");
    return;
  }
  ctx.client->in_multi = true;
  ctx.client->multi_error = false;
  ctx.client->queued.clear();
  ctx.reply->Ok();
}

void Discard(CommandContext& ctx) {
  if (!ctx.client->in_multi) {
    ctx.reply->Error("ERR DISCARD without MULTI");
    return;
  }
  Dispatcher::ClearTransaction(*ctx.server, *ctx.client);
  ctx.reply->Ok();
}

void Exec(CommandContext& ctx) {
  ClientState& c = *ctx.client;
  if (!c.in_multi) {
    ctx.reply->Error("ERR EXEC without MULTI");
    return;
  }
  if (c.multi_error) {
    Dispatcher::ClearTransaction(*ctx.server, c);
    ctx.reply->Error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  std::vector<std::vector<std::string>> queued = std::move(c.queued);
  c.queued.clear();
  c.multi_mem_bytes.store(0, std::memory_order_relaxed);
  c.in_multi = false;
  Store& store = StoreOf(ctx);
  {
    // Holding every stripe, check WATCH and run the queue atomically.
    StripeGuard all(&store, true);
    if (c.watch_flag.dirty.load(std::memory_order_relaxed)) {
      ctx.reply->NullArray();
    } else {
      ctx.reply->ArrayHeader(queued.size());
      std::vector<std::string_view> views;
      for (auto& cmd : queued) {
        views.assign(cmd.begin(), cmd.end());
        CommandContext sub{views, ctx.reply, &c, ctx.server, ctx.now_ms, true, true};
        // Resolution succeeded at queue time; resolve again for the spec.
        const CommandSpec* spec =
            ResolveCommand(ctx.server->commands(), views, *ctx.reply);
        if (spec != nullptr) RunCommand(*spec, sub);
      }
      // The whole transaction is one batch in the write-ahead log.
      CommitWrites(store, c);
    }
  }
  Dispatcher::ClearTransaction(*ctx.server, c);
}

void Watch(CommandContext& ctx) {
  ClientState& c = *ctx.client;
  if (c.in_multi) {
    ctx.reply->Error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  int db = DbOf(ctx);
  for (size_t i = 1; i < ctx.argc(); ++i) {
    std::string key(ctx.arg(i));
    bool already = false;
    for (auto& [wdb, wkey] : c.watched) {
      if (wdb == db && wkey == key) already = true;
    }
    if (already) continue;
    StoreOf(ctx).Watch(db, key, &c.watch_flag);
    c.watched.emplace_back(db, std::move(key));
  }
  ctx.reply->Ok();
}

void Unwatch(CommandContext& ctx) {
  Dispatcher::Unwatch(*ctx.server, *ctx.client, ctx.all_locked);
  ctx.reply->Ok();
}

}  // namespace

void RegisterTransactionFamily(CommandTable* t) {
  // MULTI EXEC DISCARD WATCH run at once inside MULTI (kTxControl); UNWATCH
  // is queued, as in Redis.
  const uint32_t any = kNoScript | kLoading | kStale;
  const uint32_t tx = kTxControl | any | kFast | kAllowBusy;
  t->Add({"multi", 1, tx, 0, 0, 0, Multi, "transactions", "Start a transaction"});
  t->Add({"exec", 1, kTxControl | any | kSkipSlowlog, 0, 0, 0, Exec, "transactions",
          "Execute a transaction"});
  t->Add({"discard", 1, tx, 0, 0, 0, Discard, "transactions", "Discard"});
  t->Add({"watch", -2, tx, 1, -1, 1, Watch, "transactions", "Watch keys"});
  t->Add({"unwatch", 1, any | kFast | kAllowBusy, 0, 0, 0, Unwatch, "transactions",
          "Forget watched keys"});
}

}  // namespace edgekv
