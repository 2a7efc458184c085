#include "edgekv/resp_parser.h"

#include <charconv>
#include <cstring>

namespace edgekv {
namespace {

// Parses a signed decimal integer that fills `s` exactly, as strictly as
// Redis's string2ll: no '+', no leading zeros, no "-0".
bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') return false;
  size_t digit = *b == '-' ? 1 : 0;
  if (digit < s.size() && s[digit] == '0' && s.size() != 1) return false;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' ||
         c == '\0';
}

// A "<c><digits>\r\n" header at buf[*pos], written as the parser accepts
// it (no sign, no leading zero): its number, and *pos past it. A negative
// number is left to the parser.
bool PeekHeader(std::string_view buf, size_t* pos, char c, int64_t* n) {
  size_t i = *pos;
  if (i >= buf.size() || buf[i] != c) return false;
  ++i;
  const size_t first = i;
  int64_t v = 0;
  while (i < buf.size() && buf[i] >= '0' && buf[i] <= '9') {
    if (i - first == 18) return false;
    v = v * 10 + (buf[i] - '0');
    ++i;
  }
  const size_t digits = i - first;
  if (digits == 0 || (digits > 1 && buf[first] == '0') || i + 1 >= buf.size() ||
      buf[i] != '\r' || buf[i + 1] != '\n') {
    return false;
  }
  *n = v;
  *pos = i + 2;
  return true;
}

}  // namespace

size_t PeekRequests(std::string_view buf, std::span<PeekedRequest> out) {
  size_t pos = 0, filled = 0;
  while (filled < out.size() && pos < buf.size()) {
    int64_t argc = 0;
    if (!PeekHeader(buf, &pos, '*', &argc) || argc <= 0) break;
    PeekedRequest& r = out[filled];
    r.argc = static_cast<size_t>(argc);
    for (int64_t i = 0; i < argc; ++i) {
      int64_t len = 0;
      if (!PeekHeader(buf, &pos, '$', &len) || len < 0 ||
          static_cast<uint64_t>(len) + 2 > buf.size() - pos ||
          buf.substr(pos + static_cast<size_t>(len), 2) != "\r\n") {
        return filled;
      }
      if (i < static_cast<int64_t>(PeekedRequest::kHead)) {
        r.head[i] = buf.substr(pos, static_cast<size_t>(len));
      }
      pos += static_cast<size_t>(len) + 2;
    }
    ++filled;
  }
  return filled;
}

bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out) {
  out->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && IsSpace(line[i])) ++i;
    if (i >= n) return true;
    std::string cur;
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
      if (in_dq) {
        if (i >= n) return false;
        char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' && HexValue(line[i + 2]) >= 0 &&
            HexValue(line[i + 3]) >= 0) {
          cur.push_back(
              static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
          i += 3;
        } else if (c == '\\' && i + 1 < n) {
          ++i;
          switch (line[i]) {
            case 'n':
              cur.push_back('\n');
              break;
            case 'r':
              cur.push_back('\r');
              break;
            case 't':
              cur.push_back('\t');
              break;
            case 'b':
              cur.push_back('\b');
              break;
            case 'a':
              cur.push_back('\a');
              break;
            default:
              cur.push_back(line[i]);
              break;
          }
        } else if (c == '"') {
          // Closing quote must be followed by a space or the end.
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else if (in_sq) {
        if (i >= n) return false;
        char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          cur.push_back('\'');
        } else if (c == '\'') {
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          cur.push_back(c);
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        char c = line[i];
        // Like sdssplitargs, a bare word ends only at these (not at \v, \f).
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') {
          done = true;
        } else if (c == '"') {
          in_dq = true;
        } else if (c == '\'') {
          in_sq = true;
        } else {
          cur.push_back(c);
        }
      }
      if (i < n) ++i;
    }
    out->push_back(std::move(cur));
  }
}

void RespParser::Reset() {
  pos_ = 0;
  multibulk_remaining_ = -1;
  bulk_len_ = -1;
  spans_.clear();
  views_.clear();
  consumed_ = 0;
}

RespParser::Result RespParser::Fail(std::string msg) {
  error_ = std::move(msg);
  return Result::kError;
}

RespParser::Result RespParser::Parse(std::string_view data) {
  views_.clear();
  consumed_ = 0;
  if (data.empty()) return Result::kIncomplete;
  if (data[0] == '*') return ParseMultibulk(data);
  return ParseInline(data);
}

RespParser::Result RespParser::ParseInline(std::string_view data) {
  const void* nl = std::memchr(data.data(), '\n', data.size());
  if (nl == nullptr) {
    if (data.size() > limits_.max_inline_size) {
      return Fail("Protocol error: too big inline request");
    }
    return Result::kIncomplete;
  }
  size_t end = static_cast<const char*>(nl) - data.data();
  if (end > limits_.max_inline_size) {
    return Fail("Protocol error: too big inline request");
  }
  std::string_view line = data.substr(0, end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!SplitInlineArgs(line, &inline_args_)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  consumed_ = end + 1;
  if (inline_args_.empty()) return Result::kEmpty;
  views_.assign(inline_args_.begin(), inline_args_.end());
  return Result::kCommand;
}

RespParser::Result RespParser::ParseMultibulk(std::string_view data) {
  // Reads a "<prefix><int>\r\n" header line starting at pos_.
  auto read_header = [&](char prefix, std::string_view too_big, int64_t* value) -> int {
    const char* start = data.data() + pos_;
    size_t avail = data.size() - pos_;
    const void* cr = std::memchr(start, '\r', avail);
    if (cr == nullptr) {
      if (avail > limits_.max_inline_size) {
        Fail(std::string(too_big));
        return -1;
      }
      return 0;
    }
    size_t len = static_cast<const char*>(cr) - start;
    if (len > limits_.max_inline_size) {
      Fail(std::string(too_big));
      return -1;
    }
    if (len + 1 >= avail) return 0;  // need the '\n'
    if (start[0] != prefix) {
      Fail(std::string("Protocol error: expected '") + prefix + "', got '" + start[0] +
           "'");
      return -1;
    }
    if (!ParseInt(std::string_view(start + 1, len - 1), value)) {
      *value = INT64_MIN;  // caller reports its own message
    }
    pos_ += len + 2;
    return 1;
  };

  if (multibulk_remaining_ < 0) {
    int64_t n = 0;
    int r = read_header('*', "Protocol error: too big mbulk count string", &n);
    if (r < 0) return Result::kError;
    if (r == 0) return Result::kIncomplete;
    int64_t max =
        authenticated_ ? limits_.max_multibulk_len : limits_.unauth_max_multibulk_len;
    // Validity first, then the pre-AUTH limit, in Redis's order.
    if (n == INT64_MIN || n > limits_.max_multibulk_len) {
      return Fail("Protocol error: invalid multibulk length");
    }
    if (n > max) return Fail("Protocol error: unauthenticated multibulk length");
    if (n <= 0) {
      size_t used = pos_;
      Reset();
      consumed_ = used;
      return Result::kEmpty;
    }
    multibulk_remaining_ = n;
    spans_.clear();
    spans_.reserve(static_cast<size_t>(std::min<int64_t>(n, 1024)));
  }

  while (multibulk_remaining_ > 0) {
    if (bulk_len_ < 0) {
      if (pos_ >= data.size()) return Result::kIncomplete;
      int64_t len = 0;
      int r = read_header('$', "Protocol error: too big bulk count string", &len);
      if (r < 0) return Result::kError;
      if (r == 0) return Result::kIncomplete;
      int64_t max = authenticated_ ? limits_.max_bulk_len : limits_.unauth_max_bulk_len;
      if (len == INT64_MIN || len < 0 || len > limits_.max_bulk_len) {
        return Fail("Protocol error: invalid bulk length");
      }
      if (len > max) return Fail("Protocol error: unauthenticated bulk length");
      bulk_len_ = len;
    }
    size_t need = static_cast<size_t>(bulk_len_) + 2;
    if (data.size() - pos_ < need) return Result::kIncomplete;
    if (data[pos_ + bulk_len_] != '\r' || data[pos_ + bulk_len_ + 1] != '\n') {
      return Fail("Protocol error: invalid bulk length");
    }
    spans_.emplace_back(pos_, static_cast<size_t>(bulk_len_));
    pos_ += need;
    bulk_len_ = -1;
    --multibulk_remaining_;
  }

  views_.clear();
  views_.reserve(spans_.size());
  for (auto [off, len] : spans_) views_.emplace_back(data.data() + off, len);
  size_t used = pos_;
  pos_ = 0;
  multibulk_remaining_ = -1;
  bulk_len_ = -1;
  spans_.clear();
  consumed_ = used;
  return Result::kCommand;
}

}  // namespace edgekv
