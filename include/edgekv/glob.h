#pragma once
#include <string_view>

namespace edgekv {
// Redis's glob-style matching (KEYS, SCAN MATCH, CONFIG GET): * ? [a-z] [^x] \x.
bool GlobMatch(std::string_view pattern, std::string_view s, bool nocase = false);
// The literal prefix of a pattern before its first special character.
std::string_view GlobLiteralPrefix(std::string_view pattern);
}  // namespace edgekv
