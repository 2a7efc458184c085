// SAVE BGSAVE LASTSAVE. edgekv persists continuously (write-ahead log +
// LevelDB), so "saving" is a checkpoint: everything logged is fsynced, applied
// to LevelDB and synced there, and old log segments are dropped.
#include <thread>

#include "command_table.h"
#include "dispatcher.h"
#include "keyspace.h"
#include "storage/engine.h"
#include "util/thread_name.h"

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
  // The engine outlives every command thread; a detached checkpoint is safe
  // until shutdown, which checkpoints anyway.
  std::thread([engine] {
    SetThreadName("ekv-bgsave");
    (void)engine->Checkpoint();
  }).detach();
  ctx.reply->SimpleString("Background saving started");
}

void LastSave(CommandContext& ctx) {
  Engine* engine = ctx.server->engine();
  ctx.reply->Integer(engine == nullptr ? ctx.server->start_ms() / 1000
                                       : engine->last_save_ms() / 1000);
}

}  // namespace

void RegisterPersistenceFamily(CommandTable* t) {
  const uint32_t adm = kAdmin | kNoMulti;
  t->Add({"save", 1, adm, 0, 0, 0, Save, "server", "Checkpoint synchronously"});
  t->Add(
      {"bgsave", -1, kAdmin, 0, 0, 0, BgSave, "server", "Checkpoint in the background"});
  t->Add({"lastsave", 1, kLoading | kStale | kFast, 0, 0, 0, LastSave, "server",
          "Unix time of the last checkpoint", "admin dangerous"});
}

}  // namespace edgekv
