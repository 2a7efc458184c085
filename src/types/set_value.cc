#include "types/set_value.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "types/element_util.h"

namespace edgekv {
namespace {

using element::Chunk;

uint8_t WidthOf(int64_t v) {
  if (v >= INT16_MIN && v <= INT16_MAX) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 4;
  return 8;
}

// Characters of v's decimal form, sign included (Redis's sdigits10).
size_t Digits(int64_t v) {
  char buf[24];
  return static_cast<size_t>(std::to_chars(buf, buf + sizeof(buf), v).ptr - buf);
}

}  // namespace

SetValue::SetValue() : Collection(ValueType::kSet) {}

SetValue::~SetValue() { std::free(intset_); }

bool SetValue::IsInteger(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *out = 0;
    return true;
  }
  size_t first = s[0] == '-' ? 1 : 0;
  if (first == s.size() || s[first] < '1' || s[first] > '9') return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

size_t SetValue::size() const { return enc_ == Enc::kIntset ? ints_ : members_->size(); }

size_t SetValue::bytes() const {
  size_t b = Chunk(sizeof(SetValue));
  if (enc_ == Enc::kIntset) return b + (ints_ > 0 ? Chunk(size_t{ints_} * width_) : 0);
  return b + members_->bytes();
}

std::string_view SetValue::encoding() const {
  switch (enc_) {
    case Enc::kIntset:
      return "intset";
    case Enc::kListpack:
      return "listpack";
    default:
      return "hashtable";
  }
}

std::unique_ptr<Collection> SetValue::Clone() const {
  auto c = std::make_unique<SetValue>();
  c->enc_ = enc_;
  if (enc_ != Enc::kIntset) {
    std::unique_ptr<Collection> m = members_->Clone();
    c->members_.reset(static_cast<HashValue*>(m.release()));
    return c;
  }
  c->width_ = width_;
  c->ints_ = ints_;
  if (ints_ > 0) {
    const size_t n = size_t{ints_} * width_;
    c->intset_ = static_cast<char*>(std::malloc(n));
    if (c->intset_ == nullptr) throw std::bad_alloc();
    std::memcpy(c->intset_, intset_, n);
  }
  return c;
}

int64_t SetValue::IntAt(size_t i) const {
  const char* p = intset_ + i * width_;
  switch (width_) {
    case 2: {
      int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

size_t SetValue::IntSearch(int64_t v, bool* found) const {
  size_t lo = 0, hi = ints_;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int64_t m = IntAt(mid);
    if (m == v) {
      *found = true;
      return mid;
    }
    if (m < v) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *found = false;
  return lo;
}

void SetValue::IntInsert(size_t pos, int64_t v) {
  const uint8_t w = std::max(width_, WidthOf(v));
  char* grown = static_cast<char*>(std::malloc((size_t{ints_} + 1) * w));
  if (grown == nullptr) throw std::bad_alloc();
  auto put = [&](size_t at, int64_t x) {
    char* p = grown + at * w;
    if (w == 2) {
      auto y = static_cast<int16_t>(x);
      std::memcpy(p, &y, 2);
    } else if (w == 4) {
      auto y = static_cast<int32_t>(x);
      std::memcpy(p, &y, 4);
    } else {
      std::memcpy(p, &x, 8);
    }
  };
  if (w == width_) {
    if (pos > 0) std::memcpy(grown, intset_, pos * w);
    if (pos < ints_)
      std::memcpy(grown + (pos + 1) * w, intset_ + pos * w, (ints_ - pos) * w);
    put(pos, v);
  } else {  // a wider member: every member is rewritten at the new width
    for (size_t i = 0, j = 0; i <= ints_; ++i) put(i, i == pos ? v : IntAt(j++));
  }
  std::free(intset_);
  intset_ = grown;
  width_ = w;
  ++ints_;
}

void SetValue::ConvertIntset(Enc to) {
  auto m = std::make_unique<HashValue>();
  if (to == Enc::kHashtable) m->Convert();
  char buf[24];
  for (size_t i = 0; i < ints_; ++i) {
    char* end = std::to_chars(buf, buf + sizeof(buf), IntAt(i)).ptr;
    m->Set(std::string_view(buf, static_cast<size_t>(end - buf)), {}, SIZE_MAX, SIZE_MAX);
  }
  std::free(intset_);
  intset_ = nullptr;
  ints_ = 0;
  // (More integers than a listpack holds make a hashtable.)
  enc_ = m->listpack() ? Enc::kListpack : Enc::kHashtable;
  members_ = std::move(m);
}

void SetValue::Prepare(std::string_view first, size_t size_hint,
                       const EncodingLimits& limits) {
  if (size() != 0) {  // Redis 7.2's setTypeMaybeConvert
    if ((enc_ == Enc::kIntset && size_hint > limits.set_max_intset_entries) ||
        (enc_ == Enc::kListpack && size_hint > limits.set_max_listpack_entries)) {
      if (enc_ == Enc::kIntset) {
        ConvertIntset(Enc::kHashtable);
      } else {
        members_->Convert();
        enc_ = Enc::kHashtable;
      }
    }
    return;
  }
  int64_t v;
  if (IsInteger(first, &v) && size_hint <= limits.set_max_intset_entries) return;
  ConvertIntset(size_hint <= limits.set_max_listpack_entries ? Enc::kListpack
                                                             : Enc::kHashtable);
}

bool SetValue::Contains(std::string_view member) const {
  if (enc_ != Enc::kIntset) return members_->Get(member).has_value();
  int64_t v;
  bool found = false;
  if (IsInteger(member, &v)) IntSearch(v, &found);
  return found;
}

bool SetValue::Add(std::string_view member, const EncodingLimits& limits) {
  if (enc_ == Enc::kIntset) {
    int64_t v;
    if (IsInteger(member, &v)) {
      bool found;
      size_t pos = IntSearch(v, &found);
      if (found) return false;
      IntInsert(pos, v);
      if (ints_ > limits.set_max_intset_entries) ConvertIntset(Enc::kHashtable);
      return true;
    }
    // As Redis 7.2: a listpack when the members (as long as the widest
    // integer's digits) and the new one fit one, else a hashtable.
    size_t longest =
        ints_ == 0 ? 0 : std::max(Digits(IntAt(0)), Digits(IntAt(ints_ - 1)));
    bool pack = ints_ < limits.set_max_listpack_entries &&
                member.size() <= limits.set_max_listpack_value &&
                longest <= limits.set_max_listpack_value;
    ConvertIntset(pack ? Enc::kListpack : Enc::kHashtable);
  }
  if (members_->Get(member).has_value()) return false;
  members_->Set(member, {}, limits.set_max_listpack_entries,
                limits.set_max_listpack_value);
  if (enc_ == Enc::kListpack && !members_->listpack()) enc_ = Enc::kHashtable;
  return true;
}

bool SetValue::Remove(std::string_view member) {
  if (enc_ != Enc::kIntset) return members_->Del(member);
  int64_t v;
  bool found = false;
  if (!IsInteger(member, &v)) return false;
  size_t pos = IntSearch(v, &found);
  if (!found) return false;
  const size_t w = width_;
  std::memmove(intset_ + pos * w, intset_ + (pos + 1) * w, (ints_ - pos - 1) * w);
  --ints_;
  if (ints_ == 0) {
    std::free(intset_);
    intset_ = nullptr;
  } else if (char* shrunk = static_cast<char*>(std::realloc(intset_, ints_ * w))) {
    intset_ = shrunk;
  }
  return true;
}

void SetValue::ForEach(const Visitor& fn) const {
  if (enc_ != Enc::kIntset) {
    members_->ForEach([&](std::string_view m, std::string_view) { fn(m); });
    return;
  }
  char buf[24];
  for (size_t i = 0; i < ints_; ++i) {
    char* end = std::to_chars(buf, buf + sizeof(buf), IntAt(i)).ptr;
    fn(std::string_view(buf, static_cast<size_t>(end - buf)));
  }
}

void SetValue::ForEachElement(const ElementVisitor& fn) const {
  ForEach([&](std::string_view m) { fn(m, {}); });
}

uint64_t SetValue::Scan(uint64_t cursor, size_t count, const Visitor& fn) const {
  if (enc_ == Enc::kHashtable) {
    return members_->Scan(cursor, count,
                          [&](std::string_view m, std::string_view) { fn(m); });
  }
  ForEach(fn);
  return 0;
}

std::string SetValue::Random(std::mt19937_64& rng) const {
  if (enc_ != Enc::kIntset) return std::string(members_->Random(rng).first);
  size_t i = std::uniform_int_distribution<size_t>(0, ints_ - 1)(rng);
  return std::to_string(IntAt(i));
}

}  // namespace edgekv
