// Whole-string unsigned decimal parsing without exceptions (std::stoull
// throws on bad input, which must never take the server down).
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>
#include <system_error>

namespace edgekv {

// True if s is entirely a decimal number that fits in a uint64_t.
inline bool ParseUint64(std::string_view s, uint64_t* out) {
  const char* last = s.data() + s.size();
  auto [end, ec] = std::from_chars(s.data(), last, *out);
  return !s.empty() && ec == std::errc() && end == last;
}

}  // namespace edgekv
