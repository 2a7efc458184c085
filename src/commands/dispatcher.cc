#include "dispatcher.h"

#include <algorithm>
#include <string>

#include "command_table.h"

namespace edgekv {

std::string WrongArity(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return "ERR wrong number of arguments for '" + lower + "' command";
}

namespace {

bool ArityOk(const CommandSpec& spec, size_t argc) {
  int n = static_cast<int>(argc);
  return spec.arity >= 0 ? n == spec.arity : n >= -spec.arity;
}

std::string UnknownCommand(std::span<const std::string_view> args) {
  std::string a;
  for (size_t i = 1; i < args.size() && a.size() < 128; ++i) {
    size_t room = 128 - a.size();
    a += "'";
    a.append(args[i].substr(0, room));
    a += "' ";
  }
  std::string name(args[0].substr(0, 128));
  return "ERR unknown command '" + name + "', with args beginning with: " + a;
}

}  // namespace

const CommandSpec* ResolveCommand(const CommandTable& table,
                                  std::span<const std::string_view> args,
                                  ReplyBuilder& reply) {
  const CommandSpec* spec = table.Find(args[0]);
  if (spec == nullptr) {
    reply.Error(UnknownCommand(args));
    return nullptr;
  }
  if (!spec->subcommands.empty() && !(args.size() < 2 && spec->handler)) {
    if (args.size() < 2) {
      reply.Error(WrongArity(spec->name));
      return nullptr;
    }
    const CommandSpec* sub = table.FindSub(*spec, args[1]);
    if (sub == nullptr) {
      std::string upper(spec->name);
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      reply.Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) +
                  "'. Try " + upper + " HELP.");
      return nullptr;
    }
    spec = sub;
  }
  if (!ArityOk(*spec, args.size())) {
    reply.Error(WrongArity(spec->name));
    return nullptr;
  }
  return spec;
}

void RunCommand(const CommandSpec& spec, CommandContext& ctx) {
  ServerContext& server = *ctx.server;
  if (ctx.all_locked || spec.first_key <= 0) {
    spec.handler(ctx);
  } else {
    Store& store = server.store();
    std::vector<std::string_view> keys = CommandKeys(spec, ctx.args);
    std::vector<size_t> stripes;
    stripes.reserve(keys.size());
    for (auto k : keys) stripes.push_back(store.StripeOf(k));
    StripeGuard guard(&store, std::move(stripes));
    spec.handler(ctx);
  }
  server.stats().commands_processed.fetch_add(1, std::memory_order_relaxed);
}

void Dispatcher::ClearTransaction(ServerContext& server, ClientState& c) {
  c.in_multi = false;
  c.multi_error = false;
  c.queued.clear();
  Unwatch(server, c, false);
}

void Dispatcher::Unwatch(ServerContext& server, ClientState& c, bool all_locked) {
  Store& store = server.store();
  for (auto& [db, key] : c.watched) {
    if (all_locked) {
      store.Unwatch(db, key, &c.watch_flag);
    } else {
      StripeGuard g(&store, std::vector<size_t>{store.StripeOf(key)});
      store.Unwatch(db, key, &c.watch_flag);
    }
  }
  c.watched.clear();
  c.watch_flag.dirty.store(false, std::memory_order_relaxed);
}

void Dispatcher::Execute(ClientState& client,
                         std::span<const std::string_view> args,
                         ReplyBuilder& reply) {
  const CommandSpec* spec = ResolveCommand(server_->commands(), args, reply);
  if (spec == nullptr) {
    if (client.in_multi) client.multi_error = true;
    server_->stats().total_error_replies.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  client.last_command.store(spec, std::memory_order_relaxed);

  if (!client.authenticated && !(spec->flags & kNoAuth)) {
    if (client.in_multi) client.multi_error = true;
    reply.Error(errors::kNoAuth);
    return;
  }

  if (client.in_multi && !(spec->flags & kNoMulti)) {
    if ((spec->flags & kDenyOom) && server_->config().Int(Cfg::kMaxmemory) > 0 &&
        server_->store().used_bytes() > server_->config().Int(Cfg::kMaxmemory)) {
      client.multi_error = true;
      reply.Error(errors::kOom);
      return;
    }
    client.queued.emplace_back(args.begin(), args.end());
    reply.Queued();
    return;
  }

  if ((spec->flags & kDenyOom) && server_->config().Int(Cfg::kMaxmemory) > 0 &&
      server_->store().used_bytes() > server_->config().Int(Cfg::kMaxmemory)) {
    reply.Error(errors::kOom);
    return;
  }

  CommandContext ctx{args, &reply, &client, server_, NowMs(), false};
  RunCommand(*spec, ctx);
}

}  // namespace edgekv
