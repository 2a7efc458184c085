// Applier: the log's records reach LevelDB, read back from the segments.
//
// A real WalWriter and DiskTier in a temporary directory; the applier is the
// writer's observer, as in the engine.
#include "db/applier.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "edgekv/store.h"
#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "storage/disk_tier.h"
#include "wal/wal_writer.h"

namespace edgekv {
namespace {

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("edgekv-applier-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "wal");
    DiskOptions dopt;
    dopt.path = (dir_ / "data").string();
    auto disk = DiskTier::Open(dopt);
    ASSERT_TRUE(disk.ok()) << disk.status().message();
    disk_ = std::move(disk.value());
  }

  void TearDown() override {
    wal_.reset();
    applier_.reset();
    disk_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Start(uint64_t max_backlog_bytes = ApplierLimits().max_backlog_bytes) {
    ApplierLimits limits;
    limits.max_backlog_bytes = max_backlog_bytes;
    Start(limits);
  }

  void Start(const ApplierLimits& limits) {
    applier_ =
        std::make_unique<Applier>(disk_.get(), (dir_ / "wal").string(), nullptr, limits);
    wal::WriterOptions wo;
    wo.dir = (dir_ / "wal").string();
    wo.segment_bytes = 64 * 1024;  // several segments: the reader moves on
    auto w = wal::WalWriter::Open(wo, disk_->applied_seq() + 1);
    ASSERT_TRUE(w.ok()) << w.status().message();
    wal_ = std::move(w.value());
    wal_->SetObserver(applier_.get());
  }

  // Appends one PUT and writes it to the segment; returns its sequence.
  uint64_t Put(const std::string& key, const std::string& value) {
    wal::BatchBuilder b;
    b.Put(0, key, value, kNoExpire, wal::kFlagCreated);
    uint64_t seq = wal_->Append(b, 0);
    // False while the next segment is due: the writer thread writes it then.
    if (!wal_->WriteUpTo(seq)) wal_->WaitDurable(seq);
    return seq;
  }

  std::string DiskValueOf(const std::string& key) {
    DiskValue v;
    Status s = disk_->Get(disk_->namespaces()[0], key, &v);
    return s.ok() ? v.value : "(missing)";
  }

  std::filesystem::path dir_;
  std::unique_ptr<DiskTier> disk_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<wal::WalWriter> wal_;
};

TEST_F(ApplierTest, WrittenRecordsReachLevelDbWithTheLastValueOfEachKey) {
  Start();
  uint64_t last = 0;
  for (int i = 0; i < 3000; ++i) {  // spans several 64 KB segments
    last = Put("key:" + std::to_string(i % 500), "value-" + std::to_string(i));
  }
  ASSERT_TRUE(applier_->WaitApplied(last, 10000));
  EXPECT_EQ(disk_->applied_seq(), last);
  EXPECT_EQ(DiskValueOf("key:0"), "value-2500");
  EXPECT_EQ(DiskValueOf("key:499"), "value-2999");
  EXPECT_EQ(DiskValueOf("key:500"), "(missing)");
  EXPECT_EQ(applier_->queued_bytes(), 0u);
  EXPECT_TRUE(applier_->healthy());
}

// Between the groups of a steady load the applier is idle; the buffers of
// a small group stay until the next group could have taken them back (fresh
// ones cost a page fault per 4 KB), those of a large group (a bulk load)
// are freed at the next tick.
TEST_F(ApplierTest, BuffersOfASmallGroupWaitForTheNextOneAndThoseOfALargeGroupGo) {
  ApplierLimits limits;
  limits.group_bytes = 1 << 20;
  limits.group_delay = std::chrono::milliseconds(1000);
  limits.max_backlog_bytes = 8 << 20;
  Start(limits);
  auto released = [&] {
    for (int i = 0; i < 300 && !applier_->holds_released_buffers(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return applier_->holds_released_buffers();
  };

  uint64_t seq = Put("small", "group");
  ASSERT_TRUE(applier_->WaitApplied(seq, 10000));
  ASSERT_TRUE(released());
  applier_->FreeReleasedBuffers();
  EXPECT_TRUE(applier_->holds_released_buffers());               // for the next group
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // > delay + 100 ms
  applier_->FreeReleasedBuffers();
  EXPECT_FALSE(applier_->holds_released_buffers());

  uint64_t last = 0;  // about 700 KB: over a quarter of group_bytes
  for (int i = 0; i < 3000; ++i)
    last = Put("key:" + std::to_string(i), std::string(200, 'v'));
  ASSERT_TRUE(applier_->WaitApplied(last, 10000));
  ASSERT_TRUE(released());
  applier_->FreeReleasedBuffers();
  EXPECT_FALSE(applier_->holds_released_buffers());
}

TEST_F(ApplierTest, AfterALogResetItReadsTheNewLogFromItsStart) {
  Start();
  uint64_t seq = 0;
  for (int i = 0; i < 50; ++i) seq = Put("before", std::to_string(i));
  ASSERT_TRUE(applier_->WaitApplied(seq, 10000));
  // What a replica's full sync does: LevelDB gets the snapshot directly, the
  // log starts again after the snapshot's sequence (a new history: lower
  // than where the old one was).
  const uint64_t snapshot_seq = 10;
  ASSERT_TRUE(disk_->Wipe().ok());
  ASSERT_TRUE(wal_->Reset(snapshot_seq + 1).ok());
  wal::BatchBuilder snap;
  snap.Put(0, "snapshot", "s", kNoExpire, wal::kFlagCreated);
  std::string frame;
  snap.AppendFrame(snapshot_seq, 0, &frame);
  std::vector<std::string_view> payload{
      std::string_view(frame).substr(wal::kFrameHeaderSize)};
  ASSERT_TRUE(disk_->Apply(payload).ok());

  seq = Put("after", "2");
  EXPECT_EQ(seq, snapshot_seq + 1);
  ASSERT_TRUE(applier_->WaitApplied(seq, 5000));
  EXPECT_EQ(DiskValueOf("snapshot"), "s");
  EXPECT_EQ(DiskValueOf("after"), "2");
  EXPECT_EQ(DiskValueOf("before"), "(missing)");
  EXPECT_TRUE(applier_->healthy()) << applier_->error();
}

TEST_F(ApplierTest, OverloadedWhileLevelDbIsFarBehindTheLog) {
  Start(/*max_backlog_bytes=*/32 * 1024);
  EXPECT_FALSE(applier_->Overloaded());
  uint64_t last = 0;
  // 64 KB: twice the bound, well under a group, so the applier is still
  // gathering (for a second) when asked.
  for (int i = 0; i < 64; ++i)
    last = Put("k" + std::to_string(i), std::string(1000, 'x'));
  EXPECT_GT(applier_->queued_bytes(), 32u * 1024);
  EXPECT_TRUE(applier_->Overloaded());  // and wakes the applier
  ASSERT_TRUE(applier_->WaitApplied(last, 10000));
  EXPECT_FALSE(applier_->Overloaded());
  EXPECT_EQ(DiskValueOf("k63"), std::string(1000, 'x'));
}

TEST_F(ApplierTest, WritesArePacedPastHalfTheBound) {
  ApplierLimits limits;
  limits.max_backlog_bytes = 64 * 1024;
  limits.group_delay = std::chrono::seconds(30);  // gathers until woken
  Start(limits);
  EXPECT_TRUE(applier_->AdmitWrite(10 << 20));  // under half: anything goes
  uint64_t last = 0;
  for (int i = 0; i < 40; ++i)
    last = Put("k" + std::to_string(i), std::string(1000, 'x'));
  ASSERT_GT(applier_->queued_bytes(), 32u * 1024);
  EXPECT_FALSE(applier_->Overloaded());
  EXPECT_TRUE(applier_->Pacing());
  // Past half: writes go at the applier's pace, at most 10 ms of it at once
  // (well under 10 MB: LevelDB never applies 1 GB/s here). A write larger
  // than the bucket still goes, and the next waits for what it took.
  EXPECT_TRUE(applier_->AdmitWrite(10 << 20));
  EXPECT_FALSE(applier_->AdmitWrite(100));
  ASSERT_TRUE(applier_->WaitApplied(last, 10000));
  EXPECT_FALSE(applier_->Pacing());
  EXPECT_TRUE(applier_->AdmitWrite(10 << 20));
}

TEST_F(ApplierTest, RestartGoesOnFromWhatLevelDbHolds) {
  Start();
  uint64_t seq = Put("a", "1");
  ASSERT_TRUE(applier_->WaitApplied(seq, 10000));
  wal_.reset();
  applier_.reset();  // applies what is written, syncs
  Start();
  seq = Put("b", "2");
  ASSERT_TRUE(applier_->WaitApplied(seq, 10000));
  EXPECT_EQ(DiskValueOf("a"), "1");
  EXPECT_EQ(DiskValueOf("b"), "2");
  EXPECT_TRUE(applier_->healthy()) << applier_->error();
}

}  // namespace
}  // namespace edgekv
