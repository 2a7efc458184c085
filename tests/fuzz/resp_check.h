// A strict reader of RESP2/RESP3 replies, for the fuzzers: true when `out`
// is a sequence of complete, well-formed replies and nothing else.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace edgekv::fuzz {

// Reads one reply at *pos; false if it is malformed or cut short.
inline bool ReadReply(std::string_view out, size_t* pos, int depth) {
  if (depth > 64 || *pos >= out.size()) return false;
  size_t eol = out.find("\r\n", *pos);
  if (eol == std::string_view::npos) return false;
  char type = out[*pos];
  std::string_view line = out.substr(*pos + 1, eol - *pos - 1);
  *pos = eol + 2;
  auto number = [&](int64_t* n) {
    auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), *n);
    return ec == std::errc() && end == line.data() + line.size() && !line.empty() &&
           line[0] != '+';
  };
  int64_t n = 0;
  switch (type) {
    case '+':
    case '-':
    case ',':
    case '(':
      return line.find_first_of("\r\n") == std::string_view::npos;
    case ':':
      return number(&n);
    case '_':
      return line.empty();
    case '#':
      return line == "t" || line == "f";
    case '$':
    case '=':
    case '!':
      if (!number(&n) || n < -1) return false;
      if (n == -1) return type == '$';
      if (out.size() - *pos < static_cast<size_t>(n) + 2) return false;
      *pos += static_cast<size_t>(n);
      if (out.substr(*pos, 2) != "\r\n") return false;
      *pos += 2;
      return true;
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      if (!number(&n) || n < -1) return false;
      if (n == -1) return type == '*';
      // Each element takes at least 3 bytes: more than the bytes left can
      // only be cut short (and 2n must not overflow).
      if (n > static_cast<int64_t>(out.size())) return false;
      int64_t items = type == '%' || type == '|' ? 2 * n : n;
      for (int64_t i = 0; i < items; ++i) {
        if (!ReadReply(out, pos, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

inline bool WellFormedReplies(std::string_view out) {
  size_t pos = 0;
  while (pos < out.size()) {
    if (!ReadReply(out, &pos, 0)) return false;
  }
  return true;
}

// How many complete, well-formed replies `out` holds, or -1 if anything in
// it is malformed or cut short.
inline int CountReplies(std::string_view out) {
  size_t pos = 0;
  int n = 0;
  while (pos < out.size()) {
    if (!ReadReply(out, &pos, 0)) return -1;
    ++n;
  }
  return n;
}

}  // namespace edgekv::fuzz
