// The network server: acceptors, one io_context per I/O thread, signals.
// Asio stays behind this interface (pimpl) so main.cc compiles quickly.
#pragma once

#include <memory>

#include "edgekv/status.h"

namespace edgekv {

class ServerContext;
class Dispatcher;

class NetServer {
 public:
  NetServer(ServerContext* ctx, Dispatcher* dispatcher, int io_threads);
  ~NetServer();

  // Binds every address of `bind` on `port` (port 0: pick a free one).
  Status Listen();
  // Serves until Stop(), SIGINT/SIGTERM, or SHUTDOWN.
  void Run();
  // Thread-safe; returns at once.
  void Stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgekv
