// The Asio side of replica-write-forward: one pipelined connection from this
// replica to its coordinator, created on demand (see replication/forward.h).
#pragma once

#include <memory>

#include "replication/forward.h"

namespace boost::asio {
class io_context;
}

namespace edgekv {

class ServerContext;

std::shared_ptr<WriteForwarder> MakeAsioForwarder(boost::asio::io_context& io,
                                                  ServerContext* server);

}  // namespace edgekv
