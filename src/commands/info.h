// Text of INFO and of CLIENT LIST/INFO lines, in Redis's field names (client
// libraries and redis_exporter parse them).
#pragma once

#include <string>
#include <vector>

#include "server_context.h"

namespace edgekv {

std::string BuildInfo(ServerContext& server, const std::vector<std::string>& sections);
// `self`: the calling client, whose thread-owned fields (MULTI state) may be
// read; other clients' are reported from their shared fields only.
// `self` is the client asking, and self_argv_bytes its command's arguments'
// bytes (CLIENT LIST's argv-mem: Redis's other clients have none between
// commands).
std::string DescribeClient(ServerContext& server, ClientState& c, int64_t now_ms,
                           const ClientState* self, size_t self_argv_bytes);
// The process's memory as INFO memory reports it: bytes allocated (malloc),
// the highest of those INFO and MEMORY DOCTOR have seen, the resident set.
struct MemoryFigures {
  int64_t used = 0;
  int64_t peak = 0;
  int64_t rss = 0;
  int64_t startup = 0;  // used when the server had started, before any data
  int64_t heap = 0;     // what malloc holds from the system (arena + mmapped)
};
MemoryFigures ReadMemoryFigures();
// Records MemoryFigures::startup (once the server is set up, before it loads).
void RecordStartupMemory();
// "1.50M" style, like Redis's bytesToHuman.
std::string BytesToHuman(int64_t n);

}  // namespace edgekv
