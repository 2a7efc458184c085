#include "replication.h"

#include <random>

namespace edgekv {

std::string NewReplicationId() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 40; ++i) id.push_back(kHex[rd() % 16]);
  return id;
}

void Replication::SetIds(std::string replid, std::string replid2,
                         uint64_t second_offset) {
  MutexLock l(&mu_);
  replid_ = std::move(replid);
  replid2_ = std::move(replid2);
  second_offset_ = second_offset;
}

std::string Replication::replid() const {
  MutexLock l(&mu_);
  return replid_;
}

std::string Replication::replid2() const {
  MutexLock l(&mu_);
  return replid2_;
}

uint64_t Replication::second_offset() const {
  MutexLock l(&mu_);
  return second_offset_;
}

void Replication::NewHistory(uint64_t seq) {
  MutexLock l(&mu_);
  replid2_ = replid_;
  second_offset_ = seq;
  replid_ = NewReplicationId();
}

bool Replication::SameHistory(const std::string& replid, uint64_t seq) const {
  MutexLock l(&mu_);
  if (replid == replid_) return true;
  return !replid2_.empty() && replid == replid2_ && seq <= second_offset_;
}

void Replication::SetUpstream(std::string host, int port) {
  MutexLock l(&mu_);
  upstream_ = UpstreamInfo{};
  upstream_.host = std::move(host);
  upstream_.port = port;
  upstream_.state = port > 0 ? LinkState::kConnecting : LinkState::kNone;
  is_replica_.store(port > 0, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
}

UpstreamInfo Replication::upstream() const {
  MutexLock l(&mu_);
  return upstream_;
}

void Replication::UpdateUpstream(const std::function<void(UpstreamInfo&)>& fn) {
  MutexLock l(&mu_);
  fn(upstream_);
}

void Replication::AddReplica(const ReplicaInfo& r) {
  MutexLock l(&mu_);
  replicas_[r.client_id] = r;
}

void Replication::RemoveReplica(uint64_t client_id) {
  MutexLock l(&mu_);
  replicas_.erase(client_id);
}

void Replication::UpdateReplica(uint64_t client_id,
                                const std::function<void(ReplicaInfo&)>& fn) {
  MutexLock l(&mu_);
  auto it = replicas_.find(client_id);
  if (it != replicas_.end()) fn(it->second);
}

std::vector<ReplicaInfo> Replication::replicas() const {
  MutexLock l(&mu_);
  std::vector<ReplicaInfo> out;
  for (auto& [id, r] : replicas_) out.push_back(r);
  return out;
}

int Replication::CountAcked(uint64_t seq) const {
  MutexLock l(&mu_);
  int n = 0;
  for (auto& [id, r] : replicas_) {
    if (r.state == "online" && r.ack_seq >= seq) ++n;
  }
  return n;
}

int Replication::CountGood(int64_t now_ms, int64_t max_lag_s) const {
  MutexLock l(&mu_);
  int n = 0;
  for (auto& [id, r] : replicas_) {
    if (r.state == "online" && now_ms - r.ack_ms <= max_lag_s * 1000) ++n;
  }
  return n;
}

uint64_t Replication::MinNeeded(uint64_t fallback) const {
  MutexLock l(&mu_);
  uint64_t m = fallback;
  for (auto& [id, r] : replicas_) m = std::min(m, r.sent_seq);
  return m;
}

void Replication::CountSync(int kind) {
  MutexLock l(&mu_);
  if (kind == 0) ++sync_full;
  if (kind == 1) ++sync_partial_ok;
  if (kind == 2) ++sync_partial_err;
}

void Replication::SyncCounts(uint64_t* full, uint64_t* ok, uint64_t* err) const {
  MutexLock l(&mu_);
  *full = sync_full;
  *ok = sync_partial_ok;
  *err = sync_partial_err;
}

bool Replication::FirstRefusal(const std::string& addr) {
  MutexLock l(&mu_);
  if (refused_addrs_.size() >= 1024) return false;  // bounded
  return refused_addrs_.insert(addr).second;
}

}  // namespace edgekv
