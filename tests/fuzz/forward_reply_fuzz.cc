// How a replica that forwards writes splits its coordinator's replies
// (RespReplyLength), fed arbitrary bytes: a well-formed reply (as the strict
// reader in resp_check.h accepts it) is found whole, whatever follows it;
// a prefix of a reply is incomplete (0), never malformed nor complete; and
// once bytes are malformed (-1), more bytes do not change that.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "replication/forward.h"
#include "resp_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const long n = edgekv::RespReplyLength(in);
  size_t pos = 0;
  if (edgekv::fuzz::ReadReply(in, &pos, 0) && n != static_cast<long>(pos)) std::abort();
  // Prefixes: about 64 of them, and those around n.
  std::vector<size_t> lens;
  for (size_t l = 0; l < size; l += size / 64 + 1) lens.push_back(l);
  lens.push_back(size);
  if (n > 0) {
    lens.push_back(static_cast<size_t>(n) - 1);
    lens.push_back(static_cast<size_t>(n));
  }
  std::sort(lens.begin(), lens.end());
  bool malformed = false;
  for (size_t l : lens) {
    long r = edgekv::RespReplyLength(in.substr(0, l));
    if (n > 0 && r != (l < static_cast<size_t>(n) ? 0 : n)) std::abort();
    if (n == 0 && r != 0) std::abort();
    if (n < 0 && r > 0) std::abort();
    if (malformed && r != -1) std::abort();
    malformed = r == -1;
  }
  return 0;
}
