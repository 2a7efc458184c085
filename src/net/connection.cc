#include "connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "../commands/server_context.h"
#include "db/engine.h"
#include "edgekv/log.h"
#include "replication/feeder.h"
#include "util/system_memory.h"

namespace edgekv {

namespace asio = boost::asio;
using boost::system::error_code;

// The connections of this I/O thread with replies to send at the end of this
// event-loop pass: those read in it, and those whose replies wait for their
// writes to reach the log. One handler, posted behind the reads that are
// ready now, writes the log once for all of them (as Redis writes its AOF
// buffer before it sleeps: one write(), and with appendfsync always one
// fsync, per event-loop pass, not per client), then sends their replies.
// The handler owns the batch, and the batch its connections, as any pending
// handler owns its connection.
struct ReplyBatch {
  std::vector<std::shared_ptr<Connection>> conns;
  uint64_t max_seq = 0;  // the last log record their replies wait for
};

namespace {
std::string Endpoint(const asio::ip::tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) {
      return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string() + ":" +
             std::to_string(ep.port());
    }
    return a.to_string() + ":" + std::to_string(ep.port());
  }
  return a.to_string() + ":" + std::to_string(ep.port());
}

thread_local std::weak_ptr<ReplyBatch> t_replies;  // the one posted, if any
thread_local bool t_replies_sending = false;
}  // namespace

void Connection::SendReplies(ServerContext* server, ReplyBatch& batch) {
  t_replies.reset();
  Engine* engine = server->engine();
  if (batch.max_seq > 0 && engine != nullptr) engine->wal().WriteUpTo(batch.max_seq);
  // Whoever is still not durable now (a write error, appendfsync always)
  // waits for the writer thread instead: no second pass from here.
  t_replies_sending = true;
  for (auto& c : batch.conns) {
    c->reply_queued_ = false;
    c->MaybeWrite();
    c->ResumeRead();
  }
  t_replies_sending = false;
}

bool Connection::QueueReplies() {
  if (t_replies_sending) return false;
  std::shared_ptr<ReplyBatch> batch = t_replies.lock();
  if (!batch) {
    batch = std::make_shared<ReplyBatch>();
    t_replies = batch;
    asio::post(socket_->get_executor(),
               [server = server_, batch] { SendReplies(server, *batch); });
  }
  batch->max_seq = std::max(batch->max_seq, client_.wait_seq);
  if (!reply_queued_) {
    reply_queued_ = true;
    batch->conns.push_back(shared_from_this());
  }
  return true;
}

Connection::Connection(asio::ip::tcp::socket socket, ServerContext* server,
                       Dispatcher* dispatcher, ConnectionSet* set)
    : socket_(std::in_place, std::move(socket)),
      server_(server),
      dispatcher_(dispatcher),
      set_(set),
      in_(kInitialReadBuffer),
      block_timer_(std::in_place, socket_->get_executor()) {}

Connection::~Connection() {
  if (adopt_fd_ >= 0) ::close(adopt_fd_);  // destroyed while moving (shutdown)
  set_.load()->Remove(this);
  server_->clients().Remove(&client_);
  client_.feeder.reset();
  Dispatcher::ClearTransaction(*server_, client_);
  Dispatcher::StopMonitor(*server_, client_);
}

void Connection::Start() {
  error_code ec;
  client_.id = server_->NextClientId();
  auto remote = socket_->remote_endpoint(ec);
  if (!ec) client_.addr = Endpoint(remote);
  auto local = socket_->local_endpoint(ec);
  if (!ec) client_.laddr = Endpoint(local);
  client_.fd = socket_->native_handle();
  client_.created_ms = WallMs();
  client_.last_interaction_ms = client_.created_ms;
  client_.authenticated = server_->config().String(Cfg::kRequirepass).empty();
  std::weak_ptr<Connection> weak = shared_from_this();
  client_.request_close = [weak] { PostToOwnThread(weak, &Connection::Close); };
  client_.request_monitor_drain = [weak] {
    PostToOwnThread(weak, &Connection::DrainMonitor);
  };
  socket_->set_option(asio::ip::tcp::no_delay(true), ec);
  socket_->non_blocking(true, ec);  // MaybeWrite sends directly
  if (int64_t ka = server_->config().Int(Cfg::kTcpKeepalive); ka > 0) {
    // Like Redis: probe after `tcp-keepalive` idle seconds, then every third.
    socket_->set_option(asio::socket_base::keep_alive(true), ec);
    int fd = socket_->native_handle();
    int idle = static_cast<int>(ka), intvl = std::max(1, static_cast<int>(ka / 3)),
        cnt = 3;
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
  }
  set_.load()->Add(this);
  server_->clients().Add(&client_);
  server_->stats().connections_received.fetch_add(1, std::memory_order_relaxed);
  DoRead();
}

void Connection::PostToOwnThread(std::weak_ptr<Connection> weak,
                                 void (Connection::*fn)()) {
  auto self = weak.lock();
  if (!self) return;
  asio::post(self->set_.load()->io(), [weak, fn] {
    auto self = weak.lock();
    if (!self) return;
    // It moved to another thread meanwhile (or is moving): run it there.
    if (!self->set_.load()->io().get_executor().running_in_this_thread() ||
        !self->socket_) {
      PostToOwnThread(weak, fn);
      return;
    }
    ((*self).*fn)();
  });
}

void Connection::DrainMonitor() {
  if (closed_ || !client_.monitor) return;
  if (client_.monitor->overflowed()) {
    Log(LogLevel::kWarning,
        "Closing a MONITOR client that does not read its lines: id={} addr={}",
        client_.id, client_.addr);
    server_->stats().client_output_limit_disconnections.fetch_add(1);
    Close();
    return;
  }
  if (out_.size() + writing_.size() >= kBackpressureBytes) return;  // after the write
  client_.monitor->Take(&out_);
  MaybeWrite();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  Dispatcher::StopMonitor(*server_, client_);
  SetPostponed(false);
  std::string().swap(out_);  // nothing more is sent: give its memory back
  // Let go of this object once the caller is done with it (not here: the
  // caller may be running on it).
  if (self_hold_) {
    asio::post(socket_->get_executor(), [hold = std::move(self_hold_)] {});
  }
  // Gone from CLIENT LIST/KILL and connected_clients as soon as the socket
  // closes, not when the last pending handler lets go of this object.
  server_->clients().Remove(&client_);
  error_code ec;
  socket_->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_->close(ec);
  block_timer_->cancel();
  set_.load()->Remove(this);
}

bool Connection::Quiescent() const { return !read_in_flight_ && IdleButReading(); }

bool Connection::IdleButReading() const {
  return !executing_ && !write_in_flight_ && out_.empty() && writing_.empty() &&
         !reply_queued_ && !durable_wait_registered_ && !feed_wait_registered_ &&
         !retry_pending_ && !client_.blocked && !client_.feeder && !client_.monitor &&
         in_begin_ == in_end_ && !closing_ && !closed_ && socket_.has_value();
}

// The socket leaves this thread's reactor (release(): no operation is
// pending on it) and joins the other thread's; a request that arrives
// meanwhile waits in the socket, and the new reactor reports it at once.
void Connection::Migrate() {
  ConnectionSet* to = std::exchange(move_to_, nullptr);
  error_code ec;
  auto protocol = socket_->local_endpoint(ec).protocol();
  int fd = ec ? -1 : socket_->release(ec);
  if (ec || fd < 0) {
    Close();  // released or not, the socket is unusable now
    return;
  }
  HandOver(to, protocol, fd);
}

bool Connection::Evacuate(ConnectionSet* to) {
  if (!IdleButReading()) return false;
  // The queued read may be what holds this connection (dropped below).
  std::shared_ptr<Connection> hold = shared_from_this();
  error_code ec;
  auto protocol = socket_->local_endpoint(ec).protocol();
  if (ec) return false;
  const int fd = socket_->DetachWithQueuedRead(ec);
  if (fd < 0) return false;
  read_in_flight_ = false;  // dropped: Adopt reads again on `to`
  move_to_ = nullptr;
  HandOver(to, protocol, fd);
  return true;
}

std::vector<std::shared_ptr<Connection>> Connection::FlushReplyBatch(
    ServerContext* server) {
  std::shared_ptr<ReplyBatch> batch = t_replies.lock();
  if (!batch || t_replies_sending) return {};
  Engine* engine = server->engine();
  if (batch->max_seq > 0 && engine != nullptr) engine->wal().WriteUpTo(batch->max_seq);
  std::vector<std::shared_ptr<Connection>> sent, kept;
  t_replies_sending = true;
  for (auto& c : batch->conns) {
    if (c->executing_) {
      kept.push_back(std::move(c));
      continue;
    }
    c->reply_queued_ = false;
    c->MaybeWrite();
    sent.push_back(std::move(c));
  }
  t_replies_sending = false;
  batch->conns = std::move(kept);
  return sent;
}

size_t Connection::EvacuateThread(ServerContext* server, ConnectionSet& from,
                                  const std::vector<ConnectionSet*>& to) {
  if (to.empty()) return 0;
  std::vector<std::shared_ptr<Connection>> sent = FlushReplyBatch(server);
  std::vector<Connection*> all = from.all();  // Evacuate removes from it
  size_t moved = 0;
  for (Connection* c : all) {
    if (c->Evacuate(to[moved % to.size()])) ++moved;
  }
  // Those whose replies went out but that stay read on here, as the batch
  // would have had them do.
  for (auto& c : sent) {
    if (c->set_.load() == &from && !c->closed_) c->ResumeRead();
  }
  return moved;
}

void Connection::HandOver(ConnectionSet* to, asio::ip::tcp protocol, int fd) {
  socket_.reset();
  block_timer_.reset();
  set_.load()->Remove(this);
  set_.store(to);
  adopt_fd_ = fd;
  asio::post(to->io(), [self = shared_from_this(), protocol] { self->Adopt(protocol); });
}

void Connection::Adopt(asio::ip::tcp protocol) {
  ConnectionSet* set = set_.load();
  asio::ip::tcp::socket s(set->io());
  error_code ec;
  s.assign(protocol, adopt_fd_, ec);
  if (ec) {
    Log(LogLevel::kWarning, "Moving client id={} to I/O thread {}: {}", client_.id,
        set->index(), ec.message());
    ::close(adopt_fd_);
    adopt_fd_ = -1;
    closed_ = true;
    server_->clients().Remove(&client_);
    return;
  }
  adopt_fd_ = -1;
  socket_.emplace(std::move(s));
  block_timer_.emplace(set->io());
  socket_->non_blocking(true, ec);  // MaybeWrite sends directly
  set->Add(this);
  server_->stats().io_thread_migrations.fetch_add(1, std::memory_order_relaxed);
  if (client_.kill_requested.load()) {
    Close();
    return;
  }
  DoRead();
}

void Connection::DoRead() {
  if (peer_eof_) {
    CloseIfServed();
    return;
  }
  if (read_in_flight_ || closed_ || closing_) return;
  if (move_to_ != nullptr && Quiescent()) {
    Migrate();
    return;
  }
  if (in_end_ == in_.size()) {
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    } else {
      in_.resize(in_.size() * 2);
    }
  }
  read_in_flight_ = true;
  socket_->ReadSome(in_.data() + in_end_, in_.size() - in_end_, shared_from_this(),
                    [](void* self, const error_code& ec, size_t n) {
                      static_cast<Connection*>(self)->OnRead(ec, n);
                    });
}

void Connection::OnRead(const error_code& ec, size_t n) {
  read_in_flight_ = false;
  if (ec == asio::error::eof && !closed_) {
    // A half-closed client still reads: replies still being written, or
    // held for the log, or requests held back by backpressure, go first.
    peer_eof_ = true;
    CloseIfServed();
    return;
  }
  if (ec || closed_) {
    Close();
    return;
  }
  in_end_ += n;
  server_->stats().net_input_bytes.fetch_add(n, std::memory_order_relaxed);
  client_.last_interaction_ms.store(WallMs(), std::memory_order_relaxed);
  PublishBuffers();  // during its commands, qbuf includes them (as Redis's)
  ProcessInput();
  if (closed_) return;
  // The replies leave at the end of this event-loop pass, with those of every
  // other connection read in it (as Redis writes its clients' replies before
  // it sleeps), not one by one as each request is read: a client that drives
  // many connections (a pool, a benchmark) then takes them in one wake-up
  // instead of one wake-up each.
  if (out_.empty() || write_in_flight_ || !QueueReplies()) MaybeWrite();
  // Replies held for the end of the pass: read on after sending them (a read
  // now would find nothing, the client waits for them).
  if (!reply_queued_) ResumeRead();
}

void Connection::ResumeRead() {
  if (out_.size() + writing_.size() < kBackpressureBytes) DoRead();
}

size_t Connection::PrefetchAhead() {
  // A pipeline of small requests: a single request finds its keys itself,
  // and only the next few KB are looked at (a huge request arriving in
  // pieces is not scanned again for each piece).
  constexpr size_t kMinBytes = 128, kWindow = 4096;
  PeekedRequest ahead[16];
  const size_t buffered = in_end_ - in_begin_;
  // Before AUTH the parser refuses what the peek would not: nothing to help.
  if (buffered < kMinBytes || !client_.authenticated) return std::size(ahead);
  size_t n = PeekRequests(
      std::string_view(in_.data() + in_begin_, std::min(buffered, kWindow)), ahead);
  if (n > 1) dispatcher_->PrefetchAhead(client_, {ahead, n});
  return std::max<size_t>(n, 1);
}

void Connection::ProcessInput() {
  ReplyBuilder rb(&out_);
  rb.set_limit(ReplyLimit());
  rb.set_resp(client_.resp.load(std::memory_order_relaxed));
  rb.set_error_sink(&server_->error_stats());
  parser_.set_authenticated(client_.authenticated);
  parser_.set_max_bulk_len(server_->config().Int(Cfg::kProtoMaxBulkLen));
  partial_request_ = false;
  size_t until_prefetch = 0;  // requests to run before looking ahead again
  while (!closing_ && !client_.blocked && in_begin_ < in_end_ &&
         out_.size() < kBackpressureBytes) {
    if (until_prefetch == 0) until_prefetch = PrefetchAhead();
    --until_prefetch;
    auto r = parser_.Parse(std::string_view(in_.data() + in_begin_, in_end_ - in_begin_));
    if (r == RespParser::Result::kIncomplete) {
      partial_request_ = true;
      break;
    }
    if (r == RespParser::Result::kError) {
      rb.Error(parser_.error());
      Log(LogLevel::kVerbose, "Protocol error ({}) from client: id={} addr={}",
          parser_.error(), client_.id, client_.addr);
      closing_ = true;
      break;
    }
    if (r == RespParser::Result::kCommand) {
      // CLIENT PAUSE waits for the commands in flight (see ServerContext).
      server_->EnterCommand();
      if (server_->MaybePaused() && dispatcher_->Postponed(client_, parser_.args())) {
        server_->LeaveCommand();
        // The request stays in the buffer and runs once the pause is over;
        // this client's later requests wait behind it.
        parser_.Reset();
        Postpone();
        break;
      }
      SetPostponed(false);
      ++set_.load(std::memory_order_relaxed)->requests;
      const size_t mark = out_.size();
      rb.set_reply_start(mark);
      executing_ = true;
      dispatcher_->Execute(client_, parser_.args(), rb);
      executing_ = false;
      server_->LeaveCommand();
      if (rb.over_limit()) {  // its reply is cut: the client cannot use it
        LogOutputLimitClose();
        Close();
        return;
      }
      // CLIENT REPLY OFF / SKIP: the reply is dropped (errors still count);
      // a blocked command's when it comes.
      const bool skip = client_.reply_off || client_.reply_skip > 0;
      if (skip) out_.resize(mark);
      if (client_.reply_skip > 0) --client_.reply_skip;
      // A monitor's own command's line follows its reply, as in Redis.
      if (client_.monitor) client_.monitor->Take(&out_);
      if (client_.blocked) {
        skip_blocked_reply_ = skip;
        client_.unblock_request.store(ClientState::kNoUnblock);
        client_.blocked_now.store(true, std::memory_order_relaxed);
        in_begin_ += parser_.consumed();
        PollBlocked();
        break;
      }
      rb.set_resp(client_.resp.load(std::memory_order_relaxed));
      parser_.set_authenticated(client_.authenticated);
      if (client_.close_after_reply) closing_ = true;
    }
    in_begin_ += parser_.consumed();
  }
  // A read in flight writes at in_end_: the buffer may move only when none is.
  if (in_begin_ == in_end_ && !read_in_flight_) in_begin_ = in_end_ = 0;
  size_t buffered = in_end_ - in_begin_;
  if (static_cast<int64_t>(buffered) >
      server_->config().Int(Cfg::kClientQueryBufferLimit)) {
    Log(LogLevel::kWarning,
        "Closing client that reached max query buffer length: id={} addr={} "
        "qbuf={}",
        client_.id, client_.addr, buffered);
    server_->stats().client_query_buffer_limit_disconnections.fetch_add(1);
    Close();
    return;
  }
  // Do not keep a huge buffer after a huge request has gone.
  if (buffered == 0 && !read_in_flight_ && in_.size() > 4 * kInitialReadBuffer) {
    std::vector<char>(kInitialReadBuffer).swap(in_);
    in_peak_ = 0;
  }
  PublishBuffers();
  size_t pending_out = out_.size() + writing_.size();
  if (pending_out > 0 &&
      !CheckOutputLimits(client_.last_interaction_ms.load(std::memory_order_relaxed))) {
    Close();
  }
}

bool Connection::CheckOutputLimits(int64_t now_ms) {
  OutputLimit lim = server_->config().NormalOutputLimit();
  int64_t total = static_cast<int64_t>(out_.size() + writing_.size());
  bool over = false;
  if (lim.hard_bytes > 0 && total > lim.hard_bytes) over = true;
  if (lim.soft_bytes > 0 && total > lim.soft_bytes) {
    if (soft_limit_since_ms_ == 0) {
      soft_limit_since_ms_ = now_ms;
    } else if (now_ms - soft_limit_since_ms_ > lim.soft_seconds * 1000) {
      over = true;
    }
  } else {
    soft_limit_since_ms_ = 0;
  }
  if (over) LogOutputLimitClose();
  return !over;
}

void Connection::LogOutputLimitClose() {
  Log(LogLevel::kWarning,
      "Client id={} addr={} scheduled to be closed ASAP for overcoming of "
      "output buffer limits.",
      client_.id, client_.addr);
  server_->stats().client_output_limit_disconnections.fetch_add(1);
}

// Redis lets a client without an output limit (the default for normal
// clients) grow its replies without bound: an MGET naming one large value a
// thousand times takes the whole machine. edgekv bounds them by the hard
// limit when one is set, else by maxmemory, or a quarter of the machine's (or
// container's) memory without one; never below one whole value
// (proto-max-bulk-len), and a command's first value always fits.
size_t Connection::ReplyLimit() const {
  const Config& cfg = server_->config();
  int64_t limit = cfg.NormalOutputLimit().hard_bytes;
  if (limit <= 0) limit = cfg.Int(Cfg::kMaxmemory);
  if (limit <= 0) limit = UsableMemoryBytes() / 4;
  limit = std::max<int64_t>(limit, cfg.Int(Cfg::kProtoMaxBulkLen) + (1 << 20));
  return static_cast<size_t>(limit);
}

bool Connection::RepliesDurable() {
  if (client_.wait_seq == 0) return true;
  Engine* engine = server_->engine();
  if (engine == nullptr || engine->wal().IsDurable(client_.wait_seq)) {
    client_.wait_seq = 0;
    return true;
  }
  // This thread writes (with always: and fsyncs) the log itself, once per
  // event-loop pass, rather than hand off to the writer thread and be woken
  // by it.
  if (engine->wal().healthy() && QueueReplies()) {
    return false;
  }
  if (!durable_wait_registered_) {
    durable_wait_registered_ = true;
    std::weak_ptr<Connection> weak = shared_from_this();
    auto executor = socket_->get_executor();
    engine->wal().WhenDurable(client_.wait_seq, [weak, executor] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->OnDurable();
      });
    });
  }
  return false;
}

// A blocked command (WAIT) is polled every millisecond until it replies;
// meanwhile this client's later commands wait, as in Redis.
void Connection::PollBlocked() {
  if (closed_ || !client_.blocked) return;
  ReplyBuilder rb(&out_);
  rb.set_resp(client_.resp.load(std::memory_order_relaxed));
  rb.set_error_sink(&server_->error_stats());
  // CLIENT UNBLOCK from another client: as if timed out, or an error.
  const int unblock = client_.unblock_request.exchange(ClientState::kNoUnblock);
  bool timed_out =
      unblock == ClientState::kUnblockTimeout ||
      (client_.blocked_deadline_ms > 0 && WallMs() >= client_.blocked_deadline_ms);
  const size_t mark = out_.size();
  bool done = true;
  if (unblock == ClientState::kUnblockError) {
    rb.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
  } else {
    // A command that replies later runs between these too, so that CLIENT
    // PAUSE and a script running alone see it.
    server_->EnterCommand();
    done = client_.blocked(rb, timed_out);
    server_->LeaveCommand();
  }
  if (done) {
    if (client_.reply_off || skip_blocked_reply_) out_.resize(mark);
    skip_blocked_reply_ = false;
    client_.blocked = nullptr;
    client_.blocked_now.store(false, std::memory_order_relaxed);
    client_.unblock_request.store(ClientState::kNoUnblock);
    MaybeWrite();
    ProcessInput();
    if (closed_) return;
    MaybeWrite();
    DoRead();
    return;
  }
  block_timer_->expires_after(std::chrono::milliseconds(1));
  block_timer_->async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->PollBlocked();
      });
}

void Connection::SetPostponed(bool on) {
  if (postponed_ == on) return;
  postponed_ = on;
  client_.postponed_now.store(on, std::memory_order_relaxed);
}

// Looked at again when the pause ends, and every 50 ms meanwhile (CLIENT
// UNPAUSE ends it early).
void Connection::Postpone() {
  SetPostponed(true);
  if (peer_eof_) {  // the client is gone: its held request never runs
    Close();
    return;
  }
  if (retry_pending_) return;
  const int64_t left = server_->PauseEndMs() - WallMs();
  retry_pending_ = true;
  block_timer_->expires_after(
      std::chrono::milliseconds(std::clamp<int64_t>(left, 1, 50)));
  block_timer_->async_wait([self = shared_from_this()](const boost::system::error_code&) {
    // Whatever the outcome: no longer pending (the connection may move).
    self->retry_pending_ = false;
    if (self->closed_ || !self->socket_ || self->client_.blocked) return;
    self->ProcessInput();
    if (self->closed_) return;
    self->MaybeWrite();
    self->DoRead();
  });
}

void Connection::OnDurable() {
  durable_wait_registered_ = false;
  // Released at the end of this handler, not in the middle of it.
  std::shared_ptr<Connection> hold = std::move(self_hold_);
  if (closed_) return;
  MaybeWrite();
  if (peer_eof_) CloseIfServed();
}

void Connection::MaybeWrite() {
  if (closed_ || write_in_flight_) return;
  // Replies to writes leave only once the write-ahead log holds them as the
  // appendfsync policy promises; the replies after them wait too (order).
  if (!out_.empty() && !RepliesDurable()) return;
  if (out_.empty() && client_.feeder) {
    // Feeding a replica: more log (or snapshot) as soon as the socket drains.
    Feeder& feeder = *client_.feeder;
    if (feeder.failed()) {
      Close();
      return;
    }
    if (feeder.Fill(&out_, 256 * 1024)) {
      last_feed_ms_ = WallMs();
    } else if (!feed_wait_registered_ && feeder.streaming()) {
      if (Engine* engine = server_->engine()) {
        feed_wait_registered_ = true;
        std::weak_ptr<Connection> weak = shared_from_this();
        auto executor = socket_->get_executor();
        engine->wal().WhenDurable(feeder.sent_seq() + 1, [weak, executor] {
          asio::post(executor, [weak] {
            if (auto self = weak.lock()) {
              self->feed_wait_registered_ = false;
              self->MaybeWrite();
            }
          });
        });
      }
    }
  }
  if (out_.empty()) {
    if (closing_) Close();
    return;
  }
  writing_.swap(out_);
  out_.clear();
  // Send at once, without a completion handler (and the extra pass of the
  // event loop it costs); only what the socket does not take now waits for
  // an asynchronous write.
  error_code ec;
  size_t n = socket_->write_some(asio::buffer(writing_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    n = 0;
  }
  if (ec) {
    Close();
    return;
  }
  server_->stats().net_output_bytes.fetch_add(n, std::memory_order_relaxed);
  if (n == writing_.size()) {
    WriteDone();
    // A replica's feed, and a pipeline held back by backpressure, continue
    // in a handler of their own (not from inside whatever called us).
    if (!closed_ && (client_.feeder || (in_begin_ < in_end_ && !client_.blocked))) {
      asio::post(socket_->get_executor(), [self = shared_from_this()] {
        if (!self->closed_) self->Resume();
      });
    }
    return;
  }
  write_in_flight_ = true;
  asio::async_write(*socket_, asio::buffer(writing_.data() + n, writing_.size() - n),
                    [self = shared_from_this()](const error_code& ec, size_t n) {
                      self->OnWrite(ec, n);
                    });
}

void Connection::OnWrite(const error_code& ec, size_t n) {
  write_in_flight_ = false;
  if (ec || closed_) {
    Close();
    return;
  }
  server_->stats().net_output_bytes.fetch_add(n, std::memory_order_relaxed);
  WriteDone();
  if (!closed_) Resume();
}

// Output drained: run what backpressure left in the input (or feed a
// replica more), then read on.
void Connection::Resume() {
  ProcessInput();
  if (closed_) return;
  DrainMonitor();
  if (closed_) return;
  MaybeWrite();
  ResumeRead();
}

void Connection::PublishBuffers() {
  in_peak_ = std::max(in_peak_, in_end_);
  constexpr auto kRelaxed = std::memory_order_relaxed;
  client_.query_buffer_bytes.store(in_end_ - in_begin_, kRelaxed);
  client_.query_buffer_free.store(in_.size() - in_end_, kRelaxed);
  client_.read_buffer_size.store(in_.size(), kRelaxed);
  client_.read_buffer_peak.store(in_peak_, kRelaxed);
  client_.output_buffer_bytes.store(out_.size() + writing_.size(), kRelaxed);
  client_.memory_bytes.store(
      sizeof(*this) + in_.capacity() + out_.capacity() + writing_.capacity(), kRelaxed);
}

void Connection::WriteDone() {
  writing_.clear();
  if (writing_.capacity() > 1024 * 1024) std::string().swap(writing_);
  PublishBuffers();
  if (closing_ && out_.empty()) Close();
  if (peer_eof_) CloseIfServed();
}

void Connection::CloseIfServed() {
  if (closed_) return;
  // A blocked command (WAIT) may never finish: a client that went away
  // while blocked is freed at once, as Redis frees it; so is one whose
  // request CLIENT PAUSE holds (it never runs).
  if (client_.blocked || postponed_) {
    Close();
    return;
  }
  if (write_in_flight_ || !out_.empty() || !writing_.empty() || reply_queued_ ||
      durable_wait_registered_) {
    // Replies held for the log are waited for with a weak reference (so
    // that a long fsync failure holds no connection alive); after the end
    // of stream no read holds this one either, so it holds itself until
    // they are out (OnDurable) or it closes.
    if (durable_wait_registered_) self_hold_ = shared_from_this();
    return;
  }
  // Requests held back by backpressure are still to run (a Resume is on its
  // way); the start of a request that the end of stream cut is not.
  if (in_begin_ < in_end_ && !partial_request_ && !closing_) return;
  Close();
}

void Connection::Cron(int64_t now_ms) {
  if (closed_) return;
  if (client_.kill_requested.load()) {
    Close();
    return;
  }
  DrainMonitor();  // also finds a sink that overflowed while backed up
  if (closed_) return;
  // A client that sent its last request and its end of stream together,
  // and waits for us to close (see ClientSocket). Its replies are out.
  if (read_in_flight_ && socket_->PeerClosedUnseen()) peer_eof_ = true;
  if (peer_eof_) {  // also a backstop for whatever ended its last wait
    CloseIfServed();
    if (closed_) return;
  }
  // As Redis: a client blocked (WAIT, a CLIENT PAUSE), feeding a replica
  // or monitoring is not idle.
  int64_t timeout = server_->config().Int(Cfg::kTimeout);
  if (timeout > 0 && !client_.blocked && !postponed_ && !client_.feeder &&
      !client_.monitor &&
      now_ms - client_.last_interaction_ms.load(std::memory_order_relaxed) >
          timeout * 1000) {
    Log(LogLevel::kVerbose, "Closing idle client id={}", client_.id);
    Close();
    return;
  }
  if ((write_in_flight_ || !out_.empty()) && !CheckOutputLimits(now_ms)) {
    Close();
    return;
  }
  if (client_.feeder) {
    // A replica that stopped acknowledging is dropped after repl-timeout; it
    // comes back by partial or full sync.
    int64_t timeout_ms = server_->config().Int(Cfg::kReplTimeout) * 1000;
    int64_t ack_ms = 0;
    for (auto& r : server_->replication().replicas()) {
      if (r.client_id == client_.id) ack_ms = r.ack_ms;
    }
    if (ack_ms > 0 && now_ms - ack_ms > timeout_ms) {
      Log(LogLevel::kWarning,
          "Disconnecting timedout replica (streaming sync): id={} addr={}", client_.id,
          client_.addr);
      Close();
      return;
    }
    if (client_.feeder->streaming() && out_.empty() && !write_in_flight_ &&
        now_ms - last_feed_ms_ >= 1000) {
      client_.feeder->Heartbeat(&out_, now_ms);
      last_feed_ms_ = now_ms;
      MaybeWrite();
    }
  }
}

}  // namespace edgekv
