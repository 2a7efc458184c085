// SAVE BGSAVE LASTSAVE. edgekv persists continuously (write-ahead log +
// LevelDB), so "saving" is a checkpoint: everything logged is fsynced, applied
// to LevelDB and synced there, and old log segments are dropped.
#include <string>

#include "args.h"
#include "command_table.h"
#include "db/engine.h"
#include "dispatcher.h"
#include "keyspace.h"

namespace edgekv {
namespace {

void Save(CommandContext& ctx) {
  Engine* engine = ctx.server->engine();
  if (engine == nullptr) {
    ctx.reply->Error("ERR persistence is not available");
    return;
  }
  Status s = engine->Checkpoint();
  if (!s.ok()) {
    ctx.reply->Error("ERR " + s.message());
    return;
  }
  ctx.reply->Ok();
}

void BgSave(CommandContext& ctx) {
  Engine* engine = ctx.server->engine();
  if (engine == nullptr) {
    ctx.reply->Error("ERR persistence is not available");
    return;
  }
  for (size_t i = 1; i < ctx.argc(); ++i) {
    if (!EqualsIgnoreCase(ctx.arg(i), "SCHEDULE")) {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  StatusOr<bool> started = engine->StartBackgroundCheckpoint();
  if (!started.ok()) {
    ctx.reply->Error("ERR " + started.status().message());
    return;
  }
  if (!started.value()) {
    ctx.reply->Error("ERR Background save already in progress");
    return;
  }
  ctx.reply->SimpleString("Background saving started");
}

void LastSave(CommandContext& ctx) {
  Engine* engine = ctx.server->engine();
  ctx.reply->Integer(engine == nullptr ? ctx.server->start_ms() / 1000
                                       : engine->last_save_ms() / 1000);
}

}  // namespace

void RegisterPersistenceFamily(CommandTable* t) {
  const uint32_t adm = kAdmin | kNoScript | kNoAsyncLoading;
  t->Add(
      {"save", 1, adm | kNoMulti, 0, 0, 0, Save, "server", "Checkpoint synchronously"});
  t->Add({"bgsave", -1, adm, 0, 0, 0, BgSave, "server", "Checkpoint in the background"});
  t->Add({"lastsave", 1, kLoading | kStale | kFast, 0, 0, 0, LastSave, "server",
          "Unix time of the last checkpoint", "admin dangerous"});
}

}  // namespace edgekv
