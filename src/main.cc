// edgekv-server [edgekv.conf] [--directive value ...]
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "commands/command_table.h"
#include "commands/dispatcher.h"
#include "commands/info.h"
#include "commands/server_context.h"
#include "commands/version.h"
#include "db/engine.h"
#include "edgekv/config.h"
#include "edgekv/log.h"
#include "edgekv/store.h"
#include "net/server.h"
#include "scripting/library_loader.h"
#include "util/malloc_arena.h"
#include "util/thread_name.h"

namespace {

void Usage() {
  std::fprintf(stderr,
               "Usage: edgekv-server [/path/to/edgekv.conf] [--directive value ...]\n"
               "       edgekv-server -v | --version\n"
               "       edgekv-server -h | --help\n\n"
               "Examples:\n"
               "       edgekv-server conf/edgekv.conf\n"
               "       edgekv-server --port 7777 --dir ./data\n");
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Background upkeep, `hz` times a second: active expiry (at most a quarter of
// each period, like Redis's), expiry of keys that are only on disk, moving
// entries out of memory above maxmemory, dropping old tombstones, deleting
// flushed namespaces and stale SCAN cursors.
class Maintenance {
 public:
  Maintenance(edgekv::Store* store, edgekv::Config* config, edgekv::ServerContext* ctx)
      : store_(store), config_(config), ctx_(ctx), thread_([this] { Loop(); }) {}
  ~Maintenance() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Loop() {
    using namespace edgekv;
    SetThreadName("ekv-maint");
    ReserveMallocArena(kArenaReserve);
    int64_t last_cursor_gc = 0;
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      int64_t hz = std::max<int64_t>(1, config_->Int(Cfg::kHz));
      int64_t period_us = 1000000 / hz;
      l.unlock();
      ctx_->SampleRates(SteadyMs());
      ctx_->EndPauseIfOver(WallMs());
      // Upkeep deletes expired keys: CLIENT PAUSE waits for it as for a
      // command.
      ctx_->EnterCommand();
      ctx_->WaitForScript([] { return false; });  // a script runs alone
      if (!ctx_->loading.load()) {
        int64_t now = WallMs();
        {
          LatencyScope timed(&ctx_->latency(), "expire-cycle");
          store_->ActiveExpireCycle(now, period_us / 4);
        }
        if (Engine* engine = ctx_->engine()) {
          store_->DiskExpireCycle(now, 200);
          int64_t maxmemory = config_->Int(Cfg::kMaxmemory);
          if (maxmemory > 0 && store_->used_bytes() > maxmemory - maxmemory / 20) {
            LatencyScope timed(&ctx_->latency(), "eviction-cycle");
            store_->Evict(maxmemory - maxmemory / 10);
          }
          store_->CleanTombstones(16);
          engine->applier().FreeReleasedBuffers();
          engine->disk().CollectGarbage(2000);
          if (now - last_cursor_gc > 60000) {
            engine->disk().ExpireCursors(now, 3600 * 1000);
            last_cursor_gc = now;
          }
        }
      }
      ctx_->LeaveCommand();
      l.lock();
      cv_.wait_for(l, std::chrono::microseconds(period_us), [this] { return stop_; });
    }
  }

  edgekv::Store* store_;
  edgekv::Config* config_;
  edgekv::ServerContext* ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// appendfsync's value (its directive lists them in Redis's order).
edgekv::wal::FsyncPolicy FsyncPolicyOf(const edgekv::Config& config) {
  std::string v = config.String(edgekv::Cfg::kAppendfsync);
  if (v == "always") return edgekv::wal::FsyncPolicy::kAlways;
  if (v == "no") return edgekv::wal::FsyncPolicy::kNo;
  return edgekv::wal::FsyncPolicy::kEverysec;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgekv;
  // Buffers of 256 KB and more (the applier's groups, LevelDB batches, big
  // values) are mapped and unmapped on their own. Left to adapt, glibc raises
  // this threshold after the first such free, and the heap then keeps the
  // peak of those transient buffers resident.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  std::vector<std::string> args(argv + 1, argv + argc);
  Config config;
  size_t first_flag = 0;
  if (!args.empty()) {
    if (args[0] == "-v" || args[0] == "--version") {
      std::printf("edgekv-server v=%s (redis compatible %s)\n", kEdgekvVersion,
                  kRedisCompatVersion);
      return 0;
    }
    if (args[0] == "-h" || args[0] == "--help") {
      Usage();
      return 0;
    }
    if (args[0].rfind("--", 0) != 0) {
      Status s = config.LoadFile(args[0]);
      if (!s.ok()) {
        std::fprintf(stderr, "*** FATAL CONFIG FILE ERROR ***\n%s\n",
                     s.message().c_str());
        return 1;
      }
      first_flag = 1;
    }
  }
  Status s = config.ApplyArgs({args.begin() + static_cast<long>(first_flag), args.end()});
  if (!s.ok()) {
    std::fprintf(stderr, "*** FATAL CONFIG ERROR ***\n%s\n", s.message().c_str());
    Usage();
    return 1;
  }

  LogInit(static_cast<LogLevel>(config.Int(Cfg::kLoglevel)),
          config.String(Cfg::kLogfile));

  std::string dir = config.String(Cfg::kDir);
  std::error_code fec;
  std::filesystem::create_directories(dir, fec);
  if (fec || chdir(dir.c_str()) != 0) {
    Log(LogLevel::kWarning, "Can't chdir to '{}': {}", dir,
        fec ? fec.message() : std::strerror(errno));
    return 1;
  }

  int io_threads = static_cast<int>(config.Int(Cfg::kIoThreads));
  if (io_threads == 0) {
    io_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  StoreOptions so;
  so.databases = static_cast<int>(config.Int(Cfg::kDatabases));
  Store store(so);
  CommandTable commands;
  ServerContext ctx(&config, &store, &commands);
  ctx.set_io_threads(io_threads);
  Dispatcher dispatcher(&ctx);
  NetServer server(&ctx, &dispatcher, io_threads);
  RecordStartupMemory();  // MEMORY STATS' startup.allocated
  ctx.shutdown = [&server] {
    Log(LogLevel::kWarning, "User requested shutdown...");
    server.Stop();
  };

  Log(LogLevel::kNotice, "edgekv {} (redis {} compatible) starting, pid={}",
      kEdgekvVersion, kRedisCompatVersion, getpid());

  // Lock the directory and open LevelDB before listening, so that a second
  // process on the same dir fails at once and touches nothing.
  EngineOptions eo;
  eo.dir = ".";
  eo.databases = so.databases;
  eo.fsync = FsyncPolicyOf(config);
  eo.wal_repair = config.Bool(Cfg::kWalRepair);
  eo.write_buffer_bytes = WriteBufferFor(config.Int(Cfg::kMaxmemory));
  eo.apply_limits = ApplierLimits::For(config.Int(Cfg::kMaxmemory));
  eo.segment_bytes = static_cast<uint64_t>(config.Int(Cfg::kWalSegmentSize));
  eo.retain_bytes = static_cast<uint64_t>(config.Int(Cfg::kReplBacklogSize));
  eo.retain_seconds = config.Int(Cfg::kWalRetentionSeconds);
  eo.replication = &ctx.replication();
  eo.latency = &ctx.latency();
  if (std::string up = config.String(Cfg::kReplicaof); !up.empty()) {
    size_t sp = up.find(' ');
    std::string host = up.substr(0, sp), port = up.substr(sp + 1);
    if (port != "one" && port != "ONE") {
      ctx.replication().SetUpstream(host, std::stoi(port));
      store.set_delete_expired(false);
    }
  }
  std::unique_ptr<Engine> engine;
  Status opened;
  ctx.loading = true;
  s = server.Listen();
  if (!s.ok()) {
    Log(LogLevel::kWarning, "{}", s.message());
    return 1;
  }
  // Recovery runs while the server already answers (INFO says loading:1,
  // data commands get -LOADING).
  std::thread loader([&] {
    auto e = Engine::Open(eo, &store);
    if (!e.ok()) {
      opened = e.status();
      Log(LogLevel::kWarning, "Fatal: can't open the data in '{}': {}", dir,
          opened.message());
      server.Stop();
      return;
    }
    engine = std::move(e.value());
    const RecoveryInfo& r = engine->recovery();
    Log(LogLevel::kNotice,
        "DB loaded from disk: {} keys in db0, replayed {} WAL batches (seq {}) in {} ms",
        store.DbSize(0), r.replayed, r.last_seq, r.millis);
    LoadLibraries(ctx.functions(), engine->disk().Libraries());
    ctx.set_engine(engine.get());
    if (engine->sync_incomplete()) {
      if (ctx.replication().is_replica()) {
        // Serving a part of the coordinator's snapshot would answer reads
        // wrongly: LOADING until a full sync completes.
        Log(LogLevel::kWarning,
            "The last full sync did not finish: LOADING until a new one does");
        return;
      }
      Log(LogLevel::kWarning,
          "The last full sync did not finish: the dataset holds only a part of "
          "the snapshot");
      (void)engine->MarkSyncIncomplete(false);
    }
    ctx.loading = false;
  });
  auto apply_limits = [&ctx] {
    EncodingLimits l;
    l.hash_max_listpack_entries =
        static_cast<size_t>(ctx.config().Int(Cfg::kHashMaxListpackEntries));
    l.hash_max_listpack_value =
        static_cast<size_t>(ctx.config().Int(Cfg::kHashMaxListpackValue));
    l.set_max_intset_entries =
        static_cast<size_t>(ctx.config().Int(Cfg::kSetMaxIntsetEntries));
    l.set_max_listpack_entries =
        static_cast<size_t>(ctx.config().Int(Cfg::kSetMaxListpackEntries));
    l.set_max_listpack_value =
        static_cast<size_t>(ctx.config().Int(Cfg::kSetMaxListpackValue));
    l.zset_max_listpack_entries =
        static_cast<size_t>(ctx.config().Int(Cfg::kZsetMaxListpackEntries));
    l.zset_max_listpack_value =
        static_cast<size_t>(ctx.config().Int(Cfg::kZsetMaxListpackValue));
    ctx.store().set_encoding_limits(l);
  };
  apply_limits();
  ctx.on_config_change = [&ctx, apply_limits](Cfg id) {
    if (id == Cfg::kHashMaxListpackEntries || id == Cfg::kHashMaxListpackValue ||
        id == Cfg::kSetMaxIntsetEntries || id == Cfg::kSetMaxListpackEntries ||
        id == Cfg::kSetMaxListpackValue || id == Cfg::kZsetMaxListpackEntries ||
        id == Cfg::kZsetMaxListpackValue) {
      apply_limits();
    } else if (id == Cfg::kAppendfsync) {
      if (Engine* e = ctx.engine()) {
        e->wal().SetPolicy(FsyncPolicyOf(ctx.config()));
      }
    } else if (id == Cfg::kMaxmemory) {
      // The applier's group and backlog follow (LevelDB's write buffer is
      // sized at start).
      if (Engine* e = ctx.engine()) {
        e->applier().SetLimits(ApplierLimits::For(ctx.config().Int(Cfg::kMaxmemory)));
      }
    } else if (id == Cfg::kLoglevel) {
      LogSetLevel(static_cast<LogLevel>(ctx.config().Int(Cfg::kLoglevel)));
    }
  };
  auto maintenance = std::make_unique<Maintenance>(&store, &config, &ctx);
  Log(LogLevel::kNotice, "Server initialized, {} I/O threads", io_threads);
  Log(LogLevel::kNotice, "Ready to accept connections tcp on port {}", server.port());
  server.Run();
  loader.join();
  if (!opened.ok()) {
    maintenance.reset();
    return 1;
  }
  Log(LogLevel::kNotice, "Saving the final state before exiting.");
  maintenance.reset();
  ctx.set_engine(nullptr);
  engine.reset();
  Log(LogLevel::kWarning, "edgekv is now ready to exit, bye bye...");
  return 0;
}
