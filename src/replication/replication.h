// Replication state shared by the commands, the coordinator's feeders and the
// replica's link: this server's role and history ids, the replicas attached
// to it (coordinator side) and the link to its upstream (replica side).
//
// History: a replication id names a line of WAL history; a position in it is
// a WAL sequence number. A replica asks "replid R, applied up to S"; if the
// coordinator's log continues R after S (it is R, or R was its previous id up
// to the point it was promoted), the replica resumes from S+1 (partial
// resync), otherwise it gets a full sync.
//
// Thread-safety: every method locks; safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/thread_annotations.h"

namespace edgekv {

struct ReplicaInfo {
  uint64_t client_id = 0;
  std::string ip;
  int port = 0;               // the replica's listening port (REPLCONF)
  std::string state;          // "wait_bgsave", "send_bulk", "online"
  uint64_t ack_seq = 0;       // last sequence the replica applied
  int64_t ack_ms = 0;         // when that ack arrived
  uint64_t sent_seq = 0;      // last sequence sent
  int64_t ack_record_ms = 0;  // coordinator time of the record acknowledged
};

// kRefused: the coordinator refused this replica for good (it writes a log
// format this replica cannot read); no reconnecting until REPLICAOF.
// REPLCONF capa edgekv-log-<N>: the replica reads log formats up to N
// (wal::kVersion of its release). A replica that does not say reads format
// 2 (the releases before the capa).
inline constexpr std::string_view kLogFormatCapa = "edgekv-log-";
inline constexpr int kLogFormatOfSilentReplicas = 2;

enum class LinkState { kNone, kConnecting, kSync, kConnected, kRefused };

struct UpstreamInfo {
  std::string host;
  int port = 0;
  LinkState state = LinkState::kNone;
  int64_t last_io_ms = 0;
  bool sync_in_progress = false;
  // Of the full sync in progress: snapshot bytes applied, and when the
  // last arrived (INFO's master_sync_read_bytes and _last_io_seconds_ago).
  int64_t sync_read_bytes = 0;
  int64_t sync_last_io_ms = 0;
  std::string refused;  // why the coordinator refused the link (kRefused)
};

class Replication {
 public:
  // --- identity (persisted by the caller) --------------------------------
  void SetIds(std::string replid, std::string replid2, uint64_t second_offset)
      EXCLUDES(mu_);
  std::string replid() const EXCLUDES(mu_);
  std::string replid2() const EXCLUDES(mu_);
  uint64_t second_offset() const EXCLUDES(mu_);
  // Starts a new history after `seq` (promotion): the old id stays valid up
  // to seq as replid2.
  void NewHistory(uint64_t seq) EXCLUDES(mu_);
  // Can a replica at (replid, seq) continue from our log?
  bool SameHistory(const std::string& replid, uint64_t seq) const EXCLUDES(mu_);

  // --- role ----------------------------------------------------------------
  bool is_replica() const { return is_replica_.load(std::memory_order_acquire); }
  void SetUpstream(std::string host, int port) EXCLUDES(mu_);  // port 0: none
  UpstreamInfo upstream() const EXCLUDES(mu_);
  void UpdateUpstream(const std::function<void(UpstreamInfo&)>& fn) EXCLUDES(mu_);
  // Bumped on every REPLICAOF so that an old link knows it is obsolete.
  uint64_t upstream_epoch() const { return epoch_.load(std::memory_order_acquire); }

  // --- replicas of this server -------------------------------------------
  void AddReplica(const ReplicaInfo& r) EXCLUDES(mu_);
  void RemoveReplica(uint64_t client_id) EXCLUDES(mu_);
  void UpdateReplica(uint64_t client_id, const std::function<void(ReplicaInfo&)>& fn)
      EXCLUDES(mu_);
  std::vector<ReplicaInfo> replicas() const EXCLUDES(mu_);
  // Replicas that acknowledged at least seq.
  int CountAcked(uint64_t seq) const EXCLUDES(mu_);
  // Replicas whose last ack is at most max_lag_s seconds old.
  int CountGood(int64_t now_ms, int64_t max_lag_s) const EXCLUDES(mu_);
  // The oldest position a connected replica still needs (retention floor).
  uint64_t MinNeeded(uint64_t fallback) const EXCLUDES(mu_);

  uint64_t sync_full = 0, sync_partial_ok = 0, sync_partial_err = 0;  // GUARDED_BY(mu_)
  // Replicas refused for the log format they read (PSYNC); the first from
  // each address is logged.
  std::atomic<uint64_t> refused_replicas{0};
  // True the first time `addr` is refused (a refused replica of an older
  // release reconnects every second: one log line, not one a second).
  bool FirstRefusal(const std::string& addr) EXCLUDES(mu_);
  void CountSync(int kind) EXCLUDES(mu_);  // 0 full, 1 partial ok, 2 partial err
  void SyncCounts(uint64_t* full, uint64_t* ok, uint64_t* err) const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::string replid_ GUARDED_BY(mu_);
  std::string replid2_ GUARDED_BY(mu_);
  uint64_t second_offset_ GUARDED_BY(mu_) = 0;
  UpstreamInfo upstream_ GUARDED_BY(mu_);
  std::map<uint64_t, ReplicaInfo> replicas_ GUARDED_BY(mu_);
  std::set<std::string> refused_addrs_ GUARDED_BY(mu_);
  std::atomic<bool> is_replica_{false};
  std::atomic<uint64_t> epoch_{0};
};

std::string NewReplicationId();

}  // namespace edgekv
