// Arbitrary requests run through the command layer in-process, as a
// connection runs them (parser, dispatcher, store, MULTI/EXEC, RESP2/3):
// no request may crash the server or trip the sanitizers, and every reply is
// well-formed RESP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands/args.h"
#include "commands/client_state.h"
#include "commands/command_table.h"
#include "commands/dispatcher.h"
#include "commands/server_context.h"
#include "edgekv/config.h"
#include "edgekv/reply.h"
#include "edgekv/resp_parser.h"
#include "edgekv/store.h"
#include "resp_check.h"

namespace edgekv {
namespace {

// Requests that only make the fuzzer slow or large without testing more:
// raising the string limit (values up to 512 MB are Redis's right, and a
// few such values would exhaust the fuzzer's memory) and sleeping.
bool Skipped(std::span<const std::string_view> args) {
  for (std::string_view a : args) {
    if (EqualsIgnoreCase(a, "proto-max-bulk-len") || EqualsIgnoreCase(a, "sleep"))
      return true;
  }
  return false;
}

void Run(std::string_view in) {
  Config config;
  // Strings of at most 1 MB (SETRANGE, APPEND): see Skipped.
  if (!config.Set("proto-max-bulk-len", "1mb", true).ok()) std::abort();
  StoreOptions so;
  so.databases = static_cast<int>(config.Int(Cfg::kDatabases));
  so.stripes = 16;
  Store store(so);
  CommandTable table;
  ServerContext ctx(&config, &store, &table);
  Dispatcher dispatcher(&ctx);
  ClientState client;
  client.id = ctx.NextClientId();
  client.addr = "127.0.0.1:40000";
  client.laddr = "127.0.0.1:6379";
  client.authenticated = true;

  RespParser parser;
  std::string out;
  size_t commands = 0;
  while (!in.empty() && commands < 64) {
    RespParser::Result r = parser.Parse(in);
    if (r == RespParser::Result::kIncomplete || r == RespParser::Result::kError) break;
    in.remove_prefix(parser.consumed());
    if (r == RespParser::Result::kEmpty || Skipped(parser.args())) continue;
    ++commands;
    out.clear();
    ReplyBuilder reply(&out);
    reply.set_resp(client.resp.load());
    dispatcher.Execute(client, parser.args(), reply);
    if (client.blocked) {  // WAIT: time it out at once
      if (!client.blocked(reply, /*timed_out=*/true)) std::abort();
      client.blocked = nullptr;
    }
    // Exactly one reply per command, but for those Redis answers with
    // nothing: REPLCONF ACK and GETACK, MONITOR from a monitor.
    const int replies = fuzz::CountReplies(out);
    const bool may_be_silent =
        EqualsIgnoreCase(parser.args()[0], "replconf") ||
        (EqualsIgnoreCase(parser.args()[0], "monitor") && client.monitor != nullptr);
    if (replies != 1 && !(replies == 0 && may_be_silent)) std::abort();
  }
}

}  // namespace
}  // namespace edgekv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  edgekv::Run(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
