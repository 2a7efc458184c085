#include "forward.h"

#include <charconv>

namespace edgekv {
namespace {

// What a coordinator's reply may hold: a line (a type and a length, or a
// simple string or error) of at most 64 KB, a bulk of at most 1 GB (the
// largest proto-max-bulk-len), aggregates of at most 2^31 elements. Past
// these the peer is not an edgekv (or is corrupt): malformed, rather than
// incomplete, so that the forwarder does not buffer it forever.
constexpr size_t kMaxLine = 64 * 1024;
constexpr int64_t kMaxBulk = int64_t{1} << 30;
constexpr int64_t kMaxElements = int64_t{1} << 31;

// Parses one reply starting at pos; returns the end position, 0 when
// incomplete, -1 when malformed. Depth-limited.
long ParseAt(std::string_view d, size_t pos, int depth) {
  if (depth > 64) return -1;
  if (pos >= d.size()) return 0;
  size_t nl = d.find("\r\n", pos);
  if (nl == std::string_view::npos) return d.size() - pos > kMaxLine ? -1 : 0;
  if (nl - pos > kMaxLine) return -1;
  char type = d[pos];
  std::string_view head = d.substr(pos + 1, nl - pos - 1);
  size_t after = nl + 2;
  auto number = [&](int64_t* v) {
    auto [p, ec] = std::from_chars(head.data(), head.data() + head.size(), *v);
    return ec == std::errc() && p == head.data() + head.size();
  };
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return static_cast<long>(after);
    case '$':
    case '=':
    case '!': {
      int64_t n;
      if (!number(&n) || n > kMaxBulk) return -1;
      if (n < 0) return static_cast<long>(after);
      if (d.size() < after + static_cast<size_t>(n) + 2) return 0;
      return static_cast<long>(after + static_cast<size_t>(n) + 2);
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      int64_t n;
      if (!number(&n) || n > kMaxElements) return -1;
      if (n < 0) return static_cast<long>(after);
      if (type == '%' || type == '|') n *= 2;
      size_t p = after;
      for (int64_t i = 0; i < n; ++i) {
        long e = ParseAt(d, p, depth + 1);
        if (e <= 0) return e;
        p = static_cast<size_t>(e);
      }
      return static_cast<long>(p);
    }
    default:
      return -1;
  }
}

}  // namespace

long RespReplyLength(std::string_view data) { return ParseAt(data, 0, 0); }

}  // namespace edgekv
