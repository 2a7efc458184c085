#include "server_context.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "command_table.h"
#include "util/clock.h"

namespace edgekv {

void ClientRegistry::Add(ClientState* c) {
  MutexLock l(&mu_);
  clients_[c->id] = c;
}

void ClientRegistry::Remove(ClientState* c) {
  MutexLock l(&mu_);
  clients_.erase(c->id);
}

size_t ClientRegistry::size() const {
  MutexLock l(&mu_);
  return clients_.size();
}

void ClientRegistry::ForEach(const std::function<void(ClientState&)>& fn) const {
  MutexLock l(&mu_);
  for (auto& [id, c] : clients_) fn(*c);
}

ServerContext::ServerContext(Config* config, Store* store, const CommandTable* commands)
    : config_(config),
      store_(store),
      commands_(commands),
      command_stats_(commands->ids()),
      start_ms_(WallMs()) {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 40; ++i) run_id_.push_back(kHex[rd() % 16]);
  FollowConfig(Cfg::kLatencyMonitorThreshold);
  config_->set_on_change([this](Cfg id) {
    FollowConfig(id);
    if (on_config_change) on_config_change(id);
  });
}

void ServerContext::ResetRates() {
  ops_rate_.Reset();
  input_rate_.Reset();
  output_rate_.Reset();
}

void ServerContext::SampleRates(int64_t now_ms) {
  ops_rate_.Sample(now_ms, stats_.commands_processed.load(std::memory_order_relaxed));
  input_rate_.Sample(now_ms, stats_.net_input_bytes.load(std::memory_order_relaxed));
  output_rate_.Sample(now_ms, stats_.net_output_bytes.load(std::memory_order_relaxed));
}

namespace {
std::atomic<size_t> g_next_gate_slot{0};
size_t MyGateSlot(size_t slots) {
  thread_local size_t slot = g_next_gate_slot.fetch_add(1);
  return slot % slots;
}
}  // namespace

void ServerContext::EnterCommand() { gate_[MyGateSlot(kGateSlots)].busy.store(1); }

void ServerContext::LeaveCommand() {
  gate_[MyGateSlot(kGateSlots)].busy.store(0, std::memory_order_release);
}

void ServerContext::BeginScriptExclusive() NO_THREAD_SAFETY_ANALYSIS {
  const size_t mine = MyGateSlot(kGateSlots);
  const int was = gate_[mine].busy.load();
  // Waiting: not in the way of another script; but a command that waits is
  // still in flight for CLIENT PAUSE (3), which must not answer before it is
  // done.
  gate_[mine].busy.store(was == 1 ? 3 : 2);
  script_mu_.Lock();
  script_alone_.store(true);
  const size_t used = std::min(g_next_gate_slot.load(), kGateSlots);
  for (size_t i = 0; i < used; ++i) {
    if (i == mine) continue;
    while (gate_[i].busy.load() == 1) std::this_thread::yield();
  }
  gate_[mine].busy.store(was);
}

void ServerContext::EndScriptExclusive() NO_THREAD_SAFETY_ANALYSIS {
  script_alone_.store(false);
  script_mu_.Unlock();
}

bool ServerContext::WaitForScript(const std::function<bool()>& give_up) {
  if (!script_alone_.load()) return true;
  const size_t mine = MyGateSlot(kGateSlots);
  const int was = gate_[mine].busy.load();
  // Most scripts take microseconds: yield first, then sleep in short steps.
  for (int tries = 1;; ++tries) {
    gate_[mine].busy.store(was == 1 ? 3 : 2);
    if (tries < 1000) {
      std::this_thread::yield();
    } else {
      if (give_up()) {
        gate_[mine].busy.store(was);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (!script_alone_.load()) {
      gate_[mine].busy.store(was);
      if (!script_alone_.load()) return true;
    }
  }
}

void ServerContext::WaitForCommandsInFlight() {
  const size_t mine = MyGateSlot(kGateSlots);
  // 2: this thread waits here; two concurrent pauses do not wait for each
  // other.
  gate_[mine].busy.store(2);
  for (size_t i = 0; i < kGateSlots; ++i) {
    if (i == mine) continue;
    // A command is microseconds; a long one (KEYS, FLUSHALL) holds this
    // thread as long, as it would hold Redis.
    for (int b = gate_[i].busy.load(); b == 1 || b == 3; b = gate_[i].busy.load()) {
      std::this_thread::yield();
    }
  }
  gate_[mine].busy.store(1);
}

void ServerContext::Pause(int64_t end_ms, PauseMode mode, bool wait) {
  {
    MutexLock l(&pause_mu_);
    if (Paused(WallMs()) == PauseMode::kNone || mode > pause_mode_.load()) {
      pause_mode_.store(mode);
    }
    if (pause_end_ms_.load() < end_ms) pause_end_ms_.store(end_ms);
    // A replica never deletes expired keys itself (its coordinator's log does).
    if (!expiry_held_ && !replication_.is_replica()) {
      expiry_held_ = true;
      store_->set_delete_expired(false);
    }
  }
  if (wait) WaitForCommandsInFlight();
}

void ServerContext::Unpause() { pause_end_ms_.store(0); }

ServerContext::PauseMode ServerContext::Paused(int64_t now_ms) const {
  if (now_ms >= pause_end_ms_.load(std::memory_order_relaxed)) return PauseMode::kNone;
  return pause_mode_.load(std::memory_order_relaxed);
}

void ServerContext::EndPauseIfOver(int64_t now_ms) {
  MutexLock l(&pause_mu_);
  if (Paused(now_ms) != PauseMode::kNone) return;
  pause_end_ms_.store(0);
  if (!expiry_held_) return;
  expiry_held_ = false;
  if (!replication_.is_replica()) store_->set_delete_expired(true);
}

void ServerContext::FollowConfig(Cfg id) {
  if (id == Cfg::kLatencyMonitorThreshold) {
    latency_.set_threshold_ms(config_->Int(Cfg::kLatencyMonitorThreshold));
  }
}

}  // namespace edgekv
