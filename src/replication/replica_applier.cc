#include "replica_applier.h"

#include <vector>

#include "commands/server_context.h"
#include "db/engine.h"
#include "edgekv/log.h"
#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "replication.h"
#include "scripting/library_loader.h"
#include "types/zset_value.h"
#include "wal/journal.h"

namespace edgekv {
namespace {
bool IsLibraryOp(wal::Op op) {
  return op == wal::Op::kLibraryPut || op == wal::Op::kLibraryDelete ||
         op == wal::Op::kLibraryFlush;
}
}  // namespace

Status ReplicaApplier::ParseFrame(std::string_view frame, uint64_t* seq, uint32_t* count,
                                  int64_t* time_ms) {
  if (frame.size() < wal::kFrameHeaderSize + wal::kBatchHeaderSize) {
    return Status::Corruption("short frame");
  }
  uint32_t len = wal::GetFixed32(frame.data() + 4);
  if (len + wal::kFrameHeaderSize != frame.size())
    return Status::Corruption("bad frame length");
  uint32_t crc = wal::GetFixed32(frame.data());
  if (crc != wal::FrameCrc(frame.substr(4)))
    return Status::Corruption("frame checksum mismatch");
  const char* p = frame.data() + wal::kFrameHeaderSize;
  *seq = wal::GetFixed64(p);
  *time_ms = static_cast<int64_t>(wal::GetFixed64(p + 8));
  *count = wal::GetFixed32(p + 16);
  return Status::Ok();
}

uint64_t ReplicaApplier::applied_seq() const {
  Engine* e = server_->engine();
  return e == nullptr ? 0 : e->wal().last_seq();
}

Status ReplicaApplier::ApplyFrames(const std::vector<std::string_view>& frames) {
  if (server_->engine() == nullptr) return Status::IOError("not loaded");
  Store& store = server_->store();
  const int dbs = store.databases();
  uint64_t applied = applied_seq();
  bool all = false;
  std::vector<size_t> stripes;
  // The keys the loop below writes, in its order, so that it can prefetch
  // their buckets and entries a few keys ahead (under the stripe locks).
  std::vector<AheadKey>& ahead = ahead_;
  ahead.clear();
  wal::BatchHeader h;
  uint64_t last = applied;
  for (std::string_view frame : frames) {
    uint64_t seq = wal::GetFixed64(frame.data() + wal::kFrameHeaderSize);
    if (seq <= last) continue;  // skipped below too
    last = seq;
    Status s = wal::DecodeBatch(
        frame.substr(wal::kFrameHeaderSize), &h, [&](const wal::OpView& op) {
          if (op.op == wal::Op::kFlushDb || op.op == wal::Op::kSwapDb) {
            all = true;
          } else if (IsLibraryOp(op.op)) {
            // Server-wide, no key.
          } else if (op.db >= 0 && op.db < dbs) {
            uint64_t hash = store.KeyHash(op.key);
            if (!all) stripes.push_back(store.StripeOfHash(hash));
            ahead.push_back({op.db, hash});
          }
        });
    if (!s.ok()) return s;
  }
  std::unique_ptr<StripeGuard> guard =
      all ? std::make_unique<StripeGuard>(&store, true)
          : std::make_unique<StripeGuard>(&store, std::move(stripes));
  MutationListener* journal = store.listener();
  size_t next = 0;  // index in `ahead` of the key written next
  auto prefetch = [&] {
    constexpr size_t kBucketAhead = 8, kEntryAhead = 4;
    if (next + kBucketAhead < ahead.size()) {
      const AheadKey& k = ahead[next + kBucketAhead];
      store.Prefetch(k.db, k.hash, false);
    }
    if (next + kEntryAhead < ahead.size()) {
      const AheadKey& k = ahead[next + kEntryAhead];
      store.Prefetch(k.db, k.hash, true);
    }
    ++next;
  };
  using LibraryKind = FunctionRegistry::Change::Kind;
  std::vector<LibraryChange> libraries;  // views into the frame being applied
  for (std::string_view frame : frames) {
    uint64_t seq = wal::GetFixed64(frame.data() + wal::kFrameHeaderSize);
    if (seq <= applied) continue;  // a heartbeat or a repeat
    applied = seq;
    wal::Journal::BeginReplicated(frame, seq);
    libraries.clear();
    Status s = wal::DecodeBatch(
        frame.substr(wal::kFrameHeaderSize), &h, [&](const wal::OpView& op) {
          if (op.db < 0 || op.db >= dbs) return;
          switch (op.op) {
            case wal::Op::kPut:
              prefetch();
              store.Put(op.db, op.key, op.value, op.expire_ms);
              break;
            case wal::Op::kErase:
              prefetch();
              store.Erase(op.db, op.key, INT64_MIN);
              break;
            case wal::Op::kHashSet:
              prefetch();
              if (op.flags & wal::kFlagCreated) store.Erase(op.db, op.key, INT64_MIN);
              store.HashSet(op.db, op.key, op.field, op.value, INT64_MIN);
              break;
            case wal::Op::kSetAdd:
              prefetch();
              if (op.flags & wal::kFlagCreated) store.Erase(op.db, op.key, INT64_MIN);
              store.SetAdd(op.db, op.key, op.field, INT64_MIN);
              break;
            case wal::Op::kZAdd:
              prefetch();
              if (op.flags & wal::kFlagCreated) store.Erase(op.db, op.key, INT64_MIN);
              double score;
              store.ZSetAdd(op.db, op.key, op.field, ZSetValue::DecodeScore(op.value),
                            INT64_MIN, {}, &score);
              break;
            case wal::Op::kHashDel:
            case wal::Op::kSetRem:
            case wal::Op::kZRem:
              prefetch();
              store.RemoveElement(op.db, op.key, op.ctype, op.field, INT64_MIN);
              break;
            case wal::Op::kExpire:
              prefetch();
              store.SetExpire(op.db, op.key, op.expire_ms, INT64_MIN);
              break;
            case wal::Op::kFlushDb:
              store.ApplyFlush(op.db, op.ns, true);
              break;
            case wal::Op::kSwapDb:
              if (op.db2 < dbs) store.SwapDb(op.db, op.db2, true);
              break;
            case wal::Op::kLibraryPut:
              libraries.push_back({LibraryKind::kPut, op.key, op.value});
              break;
            case wal::Op::kLibraryDelete:
              libraries.push_back({LibraryKind::kDelete, op.key, {}});
              break;
            case wal::Op::kLibraryFlush:
              libraries.push_back({LibraryKind::kFlush, {}, {}});
              break;
          }
        });
    // A batch's library changes at once: FCALL on another thread never sees
    // the libraries between a flush and the puts that follow it.
    if (s.ok() && !libraries.empty()) {
      ApplyLibraryChanges(server_->functions(), libraries);
    }
    if (journal != nullptr) journal->Commit();
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

void ReplicaApplier::DropReplicas(const char* why) {
  size_t dropped = 0;
  server_->clients().ForEach([&](ClientState& c) {
    if (!c.is_replica.load(std::memory_order_relaxed) || !c.request_close) return;
    c.kill_requested.store(true);
    c.request_close();
    ++dropped;
  });
  if (dropped > 0) Log(LogLevel::kNotice, "Dropped {} replica link(s): {}", dropped, why);
}

Status ReplicaApplier::BeginFullSync(std::string replid, uint64_t snapshot_seq) {
  Engine* engine = server_->engine();
  if (engine == nullptr) return Status::IOError("not loaded");
  DropReplicas("a full sync replaces this replica's data");
  server_->loading.store(true, std::memory_order_release);
  replid_ = std::move(replid);
  snapshot_seq_ = snapshot_seq;
  // Marked before anything is destroyed: a crash from here on leaves a
  // replica that answers LOADING until a full sync completes.
  Status marked = engine->MarkSyncIncomplete(true);
  if (!marked.ok()) return marked;
  // Start from nothing. The applier drops what it has not applied (a group
  // it is applying stops once the wipe begins) and waits for the new log:
  // nothing here waits for it, as this runs on an I/O thread.
  Applier& applier = engine->applier();
  applier.Hold(snapshot_seq);
  server_->store().DropMemory();
  Status s = engine->disk().Wipe();
  if (s.ok()) s = engine->wal().Reset(snapshot_seq + 1);
  applier.Release();
  if (!s.ok()) return s;
  server_->store().DropMemory();
  server_->replication().SetIds(NewReplicationId(), "", 0);
  engine->SaveReplicationIds();
  return Status::Ok();
}

Status ReplicaApplier::ApplySnapshotFrame(std::string_view frame) {
  Engine* engine = server_->engine();
  uint64_t seq;
  uint32_t count;
  int64_t time_ms;
  Status s = ParseFrame(frame, &seq, &count, &time_ms);
  if (!s.ok()) return s;
  if (seq != snapshot_seq_)
    return Status::Corruption("snapshot frame with another sequence");
  std::vector<std::string_view> one{frame.substr(wal::kFrameHeaderSize)};
  return engine->disk().Apply(one);
}

Status ReplicaApplier::EndFullSync() {
  Engine* engine = server_->engine();
  Status s = engine->disk().Sync();
  if (!s.ok()) return s;
  server_->store().ReloadFromDisk();
  LoadLibraries(server_->functions(), engine->disk().Libraries());
  // The mark goes first: a crash between the two then restarts with the
  // whole snapshot and an id of its own (a full sync next time), never with
  // the coordinator's id and the mark (LOADING for ever after a partial
  // resync).
  s = engine->MarkSyncIncomplete(false);
  if (!s.ok()) return s;
  server_->replication().SetIds(replid_, "", 0);
  engine->SaveReplicationIds();
  server_->loading.store(false, std::memory_order_release);
  Log(LogLevel::kNotice, "MASTER <-> REPLICA sync: finished with success at seq {}",
      snapshot_seq_);
  return s;
}

}  // namespace edgekv
