#include "feeder.h"

#include <chrono>

#include "db/engine.h"
#include "edgekv/log.h"
#include "format/batch.h"
#include "replication.h"

namespace edgekv {

Feeder::Feeder(Engine* engine, Replication* repl, uint64_t client_id)
    : engine_(engine), repl_(repl), client_id_(client_id) {}

Feeder::~Feeder() { repl_->RemoveReplica(client_id_); }

std::string Feeder::Start(const std::string& replid, uint64_t seq) {
  const std::string wal_dir = engine_->wal_dir();
  const std::string my_id = repl_->replid();
  uint64_t last = engine_->wal().last_seq();
  if (repl_->SameHistory(replid, seq) && seq <= last) {
    auto cursor = std::make_unique<wal::WalCursor>(wal_dir);
    if (cursor->Seek(seq).ok()) {
      cursor_ = std::move(cursor);
      sent_seq_ = seq;
      repl_->CountSync(1);
      repl_->UpdateReplica(client_id_, [&](ReplicaInfo& r) {
        r.state = "online";
        r.sent_seq = seq;
        r.ack_seq = seq;
      });
      Log(LogLevel::kNotice, "Replica {}: partial resynchronization from seq {}",
          client_id_, seq + 1);
      return "+CONTINUE " + my_id;
    }
  }
  if (replid != "?") repl_->CountSync(2);
  // Full sync: a LevelDB snapshot at the sequence it holds, then the log
  // from there (kept until LevelDB synced past it). No wait for the applier
  // to catch up first: this runs on a client thread.
  engine_->applier().Boost();  // NewSnapshot waits for its current group
  snapshot_ = engine_->disk().NewSnapshot();
  if (snapshot_ == nullptr) {
    Log(LogLevel::kWarning, "Replica {}: full sync impossible now: LevelDB is closed",
        client_id_);
    failed_ = true;
    return "-ERR full sync unavailable: LevelDB is closed after a write error";
  }
  sent_seq_ = snapshot_->seq();
  cursor_ = std::make_unique<wal::WalCursor>(wal_dir);
  Status s = cursor_->Seek(sent_seq_);
  if (!s.ok()) {
    Log(LogLevel::kWarning, "Replica {}: log not positioned: {}", client_id_,
        s.message());
    failed_ = true;
  }
  repl_->CountSync(0);
  repl_->UpdateReplica(client_id_, [&](ReplicaInfo& r) {
    r.state = "send_bulk";
    r.sent_seq = sent_seq_;
  });
  Log(LogLevel::kNotice, "Replica {}: full resynchronization at seq {}", client_id_,
      sent_seq_);
  return "+FULLRESYNC " + my_id + " " + std::to_string(sent_seq_);
}

bool Feeder::Fill(std::string* out, size_t max_bytes) {
  size_t before = out->size();
  if (snapshot_ != nullptr) {
    if (!snapshot_->Next(max_bytes, out)) {
      snapshot_.reset();
      repl_->UpdateReplica(client_id_, [](ReplicaInfo& r) { r.state = "online"; });
    }
    if (out->size() > before) return true;
  }
  if (snapshot_ != nullptr || cursor_ == nullptr) return out->size() > before;
  // Only what is durable on the coordinator leaves it.
  uint64_t upto = engine_->wal().durable_seq();
  auto n = cursor_->Read(upto, max_bytes, out);
  if (!n.ok()) {
    Log(LogLevel::kWarning, "Replica {}: reading the log: {}", client_id_,
        n.status().message());
    failed_ = true;
    return out->size() > before;
  }
  if (*n > 0) {
    sent_seq_ = cursor_->last_seq();
    uint64_t seq = sent_seq_;
    repl_->UpdateReplica(client_id_, [seq](ReplicaInfo& r) { r.sent_seq = seq; });
  }
  return out->size() > before;
}

void Feeder::Heartbeat(std::string* out, int64_t now_ms) {
  wal::BatchBuilder empty;
  empty.AppendFrame(sent_seq_, now_ms, out);
}

}  // namespace edgekv
