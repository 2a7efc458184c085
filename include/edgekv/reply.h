// The one reply encoder. Every reply leaves through these helpers, which know
// both RESP2 and RESP3 (a map is a flat array in RESP2, a null is "$-1" in
// RESP2 and "_" in RESP3, and so on), so commands never write protocol bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edgekv {

// Told of every error reply, with its code ("ERR", "WRONGTYPE", ...): INFO's
// errorstats and total_error_replies.
class ErrorSink {
 public:
  virtual void OnError(std::string_view code) = 0;
  // An error reply written, then removed before it was sent.
  virtual void OnErrorTakenBack(std::string_view code) = 0;

 protected:
  ~ErrorSink() = default;
};

class ReplyBuilder {
 public:
  explicit ReplyBuilder(std::string* out) : out_(out) {}

  void set_resp(int version) { resp_ = version; }
  int resp() const { return resp_; }

  void SimpleString(std::string_view s);  // "+OK"
  void Ok() { out_->append("+OK\r\n"); }
  void Queued() { out_->append("+QUEUED\r\n"); }
  // `msg` is the whole error line without '-': "ERR syntax error",
  // "WRONGTYPE ...". A message without an upper-case code gets "ERR ".
  void Error(std::string_view msg);
  // `msg` as it is, its first word the code whatever its case (a script's
  // {err = "..."}, as Redis sends it).
  void ErrorVerbatim(std::string_view msg);
  void Integer(int64_t v);
  void Bulk(std::string_view s);
  void Null();            // missing value: $-1 / _
  void NullArray();       // missing aggregate: *-1 / _
  void Double(double v);  // RESP3 ',' else a bulk string
  void Bool(bool v);      // RESP3 '#' else an integer
  // RESP3 "=txt:" (another three-letter format if given) else a bulk string.
  void Verbatim(std::string_view s, std::string_view format = "txt");
  void BigNumber(std::string_view digits);  // RESP3 '(' else a bulk string
  void ArrayHeader(size_t n);
  void MapHeader(size_t pairs);  // RESP3 '%' else an array of 2*pairs
  void SetHeader(size_t n);      // RESP3 '~' else an array

  // Marks where an aggregate of unknown length begins; FinishDeferred writes
  // its header there once the count is known.
  size_t BeginDeferred();
  void FinishDeferredArray(size_t mark, size_t n);

  std::string* buffer() { return out_; }

  void set_error_sink(ErrorSink* sink) { sink_ = sink; }
  // A bound on the buffer (0: none). A bulk string that would take it past
  // the bound is not written and the builder is over_limit() from then on:
  // one command's reply (MGET of a large value a thousand times, an EXEC of
  // many GETs) must not take the server's memory with it. The reply is then
  // incomplete; its client is to be closed, as Redis closes a client past its
  // output buffer limit.
  // A command's first value always fits, whatever its size (one stored
  // before proto-max-bulk-len was lowered, say): `start` is where the
  // command's reply begins.
  void set_limit(size_t bytes) { limit_ = bytes; }
  void set_reply_start(size_t start) { reply_start_ = start; }
  bool over_limit() const { return over_limit_; }
  // Removes the last reply, an error line starting at `mark` in the buffer,
  // and returns it (without '-' and line end), uncounted.
  std::string TakeBackError(size_t mark);
  // Error replies written so far, and a mark the command layer moves to
  // tell which of them a command wrote (INFO commandstats' failed_calls).
  uint64_t errors() const { return errors_; }
  uint64_t error_mark() const { return error_mark_; }
  void set_error_mark(uint64_t mark) { error_mark_ = mark; }

 private:
  void Header(char type, int64_t n);
  std::string* out_;
  int resp_ = 2;
  ErrorSink* sink_ = nullptr;
  uint64_t errors_ = 0;
  uint64_t error_mark_ = 0;
  // Whether a bulk of n bytes may be written (see set_limit).
  bool Fits(size_t n) {
    if (limit_ == 0) return true;
    if (!over_limit_ &&
        (out_->size() + n <= limit_ || out_->size() <= reply_start_ + kHeadersOnly)) {
      return true;
    }
    over_limit_ = true;
    return false;
  }
  static constexpr size_t kHeadersOnly = 1024;
  size_t limit_ = 0;
  size_t reply_start_ = 0;
  bool over_limit_ = false;
};

// Formats a double the way Redis does for INCRBYFLOAT (%.17Lg, trimmed).
std::string FormatLongDouble(long double v);
// Formats a double for RESP3 doubles and bulk fallbacks ("%.17g"; inf/-inf/nan).
std::string FormatDouble(double v);

}  // namespace edgekv
