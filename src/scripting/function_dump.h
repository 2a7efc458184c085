// FUNCTION DUMP's payload, in Redis 7.0's format so that payloads move both
// ways between edgekv and Redis: per library the RDB opcode FUNCTION2 (245)
// and its code as an RDB string (LZF-compressed when that saves, as Redis
// writes it), then the RDB version (2 bytes, little endian) and Redis's
// CRC-64 (Jones) of all before it (8 bytes, little endian). Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgekv {

inline constexpr int kFunctionDumpRdbVersion = 10;  // Redis 7.0's

std::string EncodeFunctionDump(const std::vector<std::string_view>& codes);

// The libraries' codes; false with Redis's error text (no "ERR ").
bool DecodeFunctionDump(std::string_view payload, std::vector<std::string>* codes,
                        std::string* error);

}  // namespace edgekv
