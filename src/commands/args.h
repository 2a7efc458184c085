// Argument parsing shared by command families, with Redis's strictness
// (string2ll: no spaces, no '+', no leading zeros).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "edgekv/reply.h"

namespace edgekv {

bool ParseInt64(std::string_view s, int64_t* out);
// Redis's getIntFromObjectOrReply: an integer within int's range. Returns
// the error to reply with, empty when *out was set: `msg` when given, else
// Redis's own for a non-integer and for one out of range.
std::string_view ParseInt32(std::string_view s, int* out, std::string_view msg = {});
// HRANDFIELD's, SRANDMEMBER's and ZRANDMEMBER's count: any integer whose
// negation is one too (Redis's range -LONG_MAX..LONG_MAX). Returns the error
// to reply with, empty when *out was set.
std::string_view ParseRandomCount(std::string_view s, int64_t* out);
bool ParseLongDouble(std::string_view s, long double* out);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string Int64ToString(int64_t v);

// A container command's HELP reply as Redis's addReplyHelp writes it: the
// "<COMMAND> <subcommand> ..." line, `lines`, then HELP itself.
void ReplyHelp(ReplyBuilder* reply, std::string_view command,
               std::span<const std::string_view> lines);

}  // namespace edgekv
