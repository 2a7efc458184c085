// The request parser, fed arbitrary bytes: it must never crash, read outside
// its input or loop, and a stream cut into pieces of any size must parse into
// exactly the requests, empty requests and error it gives when whole (the
// parser's resume contract; a connection's reads split requests anywhere).
// PeekRequests, which looks ahead for prefetching, must read the requests it
// returns as the parser does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "edgekv/resp_parser.h"

namespace edgekv {
namespace {

// What the parser said, in order: "C<args>", "E" (empty), "X<error>", or
// "I" (needs more) at the end.
std::vector<std::string> Events(std::string_view in, const ParserLimits& limits,
                                bool authenticated, size_t step) {
  RespParser p(limits);
  p.set_authenticated(authenticated);
  std::vector<std::string> events;
  size_t start = 0;  // the current request's first byte
  size_t avail = step == 0 ? in.size() : std::min(step, in.size());
  for (;;) {
    std::string_view view = in.substr(start, avail - start);
    RespParser::Result r = p.Parse(view);
    if (p.consumed() > view.size()) std::abort();
    if (r == RespParser::Result::kCommand || r == RespParser::Result::kEmpty) {
      if (p.consumed() == 0) std::abort();  // no progress: a caller would loop
      std::string e = r == RespParser::Result::kCommand ? "C" : "E";
      for (std::string_view a : p.args()) {
        e += std::to_string(a.size()) + ":";
        e += a;
      }
      events.push_back(std::move(e));
      start += p.consumed();
      if (avail < start) std::abort();
      continue;
    }
    if (r == RespParser::Result::kError) {
      events.push_back("X" + p.error());
      return events;
    }
    if (avail == in.size()) {  // kIncomplete with nothing more to give
      events.push_back("I");
      return events;
    }
    avail = std::min(in.size(), avail + step);
  }
}

}  // namespace
}  // namespace edgekv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using edgekv::ParserLimits;
  if (size < 2) return 0;
  // Small limits, so that inputs reach them.
  ParserLimits limits;
  limits.max_inline_size = 16 + (data[0] & 0x3f);
  limits.max_bulk_len = 8 + (data[1] & 0x3f);
  limits.max_multibulk_len = 4 + (data[1] >> 4);
  limits.unauth_max_multibulk_len = 3;
  limits.unauth_max_bulk_len = 6;
  bool authenticated = data[0] & 0x80;
  size_t step = 1 + (data[0] >> 6);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto whole = edgekv::Events(in, limits, authenticated, 0);
  auto pieces = edgekv::Events(in, limits, authenticated, step);
  if (whole != pieces) std::abort();
  edgekv::PeekedRequest ahead[8];
  size_t n = edgekv::PeekRequests(in, ahead);
  edgekv::RespParser p;
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (p.Parse(in.substr(start)) != edgekv::RespParser::Result::kCommand) std::abort();
    std::span<const std::string_view> args = p.args();
    if (args.size() != ahead[i].argc) std::abort();
    for (size_t j = 0; j < args.size() && j < edgekv::PeekedRequest::kHead; ++j) {
      if (args[j] != ahead[i].head[j]) std::abort();
    }
    start += p.consumed();
  }
  return 0;
}
