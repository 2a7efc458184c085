// COMMAND: what Redis's COMMAND says of every command edgekv has (COUNT
// INFO DOCS LIST GETKEYS GETKEYSANDFLAGS), from the command table and
// Redis's facts in command_meta.cc.
#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "args.h"
#include "command_meta.h"
#include "command_table.h"
#include "dispatcher.h"
#include "edgekv/glob.h"
#include "keyspace.h"

namespace edgekv {
namespace {

// The flags COMMAND INFO lists, by Redis's names and in Redis's order (it
// hides protected, may_replicate and the sentinel ones).
std::vector<std::string_view> FlagNames(uint32_t f) {
  static constexpr std::pair<uint32_t, std::string_view> kNames[] = {
      {kWrite, "write"},
      {kReadOnly, "readonly"},
      {kDenyOom, "denyoom"},
      {kAdmin, "admin"},
      {kNoScript, "noscript"},
      {kBlocking, "blocking"},
      {kLoading, "loading"},
      {kStale, "stale"},
      {kSkipMonitor, "skip_monitor"},
      {kSkipSlowlog, "skip_slowlog"},
      {kFast, "fast"},
      {kNoAuth, "no_auth"},
      {kNoMandatoryKeys, "no_mandatory_keys"},
      {kNoAsyncLoading, "no_async_loading"},
      {kNoMulti, "no_multi"},
      {kAllowBusy, "allow_busy"},
  };
  std::vector<std::string_view> v;
  for (const auto& [bit, name] : kNames) {
    if (f & bit) v.push_back(name);
  }
  return v;
}

// Space-separated words.
std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    size_t end = std::min(s.find(' ', i), s.size());
    if (end > i) out.push_back(s.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

void ReplyKeySpec(ReplyBuilder& r, const KeySpec& k) {
  r.MapHeader(k.notes != nullptr ? 4 : 3);
  if (k.notes != nullptr) {
    r.Bulk("notes");
    r.Bulk(k.notes);
  }
  r.Bulk("flags");
  auto flags = Words(k.flags);
  r.SetHeader(flags.size());
  for (auto f : flags) r.SimpleString(f);
  r.Bulk("begin_search");
  r.MapHeader(2);
  r.Bulk("type");
  r.Bulk("index");
  r.Bulk("spec");
  r.MapHeader(1);
  r.Bulk("index");
  r.Integer(k.index);
  r.Bulk("find_keys");
  r.MapHeader(2);
  r.Bulk("type");
  if (k.keynum()) {
    r.Bulk("keynum");
    r.Bulk("spec");
    r.MapHeader(3);
    r.Bulk("keynumidx");
    r.Integer(k.keynumidx);
    r.Bulk("firstkey");
    r.Integer(k.firstkey);
    r.Bulk("keystep");
    r.Integer(k.keystep);
    return;
  }
  r.Bulk("range");
  r.Bulk("spec");
  r.MapHeader(3);
  r.Bulk("lastkey");
  r.Integer(k.lastkey);
  r.Bulk("keystep");
  r.Integer(k.keystep);
  r.Bulk("limit");
  r.Integer(k.limit);
}

// A command made of subcommands only (CLIENT, CONFIG, DEBUG): Redis lists
// no flags for it and no ACL category but @slow (and DEBUG's own).
bool IsContainer(const CommandSpec& s) {
  return s.handler == nullptr && !s.subcommands.empty();
}

// The ACL categories of a command, in the order of Redis's category table.
std::vector<std::string> AclCategories(const CommandSpec& s) {
  static constexpr std::string_view kOrder[] = {
      "keyspace",   "read",        "write",    "set",         "sortedset", "list",
      "hash",       "string",      "bitmap",   "hyperloglog", "geo",       "stream",
      "pubsub",     "admin",       "fast",     "slow",        "blocking",  "dangerous",
      "connection", "transaction", "scripting"};
  std::string_view named = s.acl != nullptr ? s.acl : "";
  if (s.acl == nullptr && !IsContainer(s)) {
    std::string_view g = s.group;
    if (g == "generic") named = "keyspace";
    if (g == "string" || g == "connection" || g == "hash" || g == "set") named = g;
    if (g == "transactions") named = "transaction";
    if (g == "sorted-set") named = "sortedset";
  }
  std::vector<std::string_view> have = Words(named);
  uint32_t f = IsContainer(s) ? 0 : s.flags;
  if (f & kWrite) have.push_back("write");
  // Redis leaves scripting commands (EVAL_RO) out of @read.
  if ((f & kReadOnly) && std::find(have.begin(), have.end(), "scripting") == have.end())
    have.push_back("read");
  if (f & kAdmin) {
    have.push_back("admin");
    have.push_back("dangerous");
  }
  have.push_back((f & kFast) ? "fast" : "slow");
  std::vector<std::string> out;
  for (std::string_view c : kOrder) {
    if (std::find(have.begin(), have.end(), c) != have.end())
      out.push_back("@" + std::string(c));
  }
  return out;
}

void ReplyCommandInfo(ReplyBuilder& r, const CommandSpec& s) {
  r.ArrayHeader(10);
  r.Bulk(s.name);
  r.Integer(s.arity);
  const CommandMeta* meta = FindCommandMeta(s.name);
  auto flags = FlagNames(IsContainer(s) ? 0 : s.flags);
  if (meta != nullptr && HasMovableKeys(*meta)) flags.push_back("movablekeys");
  r.SetHeader(flags.size());
  for (auto& f : flags) r.SimpleString(f);
  r.Integer(s.first_key);
  r.Integer(s.last_key);
  r.Integer(s.key_step);
  auto categories = AclCategories(s);
  r.SetHeader(categories.size());
  for (auto& c : categories) r.SimpleString(c);
  auto tips = Words(meta != nullptr ? meta->tips : "");
  r.SetHeader(tips.size());
  for (auto t : tips) r.Bulk(t);
  // Key specs and subcommands are sets in RESP3, as Redis sends them.
  if (meta != nullptr) {
    r.SetHeader(meta->key_specs.size());
    for (const KeySpec& k : meta->key_specs) ReplyKeySpec(r, k);
  } else {
    r.SetHeader(0);
  }
  r.SetHeader(s.subcommands.size());
  for (auto& sub : s.subcommands) ReplyCommandInfo(r, sub);
}

void CommandAll(CommandContext& ctx) {
  if (ctx.argc() > 1) {
    // Reached only through the container with an unknown subcommand.
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  auto& all = ctx.server->commands().all();
  ctx.reply->ArrayHeader(all.size());
  for (auto& s : all) ReplyCommandInfo(*ctx.reply, *s);
}

void CommandCount(CommandContext& ctx) {
  ctx.reply->Integer(static_cast<int64_t>(ctx.server->commands().all().size()));
}

void CommandInfo(CommandContext& ctx) {
  auto& table = ctx.server->commands();
  if (ctx.argc() == 2) {
    auto& all = table.all();
    ctx.reply->ArrayHeader(all.size());
    for (auto& s : all) ReplyCommandInfo(*ctx.reply, *s);
    return;
  }
  ctx.reply->ArrayHeader(ctx.argc() - 2);
  for (size_t i = 2; i < ctx.argc(); ++i) {
    const CommandSpec* s = table.FindFullName(ctx.arg(i));
    if (s == nullptr) {
      ctx.reply->Null();
    } else {
      ReplyCommandInfo(*ctx.reply, *s);
    }
  }
}

void ReplyDoc(ReplyBuilder& r, const CommandSpec& s) {
  r.MapHeader(s.subcommands.empty() ? 4 : 5);
  r.Bulk("summary");
  r.Bulk(s.summary);
  r.Bulk("since");
  r.Bulk("1.0.0");
  r.Bulk("group");
  r.Bulk(s.group);
  r.Bulk("complexity");
  r.Bulk((s.flags & kFast) ? "O(1)" : "O(N)");
  if (!s.subcommands.empty()) {
    r.Bulk("subcommands");
    r.MapHeader(s.subcommands.size());
    for (auto& sub : s.subcommands) {
      r.Bulk(sub.name);
      ReplyDoc(r, sub);
    }
  }
}

void CommandDocs(CommandContext& ctx) {
  auto& table = ctx.server->commands();
  std::vector<const CommandSpec*> specs;
  if (ctx.argc() == 2) {
    for (auto& s : table.all()) specs.push_back(s.get());
  } else {
    for (size_t i = 2; i < ctx.argc(); ++i) {
      if (const CommandSpec* s = table.Find(ctx.arg(i))) specs.push_back(s);
    }
  }
  ctx.reply->MapHeader(specs.size());
  for (auto* s : specs) {
    ctx.reply->Bulk(s->name);
    ReplyDoc(*ctx.reply, *s);
  }
}

// COMMAND GETKEYS / GETKEYSANDFLAGS <command> [args...]: the keys the
// command would touch, found by its key specifications (and their flags).
void GetKeys(CommandContext& ctx, bool with_flags) {
  std::span<const std::string_view> cmd = ctx.args.subspan(2);
  const CommandTable& table = ctx.server->commands();
  const CommandSpec* spec = table.Find(cmd[0]);
  if (spec != nullptr && !spec->subcommands.empty() && cmd.size() > 1) {
    spec = table.FindSub(*spec, cmd[1]);
  }
  const CommandMeta* meta = spec != nullptr ? FindCommandMeta(spec->name) : nullptr;
  std::vector<KeyRef> keys;
  if (spec == nullptr) {
    ctx.reply->Error("ERR Invalid command specified");
  } else if (meta == nullptr || meta->key_specs.empty()) {
    ctx.reply->Error("ERR The command has no key arguments");
  } else if (!ArityOk(*spec, cmd.size())) {
    ctx.reply->Error("ERR Invalid number of arguments specified for command");
  } else if (!KeysBySpec(*meta, cmd, &keys) || keys.empty()) {
    if (spec->flags & kNoMandatoryKeys) {
      ctx.reply->ArrayHeader(0);
    } else {
      ctx.reply->Error("ERR Invalid arguments specified for command");
    }
  } else {
    ctx.reply->ArrayHeader(keys.size());
    for (const KeyRef& k : keys) {
      if (!with_flags) {
        ctx.reply->Bulk(k.key);
        continue;
      }
      ctx.reply->ArrayHeader(2);
      ctx.reply->Bulk(k.key);
      auto flags = Words(k.flags);
      ctx.reply->ArrayHeader(flags.size());
      for (auto f : flags) ctx.reply->SimpleString(f);
    }
  }
}

void CommandGetKeys(CommandContext& ctx) { GetKeys(ctx, false); }
void CommandGetKeysAndFlags(CommandContext& ctx) { GetKeys(ctx, true); }

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN glob]:
// every command's name and every subcommand's ("client|list").
void CommandList(CommandContext& ctx) {
  enum class Filter { kNone, kModule, kAclCat, kPattern } filter = Filter::kNone;
  std::string_view value;
  if (ctx.argc() == 5 && EqualsIgnoreCase(ctx.arg(2), "FILTERBY")) {
    value = ctx.arg(4);
    if (EqualsIgnoreCase(ctx.arg(3), "MODULE")) {
      filter = Filter::kModule;
    } else if (EqualsIgnoreCase(ctx.arg(3), "ACLCAT")) {
      filter = Filter::kAclCat;
    } else if (EqualsIgnoreCase(ctx.arg(3), "PATTERN")) {
      filter = Filter::kPattern;
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  } else if (ctx.argc() != 2) {
    ctx.reply->Error(errors::kSyntax);
    return;
  }
  std::string category = "@" + std::string(value);
  for (char& c : category) c = static_cast<char>(std::tolower(c));
  std::vector<std::string_view> names;
  auto consider = [&](const CommandSpec& s) {
    switch (filter) {
      case Filter::kNone:
        break;
      case Filter::kModule:  // edgekv has no modules
        return;
      case Filter::kAclCat: {
        auto cats = AclCategories(s);
        if (std::find(cats.begin(), cats.end(), category) == cats.end()) return;
        break;
      }
      case Filter::kPattern:
        if (!GlobMatch(value, s.name, true)) return;
        break;
    }
    names.push_back(s.name);
  };
  for (auto& s : ctx.server->commands().all()) {
    consider(*s);
    for (const CommandSpec& sub : s->subcommands) consider(sub);
  }
  ctx.reply->ArrayHeader(names.size());
  for (auto n : names) ctx.reply->Bulk(n);
}

}  // namespace

void RegisterCommandFamily(CommandTable* t) {
  const uint32_t any = kLoading | kStale;
  // clang-format off
  t->Add({"command", -1, any, 0, 0, 0, CommandAll, "server", "Command details", "connection", {
      {"count", 2, any, 0, 0, 0, CommandCount, "server", "Command count", "connection"},
      {"info", -2, any, 0, 0, 0, CommandInfo, "server", "Command info", "connection"},
      {"docs", -2, any, 0, 0, 0, CommandDocs, "server", "Command docs", "connection"},
      {"list", -2, any, 0, 0, 0, CommandList, "server", "Command names", "connection"},
      {"getkeys", -4, any, 0, 0, 0, CommandGetKeys, "server", "Keys of a command", "connection"},
      {"getkeysandflags", -4, any, 0, 0, 0, CommandGetKeysAndFlags, "server", "Keys of a command, with their flags", "connection"},
  }});
  // clang-format on
}

}  // namespace edgekv
