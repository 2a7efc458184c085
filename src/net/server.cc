#include "server.h"

// clang-format off
#include <utility>  // boost 1.74 asio needs std::exchange declared first
#include <boost/asio.hpp>
// clang-format on
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <thread>

#include "../commands/server_context.h"
#include "connection.h"
#include "edgekv/log.h"
#include "forwarder.h"
#include "io_balancer.h"
#include "protected_mode.h"
#include "replica_link.h"
#include "util/malloc_arena.h"
#include "util/thread_name.h"

namespace edgekv {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

struct NetServer::Impl {
  // With one I/O thread a second one is started all the same, which holds
  // no client but while a script holds the first (see Evacuate): a server
  // running an endless script must still answer.
  static int Started(int n) { return std::max(2, n); }

  Impl(ServerContext* c, Dispatcher* d, int n)
      : ctx(c),
        dispatcher(d),
        balancer(n, Started(n)),
        cpu(static_cast<size_t>(Started(n))) {
    for (int i = 0; i < Started(n); ++i) {
      ios.push_back(std::make_unique<asio::io_context>(1));
      sets.push_back(std::make_unique<ConnectionSet>(ios.back().get(), i));
    }
    for (auto& io : ios) {
      guards.push_back(asio::make_work_guard(*io));
      crons.push_back(std::make_unique<asio::steady_timer>(*io));
    }
    accept_io = std::make_unique<asio::io_context>(1);
    accept_guard.emplace(asio::make_work_guard(*accept_io));
    signals = std::make_unique<asio::signal_set>(*accept_io, SIGINT, SIGTERM);
  }
  // The I/O thread for a new connection: the balancer's choice, but not the
  // thread a script has held past busy-reply-threshold (a client connecting
  // then, to send SCRIPT KILL, must be served).
  size_t PlaceNew();
  // The script running alone on thread `idx` (this thread) has run past
  // busy-reply-threshold: the thread's other clients go to the others.
  void Evacuate(int idx);
  // A script has held thread `idx` past busy-reply-threshold.
  bool Held(size_t idx) {
    const int held = ctx->scripts().running_thread();
    return held >= 0 && static_cast<size_t>(held) == idx && ctx->ScriptBusy(WallMs());
  }

  void Accept(tcp::acceptor* acceptor);
  void OnAccepted(size_t idx, tcp::socket socket);
  void ScheduleCron(size_t idx);
  // Cron: this thread's utilization, the balancer's tick, moves.
  void Balance(size_t idx);
  // Thread 0's cron: the machine's idle CPUs since the last call (-1 the
  // first time, or without /proc/stat).
  double IdleCpus();
  uint64_t machine_idle = 0;  // thread 0 only
  uint64_t machine_all = 0;   // thread 0 only

  ServerContext* ctx;
  Dispatcher* dispatcher;
  IoBalancer balancer;
  struct CpuSample {  // each I/O thread's own, at its last cron
    int64_t cpu_ns = 0;
    int64_t wait_ns = 0;
    int64_t wall_ns = 0;
    uint64_t requests = 0;
    uint64_t sleeps = 0;
  };
  std::vector<CpuSample> cpu;
  // Declared before the io_contexts: connections still queued in a context
  // refer to their set when the context destroys them.
  std::vector<std::unique_ptr<ConnectionSet>> sets;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::unique_ptr<asio::steady_timer>> crons;
  // Accepting and signals have a thread of their own, which never runs a
  // command: a script that holds an I/O thread cannot stop either.
  std::unique_ptr<asio::io_context> accept_io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> accept_guard;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<ReplicaLinkManager> links;
  int port = 0;
  std::atomic<bool> stopping{false};
};

size_t NetServer::Impl::PlaceNew() {
  size_t idx = static_cast<size_t>(balancer.PlaceNew());
  if (Held(idx)) idx = (idx + 1) % ios.size();
  return idx;
}

void NetServer::Impl::Evacuate(int idx) {
  if (idx < 0 || static_cast<size_t>(idx) >= sets.size()) return;
  ConnectionSet& from = *sets[static_cast<size_t>(idx)];
  if (!from.io().get_executor().running_in_this_thread()) return;
  // The threads in use, else any other.
  std::vector<ConnectionSet*> to;
  for (int pass = 0; pass < 2 && to.empty(); ++pass) {
    const size_t end = pass == 0 ? static_cast<size_t>(balancer.in_use()) : sets.size();
    for (size_t i = 0; i < end; ++i) {
      if (i != static_cast<size_t>(idx)) to.push_back(sets[i].get());
    }
  }
  const size_t moved = Connection::EvacuateThread(ctx, from, to);
  Log(LogLevel::kVerbose,
      "A script has run past busy-reply-threshold: {} clients of I/O thread {} moved "
      "to other threads, {} stay",
      moved, idx, from.all().size());
}

void NetServer::Impl::Accept(tcp::acceptor* acceptor) {
  acceptor->async_accept([this, acceptor](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping) return;
    if (!ec) {
      // Accepted on the accept thread; served by the I/O thread chosen now.
      error_code e;
      const auto protocol = socket.local_endpoint(e).protocol();
      const int fd = e ? -1 : socket.release(e);
      if (!e && fd >= 0) {
        size_t idx = PlaceNew();
        asio::post(*ios[idx], [this, idx, protocol, fd] {
          error_code e2;
          tcp::socket s(*ios[idx]);
          s.assign(protocol, fd, e2);
          if (e2) {
            ::close(fd);
            return;
          }
          OnAccepted(idx, std::move(s));
        });
      }
    } else {
      Log(LogLevel::kWarning, "Accepting client connection: {}", ec.message());
    }
    Accept(acceptor);
  });
}

void NetServer::Impl::OnAccepted(size_t idx, tcp::socket socket) {
  Config& cfg = ctx->config();
  error_code ec;
  auto remote = socket.remote_endpoint(ec);
  std::string reject;
  if (!ec &&
      ProtectedModeDenies(
          cfg.Bool(Cfg::kProtectedMode), !cfg.String(Cfg::kRequirepass).empty(),
          remote.address().is_loopback() ||
              (remote.address().is_v6() && remote.address().to_v6().is_v4_mapped() &&
               asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6())
                   .is_loopback()))) {
    reject = std::string(kProtectedModeError);
  } else if (static_cast<int64_t>(ctx->clients().size()) >= cfg.Int(Cfg::kMaxclients)) {
    reject = "-ERR max number of clients reached\r\n";
    ctx->stats().rejected_connections.fetch_add(1);
  }
  if (!reject.empty()) {
    // Best effort, as Redis does: one non-blocking write, then close.
    socket.non_blocking(true, ec);
    asio::write(socket, asio::buffer(reject), ec);
    socket.close(ec);
    return;
  }
  auto conn =
      std::make_shared<Connection>(std::move(socket), ctx, dispatcher, sets[idx].get());
  conn->Start();
}

void NetServer::Impl::ScheduleCron(size_t idx) {
  int64_t hz = std::max<int64_t>(1, ctx->config().Int(Cfg::kHz));
  crons[idx]->expires_after(std::chrono::milliseconds(1000 / hz));
  crons[idx]->async_wait([this, idx](const error_code& ec) {
    if (ec || stopping) return;
    int64_t now = WallMs();
    // Cron may close connections, which removes them from the set.
    std::vector<Connection*> snapshot = sets[idx]->all();
    for (Connection* c : snapshot) c->Cron(now);
    Balance(idx);
    ScheduleCron(idx);
  });
}

namespace {
// This thread's CPU time and run-queue wait (ns) from the scheduler's
// statistics; without them, CPU time only.
void ThreadTimes(int64_t* cpu_ns, int64_t* wait_ns) {
  *cpu_ns = *wait_ns = 0;
  if (FILE* f = std::fopen("/proc/thread-self/schedstat", "r")) {
    long long run = 0, wait = 0;
    bool ok = std::fscanf(f, "%lld %lld", &run, &wait) == 2;
    std::fclose(f);
    if (ok) {
      *cpu_ns = run;
      *wait_ns = wait;
      return;
    }
  }
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  *cpu_ns = ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// The machine's CPU time so far from /proc/stat's first line, in clock
// ticks: idle (idle and iowait) and in all (steal included: time the
// hypervisor gave to others is not ours to use). False if it cannot be read.
bool MachineCpuTicks(uint64_t* idle, uint64_t* all) {
  FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return false;
  unsigned long long v[8] = {};
  bool ok = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                        &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8;
  std::fclose(f);
  if (!ok) return false;
  *idle = v[3] + v[4];
  *all = 0;
  for (unsigned long long x : v) *all += x;
  return true;
}
}  // namespace

double NetServer::Impl::IdleCpus() {
  uint64_t idle = 0, all = 0;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);  // the CPUs that line adds up
  if (cpus < 1 || !MachineCpuTicks(&idle, &all)) return -1;
  double out = -1;
  if (machine_all > 0 && all > machine_all) {
    out = static_cast<double>(idle - machine_idle) /
          static_cast<double>(all - machine_all) * cpus;
  }
  machine_idle = idle;
  machine_all = all;
  return out;
}

void NetServer::Impl::Balance(size_t idx) {
  CpuSample now;
  ThreadTimes(&now.cpu_ns, &now.wait_ns);
  now.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  rusage ru;
  if (::getrusage(RUSAGE_THREAD, &ru) == 0)
    now.sleeps = static_cast<uint64_t>(ru.ru_nvcsw);
  now.requests = sets[idx]->requests;
  CpuSample& last = cpu[idx];
  if (last.wall_ns > 0 && now.wall_ns > last.wall_ns) {
    IoBalancer::Sample sample;
    sample.busy =
        static_cast<double>(now.cpu_ns - last.cpu_ns + now.wait_ns - last.wait_ns) /
        static_cast<double>(now.wall_ns - last.wall_ns);
    sample.requests = now.requests - last.requests;
    sample.sleeps = now.sleeps - last.sleeps;
    balancer.Report(static_cast<int>(idx), sample);
  }
  last = now;
  if (idx == 0) {
    balancer.Tick(ctx->config().Bool(Cfg::kIoThreadsAdaptive),
                  ctx->io_threads_forced.load(std::memory_order_relaxed), IdleCpus());
    ctx->io_threads_in_use.store(balancer.in_use(), std::memory_order_relaxed);
  }
  // Mark which of this thread's connections move where (afresh each tick:
  // a mark that has not been acted on yet may be stale).
  std::vector<Connection*>& all = sets[idx]->all();
  size_t movable = 0;
  for (Connection* c : all) {
    c->MoveTo(nullptr);
    if (c->Movable()) ++movable;
  }
  balancer.SetConnections(static_cast<int>(idx), all.size());
  size_t i = 0;
  for (auto [to, count] : balancer.Moves(static_cast<int>(idx), movable)) {
    if (Held(static_cast<size_t>(to))) continue;  // it would wait there
    for (; count > 0 && i < all.size(); ++i) {
      if (!all[i]->Movable()) continue;
      all[i]->MoveTo(sets[static_cast<size_t>(to)].get());
      --count;
    }
  }
}

NetServer::NetServer(ServerContext* ctx, Dispatcher* dispatcher, int io_threads)
    : impl_(std::make_unique<Impl>(ctx, dispatcher, std::max(1, io_threads))) {}

NetServer::~NetServer() {
  // The forwarder's socket belongs to ios[0]: it goes before the io_contexts.
  if (impl_->ctx->forwarder != nullptr) impl_->ctx->forwarder.reset();
  impl_->ctx->scripts().on_busy = nullptr;
}

Status NetServer::Listen() {
  Config& cfg = impl_->ctx->config();
  int port = static_cast<int>(cfg.Int(Cfg::kPort));
  std::istringstream words(cfg.String(Cfg::kBind));
  std::string addr;
  int bound_port = port;
  while (words >> addr) {
    bool optional = false;
    if (!addr.empty() && addr[0] == '-') {
      optional = true;
      addr = addr.substr(1);
    }
    if (addr == "*") addr = "0.0.0.0";
    if (addr == "::*") addr = "::";
    error_code ec;
    auto ip = asio::ip::make_address(addr, ec);
    if (ec) return Status::InvalidArgument("bind: invalid address '" + addr + "'");
    auto acceptor = std::make_unique<tcp::acceptor>(*impl_->accept_io);
    tcp::endpoint ep(ip, static_cast<unsigned short>(bound_port));
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) {
      acceptor->listen(static_cast<int>(cfg.Int(Cfg::kTcpBacklog)), ec);
    }
    if (ec) {
      if (optional) continue;
      return Status::IOError("Could not create server TCP listening socket " + addr +
                             ":" + std::to_string(bound_port) + ": " + ec.message());
    }
    bound_port = acceptor->local_endpoint().port();
    impl_->acceptors.push_back(std::move(acceptor));
  }
  if (impl_->acceptors.empty()) return Status::IOError("no address to listen on");
  impl_->port = bound_port;
  impl_->ctx->set_tcp_port(bound_port);
  return Status::Ok();
}

int NetServer::port() const { return impl_->port; }

void NetServer::Run() {
  impl_->signals->async_wait([this](const error_code& ec, int sig) {
    if (ec) return;
    Log(LogLevel::kWarning, "Received {} scheduling shutdown...",
        sig == SIGINT ? "SIGINT" : "SIGTERM");
    Stop();
  });
  for (auto& a : impl_->acceptors) impl_->Accept(a.get());
  // The link to the coordinator (a replica's busiest work: it applies every
  // record) runs on the last I/O thread, the one the balancer gives clients
  // last, so that reads at a PoP do not queue behind it.
  impl_->links = std::make_unique<ReplicaLinkManager>(*impl_->ios.back(), impl_->ctx);
  impl_->ctx->forwarder = MakeAsioForwarder(*impl_->ios[0], impl_->ctx);
  impl_->links->Start();
  impl_->ctx->scripts().on_busy = [impl = impl_.get()](int idx) { impl->Evacuate(idx); };
  for (size_t i = 0; i < impl_->ios.size(); ++i) impl_->ScheduleCron(i);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->ios.size(); ++i) {
    threads.emplace_back([this, i] {
      SetThreadName("ekv-io-" + std::to_string(i));
      ReserveMallocArena(kArenaReserve);
      ScriptCache::SetThreadIndex(static_cast<int>(i));
      impl_->ios[i]->run();
    });
  }
  std::thread acceptor_thread([this] {
    SetThreadName("ekv-accept");
    impl_->accept_io->run();
  });
  SetThreadName("ekv-io-0");
  ScriptCache::SetThreadIndex(0);
  impl_->ios[0]->run();
  for (auto& t : threads) t.join();
  acceptor_thread.join();
}

void NetServer::Stop() {
  // A script running on an I/O thread ends at its next hook (its writes
  // unlogged): that thread must come back to its loop to stop.
  impl_->ctx->scripts().AbortAll();
  if (impl_->stopping.exchange(true)) return;
  asio::post(*impl_->accept_io, [this] {
    error_code ec;
    for (auto& a : impl_->acceptors) a->close(ec);
    impl_->signals->cancel(ec);
    impl_->accept_guard.reset();
    // The link is stopped on its own thread; then every thread stops.
    asio::post(*impl_->ios.back(), [this] {
      if (impl_->links) impl_->links->Stop();
      for (auto& io : impl_->ios) io->stop();
    });
  });
}

}  // namespace edgekv
