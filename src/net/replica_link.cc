#include "replica_link.h"

// clang-format off
#include <utility>  // boost 1.74 asio needs std::exchange declared first
#include <boost/asio.hpp>
// clang-format on
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "commands/server_context.h"
#include "db/engine.h"
#include "edgekv/log.h"
#include "edgekv/wal_format.h"
#include "replication/replica_applier.h"
#include "replication/replica_stream.h"

namespace edgekv {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string RespCommand(std::initializer_list<std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Bytes of this replica's log not yet written before the link stops reading.
constexpr uint64_t kMaxLogBacklog = 64ull << 20;

// One connection to the upstream; replaced by a new one on any failure.
class Link : public std::enable_shared_from_this<Link> {
 public:
  Link(asio::io_context& io, ServerContext* server, std::string host, int port,
       uint64_t epoch)
      : io_(io),
        server_(server),
        socket_(io),
        timer_(io),
        backlog_timer_(io),
        resolver_(io),
        host_(std::move(host)),
        port_(port),
        epoch_(epoch),
        applier_(server) {}

  void Start() {
    server_->replication().UpdateUpstream(
        [](UpstreamInfo& u) { u.state = LinkState::kConnecting; });
    auto self = shared_from_this();
    resolver_.async_resolve(
        host_, std::to_string(port_),
        [self](const error_code& ec, tcp::resolver::results_type results) {
          if (ec) return self->Fail("resolve: " + ec.message());
          asio::async_connect(self->socket_, results,
                              [self](const error_code& ec2, const tcp::endpoint&) {
                                if (ec2) return self->Fail("connect: " + ec2.message());
                                self->Handshake();
                              });
        });
    Tick();
  }

  void Stop() {
    stopped_ = true;
    error_code ec;
    socket_.close(ec);
    timer_.cancel();
    backlog_timer_.cancel();
  }
  bool stopped() const { return stopped_; }

 private:
  // For good: the link stays down (no reconnecting) until REPLICAOF.
  void Refused(const std::string& why) {
    if (stopped_) return;
    Log(LogLevel::kWarning,
        "MASTER <-> REPLICA link to {}:{} refused, not retrying until REPLICAOF: {}",
        host_, port_, why);
    server_->replication().UpdateUpstream([&why](UpstreamInfo& u) {
      u.state = LinkState::kRefused;
      u.sync_in_progress = false;
      u.refused = why;
    });
    Stop();
  }

  void Fail(const std::string& why) {
    if (stopped_) return;
    Log(LogLevel::kWarning, "MASTER <-> REPLICA link to {}:{} lost: {}", host_, port_,
        why);
    server_->replication().UpdateUpstream([](UpstreamInfo& u) {
      u.state = LinkState::kConnecting;
      u.sync_in_progress = false;
    });
    // After a failed full sync the data is incomplete: it stays LOADING
    // until a full sync succeeds (ReplicaApplier).
    Stop();
  }

  void Handshake() {
    Config& cfg = server_->config();
    error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    std::string out;
    int expected_ok = 0;
    std::string pass = cfg.String(Cfg::kMasterauth);
    if (!pass.empty()) {
      std::string user = cfg.String(Cfg::kMasteruser);
      out +=
          user.empty() ? RespCommand({"AUTH", pass}) : RespCommand({"AUTH", user, pass});
      ++expected_ok;
    }
    // The log format this replica reads (a coordinator writing a newer one
    // refuses it: -INCOMPATIBLE); coordinators before it ignore the capa.
    out += RespCommand({"REPLCONF", "listening-port", std::to_string(server_->tcp_port()),
                        "capa",
                        std::string(kLogFormatCapa) + std::to_string(wal::kVersion)});
    ++expected_ok;
    Engine* engine = server_->engine();
    uint64_t seq = engine != nullptr ? engine->wal().last_seq() : 0;
    out += RespCommand({"PSYNC", server_->replication().replid(), std::to_string(seq)});
    stream_.emplace(expected_ok);
    Send(std::move(out));
    Read();
  }

  void Send(std::string data) {
    bool idle = outq_.empty();
    outq_ += data;
    if (idle && !writing_) Flush();
  }

  void Flush() {
    if (outq_.empty() || stopped_) return;
    writing_ = true;
    wbuf_.swap(outq_);
    outq_.clear();
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(wbuf_), [self](const error_code& ec, size_t) {
      self->writing_ = false;
      self->wbuf_.clear();
      if (ec) return self->Fail("write: " + ec.message());
      self->Flush();
    });
  }

  void Read() {
    if (stopped_) return;
    if (buf_.size() - end_ < 64 * 1024) {
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (buf_.size() - end_ < 64 * 1024)
        buf_.resize(std::max<size_t>(buf_.size() * 2, 256 * 1024));
    }
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                            [self](const error_code& ec, size_t n) {
                              if (ec) return self->Fail("read: " + ec.message());
                              self->end_ += n;
                              self->last_io_ms_ = WallMs();
                              self->Continue();
                            });
  }

  // Processes what was read, yielding to the other handlers of this I/O
  // thread (clients of the replica) every few thousand frames.
  void Continue() {
    // While this replica's own log cannot be written fast enough (a slow or
    // failing disk), stop taking the stream: TCP then holds the coordinator back,
    // instead of this process buffering without bound.
    if (Engine* engine = server_->engine();
        engine != nullptr && engine->wal().pending_bytes() > kMaxLogBacklog) {
      backlog_timer_.expires_after(std::chrono::milliseconds(2));
      backlog_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec && !self->stopped_) self->Continue();
      });
      return;
    }
    int r = Process();
    if (r < 0) return;
    if (r > 0) {
      asio::post(io_, [self = shared_from_this()] {
        if (!self->stopped_) self->Continue();
      });
      return;
    }
    Read();
  }

  // Handles what arrived.
  // Returns -1 after a failure, 1 if frames remain (call again), 0 when
  // everything read was handled.
  int Process() {
    // REPLICAOF (another thread) replaced or ended this link: nothing more
    // of it is applied, its full sync's end included.
    Replication& repl = server_->replication();
    if (!repl.is_replica() || repl.upstream_epoch() != epoch_) {
      Stop();
      return -1;
    }
    size_t handled = 0;
    std::vector<std::string_view> group;
    auto flush = [&]() -> bool {
      if (group.empty()) return true;
      Status s = applier_.ApplyFrames(group);
      group.clear();
      if (!s.ok()) {
        Fail("applying the stream: " + s.message());
        return false;
      }
      return true;
    };
    while (begin_ < end_) {
      ReplicaStream::Item item =
          stream_->Next(std::string_view(buf_.data() + begin_, end_ - begin_));
      if (item.kind == ReplicaStream::Item::kNeedMore) break;
      if (item.kind == ReplicaStream::Item::kRefused) {
        Refused(item.error);
        return -1;
      }
      if (item.kind == ReplicaStream::Item::kError) {
        if (flush()) Fail(item.error);
        return -1;
      }
      begin_ += item.consumed;
      if (item.kind == ReplicaStream::Item::kLogFrame) {
        if (item.time_ms > 0) last_record_ms_ = item.time_ms;
        group.push_back(item.frame);
        if (group.size() >= 256 && !flush()) return -1;
        if (++handled >= 4096) {
          if (!flush()) return -1;
          Ack(false);
          return 1;
        }
        continue;
      }
      if (!flush() || !Handle(item)) return -1;
    }
    if (!flush()) return -1;
    // A frame larger than the buffer grows it as its bytes arrive (Read
    // doubles it), not at once to the length its header claims.
    if (begin_ == end_) begin_ = end_ = 0;
    Ack(false);
    return 0;
  }

  // Everything but log frames; false after a failure.
  bool Handle(ReplicaStream::Item& item) {
    switch (item.kind) {
      case ReplicaStream::Item::kContinue: {
        Log(LogLevel::kNotice,
            "MASTER <-> REPLICA sync: partial resynchronization accepted");
        Replication& repl = server_->replication();
        if (!item.replid.empty() && item.replid != repl.replid()) {
          // The coordinator started a new history (a promotion, an unclean
          // restart) that shares ours up to here: take its id, and keep
          // ours for replicas of this one up to here (replid2).
          Engine* engine = server_->engine();
          uint64_t seq = engine != nullptr ? engine->wal().last_seq() : 0;
          repl.SetIds(item.replid, repl.replid(), seq);
          if (engine != nullptr) engine->SaveReplicationIds();
          applier_.DropReplicas("the master's replication id changed");
          Log(LogLevel::kNotice,
              "The master's replication id is now {} (ours up to seq {})", item.replid,
              seq);
        }
        Connected();
        return true;
      }
      case ReplicaStream::Item::kFullResync: {
        Log(LogLevel::kNotice, "Full resync from master: {}:{}", item.replid, item.seq);
        server_->replication().UpdateUpstream([](UpstreamInfo& u) {
          u.state = LinkState::kSync;
          u.sync_in_progress = true;
          u.sync_read_bytes = 0;
          u.sync_last_io_ms = WallMs();
        });
        Status s = applier_.BeginFullSync(std::move(item.replid), item.seq);
        if (!s.ok()) {
          Fail("full sync: " + s.message());
          return false;
        }
        return true;
      }
      case ReplicaStream::Item::kSnapshotFrame: {
        Status s = applier_.ApplySnapshotFrame(item.frame);
        if (!s.ok()) {
          Fail("applying the stream: " + s.message());
          return false;
        }
        const int64_t bytes = static_cast<int64_t>(item.frame.size()), now = WallMs();
        server_->replication().UpdateUpstream([bytes, now](UpstreamInfo& u) {
          u.sync_read_bytes += bytes;
          u.sync_last_io_ms = now;
        });
        return true;
      }
      case ReplicaStream::Item::kSnapshotEnd: {
        Replication& repl = server_->replication();
        if (!repl.is_replica() || repl.upstream_epoch() != epoch_) {
          Stop();  // promoted or pointed elsewhere meanwhile
          return false;
        }
        Status s = applier_.EndFullSync();
        if (!s.ok()) {
          Fail("applying the stream: " + s.message());
          return false;
        }
        Connected();
        return true;
      }
      default:  // kHandshakeOk
        return true;
    }
  }

  void Connected() {
    server_->replication().UpdateUpstream([](UpstreamInfo& u) {
      u.state = LinkState::kConnected;
      u.sync_in_progress = false;
    });
  }

  void Ack(bool force) {
    if (!stream_ || !stream_->streaming() || stream_->in_full_sync() || stopped_) return;
    Engine* engine = server_->engine();
    if (engine == nullptr) return;
    // The writer thread writes this replica's log, never this thread: a
    // write() can block for as long as the disk takes to flush the segment
    // (ext4 holds the file's block map meanwhile), and the stream, hence
    // what readers here see, would stop with it. The acknowledgement of what
    // it writes follows (WhenDurable), as the coordinator's WAIT expects.
    wal::WalWriter& wal = engine->wal();
    const uint64_t applied = wal.last_seq();
    if (wal.durable_seq() < applied) {
      wal.WriteSoon();
      if (!ack_wait_) {
        ack_wait_ = true;
        std::weak_ptr<Link> weak = shared_from_this();
        wal.WhenDurable(applied, [weak, &io = io_] {
          asio::post(io, [weak] {
            if (auto self = weak.lock()) {
              self->ack_wait_ = false;
              self->Ack(false);
            }
          });
        });
      }
    }
    uint64_t seq = wal.durable_seq();
    if (!force && seq == acked_) return;
    acked_ = seq;
    std::string ack = RespCommand({"REPLCONF", "ACK", std::to_string(seq), "ACK-TIME",
                                   std::to_string(last_record_ms_)});
    if (writing_) {
      // An upstream that stops reading: the newest ACK replaces the unsent
      // ones (they only say less), so the queue stays one ACK long.
      outq_ = std::move(ack);
      return;
    }
    Send(std::move(ack));
  }

  void Tick() {
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([self](const error_code& ec) {
      if (ec || self->stopped_) return;
      int64_t now = WallMs();
      int64_t timeout = self->server_->config().Int(Cfg::kReplTimeout) * 1000;
      if (self->last_io_ms_ > 0 && now - self->last_io_ms_ > timeout) {
        return self->Fail("timeout: no data from master in repl-timeout");
      }
      if (self->last_io_ms_ == 0 && now - self->started_ms_ > timeout) {
        return self->Fail("timeout connecting to master");
      }
      int64_t io = self->last_io_ms_;
      self->server_->replication().UpdateUpstream(
          [io](UpstreamInfo& u) { u.last_io_ms = io; });
      // Acknowledge at least every second, and as soon as writes are durable.
      self->Ack(now - self->last_ack_ms_ >= 1000);
      if (now - self->last_ack_ms_ >= 1000) self->last_ack_ms_ = now;
      self->Tick();
    });
  }

  asio::io_context& io_;
  ServerContext* server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::steady_timer backlog_timer_;
  tcp::resolver resolver_;
  std::string host_;
  int port_;
  uint64_t epoch_;
  ReplicaApplier applier_;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
  size_t begin_ = 0, end_ = 0;
  std::string outq_, wbuf_;
  bool writing_ = false;
  std::optional<ReplicaStream> stream_;  // from the handshake on
  bool stopped_ = false;
  uint64_t acked_ = 0;
  bool ack_wait_ = false;  // a WhenDurable will call Ack
  int64_t last_io_ms_ = 0;
  int64_t last_ack_ms_ = 0;
  int64_t last_record_ms_ = 0;
  int64_t started_ms_ = WallMs();

 public:
  uint64_t epoch() const { return epoch_; }
};

}  // namespace

struct ReplicaLinkManager::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, ServerContext* s) : io(io), server(s), timer(io) {}

  void Tick() {
    auto self = shared_from_this();
    timer.expires_after(std::chrono::milliseconds(100));
    timer.async_wait([self](const error_code& ec) {
      if (ec || self->stopped) return;
      self->Check();
      self->Tick();
    });
  }

  void Check() {
    Replication& repl = server->replication();
    uint64_t epoch = repl.upstream_epoch();
    if (link && (link->epoch() != epoch || !repl.is_replica())) {
      link->Stop();
      link.reset();
    }
    if (!repl.is_replica() || server->engine() == nullptr) return;
    if (link && !link->stopped()) return;
    if (link && repl.upstream().state == LinkState::kRefused) return;  // until REPLICAOF
    int64_t now = WallMs();
    if (now - last_attempt_ms < 1000 && link) return;  // reconnect once a second
    last_attempt_ms = now;
    UpstreamInfo up = repl.upstream();
    link = std::make_shared<Link>(io, server, up.host, up.port, epoch);
    link->Start();
  }

  asio::io_context& io;
  ServerContext* server;
  asio::steady_timer timer;
  std::shared_ptr<Link> link;
  int64_t last_attempt_ms = 0;
  bool stopped = false;
};

ReplicaLinkManager::ReplicaLinkManager(asio::io_context& io, ServerContext* server)
    : impl_(std::make_shared<Impl>(io, server)) {}

ReplicaLinkManager::~ReplicaLinkManager() { Stop(); }

void ReplicaLinkManager::Start() { impl_->Tick(); }

void ReplicaLinkManager::Stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
  if (impl_->link) impl_->link->Stop();
}

}  // namespace edgekv
