#include "types/hash_value.h"

#include <xxhash.h>

#include <algorithm>
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

// One pair of a listpack: where it starts and ends, and its two strings.
struct PackItem {
  size_t begin, end;
  std::string_view field, value;
};

// Walks the pairs of a listpack; fn returns false to stop.
template <typename Fn>
void WalkPack(std::string_view pack, Fn&& fn) {
  const char* p = pack.data();
  const char* end = p + pack.size();
  while (p < end) {
    PackItem it;
    it.begin = static_cast<size_t>(p - pack.data());
    size_t flen = GetVarint(&p);
    it.field = {p, flen};
    p += flen;
    size_t vlen = GetVarint(&p);
    it.value = {p, vlen};
    p += vlen;
    it.end = static_cast<size_t>(p - pack.data());
    if (!fn(it)) return;
  }
}

std::optional<PackItem> FindInPack(std::string_view pack, std::string_view field) {
  std::optional<PackItem> found;
  WalkPack(pack, [&](const PackItem& it) {
    if (it.field != field) return true;
    found = it;
    return false;
  });
  return found;
}

const uint64_t kSeed = std::random_device{}();

}  // namespace

// A field and its value in one allocation after the link: the field's
// length and the value's (varints), the field, the value. A set's member
// has an empty value: a 14-byte member is 24 bytes, one 32-byte chunk.
struct HashValue::Node {
  Node* next;
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view field() const {
    const char* p = data();
    size_t flen = GetVarint(&p);
    GetVarint(&p);
    return {p, flen};
  }
  std::string_view value() const {
    const char* p = data();
    size_t flen = GetVarint(&p);
    size_t vlen = GetVarint(&p);
    return {p + flen, vlen};
  }
  static Node* Make(std::string_view f, std::string_view v) {
    const size_t head = element::VarintLength(f.size()) + element::VarintLength(v.size());
    void* mem = ::operator new(sizeof(Node) + head + f.size() + v.size());
    Node* n = static_cast<Node*>(mem);
    n->next = nullptr;
    char* d = reinterpret_cast<char*>(n + 1);
    d = element::EncodeVarint(d, f.size());
    d = element::EncodeVarint(d, v.size());
    if (!f.empty()) std::memcpy(d, f.data(), f.size());
    if (!v.empty()) std::memcpy(d + f.size(), v.data(), v.size());
    return n;
  }
  size_t bytes() const {
    const char* p = data();
    size_t flen = GetVarint(&p);
    size_t vlen = GetVarint(&p);
    return Chunk(sizeof(Node) + static_cast<size_t>(p - data()) + flen + vlen);
  }
};

struct HashValue::Table {
  std::vector<Node*> buckets;  // power-of-two size
  size_t count = 0;
  size_t node_bytes = 0;

  ~Table() {
    for (Node* n : buckets) {
      while (n != nullptr) {
        Node* next = n->next;
        ::operator delete(n);
        n = next;
      }
    }
  }
  size_t mask() const { return buckets.size() - 1; }
  Node** Link(std::string_view field, uint64_t h) {
    Node** link = &buckets[h & mask()];
    while (*link != nullptr && (*link)->field() != field) link = &(*link)->next;
    return link;
  }
  void Insert(Node* n, uint64_t h) {
    Node** head = &buckets[h & mask()];
    n->next = *head;
    *head = n;
    node_bytes += n->bytes();
  }
  void Resize(size_t n) {
    std::vector<Node*> old(n, nullptr);
    old.swap(buckets);
    node_bytes = 0;
    for (Node* e : old) {
      while (e != nullptr) {
        Node* next = e->next;
        Insert(e, HashOf(e->field()));
        e = next;
      }
    }
  }
};

HashValue::HashValue() : Collection(ValueType::kHash), pack_(nullptr) {}

HashValue::~HashValue() {
  if (is_table()) {
    delete table_;
  } else {
    std::free(pack_);
  }
}

static_assert(sizeof(HashValue) <= 24, "the object of every small hash");

size_t HashValue::size() const { return is_table() ? table_->count : pack_count_; }

uint64_t HashValue::HashOf(std::string_view field) {
  return XXH3_64bits_withSeed(field.data(), field.size(), kSeed);
}

void HashValue::Splice(size_t pos, size_t len, std::string_view with) {
  element::Splice(pack_, pack_size_, pos, len, with);
}

size_t HashValue::bytes() const {
  size_t b = Chunk(sizeof(HashValue));
  if (!is_table()) return b + (pack_size_ > 0 ? Chunk(pack_size_) : 0);
  return b + Chunk(sizeof(Table)) + Chunk(table_->buckets.size() * sizeof(Node*)) +
         table_->node_bytes;
}

std::unique_ptr<Collection> HashValue::Clone() const {
  auto c = std::make_unique<HashValue>();
  if (!is_table()) {
    c->pack_count_ = pack_count_;
    if (pack_size_ > 0) {
      c->pack_ = static_cast<char*>(std::malloc(pack_size_));
      if (c->pack_ == nullptr) throw std::bad_alloc();
      std::memcpy(c->pack_, pack_, pack_size_);
      c->pack_size_ = pack_size_;
    }
    return c;
  }
  auto t = std::make_unique<Table>();
  t->buckets.assign(table_->buckets.size(), nullptr);
  ForEach([&](std::string_view f, std::string_view v) {
    t->Insert(Node::Make(f, v), HashOf(f));
  });
  t->count = table_->count;
  c->table_ = t.release();
  c->pack_size_ = kTable;
  return c;
}

std::optional<std::string_view> HashValue::Get(std::string_view field) const {
  if (!is_table()) {
    std::optional<PackItem> found = FindInPack(pack(), field);
    if (!found.has_value()) return std::nullopt;
    return found->value;
  }
  Node* n = *table_->Link(field, HashOf(field));
  if (n == nullptr) return std::nullopt;
  return n->value();
}

bool HashValue::Set(std::string_view field, std::string_view value, size_t max_entries,
                    size_t max_value) {
  if (!is_table() && (field.size() > max_value || value.size() > max_value ||
                      pack_size_ + field.size() + value.size() + 20 > kMaxPackBytes)) {
    Convert();
  }
  if (!is_table()) {
    std::optional<PackItem> found = FindInPack(pack(), field);
    if (!found.has_value() &&
        pack_count_ + size_t{1} > std::min(max_entries, kMaxPackFields)) {
      Convert();  // one field more than a listpack holds: into the table
      return Set(field, value, max_entries, max_value);
    }
    std::string item;
    PutVarint(&item, field.size());
    item.append(field);
    PutVarint(&item, value.size());
    item.append(value);
    if (found.has_value()) {
      Splice(found->begin, found->end - found->begin, item);
      return false;
    }
    Splice(pack_size_, 0, item);
    ++pack_count_;
    return true;
  }
  uint64_t h = HashOf(field);
  Node** link = table_->Link(field, h);
  if (Node* old = *link) {
    Node* n = Node::Make(field, value);
    n->next = old->next;
    *link = n;
    table_->node_bytes += n->bytes();
    table_->node_bytes -= old->bytes();
    ::operator delete(old);
    return false;
  }
  if (table_->count + 1 > table_->buckets.size()) {
    table_->Resize(table_->buckets.size() * 2);
  }
  table_->Insert(Node::Make(field, value), h);
  ++table_->count;
  return true;
}

bool HashValue::Del(std::string_view field) {
  if (!is_table()) {
    std::optional<PackItem> found = FindInPack(pack(), field);
    if (!found.has_value()) return false;
    Splice(found->begin, found->end - found->begin, {});
    --pack_count_;
    return true;
  }
  Node** link = table_->Link(field, HashOf(field));
  Node* n = *link;
  if (n == nullptr) return false;
  *link = n->next;
  table_->node_bytes -= n->bytes();
  ::operator delete(n);
  const size_t count = --table_->count;
  if (table_->buckets.size() > 4 && count * 8 < table_->buckets.size()) {
    size_t b = 4;
    while (b < count) b *= 2;
    table_->Resize(b);
  }
  return true;
}

void HashValue::ForEach(const Visitor& fn) const {
  if (!is_table()) {
    WalkPack(pack(), [&](const PackItem& it) {
      fn(it.field, it.value);
      return true;
    });
    return;
  }
  for (Node* n : table_->buckets) {
    for (; n != nullptr; n = n->next) fn(n->field(), n->value());
  }
}

uint64_t HashValue::Scan(uint64_t cursor, size_t count, const Visitor& fn) const {
  if (!is_table()) {
    ForEach(fn);
    return 0;
  }
  const uint64_t mask = table_->mask();
  size_t emitted = 0;
  // As Redis: at most ten empty buckets per element asked for.
  size_t budget = count * 10;
  do {
    for (Node* n = table_->buckets[cursor & mask]; n != nullptr; n = n->next) {
      fn(n->field(), n->value());
      ++emitted;
    }
    cursor = element::NextCursor(cursor, mask);
  } while (cursor != 0 && emitted < count && --budget > 0);
  return cursor;
}

std::pair<std::string_view, std::string_view> HashValue::Random(
    std::mt19937_64& rng) const {
  if (!is_table()) {
    size_t want = std::uniform_int_distribution<size_t>(0, pack_count_ - 1)(rng);
    std::pair<std::string_view, std::string_view> out;
    WalkPack(pack(), [&](const PackItem& it) {
      if (want-- != 0) return true;
      out = {it.field, it.value};
      return false;
    });
    return out;
  }
  std::uniform_int_distribution<size_t> pick(0, table_->mask());
  for (;;) {
    Node* n = table_->buckets[pick(rng)];
    if (n == nullptr) continue;
    size_t len = 0;
    for (Node* m = n; m != nullptr; m = m->next) ++len;
    size_t i = std::uniform_int_distribution<size_t>(0, len - 1)(rng);
    while (i-- > 0) n = n->next;
    return {n->field(), n->value()};
  }
}

void HashValue::Convert() {
  if (is_table()) return;
  auto t = std::make_unique<Table>();
  size_t b = 4;
  while (b < pack_count_) b *= 2;
  t->count = pack_count_;
  t->buckets.assign(b, nullptr);
  WalkPack(pack(), [&](const PackItem& it) {
    t->Insert(Node::Make(it.field, it.value), HashOf(it.field));
    return true;
  });
  std::free(pack_);
  pack_count_ = 0;
  pack_size_ = kTable;
  table_ = t.release();
}

}  // namespace edgekv
