#include "args.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace edgekv {

std::string_view ParseInt32(std::string_view s, int* out, std::string_view msg) {
  int64_t v;
  if (!ParseInt64(s, &v)) {
    return msg.empty() ? "ERR value is not an integer or out of range" : msg;
  }
  if (v < INT32_MIN || v > INT32_MAX) {
    return msg.empty() ? "ERR value is out of range, value must between -2147483648 and "
                         "2147483647"
                       : msg;
  }
  *out = static_cast<int>(v);
  return {};
}

std::string_view ParseRandomCount(std::string_view s, int64_t* out) {
  if (!ParseInt64(s, out)) return "ERR value is not an integer or out of range";
  if (*out == INT64_MIN) {
    return "ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807";
  }
  return {};
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  size_t i = s[0] == '-' ? 1 : 0;
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseLongDouble(std::string_view s, long double* out) {
  if (s.empty() || s.size() > 5 * 1024) return false;
  if (std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string buf(s);
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(buf.c_str(), &end);
  // As Redis's string2ld: an underflow to a subnormal is a number, one to
  // zero (or an overflow) is not.
  const bool range = errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0);
  if (end != buf.c_str() + buf.size() || range || std::isnan(v)) return false;
  *out = v;
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string Int64ToString(int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, p);
}

void ReplyHelp(ReplyBuilder* reply, std::string_view command,
               std::span<const std::string_view> lines) {
  reply->ArrayHeader(lines.size() + 3);
  reply->SimpleString(std::string(command) +
                      " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  for (std::string_view line : lines) reply->SimpleString(line);
  reply->SimpleString("HELP");
  reply->SimpleString("    Prints this help.");
}

}  // namespace edgekv
