// Config: the one table of directives behind the config file, command-line
// flags, CONFIG GET and CONFIG SET.
#include "edgekv/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace edgekv {
namespace {

// A file in the temp directory, removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char tmpl[] = "/tmp/edgekv_config_test_XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
    std::ofstream out(path_);
    out << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::map<std::string, std::string> AsMap(
    const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

TEST(Config, StartsWithRedisDefaults) {
  Config c;
  EXPECT_EQ(c.Int(Cfg::kPort), 6379);
  EXPECT_EQ(c.GetText(Cfg::kPort), "6379");
  EXPECT_EQ(c.Int(Cfg::kDatabases), 16);
  EXPECT_EQ(c.Int(Cfg::kMaxmemory), 0);
  EXPECT_EQ(c.Int(Cfg::kMaxclients), 10000);
  EXPECT_EQ(c.Int(Cfg::kTimeout), 0);
  EXPECT_EQ(c.Int(Cfg::kHz), 10);
  EXPECT_EQ(c.Int(Cfg::kTcpBacklog), 511);
  EXPECT_EQ(c.Int(Cfg::kTcpKeepalive), 300);
  EXPECT_EQ(c.Int(Cfg::kProtoMaxBulkLen), 512LL * 1024 * 1024);
  EXPECT_EQ(c.GetText(Cfg::kProtoMaxBulkLen), "536870912");
  EXPECT_EQ(c.Int(Cfg::kClientQueryBufferLimit), 1024LL * 1024 * 1024);
  EXPECT_EQ(c.GetText(Cfg::kAppendfsync), "everysec");
  EXPECT_EQ(c.GetText(Cfg::kLoglevel), "notice");
  EXPECT_TRUE(c.Bool(Cfg::kProtectedMode));
  EXPECT_EQ(c.GetText(Cfg::kProtectedMode), "yes");
  EXPECT_TRUE(c.Bool(Cfg::kAppendonly));  // the write-ahead log is always on
  EXPECT_EQ(c.Int(Cfg::kWalSegmentSize), 64LL * 1024 * 1024);
  EXPECT_FALSE(c.Bool(Cfg::kWalRepair));
  EXPECT_EQ(c.String(Cfg::kRequirepass), "");
  EXPECT_EQ(c.String(Cfg::kBind), "127.0.0.1 -::1");
  EXPECT_EQ(c.String(Cfg::kDir), ".");
  EXPECT_EQ(c.config_file(), "");
  OutputLimit normal = c.NormalOutputLimit();
  EXPECT_EQ(normal.hard_bytes, 0);
  EXPECT_EQ(normal.soft_bytes, 0);
  EXPECT_EQ(normal.soft_seconds, 0);
}

TEST(Config, EveryDirectiveAcceptsItsOwnDefault) {
  Config c;
  for (const DirectiveSpec& spec : AllDirectives()) {
    SCOPED_TRACE(spec.name);
    std::string before = c.GetText(spec.id);
    Status s = c.Set(spec.name, spec.default_value, /*runtime=*/false);
    EXPECT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(c.GetText(spec.id), before);
  }
}

TEST(Config, EveryConfigGetValueCanBeSetBack) {
  // What CONFIG GET prints must be valid input for CONFIG SET / the file.
  Config c;
  for (const auto& [name, value] : c.Match("*")) {
    SCOPED_TRACE(name);
    Status s = c.Set(name, value, /*runtime=*/false);
    EXPECT_TRUE(s.ok()) << s.message();
    auto again = c.Match(name);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].second, value);
  }
}

TEST(Config, EveryDirectiveIsListedOnceWithAUniqueName) {
  std::vector<std::string> names;
  std::vector<int> ids;
  for (const DirectiveSpec& spec : AllDirectives()) {
    names.emplace_back(spec.name);
    ids.push_back(static_cast<int>(spec.id));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(Cfg::kCount));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], static_cast<int>(i));
}

TEST(ParseMemory, FollowsRedisConfUnits) {
  struct {
    const char* in;
    int64_t want;
  } cases[] = {
      {"0", 0},
      {"100", 100},
      {"5b", 5},
      {"1k", 1000},
      {"1kb", 1024},
      {"1K", 1000},
      {"1KB", 1024},
      {"2m", 2000000},
      {"1mb", 1024 * 1024},
      {"64MB", 64LL * 1024 * 1024},
      {"1g", 1000000000},
      {"1gb", 1024LL * 1024 * 1024},
      {"3Gb", 3LL * 1024 * 1024 * 1024},
  };
  for (auto& c : cases) {
    int64_t v = -12345;
    EXPECT_TRUE(ParseMemory(c.in, &v)) << c.in;
    EXPECT_EQ(v, c.want) << c.in;
  }
}

TEST(ParseMemory, RejectsMalformedValues) {
  for (const char* bad : {"", "abc", "mb", "1x", "1kbb", "1.5mb", " 1", "1 ", "1tb",
                          "99999999999999999999", "9223372036854775807gb"}) {
    int64_t v = 0;
    EXPECT_FALSE(ParseMemory(bad, &v)) << bad;
  }
}

TEST(Config, SetsMemoryDirectivesWithUnits) {
  Config c;
  ASSERT_TRUE(c.Set("maxmemory", "100mb", true).ok());
  EXPECT_EQ(c.Int(Cfg::kMaxmemory), 100LL * 1024 * 1024);
  EXPECT_EQ(c.GetText(Cfg::kMaxmemory), "104857600");
  ASSERT_TRUE(c.Set("maxmemory", "1k", true).ok());
  EXPECT_EQ(c.Int(Cfg::kMaxmemory), 1000);
  Status s = c.Set("maxmemory", "lots", true);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "argument must be a memory value");
  EXPECT_EQ(c.Int(Cfg::kMaxmemory), 1000);
}

TEST(Config, EnforcesBoundsAndKeepsTheOldValue) {
  Config c;
  Status s = c.Set("hz", "501", true);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "argument must be between 1 and 500 inclusive");
  EXPECT_FALSE(c.Set("hz", "0", true).ok());
  EXPECT_EQ(c.Int(Cfg::kHz), 10);
  EXPECT_TRUE(c.Set("hz", "500", true).ok());
  EXPECT_EQ(c.Int(Cfg::kHz), 500);
  EXPECT_TRUE(c.Set("hz", "1", true).ok());
  EXPECT_EQ(c.Int(Cfg::kHz), 1);

  EXPECT_FALSE(c.Set("port", "65536", false).ok());
  EXPECT_FALSE(c.Set("port", "-1", false).ok());
  EXPECT_TRUE(c.Set("port", "0", false).ok());
  EXPECT_FALSE(c.Set("databases", "0", false).ok());
  EXPECT_FALSE(c.Set("maxclients", "0", true).ok());
  EXPECT_FALSE(c.Set("proto-max-bulk-len", "1kb", true).ok());  // below 1mb
  EXPECT_TRUE(c.Set("proto-max-bulk-len", "1mb", true).ok());
  EXPECT_EQ(c.Int(Cfg::kProtoMaxBulkLen), 1024 * 1024);
  EXPECT_TRUE(c.Set("proto-max-bulk-len", "1gb", true).ok());
  EXPECT_FALSE(c.Set("proto-max-bulk-len", "2gb", true).ok());  // a log record is 2 GiB
}

TEST(Config, RejectsNonIntegers) {
  Config c;
  for (const char* bad : {"abc", "", "10x", "1.5", " 10"}) {
    Status s = c.Set("timeout", bad, true);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_EQ(s.message(), "argument couldn't be parsed into an integer") << bad;
  }
  EXPECT_EQ(c.Int(Cfg::kTimeout), 0);
}

TEST(Config, AcceptsOnlyListedEnumValues) {
  Config c;
  ASSERT_TRUE(c.Set("appendfsync", "ALWAYS", true).ok());
  EXPECT_EQ(c.GetText(Cfg::kAppendfsync), "always");
  ASSERT_TRUE(c.Set("appendfsync", "no", true).ok());
  EXPECT_EQ(c.GetText(Cfg::kAppendfsync), "no");
  Status s = c.Set("appendfsync", "sometimes", true);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("argument(s) must be one of the following: "),
            std::string::npos);
  EXPECT_NE(s.message().find("everysec"), std::string::npos);
  EXPECT_EQ(c.GetText(Cfg::kAppendfsync), "no");

  ASSERT_TRUE(c.Set("loglevel", "warning", true).ok());
  EXPECT_EQ(c.GetText(Cfg::kLoglevel), "warning");
  EXPECT_FALSE(c.Set("loglevel", "loud", true).ok());
  EXPECT_EQ(c.GetText(Cfg::kLoglevel), "warning");
}

TEST(Config, BoolsAreYesOrNo) {
  Config c;
  ASSERT_TRUE(c.Set("protected-mode", "no", true).ok());
  EXPECT_FALSE(c.Bool(Cfg::kProtectedMode));
  EXPECT_EQ(c.GetText(Cfg::kProtectedMode), "no");
  ASSERT_TRUE(c.Set("protected-mode", "YES", true).ok());
  EXPECT_TRUE(c.Bool(Cfg::kProtectedMode));
  EXPECT_EQ(c.GetText(Cfg::kProtectedMode), "yes");
  for (const char* bad : {"maybe", "1", "true", ""}) {
    Status s = c.Set("protected-mode", bad, true);
    EXPECT_EQ(s.message(), "argument must be 'yes' or 'no'") << bad;
  }
  EXPECT_TRUE(c.Bool(Cfg::kProtectedMode));
}

TEST(Config, RefusesImmutableDirectivesAtRuntimeOnly) {
  Config c;
  for (const char* name : {"port", "databases", "bind", "dir", "io-threads"}) {
    Status s = c.Set(
        name, name == std::string("bind") || name == std::string("dir") ? "/tmp" : "4",
        /*runtime=*/true);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << name;
    EXPECT_EQ(s.message(), "can't set immutable config") << name;
  }
  EXPECT_EQ(c.Int(Cfg::kPort), 6379);
  ASSERT_TRUE(c.Set("port", "7000", /*runtime=*/false).ok());
  EXPECT_EQ(c.Int(Cfg::kPort), 7000);
}

TEST(Config, UnknownDirectiveIsNotFound) {
  Config c;
  EXPECT_EQ(c.Set("no-such-directive", "1", true).code(), Status::Code::kNotFound);
  EXPECT_EQ(c.Set("no-such-directive", "1", false).code(), Status::Code::kNotFound);
}

TEST(Config, NamesAreCaseInsensitiveAndSlaveofIsReplicaof) {
  Config c;
  ASSERT_TRUE(c.Set("MaxMemory", "2mb", true).ok());
  EXPECT_EQ(c.Int(Cfg::kMaxmemory), 2 * 1024 * 1024);
  EXPECT_TRUE(c.Set("slaveof", "", false).ok());
  EXPECT_FALSE(c.Set("replicaof", "", true).ok());  // immutable at runtime
}

TEST(Config, AppendonlyCannotBeTurnedOff) {
  Config c;
  EXPECT_FALSE(c.Set("appendonly", "no", true).ok());
  EXPECT_FALSE(c.Set("appendonly", "NO", false).ok());
  EXPECT_TRUE(c.Set("appendonly", "yes", true).ok());
  EXPECT_TRUE(c.Bool(Cfg::kAppendonly));
}

TEST(Config, ChangeHookFiresForSuccessfulRuntimeSetsOnly) {
  Config c;
  std::vector<Cfg> changed;
  c.set_on_change([&](Cfg id) { changed.push_back(id); });
  ASSERT_TRUE(c.Set("hz", "20", /*runtime=*/true).ok());
  ASSERT_FALSE(c.Set("hz", "0", true).ok());
  ASSERT_TRUE(c.Set("maxmemory", "1mb", /*runtime=*/false).ok());
  ASSERT_TRUE(c.Set("appendfsync", "always", true).ok());
  EXPECT_EQ(changed, (std::vector<Cfg>{Cfg::kHz, Cfg::kAppendfsync}));
}

TEST(Config, StringsKeepTheirTextAndIntsTrackEmptiness) {
  Config c;
  ASSERT_TRUE(c.Set("requirepass", "s3cret pass", true).ok());
  EXPECT_EQ(c.String(Cfg::kRequirepass), "s3cret pass");
  EXPECT_EQ(c.Int(Cfg::kRequirepass), 1);
  ASSERT_TRUE(c.Set("requirepass", "", true).ok());
  EXPECT_EQ(c.String(Cfg::kRequirepass), "");
  EXPECT_EQ(c.Int(Cfg::kRequirepass), 0);
}

TEST(Config, ValidatesClientOutputBufferLimit) {
  Config c;
  ASSERT_TRUE(c.Set("client-output-buffer-limit", "normal 1mb 512kb 10", true).ok());
  OutputLimit l = c.NormalOutputLimit();
  EXPECT_EQ(l.hard_bytes, 1024 * 1024);
  EXPECT_EQ(l.soft_bytes, 512 * 1024);
  EXPECT_EQ(l.soft_seconds, 10);
  EXPECT_FALSE(c.Set("client-output-buffer-limit", "normal 0 0", true).ok());
  EXPECT_FALSE(c.Set("client-output-buffer-limit", "bogus 0 0 0", true).ok());
  EXPECT_FALSE(c.Set("client-output-buffer-limit", "normal x 0 0", true).ok());
  EXPECT_FALSE(c.Set("client-output-buffer-limit", "", true).ok());
  EXPECT_EQ(c.NormalOutputLimit().hard_bytes, 1024 * 1024);
}

TEST(Config, LoadsFileWithCommentsBlankLinesAndQuotes) {
  TempFile f(
      "# edgekv test configuration\n"
      "\n"
      "   # an indented comment\n"
      "port 7001\n"
      "requirepass \"p@ss word\"\n"
      "save \"\"\n"
      "maxmemory 100mb\n"
      "appendfsync always\r\n"
      "loglevel 'warning'\n"
      "bind 0.0.0.0 ::\n"
      "client-output-buffer-limit normal 1mb 1mb 0 replica 256mb 64mb 60\n"
      "PROTECTED-MODE no\n"
      "\t\n");
  Config c;
  Status s = c.LoadFile(f.path());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.Int(Cfg::kPort), 7001);
  EXPECT_EQ(c.String(Cfg::kRequirepass), "p@ss word");
  EXPECT_EQ(c.String(Cfg::kSave), "");
  EXPECT_EQ(c.Int(Cfg::kMaxmemory), 100LL * 1024 * 1024);
  EXPECT_EQ(c.GetText(Cfg::kAppendfsync), "always");
  EXPECT_EQ(c.GetText(Cfg::kLoglevel), "warning");
  EXPECT_EQ(c.String(Cfg::kBind), "0.0.0.0 ::");
  EXPECT_EQ(c.NormalOutputLimit().hard_bytes, 1024 * 1024);
  EXPECT_FALSE(c.Bool(Cfg::kProtectedMode));
  EXPECT_EQ(c.config_file(), f.path());
}

TEST(Config, LoadFileReportsTheBadLine) {
  TempFile f("port 7001\n# fine\nhz 0\n");
  Config c;
  Status s = c.LoadFile(f.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(f.path() + ":3:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'hz'"), std::string::npos) << s.message();
}

TEST(Config, LoadFileRefusesUnknownDirectivesAndUnbalancedQuotes) {
  {
    TempFile f("no-such-thing yes\n");
    Config c;
    EXPECT_FALSE(c.LoadFile(f.path()).ok());
  }
  {
    TempFile f("requirepass \"abc\n");
    Config c;
    Status s = c.LoadFile(f.path());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find(":1:"), std::string::npos) << s.message();
  }
}

TEST(Config, LoadFileOfMissingFileIsAnIOError) {
  Config c;
  Status s = c.LoadFile("/nonexistent/dir/edgekv.conf");
  EXPECT_EQ(s.code(), Status::Code::kIOError);
}

TEST(Config, AppliesCommandLineFlags) {
  Config c;
  Status s = c.ApplyArgs({"--port", "7000", "--save", "", "--client-output-buffer-limit",
                          "normal", "0", "0", "0", "--maxmemory", "1gb"});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.Int(Cfg::kPort), 7000);
  EXPECT_EQ(c.String(Cfg::kSave), "");
  EXPECT_EQ(c.String(Cfg::kClientOutputBufferLimit), "normal 0 0 0");
  EXPECT_EQ(c.Int(Cfg::kMaxmemory), 1024LL * 1024 * 1024);
}

TEST(Config, ApplyArgsRejectsStrayWordsAndBadValues) {
  {
    Config c;
    EXPECT_FALSE(c.ApplyArgs({"port", "7000"}).ok());
  }
  {
    Config c;
    Status s = c.ApplyArgs({"--hz", "abc"});
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("'hz'"), std::string::npos) << s.message();
  }
  {
    Config c;
    EXPECT_FALSE(c.ApplyArgs({"--no-such-flag", "1"}).ok());
  }
  {
    Config c;
    EXPECT_TRUE(c.ApplyArgs({}).ok());
    EXPECT_EQ(c.Int(Cfg::kPort), 6379);
  }
}

TEST(Config, MatchSelectsDirectivesByGlobForConfigGet) {
  Config c;
  auto port = c.Match("port");
  ASSERT_EQ(port.size(), 1u);
  EXPECT_EQ(port[0].first, "port");
  EXPECT_EQ(port[0].second, "6379");

  EXPECT_EQ(c.Match("PORT").size(), 1u);
  EXPECT_TRUE(c.Match("nothing-like-this*").empty());

  // The glob agrees with plain string tests over the whole table.
  auto names_where = [](auto pred) {
    std::set<std::string> out;
    for (const DirectiveSpec& spec : AllDirectives()) {
      std::string n = spec.name;
      if (pred(n)) out.insert(n);
    }
    return out;
  };
  auto keys = [](const std::map<std::string, std::string>& m) {
    std::set<std::string> out;
    for (const auto& kv : m) out.insert(kv.first);
    return out;
  };
  auto max = AsMap(c.Match("*max*"));
  auto with_max = names_where(
      [](const std::string& n) { return n.find("max") != std::string::npos; });
  // Redis 6's names of the listpack thresholds are listed too.
  with_max.insert({"hash-max-ziplist-entries", "hash-max-ziplist-value",
                   "set-max-ziplist-entries", "set-max-ziplist-value",
                   "zset-max-ziplist-entries", "zset-max-ziplist-value"});
  EXPECT_EQ(keys(max), with_max);
  EXPECT_EQ(max.count("maxmemory"), 1u);
  EXPECT_EQ(max.count("maxclients"), 1u);
  EXPECT_EQ(max.count("proto-max-bulk-len"), 1u);
  EXPECT_EQ(max["maxclients"], "10000");

  auto append = AsMap(c.Match("append*"));
  EXPECT_EQ(keys(append),
            names_where([](const std::string& n) { return n.rfind("append", 0) == 0; }));
  EXPECT_EQ(append["appendonly"], "yes");
  EXPECT_EQ(append["appendfsync"], "everysec");

  auto q = AsMap(c.Match("h?"));
  EXPECT_EQ(keys(q), names_where([](const std::string& n) {
              return n.size() == 2 && n[0] == 'h';
            }));
  EXPECT_EQ(q["hz"], "10");

  auto slave = c.Match("slaveof");
  ASSERT_EQ(slave.size(), 1u);
  EXPECT_EQ(slave[0].first, "slaveof");

  // "*" lists every directive.
  EXPECT_GE(c.Match("*").size(), AllDirectives().size());
}

TEST(Config, ConcurrentReadersSeeWholeValues) {
  Config c;
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::thread writer([&] {
    while (reads.load() == 0) std::this_thread::yield();  // overlap with the reader
    for (int i = 0; i < 2000; ++i) {
      (void)c.Set("requirepass", i % 2 ? "aaaaaaaa" : "bbbbbbbbbbbbbbbb", true);
      (void)c.Set("hz", i % 2 ? "20" : "30", true);
    }
    stop = true;
  });
  do {
    std::string p = c.String(Cfg::kRequirepass);
    EXPECT_TRUE(p.empty() || p == "aaaaaaaa" || p == "bbbbbbbbbbbbbbbb") << p;
    int64_t hz = c.Int(Cfg::kHz);
    EXPECT_TRUE(hz == 10 || hz == 20 || hz == 30) << hz;
    ++reads;
  } while (!stop.load());
  writer.join();
}

}  // namespace
}  // namespace edgekv
