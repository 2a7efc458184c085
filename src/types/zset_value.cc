#include "types/zset_value.h"

#include <xxhash.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "types/element_util.h"

namespace edgekv {
namespace {

using element::Chunk;
using element::GetVarint;
using element::PutVarint;

constexpr int kMaxLevel = 32;
const uint64_t kSeed = std::random_device{}();

uint64_t HashOf(std::string_view member) {
  return XXH3_64bits_withSeed(member.data(), member.size(), kSeed);
}

// (a_score, a) sorts before (b_score, b).
bool Less(double a_score, std::string_view a, double b_score, std::string_view b) {
  return a_score < b_score || (a_score == b_score && a < b);
}

// One listpack entry.
struct PackItem {
  size_t begin, end;
  double score;
  std::string_view member;
};

template <typename Fn>
void WalkPack(const char* pack, size_t size, Fn&& fn) {
  const char* p = pack;
  const char* end = p + size;
  while (p < end) {
    PackItem it;
    it.begin = static_cast<size_t>(p - pack);
    std::memcpy(&it.score, p, 8);
    p += 8;
    size_t len = GetVarint(&p);
    it.member = {p, len};
    p += len;
    it.end = static_cast<size_t>(p - pack);
    if (!fn(it)) return;
  }
}

int RandomLevel() {
  thread_local std::mt19937 rng{std::random_device{}()};
  int level = 1;
  while (level < kMaxLevel && (rng() & 0xFFFF) < 0xFFFF / 4) ++level;
  return level;
}

}  // namespace

struct ZSetValue::Node {
  struct Level {
    Node* forward;
    size_t span;  // elements this link skips, itself included
  };
  double score;
  Node* backward;
  Node* hnext;  // the member's hash chain
  uint32_t len;
  uint8_t level;
  // After the node: `level` links, then the member's bytes.
  Level* lv() { return reinterpret_cast<Level*>(this + 1); }
  const Level* lv() const { return reinterpret_cast<const Level*>(this + 1); }

  std::string_view member() const {
    return {reinterpret_cast<const char*>(lv() + level), len};
  }
  static size_t SizeFor(int level, size_t len) {
    return sizeof(Node) + sizeof(Level) * static_cast<size_t>(level) + len;
  }
  static Node* Make(int level, double score, std::string_view member) {
    auto* n = static_cast<Node*>(::operator new(SizeFor(level, member.size())));
    n->score = score;
    n->backward = nullptr;
    n->hnext = nullptr;
    n->len = static_cast<uint32_t>(member.size());
    n->level = static_cast<uint8_t>(level);
    for (int i = 0; i < level; ++i) n->lv()[i] = {nullptr, 0};
    if (!member.empty()) std::memcpy(n->lv() + level, member.data(), member.size());
    return n;
  }
  size_t bytes() const { return Chunk(SizeFor(level, len)); }
};

struct ZSetValue::List {
  Node* header = Node::Make(kMaxLevel, 0, {});
  Node* tail = nullptr;
  int level = 1;
  std::vector<Node*> buckets = std::vector<Node*>(4, nullptr);
  size_t node_bytes = 0;

  ~List() {
    Node* n = header->lv()[0].forward;
    while (n != nullptr) {
      Node* next = n->lv()[0].forward;
      ::operator delete(n);
      n = next;
    }
    ::operator delete(header);
  }

  Node* Find(std::string_view member) const {
    Node* n = buckets[HashOf(member) & (buckets.size() - 1)];
    while (n != nullptr && n->member() != member) n = n->hnext;
    return n;
  }
  void HashInsert(Node* n) {
    Node** head = &buckets[HashOf(n->member()) & (buckets.size() - 1)];
    n->hnext = *head;
    *head = n;
  }
  void HashErase(Node* n) {
    Node** link = &buckets[HashOf(n->member()) & (buckets.size() - 1)];
    while (*link != n) link = &(*link)->hnext;
    *link = n->hnext;
  }
  void Rehash(size_t n) {
    std::vector<Node*> old(n, nullptr);
    old.swap(buckets);
    for (Node* e : old) {
      while (e != nullptr) {
        Node* next = e->hnext;
        HashInsert(e);
        e = next;
      }
    }
  }

  // Links x into the list at its (score, member) place; `length` elements
  // were there before.
  void Link(Node* x, size_t length) {
    Node* update[kMaxLevel];
    size_t rank[kMaxLevel];
    Node* p = header;
    for (int i = level - 1; i >= 0; --i) {
      rank[i] = i == level - 1 ? 0 : rank[i + 1];
      while (p->lv()[i].forward != nullptr &&
             Less(p->lv()[i].forward->score, p->lv()[i].forward->member(), x->score,
                  x->member())) {
        rank[i] += p->lv()[i].span;
        p = p->lv()[i].forward;
      }
      update[i] = p;
    }
    if (x->level > level) {
      for (int i = level; i < x->level; ++i) {
        rank[i] = 0;
        update[i] = header;
        header->lv()[i].span = length;
      }
      level = x->level;
    }
    for (int i = 0; i < x->level; ++i) {
      x->lv()[i].forward = update[i]->lv()[i].forward;
      update[i]->lv()[i].forward = x;
      x->lv()[i].span = update[i]->lv()[i].span - (rank[0] - rank[i]);
      update[i]->lv()[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = x->level; i < level; ++i) ++update[i]->lv()[i].span;
    x->backward = update[0] == header ? nullptr : update[0];
    if (x->lv()[0].forward != nullptr) {
      x->lv()[0].forward->backward = x;
    } else {
      tail = x;
    }
  }

  // Unlinks x (in the list) from the list.
  void Unlink(Node* x) {
    Node* update[kMaxLevel];
    Node* p = header;
    for (int i = level - 1; i >= 0; --i) {
      while (p->lv()[i].forward != nullptr && p->lv()[i].forward != x &&
             Less(p->lv()[i].forward->score, p->lv()[i].forward->member(), x->score,
                  x->member())) {
        p = p->lv()[i].forward;
      }
      update[i] = p;
    }
    for (int i = 0; i < level; ++i) {
      if (update[i]->lv()[i].forward == x) {
        update[i]->lv()[i].span += x->lv()[i].span - 1;
        update[i]->lv()[i].forward = x->lv()[i].forward;
      } else {
        --update[i]->lv()[i].span;
      }
    }
    if (x->lv()[0].forward != nullptr) {
      x->lv()[0].forward->backward = x->backward;
    } else {
      tail = x->backward;
    }
    while (level > 1 && header->lv()[level - 1].forward == nullptr) --level;
  }

  // The node of 0-based rank r.
  Node* At(size_t r) const {
    const size_t target = r + 1;
    size_t traversed = 0;
    Node* p = header;
    for (int i = level - 1; i >= 0; --i) {
      while (p->lv()[i].forward != nullptr && traversed + p->lv()[i].span <= target) {
        traversed += p->lv()[i].span;
        p = p->lv()[i].forward;
      }
      if (traversed == target) return p;
    }
    return nullptr;
  }
};

ZSetValue::ZSetValue() : Collection(ValueType::kZSet) {
  static_assert(sizeof(Node) % alignof(Node::Level) == 0, "links right after a node");
}

ZSetValue::~ZSetValue() {
  delete list_;
  std::free(pack_);
}

std::string ZSetValue::EncodeScore(double score) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &score, 8);
  return out;
}

double ZSetValue::DecodeScore(std::string_view bytes) {
  double d = 0;
  if (bytes.size() == 8) std::memcpy(&d, bytes.data(), 8);
  return d;
}

size_t ZSetValue::bytes() const {
  size_t b = Chunk(sizeof(ZSetValue));
  if (list_ == nullptr) return b + (pack_size_ > 0 ? Chunk(pack_size_) : 0);
  return b + Chunk(sizeof(List)) + list_->header->bytes() +
         Chunk(list_->buckets.size() * sizeof(Node*)) + list_->node_bytes;
}

std::unique_ptr<Collection> ZSetValue::Clone() const {
  auto c = std::make_unique<ZSetValue>();
  if (list_ != nullptr) {
    c->Convert();
    c->list_->Rehash(list_->buckets.size());
  }
  EncodingLimits unlimited;
  unlimited.zset_max_listpack_entries = SIZE_MAX;
  unlimited.zset_max_listpack_value = SIZE_MAX;
  if (count_ > 0) {
    Walk(0, count_ - 1, false, [&](std::string_view m, double score) {
      c->Put(m, score, unlimited, /*exact=*/true);
    });
  }
  return c;
}

void ZSetValue::ForEachElement(const ElementVisitor& fn) const {
  if (count_ == 0) return;
  Walk(0, count_ - 1, false,
       [&](std::string_view m, double score) { fn(m, EncodeScore(score)); });
}

std::optional<std::string_view> ZSetValue::FindElement(std::string_view elem,
                                                       std::string* scratch) const {
  std::optional<double> score = Score(elem);
  if (!score.has_value()) return std::nullopt;
  *scratch = EncodeScore(*score);
  return *scratch;
}

void ZSetValue::LoadElement(std::string_view elem, std::string_view value,
                            const EncodingLimits& limits) {
  Put(elem, DecodeScore(value), limits, /*exact=*/true);
}

void ZSetValue::Splice(size_t pos, size_t len, std::string_view with) {
  element::Splice(pack_, pack_size_, pos, len, with);
}

size_t ZSetValue::PackFind(std::string_view member, double* score) const {
  size_t found = std::string_view::npos;
  WalkPack(pack_, pack_size_, [&](const PackItem& it) {
    if (it.member != member) return true;
    found = it.begin;
    *score = it.score;
    return false;
  });
  return found;
}

void ZSetValue::PackInsert(std::string_view member, double score, bool exact) {
  // Redis's listpack keeps a score as text, and -0 as the integer 0.
  if (score == 0 && !exact) score = 0;
  size_t at = pack_size_;
  WalkPack(pack_, pack_size_, [&](const PackItem& it) {
    if (!Less(score, member, it.score, it.member)) return true;
    at = it.begin;
    return false;
  });
  std::string item(8, '\0');
  std::memcpy(item.data(), &score, 8);
  PutVarint(&item, member.size());
  item.append(member);
  Splice(at, 0, item);
}

void ZSetValue::PackErase(size_t pos) {
  const char* p = pack_ + pos + 8;
  size_t len = GetVarint(&p);
  size_t end = static_cast<size_t>(p - pack_) + len;
  Splice(pos, end - pos, {});
}

void ZSetValue::Prepare(size_t size_hint, size_t longest, const EncodingLimits& limits) {
  if (count_ == 0 && (size_hint > limits.zset_max_listpack_entries ||
                      longest > limits.zset_max_listpack_value)) {
    Convert();
  }
}

std::optional<double> ZSetValue::Score(std::string_view member) const {
  if (list_ != nullptr) {
    Node* n = list_->Find(member);
    if (n == nullptr) return std::nullopt;
    return n->score;
  }
  double score;
  if (PackFind(member, &score) == std::string_view::npos) return std::nullopt;
  return score;
}

bool ZSetValue::Set(std::string_view member, double score, const EncodingLimits& limits) {
  return Put(member, score, limits, /*exact=*/false);
}

bool ZSetValue::Put(std::string_view member, double score, const EncodingLimits& limits,
                    bool exact) {
  if (list_ == nullptr) {
    double old;
    size_t pos = PackFind(member, &old);
    if (pos != std::string_view::npos) {
      if (old == score) return false;
      PackErase(pos);
      PackInsert(member, score, exact);
      return false;
    }
    if (count_ + 1 > limits.zset_max_listpack_entries ||
        member.size() > limits.zset_max_listpack_value) {
      Convert();
    } else {
      PackInsert(member, score, exact);
      ++count_;
      return true;
    }
  }
  if (Node* n = list_->Find(member)) {
    if (n->score == score) return false;
    // In place when the order stays, else out and back in at its new place.
    const bool stays =
        (n->backward == nullptr ||
         Less(n->backward->score, n->backward->member(), score, n->member())) &&
        (n->lv()[0].forward == nullptr ||
         Less(score, n->member(), n->lv()[0].forward->score,
              n->lv()[0].forward->member()));
    if (stays) {
      n->score = score;
    } else {
      list_->Unlink(n);
      n->score = score;
      list_->Link(n, count_ - 1);
    }
    return false;
  }
  Node* n = Node::Make(RandomLevel(), score, member);
  list_->Link(n, count_);
  if (count_ + 1 > list_->buckets.size()) list_->Rehash(list_->buckets.size() * 2);
  list_->HashInsert(n);
  list_->node_bytes += n->bytes();
  ++count_;
  return true;
}

bool ZSetValue::Remove(std::string_view member) {
  if (list_ == nullptr) {
    double score;
    size_t pos = PackFind(member, &score);
    if (pos == std::string_view::npos) return false;
    PackErase(pos);
    --count_;
    return true;
  }
  Node* n = list_->Find(member);
  if (n == nullptr) return false;
  list_->Unlink(n);
  list_->HashErase(n);
  list_->node_bytes -= n->bytes();
  ::operator delete(n);
  --count_;
  if (list_->buckets.size() > 4 && size_t{count_} * 8 < list_->buckets.size()) {
    size_t b = 4;
    while (b < count_) b *= 2;
    list_->Rehash(b);
  }
  return true;
}

void ZSetValue::Convert() {
  if (list_ != nullptr) return;
  auto list = std::make_unique<List>();
  size_t b = 4;
  while (b < count_) b *= 2;
  list->buckets.assign(b, nullptr);
  size_t n = 0;
  WalkPack(pack_, pack_size_, [&](const PackItem& it) {
    Node* node = Node::Make(RandomLevel(), it.score, it.member);
    list->Link(node, n++);  // in order: each goes last
    list->HashInsert(node);
    list->node_bytes += node->bytes();
    return true;
  });
  std::free(pack_);
  pack_ = nullptr;
  pack_size_ = 0;
  list_ = list.release();
}

size_t ZSetValue::CountBefore(const Before& before) const {
  size_t n = 0;
  if (list_ == nullptr) {
    WalkPack(pack_, pack_size_, [&](const PackItem& it) {
      if (!before(it.score, it.member)) return false;
      ++n;
      return true;
    });
    return n;
  }
  Node* p = list_->header;
  for (int i = list_->level - 1; i >= 0; --i) {
    while (p->lv()[i].forward != nullptr &&
           before(p->lv()[i].forward->score, p->lv()[i].forward->member())) {
      n += p->lv()[i].span;
      p = p->lv()[i].forward;
    }
  }
  return n;
}

std::optional<size_t> ZSetValue::Rank(std::string_view member) const {
  std::optional<double> score = Score(member);
  if (!score.has_value()) return std::nullopt;
  return CountBefore(
      [&](double s, std::string_view m) { return Less(s, m, *score, member); });
}

void ZSetValue::Walk(size_t first, size_t last, bool reverse, const Visitor& fn) const {
  if (first > last || last >= count_) return;
  if (list_ != nullptr) {
    if (!reverse) {
      Node* n = list_->At(first);
      for (size_t r = first; r <= last; ++r, n = n->lv()[0].forward)
        fn(n->member(), n->score);
    } else {
      Node* n = list_->At(last);
      for (size_t r = last + 1; r-- > first; n = n->backward) fn(n->member(), n->score);
    }
    return;
  }
  if (!reverse) {
    size_t r = 0;
    WalkPack(pack_, pack_size_, [&](const PackItem& it) {
      if (r >= first) fn(it.member, it.score);
      return ++r <= last;
    });
    return;
  }
  std::vector<std::pair<std::string_view, double>> items;
  items.reserve(last - first + 1);
  size_t r = 0;
  WalkPack(pack_, pack_size_, [&](const PackItem& it) {
    if (r >= first) items.emplace_back(it.member, it.score);
    return ++r <= last;
  });
  for (size_t i = items.size(); i-- > 0;) fn(items[i].first, items[i].second);
}

uint64_t ZSetValue::Scan(uint64_t cursor, size_t count, const Visitor& fn) const {
  if (list_ == nullptr) {
    if (count_ > 0) Walk(0, count_ - 1, false, fn);
    return 0;
  }
  const uint64_t mask = list_->buckets.size() - 1;
  size_t emitted = 0;
  size_t budget = count * 10;  // as Redis: at most ten empty buckets per element
  do {
    for (Node* n = list_->buckets[cursor & mask]; n != nullptr; n = n->hnext) {
      fn(n->member(), n->score);
      ++emitted;
    }
    cursor = element::NextCursor(cursor, mask);
  } while (cursor != 0 && emitted < count && --budget > 0);
  return cursor;
}

std::pair<std::string, double> ZSetValue::Random(std::mt19937_64& rng) const {
  size_t r = std::uniform_int_distribution<size_t>(0, count_ - 1)(rng);
  std::pair<std::string, double> out;
  Walk(r, r, false, [&](std::string_view m, double score) {
    out = {std::string(m), score};
  });
  return out;
}

}  // namespace edgekv
