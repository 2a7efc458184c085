#include "script_cache.h"

#include <openssl/evp.h>

#include <vector>

namespace edgekv {

thread_local int ScriptCache::tl_thread_index = -1;

std::string Sha1Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

bool ParseShebang(std::string_view body, uint32_t* flags, std::string* code,
                  std::string* error) {
  *flags = 0;
  if (body.substr(0, 2) != "#!") {
    code->assign(body);
    return true;
  }
  const size_t eol = std::min(body.find('\n'), body.size());
  std::string_view line = body.substr(0, eol);
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < line.size();) {
    size_t end = std::min(line.find(' ', i), line.size());
    if (end > i) parts.push_back(line.substr(i, end - i));
    i = end + 1;
  }
  if (parts.empty() || parts[0] != "#!lua") {
    *error = "ERR Unexpected engine in script shebang: " +
             std::string(parts.empty() ? line : parts[0]);
    return false;
  }
  uint32_t f = kScriptHasShebang;
  for (size_t p = 1; p < parts.size(); ++p) {
    std::string_view part = parts[p];
    if (part.substr(0, 6) != "flags=") {
      *error = "ERR Unknown lua shebang option: " + std::string(part);
      return false;
    }
    part.remove_prefix(6);
    for (size_t i = 0; i < part.size();) {
      size_t end = std::min(part.find(',', i), part.size());
      std::string_view name = part.substr(i, end - i);
      i = end + 1;
      if (name.empty()) continue;
      if (name == "no-writes") {
        f |= kScriptNoWrites;
      } else if (name == "allow-oom") {
        f |= kScriptAllowOom;
      } else if (name == "allow-stale") {
        f |= kScriptAllowStale;
      } else if (name == "no-cluster") {
        f |= kScriptNoCluster;
      } else if (name == "allow-cross-slot-keys") {
        f |= kScriptAllowCrossSlot;
      } else {
        *error = "ERR Unexpected flag in script shebang: " + std::string(name);
        return false;
      }
    }
  }
  *flags = f;
  code->assign(body.substr(eol));  // the line's end stays: line numbers hold
  return true;
}

std::string ScriptCache::Lower(std::string_view sha) {
  std::string s(sha);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

std::shared_ptr<Script> ScriptCache::Prepare(std::string_view body, std::string sha,
                                             std::string* error) {
  auto script = std::make_shared<Script>();
  if (!ParseShebang(body, &script->flags, &script->code, error)) return nullptr;
  script->sha = std::move(sha);
  script->body.assign(body);
  return script;
}

std::shared_ptr<const Script> ScriptCache::Insert(std::shared_ptr<const Script> script,
                                                  bool loaded) {
  MutexLock lock(&mu_);
  auto [it, added] = by_sha_.try_emplace(script->sha);
  Slot& slot = it->second;
  if (!added) {
    if (loaded && !slot.loaded) {
      eval_lru_.erase(slot.lru);
      slot.loaded = true;
    } else if (!slot.loaded) {
      eval_lru_.splice(eval_lru_.begin(), eval_lru_, slot.lru);
    }
    return slot.script;
  }
  slot.script = std::move(script);
  slot.loaded = loaded;
  std::shared_ptr<const Script> result = slot.script;
  body_bytes_ += result->body.size();
  if (!loaded) {
    eval_lru_.push_front(result->sha);
    slot.lru = eval_lru_.begin();
    while (eval_lru_.size() > kMaxEvalScripts) {
      auto victim = by_sha_.find(eval_lru_.back());
      body_bytes_ -= victim->second.script->body.size();
      eval_lru_.pop_back();
      by_sha_.erase(victim);
      ++evicted_;
    }
  }
  return result;
}

std::shared_ptr<const Script> ScriptCache::Find(std::string_view sha) {
  return FindKept(sha);
}

const Script* ScriptCache::FindForThread(std::string_view sha) {
  return FindKept(sha).get();
}

const std::shared_ptr<const Script>& ScriptCache::FindKept(std::string_view sha) {
  static const std::shared_ptr<const Script> kNone;
  // The last script found under the lock that the map below does not keep.
  thread_local std::shared_ptr<const Script> held;
  if (sha.size() != 40) return kNone;
  // SCRIPT LOAD's scripts stay until SCRIPT FLUSH (a new generation): each
  // thread keeps those it found, by the SHA1 as asked, without the lock.
  struct Local {
    const ScriptCache* owner = nullptr;
    uint64_t generation = 0;
    std::unordered_map<std::string, std::shared_ptr<const Script>> loaded;
  };
  thread_local Local local;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (local.owner != this || local.generation != generation) {
    local.owner = this;
    local.generation = generation;
    local.loaded.clear();
  }
  thread_local std::string asked;
  asked.assign(sha);
  if (auto hit = local.loaded.find(asked); hit != local.loaded.end()) return hit->second;
  std::string key = Lower(sha);
  MutexLock lock(&mu_);
  auto it = by_sha_.find(key);
  if (it == by_sha_.end()) return kNone;
  if (!it->second.loaded) {
    eval_lru_.splice(eval_lru_.begin(), eval_lru_, it->second.lru);
  } else if (local.loaded.size() < kMaxEvalScripts) {
    return local.loaded.emplace(asked, it->second.script).first->second;
  }
  held = it->second.script;
  return held;
}

bool ScriptCache::Exists(std::string_view sha) const {
  if (sha.size() != 40) return false;
  std::string key = Lower(sha);
  MutexLock lock(&mu_);
  return by_sha_.count(key) != 0;
}

void ScriptCache::Flush() {
  MutexLock lock(&mu_);
  by_sha_.clear();
  eval_lru_.clear();
  body_bytes_ = 0;
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

size_t ScriptCache::size() const {
  MutexLock lock(&mu_);
  return by_sha_.size();
}

size_t ScriptCache::body_bytes() const {
  MutexLock lock(&mu_);
  return body_bytes_;
}

uint64_t ScriptCache::evicted() const {
  MutexLock lock(&mu_);
  return evicted_;
}

}  // namespace edgekv
