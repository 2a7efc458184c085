#include "slowlog.h"

#include <algorithm>
#include <limits>

#include "args.h"
#include "server_context.h"

namespace edgekv {

void SlowLog::Push(std::span<const std::string_view> args, uint64_t redacted,
                   int64_t duration_us, int64_t time_s, std::string peer,
                   std::string name, size_t max_len) {
  SlowLogEntry e{0, time_s, duration_us, {}, std::move(peer), std::move(name)};
  const size_t kept = std::min(args.size(), kMaxArgs);
  e.args.reserve(kept);
  for (size_t i = 0; i < kept; ++i) {
    if (kept != args.size() && i == kept - 1) {
      e.args.push_back("... (" + std::to_string(args.size() - kept + 1) +
                       " more arguments)");
    } else if (i < 64 && (redacted >> i & 1)) {
      e.args.emplace_back("(redacted)");
    } else if (args[i].size() > kMaxArgBytes) {
      e.args.emplace_back(args[i].substr(0, kMaxArgBytes));
      e.args.back() +=
          "... (" + std::to_string(args[i].size() - kMaxArgBytes) + " more bytes)";
    } else {
      e.args.emplace_back(args[i]);
    }
  }
  MutexLock l(&mu_);
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len) entries_.pop_back();
}

std::vector<SlowLogEntry> SlowLog::Newest(size_t count) const {
  MutexLock l(&mu_);
  count = std::min(count, entries_.size());
  return {entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(count)};
}

size_t SlowLog::size() const {
  MutexLock l(&mu_);
  return entries_.size();
}

void SlowLog::Reset() {
  MutexLock l(&mu_);
  entries_.clear();
}

void MaybeLogSlow(const CommandSpec& spec, const CommandContext& ctx,
                  int64_t duration_us) {
  const Config& cfg = ctx.server->config();
  const int64_t slower_than = cfg.Int(Cfg::kSlowlogLogSlowerThan);
  if (slower_than < 0 || duration_us < slower_than || (spec.flags & kSkipSlowlog)) return;
  std::string name;
  {
    MutexLock l(&ctx.client->mu);
    name = ctx.client->name;
  }
  ctx.server->slowlog().Push(ctx.args, ctx.redacted, duration_us, WallMs() / 1000,
                             ctx.client->addr, std::move(name),
                             static_cast<size_t>(cfg.Int(Cfg::kSlowlogMaxLen)));
}

void SlowlogGet(CommandContext& ctx) {
  if (ctx.argc() > 3) {
    ctx.reply->Error("ERR unknown subcommand or wrong number of arguments for '" +
                     std::string(ctx.arg(1).substr(0, 128)) + "'. Try SLOWLOG HELP.");
    return;
  }
  int64_t count = 10;
  if (ctx.argc() == 3 && (!ParseInt64(ctx.arg(2), &count) || count < -1)) {
    ctx.reply->Error("ERR count should be greater than or equal to -1");
    return;
  }
  auto entries = ctx.server->slowlog().Newest(
      count < 0 ? std::numeric_limits<size_t>::max() : static_cast<size_t>(count));
  ReplyBuilder& r = *ctx.reply;
  r.ArrayHeader(entries.size());
  for (const SlowLogEntry& e : entries) {
    r.ArrayHeader(6);
    r.Integer(static_cast<int64_t>(e.id));
    r.Integer(e.time_s);
    r.Integer(e.duration_us);
    r.ArrayHeader(e.args.size());
    for (const std::string& a : e.args) r.Bulk(a);
    r.Bulk(e.peer);
    r.Bulk(e.name);
  }
}

void SlowlogLen(CommandContext& ctx) {
  ctx.reply->Integer(static_cast<int64_t>(ctx.server->slowlog().size()));
}

void SlowlogReset(CommandContext& ctx) {
  ctx.server->slowlog().Reset();
  ctx.reply->Ok();
}

void SlowlogHelp(CommandContext& ctx) {
  static constexpr std::string_view kLines[] = {
      "GET [<count>]",
      "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
      "    Entries are made of:",
      "    id, timestamp, time in microseconds, arguments array, client IP and port,",
      "    client name",
      "LEN",
      "    Return the length of the slowlog.",
      "RESET",
      "    Reset the slowlog.",
  };
  ReplyHelp(ctx.reply, "SLOWLOG", kLines);
}

}  // namespace edgekv
