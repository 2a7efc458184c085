// RespParser: the incremental request parser every connection runs.
//
// Most tests drive the parser the way a connection does: bytes arrive in
// chunks, the parser is called on the unconsumed part of the buffer, and on
// kIncomplete the next call gets the same bytes plus whatever arrived since.
#include "edgekv/resp_parser.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace edgekv {
namespace {

using namespace std::string_literals;
using Result = RespParser::Result;
using Args = std::vector<std::string>;

// Everything a connection would have seen for one input.
struct Outcome {
  std::vector<Args> commands;
  int empties = 0;
  std::string error;    // set when the parser reported a protocol error
  size_t error_at = 0;  // offset of the request that failed
  size_t leftover = 0;  // bytes not consumed when the input ran out

  bool operator==(const Outcome& o) const {
    return commands == o.commands && empties == o.empties && error == o.error &&
           error_at == o.error_at && leftover == o.leftover;
  }
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "{commands=[";
  for (const auto& c : o.commands) {
    os << "[";
    for (const auto& a : c) os << '"' << a << "\" ";
    os << "]";
  }
  return os << "], empties=" << o.empties << ", error='" << o.error << "' at "
            << o.error_at << ", leftover=" << o.leftover << "}";
}

// Feeds `data` to a fresh parser in chunks ending at each of `cuts` (ascending
// offsets) and then at the end, like a connection reading from a socket.
Outcome Drive(std::string_view data, const std::vector<size_t>& cuts,
              bool authenticated = true, ParserLimits limits = {}) {
  RespParser parser(limits);
  parser.set_authenticated(authenticated);
  Outcome out;
  std::string buf;
  size_t begin = 0;
  size_t fed = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(data.size());
  for (size_t end : ends) {
    if (end < fed) continue;
    buf.append(data.substr(fed, end - fed));
    fed = end;
    while (begin < buf.size()) {
      Result r = parser.Parse(std::string_view(buf).substr(begin));
      if (r == Result::kIncomplete) break;
      if (r == Result::kError) {
        out.error = parser.error();
        out.error_at = begin;
        return out;
      }
      if (r == Result::kCommand) {
        Args args;
        for (std::string_view a : parser.args()) args.emplace_back(a);
        out.commands.push_back(std::move(args));
      } else {
        ++out.empties;
      }
      EXPECT_GT(parser.consumed(), 0u);
      EXPECT_LE(parser.consumed(), buf.size() - begin);
      begin += parser.consumed();
    }
  }
  out.leftover = buf.size() - begin;
  return out;
}

Outcome DriveWhole(std::string_view data, bool authenticated = true,
                   ParserLimits limits = {}) {
  return Drive(data, {}, authenticated, limits);
}

// One chunk per byte.
Outcome DriveByteByByte(std::string_view data) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < data.size(); ++i) cuts.push_back(i);
  return Drive(data, cuts);
}

struct Case {
  const char* name;
  std::string data;
  std::vector<Args> commands;
  int empties = 0;
};

std::vector<Case> Corpus() {
  std::vector<Case> c;
  c.push_back({"multibulk", "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", {{"GET", "key"}}});
  c.push_back({"inline", "SET k v\r\n", {{"SET", "k", "v"}}});
  c.push_back({"inline_lf_only", "PING\n", {{"PING"}}});
  c.push_back({"inline_extra_spaces", "  SET \t k   v  \r\n", {{"SET", "k", "v"}}});
  c.push_back({"quoted_inline",
               "SET \"a b\" \"x\\x41\\n\\t\\\"q\\\\\" 'it\\'s'\r\n",
               {{"SET", "a b", "xA\n\t\"q\\", "it's"}}});
  c.push_back({"quoted_empty", "ECHO \"\" ''\r\n", {{"ECHO", "", ""}}});
  c.push_back({"binary_bulk",
               "*3\r\n$3\r\nSET\r\n$4\r\nk\0\r\n\r\n$6\r\n\r\n\0\r\n\n\r\n"s,
               {{"SET", "k\0\r\n"s, "\r\n\0\r\n\n"s}}});
  c.push_back({"empty_bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", {{"ECHO", ""}}});
  c.push_back({"pipelined",
               "*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n"
               "*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n",
               {{"PING"}, {"ECHO", "hi"}, {"INCR", "c"}, {"INCR", "c"}}});
  c.push_back({"star_zero_and_blank_lines",
               "*0\r\n\r\n\n   \r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
               {{"PING"}},
               5});
  c.push_back({"negative_count_is_empty", "*-5\r\nPING\r\n", {{"PING"}}, 1});
  c.push_back({"long_bulk",
               "*2\r\n$4\r\nECHO\r\n$300\r\n" + std::string(300, 'z') + "\r\n",
               {{"ECHO", std::string(300, 'z')}}});
  c.push_back({"many_args",
               "*12\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
               "$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n"
               "$2\r\nff\r\n",
               {{"MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "ff"}}});
  return c;
}

TEST(RespParser, ParsesEachCorpusRequestWhole) {
  for (const Case& c : Corpus()) {
    SCOPED_TRACE(c.name);
    Outcome o = DriveWhole(c.data);
    EXPECT_EQ(o.error, "");
    EXPECT_EQ(o.commands, c.commands);
    EXPECT_EQ(o.empties, c.empties);
    EXPECT_EQ(o.leftover, 0u);
  }
}

TEST(RespParser, AcceptsRequestSplitAtEveryByte) {
  for (const Case& c : Corpus()) {
    for (size_t k = 0; k <= c.data.size(); ++k) {
      SCOPED_TRACE(std::string(c.name) + " split at " + std::to_string(k));
      Outcome o = Drive(c.data, {k});
      ASSERT_EQ(o.error, "");
      ASSERT_EQ(o.commands, c.commands);
      ASSERT_EQ(o.empties, c.empties);
      ASSERT_EQ(o.leftover, 0u);
    }
  }
}

TEST(RespParser, AcceptsRequestFedOneByteAtATime) {
  for (const Case& c : Corpus()) {
    SCOPED_TRACE(c.name);
    Outcome o = DriveByteByByte(c.data);
    EXPECT_EQ(o.error, "");
    EXPECT_EQ(o.commands, c.commands);
    EXPECT_EQ(o.empties, c.empties);
    EXPECT_EQ(o.leftover, 0u);
  }
}

TEST(RespParser, ReportsIncompleteForEveryProperPrefix) {
  const std::string req = "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
  for (size_t k = 0; k < req.size(); ++k) {
    RespParser p;
    EXPECT_EQ(p.Parse(std::string_view(req).substr(0, k)), Result::kIncomplete)
        << "prefix of " << k << " bytes";
  }
  RespParser p;
  ASSERT_EQ(p.Parse(req), Result::kCommand);
  EXPECT_EQ(p.consumed(), req.size());
}

TEST(RespParser, ConsumesOnlyTheFirstOfPipelinedRequests) {
  const std::string first = "*1\r\n$4\r\nPING\r\n";
  const std::string data = first + "*1\r\n$4\r\nPI";
  RespParser p;
  ASSERT_EQ(p.Parse(data), Result::kCommand);
  EXPECT_EQ(p.consumed(), first.size());
  ASSERT_EQ(p.args().size(), 1u);
  EXPECT_EQ(p.args()[0], "PING");
  EXPECT_EQ(p.Parse(std::string_view(data).substr(first.size())), Result::kIncomplete);
}

TEST(RespParser, ArgsOfMultibulkPointIntoTheCallersBuffer) {
  const std::string data = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
  RespParser p;
  ASSERT_EQ(p.Parse(data), Result::kCommand);
  ASSERT_EQ(p.args().size(), 2u);
  EXPECT_EQ(p.args()[1].data(), data.data() + data.find("k\r\n"));
}

TEST(RespParser, ReportsPendingBulkBytesWhileWaitingForABody) {
  RespParser p;
  EXPECT_EQ(p.Parse("*1\r\n$100000\r\nab"), Result::kIncomplete);
  EXPECT_EQ(p.pending_bulk(), 100000u);
}

TEST(RespParser, HugeClaimedLengthsOnlyWaitForData) {
  // A client that merely claims a large request must not make the parser
  // reserve memory for it; it just waits for bytes.
  ParserLimits limits;
  RespParser p(limits);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(p.Parse("*1000000000\r\n$536870912\r\n"), Result::kIncomplete);
  EXPECT_EQ(p.pending_bulk(), 536870912u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
}

TEST(RespParser, ResetForgetsAPartialRequest) {
  RespParser p;
  EXPECT_EQ(p.Parse("*2\r\n$3\r\nGET\r\n"), Result::kIncomplete);
  p.Reset();
  ASSERT_EQ(p.Parse("*1\r\n$4\r\nPING\r\n"), Result::kCommand);
  ASSERT_EQ(p.args().size(), 1u);
  EXPECT_EQ(p.args()[0], "PING");
}

// ---- Protocol errors, with the exact text Redis 7 replies ----------------------

std::string ErrorOf(std::string_view data, bool authenticated = true,
                    ParserLimits limits = {}) {
  Outcome whole = DriveWhole(data, authenticated, limits);
  return whole.error;
}

TEST(RespParser, RejectsInvalidMultibulkLength) {
  for (const char* bad : {"*abc\r\n", "*\r\n", "*1x\r\n", "*+1\r\n", "*01\r\n", "*-0\r\n",
                          "*3000000000\r\n", "* 1\r\n"}) {
    EXPECT_EQ(ErrorOf(bad), "Protocol error: invalid multibulk length") << bad;
  }
}

TEST(RespParser, RejectsInvalidBulkLength) {
  for (const char* bad :
       {"*1\r\n$abc\r\n", "*1\r\n$-1\r\n", "*1\r\n$\r\n", "*1\r\n$+4\r\nPING\r\n",
        "*1\r\n$04\r\nPING\r\n", "*1\r\n$-0\r\n", "*1\r\n$99999999999999999999\r\n"}) {
    EXPECT_EQ(ErrorOf(bad), "Protocol error: invalid bulk length") << bad;
  }
}

TEST(RespParser, RejectsMissingDollarWithTheByteItGot) {
  EXPECT_EQ(ErrorOf("*1\r\nx4\r\nPING\r\n"), "Protocol error: expected '$', got 'x'");
  EXPECT_EQ(ErrorOf("*2\r\n$3\r\nGET\r\n:1\r\n"),
            "Protocol error: expected '$', got ':'");
}

TEST(RespParser, RejectsTooBigInlineRequest) {
  std::string line(64 * 1024 + 1, 'a');
  EXPECT_EQ(ErrorOf(line), "Protocol error: too big inline request");
  // Exactly the limit without a newline is still just incomplete.
  Outcome o = DriveWhole(std::string(64 * 1024, 'a'));
  EXPECT_EQ(o.error, "");
  EXPECT_EQ(o.leftover, 64u * 1024);
}

TEST(RespParser, RejectsTooBigInlineRequestArrivingInPieces) {
  std::string line(64 * 1024 + 100, 'a');
  std::vector<size_t> cuts;
  for (size_t i = 4096; i < line.size(); i += 4096) cuts.push_back(i);
  EXPECT_EQ(Drive(line, cuts).error, "Protocol error: too big inline request");
}

TEST(RespParser, RejectsTooBigMultibulkCountString) {
  std::string data = "*" + std::string(64 * 1024 + 1, '1');
  EXPECT_EQ(ErrorOf(data), "Protocol error: too big mbulk count string");
}

TEST(RespParser, RejectsTooBigBulkCountString) {
  std::string data = "*1\r\n$" + std::string(64 * 1024 + 1, '1');
  EXPECT_EQ(ErrorOf(data), "Protocol error: too big bulk count string");
}

TEST(RespParser, RejectsUnbalancedQuotes) {
  for (const char* bad : {"SET k \"abc\r\n", "SET k 'abc\r\n", "SET k \"a\"b\r\n",
                          "ECHO 'it's'\r\n", "ECHO ''x\r\n"}) {
    EXPECT_EQ(ErrorOf(bad), "Protocol error: unbalanced quotes in request") << bad;
  }
}

TEST(RespParser, RejectsBulkAboveMaxBulkLen) {
  RespParser p;
  p.set_max_bulk_len(1024 * 1024);
  EXPECT_EQ(p.Parse("*2\r\n$4\r\nECHO\r\n$1048577\r\n"), Result::kError);
  EXPECT_EQ(p.error(), "Protocol error: invalid bulk length");

  RespParser q;
  q.set_max_bulk_len(1024 * 1024);
  EXPECT_EQ(q.Parse("*2\r\n$4\r\nECHO\r\n$1048576\r\n"), Result::kIncomplete);
}

TEST(RespParser, RejectsBulkWhoseBodyIsNotFollowedByCrlf) {
  // Redis skips the two bytes blindly; edgekv refuses to guess where the next
  // request starts.
  EXPECT_EQ(ErrorOf("*1\r\n$4\r\nPINGxx\r\n"), "Protocol error: invalid bulk length");
}

TEST(RespParser, LimitsUnauthenticatedMultibulkLength) {
  EXPECT_EQ(ErrorOf("*11\r\n", /*authenticated=*/false),
            "Protocol error: unauthenticated multibulk length");
  EXPECT_EQ(DriveWhole("*10\r\n", false).error, "");
  EXPECT_EQ(DriveWhole("*11\r\n", true).error, "");
}

TEST(RespParser, LimitsUnauthenticatedBulkLength) {
  EXPECT_EQ(ErrorOf("*1\r\n$16385\r\n", /*authenticated=*/false),
            "Protocol error: unauthenticated bulk length");
  EXPECT_EQ(DriveWhole("*1\r\n$16384\r\n", false).error, "");
  EXPECT_EQ(DriveWhole("*1\r\n$16385\r\n", true).error, "");
}

TEST(RespParser, InvalidLengthsTakePrecedenceOverUnauthenticatedLimits) {
  // Redis checks validity first, then the pre-AUTH limits.
  EXPECT_EQ(ErrorOf("*3000000000\r\n", false),
            "Protocol error: invalid multibulk length");
  EXPECT_EQ(ErrorOf("*1\r\n$600000000\r\n", false),
            "Protocol error: invalid bulk length");
}

TEST(RespParser, AuthenticationMidStreamLiftsTheLimits) {
  RespParser p;
  p.set_authenticated(false);
  const std::string auth = "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n";
  ASSERT_EQ(p.Parse(auth), Result::kCommand);
  p.set_authenticated(true);
  EXPECT_EQ(p.Parse("*1\r\n$20000\r\n"), Result::kIncomplete);
}

// ---- Inline argument splitting (sdssplitargs) ------------------------------------

TEST(SplitInlineArgs, FollowsRedisQuotingRules) {
  struct {
    std::string line;
    Args want;
  } cases[] = {
      {"a b  c", {"a", "b", "c"}},
      {"\"a\\x41\\n\\q\"", {"aA\nq"}},
      {"\"\\x4g\"", {"x4g"}},
      {"'a\\n'", {"a\\n"}},
      {"'b\\'c'", {"b'c"}},
      {"\"a\\\"b\"", {"a\"b"}},
      {"\"a\\tb\\r\"", {"a\tb\r"}},
      {"\"\\x00\\xff\"", {std::string("\0\xff", 2)}},
      {"\"a\" 'b'", {"a", "b"}},
      {"", {}},
      {"   ", {}},
      // Redis ends a bare word only at ' ', \t, \r, \n: a vertical tab or form
      // feed inside a word belongs to it.
      {"a\vb", {"a\vb"}},
      {"\v a", {"a"}},
  };
  for (auto& c : cases) {
    Args got;
    ASSERT_TRUE(SplitInlineArgs(c.line, &got)) << c.line;
    EXPECT_EQ(got, c.want) << c.line;
  }
}

TEST(SplitInlineArgs, FailsOnUnbalancedQuotes) {
  for (const char* bad : {"\"abc", "'abc", "\"a\"b", "'a'b", "\"a\\\""}) {
    Args got;
    EXPECT_FALSE(SplitInlineArgs(bad, &got)) << bad;
  }
}

// ---- Randomized robustness --------------------------------------------------------

// Random byte strings biased towards protocol syntax, plus mutated valid
// requests. The parser must never crash, must return one of its four results,
// and must give the same outcome however the bytes are chunked.
TEST(RespParser, RandomInputIsHandledTheSameHoweverItIsChunked) {
  std::mt19937 rng(12345);
  const std::string alphabet = "*$\r\n0123456789-+ \"'\\xabAZ\t";
  std::vector<std::string> seeds;
  for (const Case& c : Corpus()) seeds.push_back(c.data);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int iterations = 0;
  for (; iterations < 3000 && std::chrono::steady_clock::now() < deadline; ++iterations) {
    std::string data;
    if (iterations % 2 == 0) {
      size_t len = rng() % 64;
      for (size_t i = 0; i < len; ++i) {
        data.push_back(rng() % 4 == 0 ? static_cast<char>(rng() & 0xff)
                                      : alphabet[rng() % alphabet.size()]);
      }
    } else {
      data = seeds[rng() % seeds.size()] + seeds[rng() % seeds.size()];
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips && !data.empty(); ++f) {
        size_t pos = rng() % data.size();
        switch (rng() % 3) {
          case 0:
            data[pos] = static_cast<char>(rng() & 0xff);
            break;
          case 1:
            data.erase(pos, 1);
            break;
          default:
            data.insert(pos, 1, alphabet[rng() % alphabet.size()]);
            break;
        }
      }
    }
    SCOPED_TRACE(::testing::PrintToString(data));

    // Every single call returns a defined result.
    RespParser p;
    Result r = p.Parse(data);
    ASSERT_TRUE(r == Result::kCommand || r == Result::kEmpty ||
                r == Result::kIncomplete || r == Result::kError);
    if (r == Result::kCommand || r == Result::kEmpty) {
      EXPECT_GT(p.consumed(), 0u);
      EXPECT_LE(p.consumed(), data.size());
    }
    if (r == Result::kError) {
      EXPECT_EQ(p.error().rfind("Protocol error: ", 0), 0u);
    }

    Outcome whole = DriveWhole(data);
    Outcome bytes = DriveByteByByte(data);
    ASSERT_EQ(whole, bytes);
    std::vector<size_t> cuts;
    for (size_t i = 1; i < data.size(); ++i) {
      if (rng() % 5 == 0) cuts.push_back(i);
    }
    ASSERT_EQ(whole, Drive(data, cuts));
  }
  EXPECT_GT(iterations, 100);
}

// ---- Looking ahead (PeekRequests) -----------------------------------------

TEST(PeekRequests, ReadsTheHeadsOfTheWholeRequestsAhead) {
  std::string buf =
      "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
      "*6\r\n$7\r\nEVALSHA\r\n$2\r\nab\r\n$1\r\n1\r\n$3\r\nkey\r\n$1\r\nx\r\n$1\r\ny\r\n"
      "*2\r\n$3\r\nGET\r\n$5\r\npar";  // cut short
  PeekedRequest ahead[4];
  ASSERT_EQ(PeekRequests(buf, ahead), 2u);
  EXPECT_EQ(ahead[0].argc, 2u);
  EXPECT_EQ(ahead[0].head[0], "GET");
  EXPECT_EQ(ahead[0].head[1], "a");
  EXPECT_EQ(ahead[1].argc, 6u);
  EXPECT_EQ(ahead[1].head[2], "1");
  EXPECT_EQ(ahead[1].head[3], "key");
}

TEST(PeekRequests, StopsAtWhatOnlyTheParserShouldJudge) {
  PeekedRequest ahead[4];
  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  for (std::string tail :
       {"PING\r\n", "*0\r\n", "*-1\r\n", "*1\r\n$04\r\nPING\r\n", "*1\r\n$4\r\nPINGxx",
        "*1\r\n:4\r\n", "*99999999999999999999\r\n", "*1\r\n$-5\r\n",
        "*2\r\n$4\r\nPING\r\n"}) {
    SCOPED_TRACE(tail);
    EXPECT_EQ(PeekRequests(ping + tail + ping, ahead), 1u);
  }
  EXPECT_EQ(PeekRequests("", ahead), 0u);
}

TEST(PeekRequests, FillsNoMoreThanItIsGiven) {
  std::string buf;
  for (int i = 0; i < 10; ++i) buf += "*1\r\n$4\r\nPING\r\n";
  PeekedRequest ahead[3];
  EXPECT_EQ(PeekRequests(buf, ahead), 3u);
}

}  // namespace
}  // namespace edgekv
