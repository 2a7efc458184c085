// The disk tier's collections: a metadata record per key, a record per
// element under a version, DEL in O(1) with the old elements collected in
// the background, snapshots that carry them, and the conversion of a store
// written before types existed.
#include <gtest/gtest.h>
#include <leveldb/db.h>
#include <leveldb/write_batch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "edgekv/wal_format.h"
#include "format/batch.h"
#include "storage/disk_tier.h"
#include "types/hash_value.h"
#include "types/set_value.h"
#include "types/zset_value.h"

namespace edgekv {
namespace {

class DiskCollectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("edgekv-diskcoll-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    disk_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<DiskTier> Open(const std::string& name = "data") {
    DiskOptions o;
    o.path = (dir_ / name).string();
    auto d = DiskTier::Open(o);
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() ? std::move(d.value()) : nullptr;
  }

  // Applies one batch with the given operations.
  void Apply(DiskTier* disk, const std::function<void(wal::BatchBuilder&)>& ops) {
    wal::BatchBuilder b;
    ops(b);
    std::string frame;
    b.AppendFrame(++seq_, 0, &frame);
    std::vector<std::string_view> payloads{
        std::string_view(frame).substr(wal::kFrameHeaderSize)};
    Status s = disk->Apply(payloads);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  std::map<std::string, std::string> Fields(DiskTier* disk, const std::string& key) {
    DiskValue v;
    EncodingLimits limits;
    std::map<std::string, std::string> out;
    Status s = disk->Get(disk->namespaces()[0], key, &v, &limits);
    if (!s.ok()) return out;
    EXPECT_EQ(v.type, ValueType::kHash);
    if (v.collection == nullptr) return out;
    static_cast<const HashValue&>(*v.collection)
        .ForEach([&](std::string_view f, std::string_view val) {
          out.emplace(std::string(f), std::string(val));
        });
    return out;
  }

  // Element records ('e'), or score index records ('s'), left in LevelDB
  // (the tier closed first).
  size_t ElementRecords(const std::string& name = "data", char tag = 'e') {
    disk_.reset();
    leveldb::DB* db = nullptr;
    leveldb::Options o;
    EXPECT_TRUE(leveldb::DB::Open(o, (dir_ / name).string(), &db).ok());
    std::unique_ptr<leveldb::DB> owned(db);
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    size_t n = 0;
    for (it->Seek(std::string(1, tag)); it->Valid() && it->key()[0] == tag; it->Next())
      ++n;
    return n;
  }
  size_t ScoreRecords() { return ElementRecords("data", 's'); }

  // The sorted set at key in the order of its score index.
  // With `from`, from the first element scored at least *from (the last
  // scored at most *from when `reverse`).
  std::vector<std::pair<std::string, double>> ByScore(const std::string& key,
                                                      bool reverse = false,
                                                      std::optional<double> from = {}) {
    DiskValue v;
    std::vector<std::pair<std::string, double>> out;
    const uint32_t ns = disk_->namespaces()[0];
    if (!disk_->Get(ns, key, &v).ok()) return out;
    Status s = disk_->VisitScores(
        ns, key, v.version, reverse,
        [&](std::string_view m, double d) {
          out.emplace_back(std::string(m), d);
          return true;
        },
        from.has_value() ? &*from : nullptr);
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }

  // Applies one group of batches, as many times as asked (a replay after a
  // crash before the applied sequence was written).
  void ApplyGroup(const std::vector<std::function<void(wal::BatchBuilder&)>>& batches,
                  int times = 1) {
    std::vector<std::string> frames;
    for (const auto& ops : batches) {
      wal::BatchBuilder b;
      ops(b);
      b.AppendFrame(++seq_, 0, &frames.emplace_back());
    }
    std::vector<std::string_view> payloads;
    for (const std::string& f : frames) {
      payloads.push_back(std::string_view(f).substr(wal::kFrameHeaderSize));
    }
    for (int i = 0; i < times; ++i) {
      Status s = disk_->Apply(payloads);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<DiskTier> disk_;
  uint64_t seq_ = 0;
};

constexpr uint8_t kNew = wal::kFlagNewElement;
constexpr uint8_t kCreated = wal::kFlagCreated | wal::kFlagNewElement;

TEST_F(DiskCollectionsTest, FieldsAreStoredOneByOneAndReadBack) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.HashSet(0, "h", "a", "1", kCreated);
    b.HashSet(0, "h", "b", "2", kNew);
  });
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.HashSet(0, "h", "a", "10", 0);
    b.HashDel(0, "h", "b", 0);
    b.HashSet(0, "h", "c", "3", kNew);
  });
  EXPECT_EQ(Fields(disk_.get(), "h"),
            (std::map<std::string, std::string>{{"a", "10"}, {"c", "3"}}));
  DiskValue meta;  // without its elements: type, size, expiry
  ASSERT_TRUE(disk_->Get(disk_->namespaces()[0], "h", &meta).ok());
  EXPECT_EQ(meta.type, ValueType::kHash);
  EXPECT_EQ(meta.size, 2u);
  EXPECT_EQ(meta.collection, nullptr);
  EXPECT_EQ(disk_->counts(disk_->namespaces()[0]).keys, 1u);
  EXPECT_EQ(ElementRecords(), 2u);
}

TEST_F(DiskCollectionsTest, AWalkOfTheElementsResumesAfterTheLastOne) {
  using namespace std::string_literals;
  disk_ = Open();
  // "h" sorts before "hh": a walk must not run into the next key's records.
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.HashSet(0, "h", "a", "1", kCreated);
    b.HashSet(0, "h", "a\0"s, "2", kNew);
    b.HashSet(0, "h", "b", "3", kNew);
    b.HashSet(0, "h", "\xff", "4", kNew);
    b.HashSet(0, "hh", "x", "5", kCreated);
  });
  const uint32_t ns = disk_->namespaces()[0];
  DiskValue v;
  ASSERT_TRUE(disk_->Get(ns, "h", &v).ok());
  // The elements after `after` (all without it), `limit` at most, as
  // "elem=value " each.
  auto walk = [&](std::optional<std::string> after, size_t limit = 10) {
    std::string out;
    size_t n = 0;
    Status s = disk_->VisitElements(
        ns, "h", v.version, after.has_value() ? &*after : nullptr,
        /*fill_cache=*/true, [&](std::string_view e, std::string_view value) {
          out += std::string(e) + "=" + std::string(value) + " ";
          return ++n < limit;
        });
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  };
  EXPECT_EQ(walk({}), "a=1 a\0=2 b=3 \xff=4 "s);
  EXPECT_EQ(walk({}, 2), "a=1 a\0=2 "s);
  EXPECT_EQ(walk("a"), "a\0=2 b=3 \xff=4 "s);
  EXPECT_EQ(walk("a\0"s), "b=3 \xff=4 ");
  EXPECT_EQ(walk("aa"), "b=3 \xff=4 ");  // after one that is not there
  EXPECT_EQ(walk(""), "a=1 a\0=2 b=3 \xff=4 "s);
  EXPECT_EQ(walk("\xff"), "");
}

TEST_F(DiskCollectionsTest, SetMembersAreStoredOneByOneAndLoadedInTheirEncoding) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.ElementSet(ValueType::kSet, 0, "s", "3", {}, kCreated);
    b.ElementSet(ValueType::kSet, 0, "s", "1", {}, kNew);
    b.ElementSet(ValueType::kSet, 0, "s", "2", {}, kNew);
  });
  Apply(disk_.get(),
        [](wal::BatchBuilder& b) { b.ElementDel(ValueType::kSet, 0, "s", "2", 0); });
  DiskValue v;
  EncodingLimits limits;
  ASSERT_TRUE(disk_->Get(disk_->namespaces()[0], "s", &v, &limits).ok());
  EXPECT_EQ(v.type, ValueType::kSet);
  EXPECT_EQ(v.size, 2u);
  ASSERT_NE(v.collection, nullptr);
  EXPECT_EQ(v.collection->encoding(), "intset");
  std::vector<std::string> members;
  static_cast<const SetValue&>(*v.collection).ForEach([&](std::string_view m) {
    members.emplace_back(m);
  });
  EXPECT_EQ(members, (std::vector<std::string>{"1", "3"}));
  // A member that is not an integer loads as a listpack.
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.ElementSet(ValueType::kSet, 0, "s", "a", {}, kNew);
  });
  ASSERT_TRUE(disk_->Get(disk_->namespaces()[0], "s", &v, &limits).ok());
  EXPECT_EQ(v.collection->encoding(), "listpack");
  EXPECT_EQ(v.collection->size(), 3u);
  EXPECT_EQ(ElementRecords(), 3u);
}

TEST_F(DiskCollectionsTest, SortedSetScoresAreStoredWithTheirMembers) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.ElementSet(ValueType::kZSet, 0, "z", "b", ZSetValue::EncodeScore(2.5), kCreated);
    b.ElementSet(ValueType::kZSet, 0, "z", "a", ZSetValue::EncodeScore(-1), kNew);
    b.ElementSet(ValueType::kZSet, 0, "z", "c", ZSetValue::EncodeScore(0), kNew);
  });
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.ElementSet(ValueType::kZSet, 0, "z", "a", ZSetValue::EncodeScore(9),
                 0);  // a new score
    b.ElementDel(ValueType::kZSet, 0, "z", "c", 0);
  });
  DiskValue v;
  EncodingLimits limits;
  ASSERT_TRUE(disk_->Get(disk_->namespaces()[0], "z", &v, &limits).ok());
  EXPECT_EQ(v.type, ValueType::kZSet);
  EXPECT_EQ(v.size, 2u);
  ASSERT_NE(v.collection, nullptr);
  std::vector<std::pair<std::string, double>> got;
  const auto& z = static_cast<const ZSetValue&>(*v.collection);
  z.Walk(0, z.size() - 1, false,
         [&](std::string_view m, double s) { got.emplace_back(std::string(m), s); });
  EXPECT_EQ(got, (std::vector<std::pair<std::string, double>>{{"b", 2.5}, {"a", 9}}));
  EXPECT_EQ(ElementRecords(), 2u);
}

void ZAdd(wal::BatchBuilder& b, const std::string& key, const std::string& member,
          double score, uint8_t flags) {
  b.ElementSet(ValueType::kZSet, 0, key, member, ZSetValue::EncodeScore(score), flags);
}

using Scores = std::vector<std::pair<std::string, double>>;
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST_F(DiskCollectionsTest, SortedSetsKeepAnIndexInScoreOrder) {
  disk_ = Open();
  ApplyGroup({[](wal::BatchBuilder& b) {
    ZAdd(b, "z", "b", 2.5, kCreated);
    ZAdd(b, "z", "a", -1, kNew);
    ZAdd(b, "z", "c", 0, kNew);
    ZAdd(b, "z", "d", -0.0, kNew);  // sorts with 0, by member
    ZAdd(b, "z", "e", kInf, kNew);
    ZAdd(b, "z", "f", -kInf, kNew);
    ZAdd(b, "z", "g", -1e300, kNew);
  }});
  EXPECT_EQ(ByScore("z"), (Scores{{"f", -kInf},
                                  {"g", -1e300},
                                  {"a", -1},
                                  {"c", 0},
                                  {"d", -0.0},
                                  {"b", 2.5},
                                  {"e", kInf}}));
  EXPECT_TRUE(std::signbit(ByScore("z")[4].second)) << "the score as it was given";
  // New scores move members; a member changed twice in one group, and one
  // added and removed in it, leave one record or none.
  ApplyGroup({[](wal::BatchBuilder& b) {
                ZAdd(b, "z", "a", 9, 0);
                b.ElementDel(ValueType::kZSet, 0, "z", "c", 0);
                ZAdd(b, "z", "h", 1, kNew);
              },
              [](wal::BatchBuilder& b) {
                ZAdd(b, "z", "h", 3, 0);
                ZAdd(b, "z", "h", -5, 0);
                ZAdd(b, "z", "i", 1, kNew);
                b.ElementDel(ValueType::kZSet, 0, "z", "i", 0);
              }});
  const Scores want{{"f", -kInf}, {"g", -1e300}, {"h", -5},  {"d", -0.0},
                    {"b", 2.5},   {"a", 9},      {"e", kInf}};
  EXPECT_EQ(ByScore("z"), want);
  EXPECT_EQ(ByScore("z", true), Scores(want.rbegin(), want.rend()));
  EXPECT_EQ(ScoreRecords(), want.size());
}

TEST_F(DiskCollectionsTest, AWalkOfTheIndexStartsAtAScore) {
  disk_ = Open();
  // "z" sorts before "zz": a walk must not run into the next key's records,
  // nor (reverse, from the last records in LevelDB) past its own.
  ApplyGroup({[](wal::BatchBuilder& b) {
    ZAdd(b, "z", "a", -kInf, kCreated);
    ZAdd(b, "z", "b", -1, kNew);
    ZAdd(b, "z", "c", -0.0, kNew);
    ZAdd(b, "z", "d", 0, kNew);
    ZAdd(b, "z", "e", 2, kNew);
    ZAdd(b, "z", "f", 2, kNew);
    ZAdd(b, "z", "g", kInf, kNew);
    ZAdd(b, "zz", "x", -5, kCreated);
    ZAdd(b, "zz", "y", 5, kNew);
  }});
  auto members = [](const Scores& s) {
    std::string out;
    for (const auto& [m, score] : s) out += m;
    return out;
  };
  EXPECT_EQ(members(ByScore("z", false, 2)), "efg");
  EXPECT_EQ(members(ByScore("z", false, 1.5)), "efg");
  EXPECT_EQ(members(ByScore("z", false, 0)), "cdefg");  // -0 and 0 together
  EXPECT_EQ(members(ByScore("z", false, -0.0)), "cdefg");
  EXPECT_EQ(members(ByScore("z", false, -kInf)), "abcdefg");
  EXPECT_EQ(members(ByScore("z", false, kInf)), "g");
  EXPECT_EQ(members(ByScore("z", true, 2)), "fedcba");
  EXPECT_EQ(members(ByScore("z", true, -0.5)), "ba");
  EXPECT_EQ(members(ByScore("z", true, kInf)), "gfedcba");
  EXPECT_EQ(members(ByScore("z", true, -kInf)), "a");
  EXPECT_EQ(members(ByScore("z", true, -1e300)), "a");
  EXPECT_EQ(members(ByScore("zz", true, 100)), "yx");  // the last records of all
  EXPECT_EQ(members(ByScore("zz", true, -6)), "");
  EXPECT_EQ(members(ByScore("zz", false, 6)), "");
}

TEST_F(DiskCollectionsTest, AReplayedGroupLeavesNoStaleScore) {
  disk_ = Open();
  ApplyGroup({[](wal::BatchBuilder& b) {
    ZAdd(b, "z", "a", 1, kCreated);
    ZAdd(b, "z", "b", 2, kNew);
  }});
  // Applied twice, as after a crash before its applied sequence was written.
  ApplyGroup({[](wal::BatchBuilder& b) {
               ZAdd(b, "z", "a", 5, 0);
               b.ElementDel(ValueType::kZSet, 0, "z", "b", 0);
               ZAdd(b, "z", "c", 0, kNew);
             }},
             2);
  EXPECT_EQ(ByScore("z"), (Scores{{"c", 0}, {"a", 5}}));
  EXPECT_EQ(ScoreRecords(), 2u);
}

TEST_F(DiskCollectionsTest, TheScoresOfADeletedSortedSetAreCollected) {
  disk_ = Open();
  ApplyGroup({[](wal::BatchBuilder& b) {
    for (int i = 0; i < 1000; ++i)
      ZAdd(b, "z", "m" + std::to_string(i), i, i == 0 ? kCreated : kNew);
  }});
  ApplyGroup({[](wal::BatchBuilder& b) {
    b.Erase(0, "z", wal::kFlagWasCollection);
    ZAdd(b, "z", "new", 1, kCreated);
  }});
  EXPECT_EQ(ByScore("z"), (Scores{{"new", 1}}));
  for (int i = 0; i < 100 && disk_->CollectGarbage(100) > 0; ++i) {
  }
  EXPECT_EQ(ScoreRecords(), 1u);
}

TEST_F(DiskCollectionsTest, SortedSetsOfTheLayoutWithoutIndexGetOneWhenOpened) {
  disk_ = Open();
  // Members of 100 bytes: one set's index takes more than one conversion
  // write (4 MB).
  auto m = [](int i) { return std::string(94, 'm') + std::to_string(100000 + i); };
  ApplyGroup({[&](wal::BatchBuilder& b) {
    for (int i = 0; i < 50000; ++i) ZAdd(b, "z", m(i), -i, i == 0 ? kCreated : kNew);
    ZAdd(b, "small", "x", 1, kCreated);
    b.HashSet(0, "h", "f", "v", kCreated);
  }});
  disk_.reset();
  {  // Layout 2: the same records without the index.
    leveldb::DB* db = nullptr;
    ASSERT_TRUE(
        leveldb::DB::Open(leveldb::Options(), (dir_ / "data").string(), &db).ok());
    std::unique_ptr<leveldb::DB> owned(db);
    leveldb::WriteBatch wb;
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    for (it->Seek("s"); it->Valid() && it->key()[0] == 's'; it->Next())
      wb.Delete(it->key());
    wb.Put("mformat", std::string(1, '\2'));
    ASSERT_TRUE(db->Write(leveldb::WriteOptions(), &wb).ok());
  }
  EXPECT_EQ(ScoreRecords(), 0u);
  disk_ = Open();
  Scores z = ByScore("z");
  ASSERT_EQ(z.size(), 50000u);
  EXPECT_EQ(z.front(), (std::pair<std::string, double>{m(49999), -49999}));
  EXPECT_EQ(z.back(), (std::pair<std::string, double>{m(0), 0}));
  EXPECT_EQ(ByScore("small"), (Scores{{"x", 1}}));
  EXPECT_EQ(ScoreRecords(), 50001u);
}

TEST_F(DiskCollectionsTest, OneElementIsReadWithoutItsCollection) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.HashSet(0, "h", "a", "1", kCreated);
    b.HashSet(0, "h", "b", "2", kNew);
  });
  const uint32_t ns = disk_->namespaces()[0];
  DiskValue meta;
  ASSERT_TRUE(disk_->Get(ns, "h", &meta).ok());
  std::string v;
  ASSERT_TRUE(disk_->GetElement(ns, "h", meta.version, "b", &v).ok());
  EXPECT_EQ(v, "2");
  EXPECT_EQ(disk_->GetElement(ns, "h", meta.version, "c", &v).code(),
            Status::Code::kNotFound);
  // The hash deleted and made again: a new version, without the old fields.
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.Erase(0, "h", wal::kFlagWasCollection);
    b.HashSet(0, "h", "c", "3", kCreated);
  });
  DiskValue again;
  ASSERT_TRUE(disk_->Get(ns, "h", &again).ok());
  EXPECT_NE(again.version, meta.version);
  EXPECT_EQ(disk_->GetElement(ns, "h", again.version, "b", &v).code(),
            Status::Code::kNotFound);
  ASSERT_TRUE(disk_->GetElement(ns, "h", again.version, "c", &v).ok());
  EXPECT_EQ(v, "3");
}

TEST_F(DiskCollectionsTest, AnExpiryIsLoggedAloneAndCounted) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.HashSet(0, "h", "a", "1", kCreated);
    b.Expire(0, "h", 4102444800000, wal::kFlagHasExpire);
  });
  DiskValue v;
  ASSERT_TRUE(disk_->Get(disk_->namespaces()[0], "h", &v).ok());
  EXPECT_EQ(v.expire_ms, 4102444800000);
  EXPECT_EQ(disk_->counts(disk_->namespaces()[0]).expires, 1u);
  Apply(disk_.get(),
        [](wal::BatchBuilder& b) { b.Expire(0, "h", kNoExpire, wal::kFlagHadExpire); });
  ASSERT_TRUE(disk_->Get(disk_->namespaces()[0], "h", &v).ok());
  EXPECT_EQ(v.expire_ms, kNoExpire);
  EXPECT_EQ(disk_->counts(disk_->namespaces()[0]).expires, 0u);
}

// DEL drops the metadata record at once; the elements go in the background,
// and a hash made again under the same name starts empty.
TEST_F(DiskCollectionsTest, DeleteIsOneRecordAndTheElementsAreCollectedLater) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.HashSet(0, "h", "f0", "v", kCreated);
    for (int i = 1; i < 1000; ++i) b.HashSet(0, "h", "f" + std::to_string(i), "v", kNew);
  });
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.Erase(0, "h", wal::kFlagWasCollection);
    b.HashSet(0, "h", "new", "1", kCreated);  // the same batch: a new version
  });
  EXPECT_EQ(Fields(disk_.get(), "h"), (std::map<std::string, std::string>{{"new", "1"}}));
  EXPECT_EQ(disk_->counts(disk_->namespaces()[0]).keys, 1u);
  size_t collected = 0;
  for (int i = 0; i < 100 && disk_->CollectGarbage(100) > 0; ++i) collected += 100;
  EXPECT_GE(collected, 1000u);
  EXPECT_EQ(ElementRecords(), 1u);
}

TEST_F(DiskCollectionsTest, AStringWrittenOverAHashLeavesItsElementsToCollect) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.HashSet(0, "h", "a", "1", kCreated);
    b.HashSet(0, "h", "b", "2", kNew);
  });
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.Put(0, "h", "now a string", kNoExpire, wal::kFlagWasCollection);
  });
  DiskValue v;
  ASSERT_TRUE(disk_->Get(disk_->namespaces()[0], "h", &v).ok());
  EXPECT_EQ(v.type, ValueType::kString);
  EXPECT_EQ(v.value, "now a string");
  while (disk_->CollectGarbage(1000) > 0) {
  }
  EXPECT_EQ(ElementRecords(), 0u);
}

// A full sync's snapshot carries each hash as its fields (in batches of a
// bounded size) and its expiry; applied elsewhere it gives the same hash.
TEST_F(DiskCollectionsTest, ASnapshotCarriesHashesFieldByField) {
  disk_ = Open();
  Apply(disk_.get(), [](wal::BatchBuilder& b) {
    b.Put(0, "s", "string", kNoExpire, wal::kFlagCreated);
    b.HashSet(0, "big", "f0", std::string(100, 'x'), kCreated);
    for (int i = 1; i < 500; ++i) {
      b.HashSet(0, "big", "f" + std::to_string(i), std::string(100, 'x'), kNew);
    }
    b.Expire(0, "big", 4102444800000, wal::kFlagHasExpire);
    b.HashSet(0, "small", "a", "1", kCreated);
  });
  auto snap = disk_->NewSnapshot();
  ASSERT_NE(snap, nullptr);
  std::vector<std::string> chunks;
  for (std::string out; snap->Next(4096, &out); out.clear()) chunks.push_back(out);
  snap.reset();
  EXPECT_GT(chunks.size(), 10u);  // the big hash did not go in one piece
  auto copy = Open("copy");
  for (const std::string& chunk : chunks) {
    for (size_t pos = 0; pos < chunk.size();) {
      uint32_t len = wal::GetFixed32(chunk.data() + pos + 4);
      std::vector<std::string_view> one{std::string_view(chunk).substr(pos + 8, len)};
      ASSERT_TRUE(copy->Apply(one).ok());
      pos += 8 + len;
    }
  }
  auto original = Fields(disk_.get(), "big");
  EXPECT_EQ(original.size(), 500u);
  EXPECT_EQ(Fields(copy.get(), "big"), original);
  EXPECT_EQ(Fields(copy.get(), "small"),
            (std::map<std::string, std::string>{{"a", "1"}}));
  DiskValue v;
  ASSERT_TRUE(copy->Get(copy->namespaces()[0], "big", &v).ok());
  EXPECT_EQ(v.expire_ms, 4102444800000);
  ASSERT_TRUE(copy->Get(copy->namespaces()[0], "s", &v).ok());
  EXPECT_EQ(v.value, "string");
  EXPECT_EQ(copy->counts(copy->namespaces()[0]).keys, 3u);
}

// A store written before the type byte existed (layout 1: 'd' values are
// expiry + value) is converted when it is opened, and keeps every key.
TEST_F(DiskCollectionsTest, AStoreOfTheFormerLayoutIsConvertedWhenOpened) {
  {
    leveldb::DB* db = nullptr;
    leveldb::Options o;
    o.create_if_missing = true;
    ASSERT_TRUE(leveldb::DB::Open(o, (dir_ / "data").string(), &db).ok());
    std::unique_ptr<leveldb::DB> owned(db);
    leveldb::WriteBatch wb;
    std::string nsmap;
    for (uint32_t ns = 0; ns < 16; ++ns) wal::PutFixed32(&nsmap, ns);
    wal::PutFixed32(&nsmap, 16);
    wb.Put("mnsmap", nsmap);
    for (int i = 0; i < 20000; ++i) {  // more than one conversion write
      std::string k("d\0\0\0\0", 5);
      k += "key" + std::to_string(i);
      std::string v;
      wal::PutFixed64(&v, static_cast<uint64_t>(i == 7 ? 4102444800000 : kNoExpire));
      v += std::string(300, 'v') + std::to_string(i);
      wb.Put(k, v);
    }
    ASSERT_TRUE(db->Write(leveldb::WriteOptions(), &wb).ok());
  }
  disk_ = Open();
  ASSERT_NE(disk_, nullptr);
  for (int i : {0, 7, 19999}) {
    DiskValue v;
    ASSERT_TRUE(disk_->Get(0, "key" + std::to_string(i), &v).ok()) << i;
    EXPECT_EQ(v.type, ValueType::kString);
    EXPECT_EQ(v.value, std::string(300, 'v') + std::to_string(i));
    EXPECT_EQ(v.expire_ms, i == 7 ? 4102444800000 : kNoExpire);
  }
  // Opened again, it is not converted twice.
  disk_.reset();
  disk_ = Open();
  DiskValue v;
  ASSERT_TRUE(disk_->Get(0, "key5", &v).ok());
  EXPECT_EQ(v.value, std::string(300, 'v') + "5");
}

}  // namespace
}  // namespace edgekv
