#include "journal.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "util/clock.h"
#include "wal_writer.h"

namespace edgekv::wal {
namespace {

// The effects of what this thread is executing now. One command runs on a
// thread at a time, so a thread-local batch is that command's batch.
struct Pending {
  BatchBuilder batch;
  std::vector<std::pair<int, std::string>> keys;
  bool replicated = false;
  std::string_view frame;
  uint64_t seq = 0;
  uint64_t split_seq = 0;  // the last record this command's batch was split into
};

Pending& Tls() {
  thread_local Pending p;
  return p;
}

// The key of an effect, for its entry's sequence once recorded: once, for the
// many fields of one HSET.
void NoteKey(Pending& p, int db, std::string_view key) {
  if (!p.keys.empty() && p.keys.back().first == db && p.keys.back().second == key) return;
  p.keys.emplace_back(db, std::string(key));
}

// The record `seq` holds this thread's pending effects: their entries get
// its sequence, and the next effects start a new batch.
void Recorded(Store* store, Pending& p, uint64_t seq) {
  for (auto& [db, key] : p.keys) store->SetEntrySeq(db, key, seq);
  p.batch.Clear();
  p.keys.clear();
}

}  // namespace

void Journal::BeginReplicated(std::string_view frame, uint64_t seq) {
  Pending& p = Tls();
  p.replicated = true;
  p.frame = frame;
  p.seq = seq;
}

void Journal::SplitIfFull(size_t next_op_bytes) {
  Pending& p = Tls();
  if (p.batch.empty() || p.batch.bytes() + next_op_bytes <= split_bytes_) return;
  p.split_seq = wal_->Append(p.batch, WallMs());
  Recorded(store_, p, p.split_seq);
}

void Journal::OnPut(int db, std::string_view key, std::string_view value,
                    int64_t expire_ms, uint8_t flags) {
  Pending& p = Tls();
  if (!p.replicated) {
    SplitIfFull(key.size() + value.size() + 32);
    p.batch.Put(db, key, value, expire_ms, flags);
  }
  p.keys.emplace_back(db, std::string(key));
}

void Journal::OnErase(int db, std::string_view key, uint8_t flags) {
  Pending& p = Tls();
  if (!p.replicated) {
    SplitIfFull(key.size() + 32);
    p.batch.Erase(db, key, flags);
  }
  p.keys.emplace_back(db, std::string(key));
}

void Journal::OnElementSet(int db, std::string_view key, ValueType t,
                           std::string_view elem, std::string_view value, uint8_t flags) {
  Pending& p = Tls();
  if (!p.replicated) {
    SplitIfFull(key.size() + elem.size() + value.size() + 32);
    p.batch.ElementSet(t, db, key, elem, value, flags);
  }
  NoteKey(p, db, key);
}

void Journal::OnElementDel(int db, std::string_view key, ValueType t,
                           std::string_view elem, uint8_t flags) {
  Pending& p = Tls();
  if (!p.replicated) {
    SplitIfFull(key.size() + elem.size() + 32);
    p.batch.ElementDel(t, db, key, elem, flags);
  }
  NoteKey(p, db, key);
}

void Journal::OnExpire(int db, std::string_view key, int64_t expire_ms, uint8_t flags) {
  Pending& p = Tls();
  if (!p.replicated) {
    SplitIfFull(key.size() + 32);
    p.batch.Expire(db, key, expire_ms, flags);
  }
  p.keys.emplace_back(db, std::string(key));
}

void Journal::OnFlush(int db, uint32_t new_namespace) {
  Pending& p = Tls();
  if (!p.replicated) p.batch.FlushDb(db, new_namespace);
  // Entries of earlier commands in this batch are gone with the flush.
  p.keys.erase(std::remove_if(p.keys.begin(), p.keys.end(),
                              [db](const auto& k) { return k.first == db; }),
               p.keys.end());
}

void Journal::OnSwap(int a, int b) {
  Pending& p = Tls();
  if (!p.replicated) p.batch.SwapDb(a, b);
  for (auto& k : p.keys) {
    if (k.first == a) {
      k.first = b;
    } else if (k.first == b) {
      k.first = a;
    }
  }
}

void Journal::OnLibraryPut(std::string_view name, std::string_view code) {
  Pending& p = Tls();
  if (!p.replicated) {
    SplitIfFull(name.size() + code.size() + 16);
    p.batch.LibraryPut(name, code);
  }
}

void Journal::OnLibraryDelete(std::string_view name) {
  Pending& p = Tls();
  if (!p.replicated) p.batch.LibraryDelete(name);
}

void Journal::OnLibraryFlush() {
  Pending& p = Tls();
  if (!p.replicated) p.batch.LibraryFlush();
}

void Journal::Discard() {
  Pending& p = Tls();
  p.batch.Clear();
  p.keys.clear();
}

uint64_t Journal::Commit() {
  Pending& p = Tls();
  uint64_t seq;
  if (p.replicated) {
    seq = p.seq;
    Status s = wal_->AppendRaw(p.frame, seq);
    (void)s;  // the caller checked the order before applying
    p.replicated = false;
    p.frame = {};
  } else {
    if (p.batch.empty()) return std::exchange(p.split_seq, 0);
    seq = wal_->Append(p.batch, WallMs());
    p.split_seq = 0;
  }
  Recorded(store_, p, seq);
  return seq;
}

}  // namespace edgekv::wal
