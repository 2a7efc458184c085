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
std::string DescribeClient(ServerContext& server, ClientState& c, int64_t now_ms,
                           const ClientState* self);
// "1.50M" style, like Redis's bytesToHuman.
std::string BytesToHuman(int64_t n);

}  // namespace edgekv
