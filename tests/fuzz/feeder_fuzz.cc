// The coordinator's side of PSYNC (Feeder), driven by arbitrary requests
// against a real engine (LevelDB, log segments) that takes writes between
// them: whatever replication id and sequence a replica names, the answer is
// a well-formed +CONTINUE or +FULLRESYNC, and the bytes that follow read, to
// a replica (ReplicaStream), as a stream without a gap: a CONTINUE's log
// frames start right after the named sequence, a snapshot's frames all carry
// its sequence and end with one without operations, and every record with
// operations is the one after the last.
//
// Input: bytes read as operations (see Run). One engine serves the whole
// run (in a temporary directory); small log segments make inputs reach
// segment switches and purged history. What an input does depends on the
// writes of the inputs before it: a failure prints what it saw.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands/client_state.h"
#include "commands/command_table.h"
#include "commands/dispatcher.h"
#include "commands/server_context.h"
#include "db/engine.h"
#include "edgekv/config.h"
#include "edgekv/log.h"
#include "edgekv/reply.h"
#include "edgekv/store.h"
#include "format/batch.h"
#include "replication/feeder.h"
#include "replication/replica_stream.h"

namespace edgekv {
namespace {

struct Coordinator {
  Config config;
  Store store{StoreOptions{}};
  CommandTable table;
  ServerContext ctx{&config, &store, &table};
  Dispatcher dispatcher{&ctx};
  ClientState client;
  std::string dir;
  std::unique_ptr<Engine> engine;
  uint64_t next_key = 0;

  Coordinator() {
    LogInit(LogLevel::kWarning, "");  // not a line per sync
    char tmpl[] = "/tmp/edgekv-feeder-fuzz-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    EngineOptions eo;
    eo.dir = dir;
    eo.fsync = wal::FsyncPolicy::kNo;
    eo.segment_bytes = 64 * 1024;
    eo.retain_bytes = 256 * 1024;
    eo.retain_seconds = 0;
    eo.replication = &ctx.replication();
    auto e = Engine::Open(eo, &store);
    if (!e.ok()) std::abort();
    engine = std::move(e.value());
    ctx.set_engine(engine.get());
    client.id = ctx.NextClientId();
    client.authenticated = true;
  }
  ~Coordinator() {
    ctx.set_engine(nullptr);
    engine.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void Write(size_t n, size_t value_size) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      ReplyBuilder reply(&out);
      std::string key = "k" + std::to_string(next_key++ % 500);
      std::string value(value_size, 'v');
      std::string_view args[] = {"SET", key, value};
      dispatcher.Execute(client, args, reply);
    }
    // Written (durable with appendfsync no): the feeder sends it.
    if (!engine->wal().TryWriteNow()) engine->wal().WaitDurable(engine->wal().last_seq());
  }
};

Coordinator* coordinator = nullptr;  // lives for the run

Coordinator& Coord() {
  if (coordinator == nullptr) {
    coordinator = new Coordinator();
    // Its threads stopped and its directory removed when the run ends.
    std::atexit([] { delete coordinator; });
  }
  return *coordinator;
}

uint64_t U64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < in.size(); ++i)
    v |= uint64_t{uint8_t(in[i])} << (8 * i);
  return v;
}

void Run(std::string_view in) {
  if (in.size() < 10) return;
  Coordinator& c = Coord();
  const uint8_t op = static_cast<uint8_t>(in[0]);
  c.Write(in[1] & 63, 1 + (static_cast<uint8_t>(in[1]) >> 6) * 100);
  const uint64_t last = c.engine->wal().last_seq();
  // The sequence the replica says it has: around the log's end, or any.
  uint64_t raw = U64(in.substr(2, 8));
  uint64_t seq;
  switch (op & 3) {
    case 0:
      seq = raw;
      break;
    case 1:
      seq = last - std::min(last, raw % 4096);
      break;
    case 2:
      seq = last + raw % 4;
      break;
    default:
      seq = raw % (last + 1);
      break;
  }
  std::string replid;
  switch ((op >> 2) & 3) {
    case 0:
      replid = c.ctx.replication().replid();
      break;
    case 1:
      replid = "?";
      break;
    case 2:
      replid = c.ctx.replication().replid2();
      break;
    default:
      replid = std::string(in.substr(10, 40));
      break;
  }
  // Registered as PSYNC registers a replica: what it still needs of the log
  // is kept.
  ReplicaInfo info;
  info.client_id = c.client.id;
  c.ctx.replication().AddReplica(info);
  struct Unregister {
    Coordinator& c;
    ~Unregister() { c.ctx.replication().RemoveReplica(c.client.id); }
  } unregister{c};
  Feeder feeder(c.engine.get(), &c.ctx.replication(), c.client.id);
  std::string stream = feeder.Start(replid, seq) + "\r\n";
  if (stream[0] == '-') return;  // LevelDB closed: not here
  const bool partial = stream.rfind("+CONTINUE", 0) == 0;
  if (partial && (replid != c.ctx.replication().replid() || seq > last)) std::abort();
  // Fills of varying sizes, with writes between them.
  in.remove_prefix(10);
  for (size_t i = 0; i < 32 && !feeder.failed(); ++i) {
    uint8_t b = i < in.size() ? static_cast<uint8_t>(in[i]) : 0;
    if (b & 1) c.Write(b >> 5, 16);
    if (!feeder.Fill(&stream, 1 + (b >> 1) * 1024) && i >= in.size()) break;
  }
  feeder.Heartbeat(&stream, 1);
  // What a replica reads of it.
  ReplicaStream reader(0);
  std::string_view rest(stream);
  uint64_t snapshot_seq = 0, prev = partial ? seq : 0;
  bool in_snapshot = false, saw_end = false;
  for (;;) {
    ReplicaStream::Item item = reader.Next(rest);
    if (item.kind == ReplicaStream::Item::kNeedMore) break;
    if (item.kind == ReplicaStream::Item::kError) std::abort();
    rest.remove_prefix(item.consumed);
    switch (item.kind) {
      case ReplicaStream::Item::kContinue:
        if (!partial) std::abort();
        break;
      case ReplicaStream::Item::kFullResync:
        if (partial) std::abort();
        snapshot_seq = prev = item.seq;
        in_snapshot = true;
        break;
      case ReplicaStream::Item::kSnapshotFrame:
        if (!in_snapshot || item.seq != snapshot_seq) std::abort();
        break;
      case ReplicaStream::Item::kSnapshotEnd:
        if (!in_snapshot || item.seq != snapshot_seq) std::abort();
        in_snapshot = false;
        saw_end = true;
        break;
      case ReplicaStream::Item::kLogFrame: {
        uint32_t count = wal::GetFixed32(item.frame.data() + wal::kFrameHeaderSize + 16);
        if ((count > 0 && item.seq != prev + 1) ||  // a gap or a repeat
            (count == 0 && item.seq != prev)) {     // a heartbeat: the last
          std::fprintf(stderr, "%s %s at %llu: frame %llu (%u operations) after %llu\n",
                       partial ? "CONTINUE" : "FULLRESYNC", replid.c_str(),
                       static_cast<unsigned long long>(seq),
                       static_cast<unsigned long long>(item.seq), count,
                       static_cast<unsigned long long>(prev));
          std::abort();
        }
        prev = item.seq;
        break;
      }
      default:
        break;
    }
  }
  if (!rest.empty() || (!partial && !saw_end && !in_snapshot)) std::abort();
}

}  // namespace
}  // namespace edgekv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  edgekv::Run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
