// WalWriter: records reach the segments in order whoever writes them, and a
// full segment is never flushed by a command thread (the writer thread starts
// the next segment once the fsync thread has flushed the full one).
#include "wal/wal_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "edgekv/store.h"
#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "util/latency_monitor.h"
#include "wal/journal.h"
#include "wal/wal_reader.h"

namespace edgekv::wal {
namespace {

// A disk whose fsync fails with EIO while g_fsync_fails is set. With
// g_fsync_loses, a failed fsync also loses what was written since the last
// one that succeeded (zeroed), as Linux may drop the pages of a failed
// writeback: only what is written again reaches the disk.
std::atomic<bool> g_fsync_fails{false};
std::atomic<bool> g_fsync_loses{false};
std::atomic<off_t> g_synced_size{0};
int FlakySync(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return -1;
  if (g_fsync_fails.load()) {
    if (g_fsync_loses.load() && st.st_size > g_synced_size.load()) {
      std::string zeros(static_cast<size_t>(st.st_size - g_synced_size.load()), '\0');
      if (::pwrite(fd, zeros.data(), zeros.size(), g_synced_size.load()) < 0) return -1;
    }
    errno = EIO;
    return -1;
  }
  g_synced_size = st.st_size;
  return ::fdatasync(fd);
}

// A disk whose fsync takes 50 ms.
int SlowSync(int fd) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return ::fdatasync(fd);
}

// Polls `cond` for up to `ms` milliseconds.
template <typename F>
bool Within(int ms, F cond) {
  for (int i = 0; i < ms / 10; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

class WalWriterTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kSegmentBytes = 16 * 1024;

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("edgekv-wal-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    g_fsync_fails = false;
    g_fsync_loses = false;
    g_synced_size = 0;
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open(FsyncPolicy policy, int (*sync)(int) = ::fdatasync,
            LatencyMonitor* latency = nullptr) {
    WriterOptions o;
    o.dir = dir_.string();
    o.fsync = policy;
    o.segment_bytes = kSegmentBytes;
    o.sync = sync;
    o.latency = latency;
    auto w = WalWriter::Open(o, 1);
    ASSERT_TRUE(w.ok()) << w.status().message();
    writer_ = std::move(w.value());
  }

  uint64_t AppendOne(int i) {
    BatchBuilder b;
    b.Put(0, "key:" + std::to_string(i), std::string(100, 'v'), kNoExpire, kFlagCreated);
    return writer_->Append(b, 0);
  }

  // Every sequence the segments hold, in order.
  std::vector<uint64_t> Replayed() {
    std::vector<uint64_t> seqs;
    ReplayOptions ro;
    ro.truncate_torn_tail = false;
    ReplayResult rr;
    Status s = Replay(
        dir_.string(), ro,
        [&](uint64_t seq, std::string_view) {
          seqs.push_back(seq);
          return Status::Ok();
        },
        &rr);
    EXPECT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(rr.note, "");
    return seqs;
  }

  std::filesystem::path dir_;
  std::unique_ptr<WalWriter> writer_;
};

TEST_F(WalWriterTest, ACommandThreadLeavesAFullSegmentToTheWriterThread) {
  Open(FsyncPolicy::kEverysec);
  int left_to_writer = 0;
  uint64_t last = 0;
  for (int i = 0; i < 2000; ++i) {
    last = AppendOne(i);
    if (!writer_->WriteUpTo(last)) {
      ++left_to_writer;
      writer_->WaitDurable(last);  // the writer thread writes it
    }
    ASSERT_TRUE(writer_->IsDurable(last));
  }
  // About 230 KB of records in 16 KB segments: the test thread found the
  // segment full each time and left the records to the writer thread.
  EXPECT_GE(left_to_writer, 5);
  auto segments = ListSegments(dir_.string());
  EXPECT_GE(segments.size(), 6u);
  // Each segment but the last was full when the next one started.
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    struct stat st;
    ASSERT_EQ(::stat(segments[i].second.c_str(), &st), 0);
    EXPECT_GE(static_cast<uint64_t>(st.st_size), kSegmentBytes) << segments[i].second;
  }
  writer_.reset();
  auto seqs = Replayed();
  ASSERT_EQ(seqs.size(), 2000u);
  for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1);
}

// An idle writer thread parks instead of passing by every 5 ms, and a record
// nobody writes for itself (an expiry of the active cycle, say) still gets
// written soon after it is appended: the append wakes the parked thread.
TEST_F(WalWriterTest, AnIdleWriterThreadParksAndTheNextAppendWakesIt) {
  Open(FsyncPolicy::kEverysec);
  for (int round = 0; round < 3; ++round) {
    // Parked after kPassesBeforePark idle passes of 5 ms; then at most one
    // pass a second (un-parked, 600 ms would be 120 passes).
    auto parked_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!writer_->stats().writer_parked) {
      ASSERT_LT(std::chrono::steady_clock::now(), parked_by) << "round " << round;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    uint64_t before = writer_->stats().writer_passes;
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_LE(writer_->stats().writer_passes - before, 2u) << "round " << round;
    // Appended, not written by this thread, nobody waiting for it: the
    // append wakes the parked writer thread, which writes it; it does not
    // sleep through it until its one-second backstop (a missed wake-up).
    uint64_t seq = AppendOne(round);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!writer_->IsDurable(seq)) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "round " << round;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(writer_->stats().writer_missed_wakeups, 0u) << "round " << round;
  }
}

TEST_F(WalWriterTest, RecordsOfManyThreadsSpanSegmentsInOrder) {
  for (FsyncPolicy policy : {FsyncPolicy::kEverysec, FsyncPolicy::kAlways}) {
    SCOPED_TRACE(static_cast<int>(policy));
    std::filesystem::remove_all(dir_);
    Open(policy);
    constexpr int kRecords = 1500;  // about 190 KB: a dozen 16 KB segments
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        for (int i; (i = next.fetch_add(1)) < kRecords;) {
          uint64_t seq = AppendOne(i);
          // A command thread that writes for itself, one that writes only
          // if nobody else is (TryWriteNow), one that leaves it to the
          // writer thread; each waits for its record before the next.
          bool done = false;
          if (t == 0) done = writer_->WriteUpTo(seq);
          if (t == 1) writer_->TryWriteNow();
          if (!done) writer_->WaitDurable(seq);
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_GE(ListSegments(dir_.string()).size(), 3u);
    writer_.reset();
    auto seqs = Replayed();
    ASSERT_EQ(seqs.size(), static_cast<size_t>(kRecords));
    for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1);
  }
}

TEST_F(WalWriterTest, AWriteTooLargeForOneRecordGoesOnInTheNext) {
  Open(FsyncPolicy::kEverysec);
  Store store;
  Journal journal(writer_.get(), &store, /*split_bytes=*/1000);
  // Ten operations of about 330 bytes: three to a record.
  for (int i = 0; i < 10; ++i) {
    journal.OnPut(0, "key:" + std::to_string(i), std::string(300, 'v'), kNoExpire, 0);
  }
  uint64_t last = journal.Commit();
  EXPECT_EQ(last, 4u);  // the command waits for its last record
  journal.OnPut(0, "small", "x", kNoExpire, 0);
  EXPECT_EQ(journal.Commit(), 5u);  // a small one is one record
  writer_->WaitDurable(5);
  writer_.reset();

  std::vector<std::pair<uint64_t, std::string>> ops;  // (record, key)
  ReplayOptions ro;
  ReplayResult rr;
  Status s = Replay(
      dir_.string(), ro,
      [&](uint64_t seq, std::string_view payload) {
        BatchHeader h;
        return DecodeBatch(payload, &h, [&](const OpView& op) {
          ops.emplace_back(seq, std::string(op.key));
        });
      },
      &rr);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(ops.size(), 11u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(ops[i].second, "key:" + std::to_string(i));  // in order
    EXPECT_EQ(ops[i].first, static_cast<uint64_t>(i / 3 + 1));
  }
  EXPECT_EQ(ops[10], std::make_pair(uint64_t{5}, std::string("small")));
}

// Redis's rule for its everysec fsync: while fsyncs fail, writes are refused
// (the server answers MISCONF from error()); the first fsync that succeeds
// lets them in again. The records written meanwhile stay in the log.
TEST_F(WalWriterTest, AFailedEverysecFsyncRefusesWritesUntilAnFsyncSucceeds) {
  Open(FsyncPolicy::kEverysec, FlakySync);
  uint64_t first = AppendOne(0);
  writer_->WaitDurable(first);
  ASSERT_TRUE(writer_->healthy());

  g_fsync_fails = true;
  uint64_t second = AppendOne(1);
  writer_->WaitDurable(second);  // written (everysec acknowledges a write)
  ASSERT_TRUE(Within(3000, [&] { return !writer_->healthy(); }));
  EXPECT_EQ(writer_->stats().error, std::strerror(EIO));
  EXPECT_LT(writer_->stats().synced_seq, second);

  g_fsync_fails = false;
  ASSERT_TRUE(Within(3000, [&] { return writer_->healthy(); }));
  EXPECT_EQ(writer_->stats().error, "");
  EXPECT_GE(writer_->stats().synced_seq, second);
  writer_.reset();
  EXPECT_EQ(Replayed(), (std::vector<uint64_t>{first, second}));
}

// With always, a write is acknowledged only once fsynced: a failed fsync
// holds the acknowledgement (and the record, from the applier and the
// replicas) and is tried again until it succeeds, without writing the
// record twice.
TEST_F(WalWriterTest, AFailedAlwaysFsyncHoldsTheAcknowledgementUntilItSucceeds) {
  Open(FsyncPolicy::kAlways, FlakySync);
  g_fsync_fails = true;
  g_fsync_loses = true;  // the retry must write the record again
  uint64_t seq = AppendOne(0);
  EXPECT_FALSE(writer_->WriteUpTo(seq));
  std::atomic<bool> acknowledged{false};
  writer_->WhenDurable(seq, [&] { acknowledged = true; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(acknowledged.load());
  EXPECT_FALSE(writer_->healthy());
  EXPECT_EQ(writer_->stats().error, std::strerror(EIO));
  EXPECT_LT(writer_->stats().written_seq, seq);  // not handed on yet

  g_fsync_fails = false;
  ASSERT_TRUE(Within(3000, [&] { return acknowledged.load(); }));
  EXPECT_TRUE(writer_->healthy());
  EXPECT_EQ(writer_->stats().written_seq, seq);
  uint64_t next = AppendOne(1);
  EXPECT_TRUE(writer_->WriteUpTo(next));
  writer_.reset();
  EXPECT_EQ(Replayed(), (std::vector<uint64_t>{seq, next}));
}

// A segment open at a kill -9 keeps the space allocated ahead for it past
// its end; the next start gives that back and leaves the segment (and the
// time retention goes by) as it was.
TEST_F(WalWriterTest, SpaceAllocatedAheadOfAnOldSegmentIsGivenBackAtStart) {
  std::filesystem::create_directories(dir_);
  const std::string path = (dir_ / SegmentName(1)).string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8 << 20) != 0) {
    ::close(fd);
    GTEST_SKIP() << "no fallocate on this file system";
  }
  ASSERT_EQ(::write(fd, "0123456789", 10), 10);
  const struct timespec old_time[2] = {{1700000000, 0}, {1700000000, 0}};
  ASSERT_EQ(::futimens(fd, old_time), 0);
  ::close(fd);
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_GE(before.st_blocks * 512, 8 << 20);

  WriterOptions o;
  o.dir = dir_.string();
  auto w = WalWriter::Open(o, /*next_seq=*/2);  // segment 1 is the old one
  ASSERT_TRUE(w.ok()) << w.status().message();
  writer_ = std::move(w.value());
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_size, 10);
  EXPECT_LE(after.st_blocks * 512, 64 * 1024);
  EXPECT_EQ(after.st_mtim.tv_sec, 1700000000);
}

// A record held for a failed fsync under always is acknowledged at once when
// the policy becomes everysec (written is enough there).
TEST_F(WalWriterTest, ARecordHeldForAFailedFsyncGoesOnWhenThePolicyIsNoLongerAlways) {
  Open(FsyncPolicy::kAlways, FlakySync);
  g_fsync_fails = true;
  uint64_t seq = AppendOne(0);
  EXPECT_FALSE(writer_->WriteUpTo(seq));
  std::atomic<bool> acknowledged{false};
  writer_->WhenDurable(seq, [&] { acknowledged = true; });
  writer_->SetPolicy(FsyncPolicy::kEverysec);
  ASSERT_TRUE(Within(3000, [&] { return acknowledged.load(); }));
  EXPECT_EQ(writer_->stats().written_seq, seq);
}

// The failed fsync's error clears once the disk works again, whatever the
// policy and even when nothing new was written since (writes are refused
// meanwhile, so there is nothing new).
TEST_F(WalWriterTest, AnFsyncErrorClearsUnderAnyPolicyOnceTheDiskWorks) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kNo}) {
    SCOPED_TRACE(static_cast<int>(policy));
    std::filesystem::remove_all(dir_);
    Open(FsyncPolicy::kEverysec, FlakySync);
    g_fsync_fails = true;
    uint64_t seq = AppendOne(0);
    writer_->WaitDurable(seq);
    ASSERT_TRUE(Within(3000, [&] { return !writer_->healthy(); }));
    writer_->SetPolicy(policy);
    g_fsync_fails = false;
    ASSERT_TRUE(Within(3000, [&] { return writer_->healthy(); }));
    EXPECT_GE(writer_->stats().synced_seq, seq);
    EXPECT_TRUE(writer_->Sync().ok());  // SAVE's sync does not hang either
    writer_.reset();
  }
}

// A log written before the function library operations (format version 1)
// or the collections (version 2) is still read at start; a version from the
// future is refused.
TEST_F(WalWriterTest, SegmentsOfTheFormerVersionAreStillRead) {
  Open(FsyncPolicy::kAlways);
  AppendOne(1);
  AppendOne(2);
  writer_.reset();
  std::filesystem::path seg;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) seg = e.path();
  std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(6);
  f.put(static_cast<char>(1));
  f.close();
  EXPECT_EQ(Replayed(), (std::vector<uint64_t>{1, 2}));

  f.open(seg, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(6);
  f.put(static_cast<char>(kVersion + 1));
  f.close();
  ReplayOptions ro;
  ro.truncate_torn_tail = false;
  ReplayResult rr;
  Status s = Replay(
      dir_.string(), ro, [](uint64_t, std::string_view) { return Status::Ok(); }, &rr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("version 1 to " + std::to_string(kVersion)),
            std::string::npos)
      << s.message();
}

TEST_F(WalWriterTest, ListingSkipsNamesThatAreNotSegments) {
  std::filesystem::create_directories(dir_);
  for (const char* name : {"00000000000000000001.wal", "99999999999999999999.wal",
                           "0000000000000000000x.wal", "00000000000000000002.tmp"}) {
    std::ofstream(dir_ / name) << "x";
  }
  auto segments = ListSegments(dir_.string());
  ASSERT_EQ(segments.size(), 1u);  // 99...9 is past a uint64: not ours
  EXPECT_EQ(segments[0].first, 1u);
}

TEST_F(WalWriterTest, ASlowFsyncWithAlwaysIsALatencyEvent) {
  LatencyMonitor monitor;
  monitor.set_threshold_ms(20);
  Open(FsyncPolicy::kAlways, SlowSync, &monitor);
  writer_->WaitDurable(AppendOne(1));
  auto e = monitor.Find("aof-fsync-always");
  ASSERT_TRUE(e.has_value());
  EXPECT_GE(e->max_ms, 49u);
}

TEST_F(WalWriterTest, NoLatencyEventsWhileMonitoringIsOff) {
  LatencyMonitor monitor;  // threshold 0
  Open(FsyncPolicy::kAlways, SlowSync, &monitor);
  writer_->WaitDurable(AppendOne(1));
  EXPECT_TRUE(monitor.Events().empty());
}

}  // namespace
}  // namespace edgekv::wal
