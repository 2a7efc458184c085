// A pure, incremental, bounded parser for Redis requests: RESP multibulk
// arrays ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline commands ("GET k\n").
//
// Contract: Parse() is handed the bytes of the current request from its first
// byte on (plus whatever follows). It never performs I/O and never allocates in
// proportion to a length the client merely claims. When the bytes do not yet
// hold a whole request it returns kIncomplete and remembers how far it got, so
// the next call with the same bytes plus more resumes instead of rescanning.
// Not thread-safe; one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgekv {

struct ParserLimits {
  size_t max_inline_size = 64 * 1024;                // PROTO_INLINE_MAX_SIZE
  int64_t max_multibulk_len = 1024LL * 1024 * 1024;  // INT_MAX-ish
  int64_t max_bulk_len = 512LL * 1024 * 1024;        // proto-max-bulk-len
  // Before AUTH, Redis 7 refuses large requests outright.
  int64_t unauth_max_multibulk_len = 10;
  int64_t unauth_max_bulk_len = 16384;
};

class RespParser {
 public:
  enum class Result {
    kCommand,     // args() holds a request; consumed() bytes belong to it
    kEmpty,       // an empty request (blank inline line, "*0"): skip consumed()
    kIncomplete,  // need more bytes; call again with the same prefix + more
    kError,       // protocol error; error() is Redis's reply text
  };

  explicit RespParser(ParserLimits limits = {}) : limits_(limits) {}

  Result Parse(std::string_view data);

  // Valid after kCommand until the next Parse() or Reset(); views point into
  // the data passed to Parse() (or into the parser for inline requests).
  std::span<const std::string_view> args() const { return views_; }
  size_t consumed() const { return consumed_; }
  const std::string& error() const { return error_; }

  // Bytes the current partial request still needs, when known (a bulk body);
  // lets the connection size its buffer once.
  size_t pending_bulk() const { return bulk_len_ > 0 ? bulk_len_ : 0; }

  void set_authenticated(bool v) { authenticated_ = v; }
  void set_max_bulk_len(int64_t v) { limits_.max_bulk_len = v; }
  void Reset();

 private:
  Result ParseInline(std::string_view data);
  Result ParseMultibulk(std::string_view data);
  Result Fail(std::string msg);

  ParserLimits limits_;
  bool authenticated_ = true;
  // Resumable state for a multibulk request; offsets relative to its start.
  size_t pos_ = 0;
  int64_t multibulk_remaining_ = -1;  // -1: header not parsed yet
  int64_t bulk_len_ = -1;             // -1: bulk header not parsed yet
  std::vector<std::pair<size_t, size_t>> spans_;
  // Output.
  std::vector<std::string> inline_args_;
  std::vector<std::string_view> views_;
  size_t consumed_ = 0;
  std::string error_;
};

// The first arguments of a request PeekRequests saw ahead.
struct PeekedRequest {
  static constexpr size_t kHead = 4;
  std::string_view head[kHead];
  size_t argc = 0;  // all of its arguments; head holds min(argc, kHead)
};

// Looks ahead at the complete multibulk requests at the start of buf,
// without a parser's state: fills out with each one's first arguments, at
// most out.size() requests, and stops at anything else (an inline request,
// a partial one, bad framing: the parser proper will say what it is).
// Returns how many it filled. A hint for prefetching, never for running.
size_t PeekRequests(std::string_view buf, std::span<PeekedRequest> out);

// Splits an inline request like Redis's sdssplitargs: whitespace separates
// arguments, "double quotes" take C escapes (\n \xHH ...), 'single quotes'
// take only \'. Returns false on unbalanced quotes.
bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out);

}  // namespace edgekv
