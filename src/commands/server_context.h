// Everything a command may reach besides its own client: the store, the
// configuration, counters, the client registry and the server's controls.
// The network layer builds one ServerContext and hands it to every connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "client_state.h"
#include "command_stats.h"
#include "edgekv/config.h"
#include "edgekv/sharded_counter.h"
#include "edgekv/store.h"
#include "edgekv/thread_annotations.h"
#include "monitor.h"
#include "replication/forward.h"
#include "replication/replication.h"
#include "scripting/function_registry.h"
#include "scripting/script_cache.h"
#include "slowlog.h"
#include "util/clock.h"
#include "util/latency_monitor.h"
#include "util/rate_sampler.h"

namespace edgekv {

class CommandTable;
class Engine;

// Counted by every I/O thread on every command (or read, or script) in
// sharded counters; the rest are rare.
struct Stats {
  ShardedCounter commands_processed;
  std::atomic<uint64_t> connections_received{0};
  std::atomic<uint64_t> rejected_connections{0};
  ShardedCounter keyspace_hits;
  ShardedCounter keyspace_misses;
  ShardedCounter net_input_bytes;
  ShardedCounter net_output_bytes;
  std::atomic<uint64_t> client_output_limit_disconnections{0};
  std::atomic<uint64_t> client_query_buffer_limit_disconnections{0};
  std::atomic<uint64_t> io_thread_migrations{0};  // connections moved (IoBalancer)
  // Scripts and functions: run beside other commands on their keys, run
  // alone, and run again alone after a keyed attempt (script_runner.h).
  ShardedCounter scripts_keyed;
  ShardedCounter scripts_alone;
  std::atomic<uint64_t> scripts_rerun_alone{0};
  void Reset() {
    for (auto* c : {&commands_processed, &scripts_keyed, &scripts_alone, &keyspace_hits,
                    &keyspace_misses, &net_input_bytes, &net_output_bytes}) {
      c->store(0);
    }
    for (auto* c : {&connections_received, &rejected_connections, &scripts_rerun_alone,
                    &client_output_limit_disconnections,
                    &client_query_buffer_limit_disconnections, &io_thread_migrations}) {
      c->store(0, std::memory_order_relaxed);
    }
  }
};

// All live clients, for CLIENT LIST/KILL and INFO clients.
class ClientRegistry {
 public:
  void Add(ClientState* c) EXCLUDES(mu_);
  void Remove(ClientState* c) EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);
  // Calls fn for each client while the registry is locked (clients cannot go
  // away meanwhile); fn must not call back into the registry.
  void ForEach(const std::function<void(ClientState&)>& fn) const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::map<uint64_t, ClientState*> clients_ GUARDED_BY(mu_);
};

class ServerContext {
 public:
  ServerContext(Config* config, Store* store, const CommandTable* commands);

  Config& config() { return *config_; }
  Store& store() { return *store_; }
  const CommandTable& commands() const { return *commands_; }
  Stats& stats() { return stats_; }
  ClientRegistry& clients() { return clients_; }
  Replication& replication() { return replication_; }
  SlowLog& slowlog() { return slowlog_; }
  Monitors& monitors() { return monitors_; }
  CommandStats& command_stats() { return command_stats_; }
  ErrorStats& error_stats() { return error_stats_; }
  // LATENCY's events; its threshold follows latency-monitor-threshold
  // (FollowConfig).
  LatencyMonitor& latency() { return latency_; }
  // The scripts EVAL and SCRIPT LOAD cached, and the one running.
  ScriptCache& scripts() { return scripts_; }
  FunctionRegistry& functions() { return functions_; }
  // A script has run for busy-reply-threshold or longer: other clients'
  // commands are answered BUSY (all but kAllowBusy ones).
  bool ScriptBusy(int64_t now_ms) {
    const int64_t since = scripts_.running_since();
    return since != 0 && now_ms - since >= config_->Int(Cfg::kBusyReplyThreshold);
  }
  // After CONFIG SET changed a directive: the parts of the context that keep
  // a copy follow (the context installs this as the config's change hook),
  // then on_config_change (set by main: the engine's parts).
  void FollowConfig(Cfg id);
  std::function<void(Cfg)> on_config_change;
  // INFO's instantaneous_ops_per_sec and _input_kbps/_output_kbps: the
  // maintenance thread samples the counters (SampleRates) every 100 ms.
  void SampleRates(int64_t now_ms);  // now_ms: a steady clock
  void ResetRates();                 // CONFIG RESETSTAT
  const RateSampler& ops_rate() const { return ops_rate_; }
  const RateSampler& input_rate() const { return input_rate_; }
  const RateSampler& output_rate() const { return output_rate_; }
  // Set by the network layer (replica-write-forward).
  std::shared_ptr<WriteForwarder> forwarder;

  const std::string& run_id() const { return run_id_; }
  int64_t start_ms() const { return start_ms_; }
  int tcp_port() const { return tcp_port_; }
  void set_tcp_port(int p) { tcp_port_ = p; }
  int io_threads() const { return io_threads_; }
  void set_io_threads(int n) { io_threads_ = n; }
  // I/O threads serving clients now (see net/io_balancer.h), set by the
  // network layer; DEBUG SET-IO-THREADS n > 0 holds it at n (0: adaptive).
  std::atomic<int> io_threads_in_use{1};
  std::atomic<int> io_threads_forced{0};
  uint64_t NextClientId() { return next_client_id_.fetch_add(1) + 1; }

  // CLIENT PAUSE: until end_ms, every command (all) or only writes; a new
  // pause keeps the stricter mode and the later end, as Redis 7.0's does.
  // UNPAUSE ends it. While paused, keys past their TTL are not deleted (they
  // read as missing), so that nothing reaches the log. Pause() returns once
  // every command other threads began before it has finished (a write that
  // passed the pause check is in the log before CLIENT PAUSE answers): each
  // I/O thread, and the maintenance thread's upkeep, runs its commands
  // between EnterCommand() and LeaveCommand().
  enum class PauseMode { kNone, kWrite, kAll };
  // `wait`: false inside EXEC (which holds every stripe that a command in
  // flight may be waiting for).
  void Pause(int64_t end_ms, PauseMode mode, bool wait) EXCLUDES(pause_mu_);
  void Unpause();
  int64_t PauseEndMs() const { return pause_end_ms_.load(std::memory_order_relaxed); }
  PauseMode Paused(int64_t now_ms) const;
  // False unless a pause was asked for and has not been seen to end (one
  // load: every command asks).
  // Sequentially consistent: with EnterCommand's store, either the command
  // sees the pause or Pause() sees the command.
  bool MaybePaused() const { return pause_end_ms_.load() != 0; }
  void EnterCommand();
  void LeaveCommand();
  // A script runs alone among commands, as in Redis: Begin waits for the
  // commands in flight (the gate above) and holds back those that start
  // later (WaitForScript) until End. Its own commands lock their keys as
  // any command does. Scripts take turns.
  void BeginScriptExclusive() EXCLUDES(script_mu_);
  void EndScriptExclusive();
  // At the start of a command: waits while a script runs alone; false (the
  // command is answered BUSY) once give_up() says so.
  bool WaitForScript(const std::function<bool()>& give_up);
  // Once a pause has ended (the maintenance thread asks): deleting expired
  // keys resumes.
  void EndPauseIfOver(int64_t now_ms) EXCLUDES(pause_mu_);

  // Set by the network layer: stops the server (SHUTDOWN).
  std::function<void()> shutdown;
  // True until recovery finished; then engine() is set (release/acquire).
  std::atomic<bool> loading{false};
  Engine* engine() const { return engine_.load(std::memory_order_acquire); }
  void set_engine(Engine* e) { engine_.store(e, std::memory_order_release); }

 private:
  Config* config_;
  Store* store_;
  const CommandTable* commands_;
  Stats stats_;
  ClientRegistry clients_;
  Replication replication_;
  SlowLog slowlog_;
  Monitors monitors_;
  CommandStats command_stats_;
  ErrorStats error_stats_;
  LatencyMonitor latency_;
  ScriptCache scripts_;
  FunctionRegistry functions_;
  RateSampler ops_rate_, input_rate_, output_rate_;
  std::atomic<int64_t> pause_end_ms_{0};
  std::atomic<PauseMode> pause_mode_{PauseMode::kNone};
  // Commands in flight, a slot per thread (threads past kGateSlots share).
  static constexpr size_t kGateSlots = 256;
  // busy: 0 idle, 1 in a command, 2 waiting for the script gate outside a
  // command (a pause, the upkeep thread), 3 a command waiting for it. A
  // script waits for 1 only; CLIENT PAUSE for 1 and 3.
  struct alignas(64) GateSlot {
    std::atomic<int> busy{0};
  };
  std::unique_ptr<GateSlot[]> gate_{new GateSlot[kGateSlots]};
  void WaitForCommandsInFlight();
  Mutex script_mu_;  // held by the script running alone
  std::atomic<bool> script_alone_{false};
  Mutex pause_mu_;  // orders turning expired-key deletion off and back on
  bool expiry_held_ GUARDED_BY(pause_mu_) = false;  // a pause turned it off
  std::string run_id_;
  int64_t start_ms_;
  int tcp_port_ = 0;
  int io_threads_ = 1;
  std::atomic<uint64_t> next_client_id_{0};
  std::atomic<Engine*> engine_{nullptr};
};

}  // namespace edgekv
