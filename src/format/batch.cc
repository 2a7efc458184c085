#include "format/batch.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <cstring>

namespace edgekv::wal {
namespace {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 128) {
    out->push_back(static_cast<char>(v | 128));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

void PutDb(std::string* out, int db) {
  out->push_back(static_cast<char>(db & 0xff));
  out->push_back(static_cast<char>((db >> 8) & 0xff));
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool Byte(uint8_t* v) {
    if (pos_ >= s_.size()) return false;
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool Db(int* v) {
    if (s_.size() - pos_ < 2) return false;
    *v = static_cast<uint8_t>(s_[pos_]) | (static_cast<uint8_t>(s_[pos_ + 1]) << 8);
    pos_ += 2;
    return true;
  }
  bool Fixed64(int64_t* v) {
    if (s_.size() - pos_ < 8) return false;
    *v = static_cast<int64_t>(GetFixed64(s_.data() + pos_));
    pos_ += 8;
    return true;
  }
  // n bytes as they are (a score).
  bool Raw(size_t n, std::string_view* v) {
    if (s_.size() - pos_ < n) return false;
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Fixed32(uint32_t* v) {
    if (s_.size() - pos_ < 4) return false;
    *v = GetFixed32(s_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (pos_ >= s_.size()) return false;
      uint8_t b = static_cast<uint8_t>(s_[pos_++]);
      r |= static_cast<uint64_t>(b & 127) << shift;
      if (!(b & 128)) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool String(std::string_view* v) {
    uint64_t n;
    if (!Varint(&n) || n > s_.size() - pos_) return false;
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

void PutFixed32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 4);
}

void PutFixed64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 8);
}

uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// ISA-L's crc32_gzip_refl is zlib's crc32() (the same reflected CRC-32),
// about ten times faster on records of a hundred bytes.
uint32_t FrameCrc(std::string_view s) {
  return crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

void BatchBuilder::Put(int db, std::string_view key, std::string_view value,
                       int64_t expire_ms, uint8_t flags) {
  ops_.push_back(static_cast<char>(Op::kPut));
  PutDb(&ops_, db);
  ops_.push_back(static_cast<char>(flags));
  PutString(&ops_, key);
  PutString(&ops_, value);
  PutFixed64(&ops_, static_cast<uint64_t>(expire_ms));
  ++count_;
}

void BatchBuilder::Erase(int db, std::string_view key, uint8_t flags) {
  ops_.push_back(static_cast<char>(Op::kErase));
  PutDb(&ops_, db);
  ops_.push_back(static_cast<char>(flags));
  PutString(&ops_, key);
  ++count_;
}

void BatchBuilder::HashSet(int db, std::string_view key, std::string_view field,
                           std::string_view value, uint8_t flags) {
  ops_.push_back(static_cast<char>(Op::kHashSet));
  PutDb(&ops_, db);
  ops_.push_back(static_cast<char>(flags));
  PutString(&ops_, key);
  PutString(&ops_, field);
  PutString(&ops_, value);
  ++count_;
}

void BatchBuilder::HashDel(int db, std::string_view key, std::string_view field,
                           uint8_t flags) {
  ops_.push_back(static_cast<char>(Op::kHashDel));
  PutDb(&ops_, db);
  ops_.push_back(static_cast<char>(flags));
  PutString(&ops_, key);
  PutString(&ops_, field);
  ++count_;
}

void BatchBuilder::ElementSet(ValueType t, int db, std::string_view key,
                              std::string_view elem, std::string_view value,
                              uint8_t flags) {
  if (t == ValueType::kHash) return HashSet(db, key, elem, value, flags);
  ops_.push_back(static_cast<char>(t == ValueType::kZSet ? Op::kZAdd : Op::kSetAdd));
  PutDb(&ops_, db);
  ops_.push_back(static_cast<char>(flags));
  PutString(&ops_, key);
  PutString(&ops_, elem);
  if (t == ValueType::kZSet) {  // the score: 8 bytes
    ops_.append(value.data(), std::min<size_t>(value.size(), 8));
    ops_.append(8 - std::min<size_t>(value.size(), 8), '\0');
  }
  ++count_;
}

void BatchBuilder::ElementDel(ValueType t, int db, std::string_view key,
                              std::string_view elem, uint8_t flags) {
  if (t == ValueType::kHash) return HashDel(db, key, elem, flags);
  ops_.push_back(static_cast<char>(t == ValueType::kZSet ? Op::kZRem : Op::kSetRem));
  PutDb(&ops_, db);
  ops_.push_back(static_cast<char>(flags));
  PutString(&ops_, key);
  PutString(&ops_, elem);
  ++count_;
}

void BatchBuilder::Expire(int db, std::string_view key, int64_t expire_ms,
                          uint8_t flags) {
  ops_.push_back(static_cast<char>(Op::kExpire));
  PutDb(&ops_, db);
  ops_.push_back(static_cast<char>(flags));
  PutString(&ops_, key);
  PutFixed64(&ops_, static_cast<uint64_t>(expire_ms));
  ++count_;
}

void BatchBuilder::FlushDb(int db, uint32_t ns) {
  ops_.push_back(static_cast<char>(Op::kFlushDb));
  PutDb(&ops_, db);
  PutFixed32(&ops_, ns);
  ++count_;
}

void BatchBuilder::SwapDb(int a, int b) {
  ops_.push_back(static_cast<char>(Op::kSwapDb));
  PutDb(&ops_, a);
  PutDb(&ops_, b);
  ++count_;
}

void BatchBuilder::LibraryPut(std::string_view name, std::string_view code) {
  ops_.push_back(static_cast<char>(Op::kLibraryPut));
  PutString(&ops_, name);
  PutString(&ops_, code);
  ++count_;
}

void BatchBuilder::LibraryDelete(std::string_view name) {
  ops_.push_back(static_cast<char>(Op::kLibraryDelete));
  PutString(&ops_, name);
  ++count_;
}

void BatchBuilder::LibraryFlush() {
  ops_.push_back(static_cast<char>(Op::kLibraryFlush));
  ++count_;
}

void BatchBuilder::AppendFrame(uint64_t seq, int64_t time_ms, std::string* out) const {
  size_t start = out->size();
  uint32_t len = static_cast<uint32_t>(kBatchHeaderSize + ops_.size());
  PutFixed32(out, 0);  // CRC, filled below
  PutFixed32(out, len);
  PutFixed64(out, seq);
  PutFixed64(out, static_cast<uint64_t>(time_ms));
  PutFixed32(out, count_);
  out->append(ops_);
  uint32_t crc =
      FrameCrc(std::string_view(out->data() + start + 4, out->size() - start - 4));
  for (int i = 0; i < 4; ++i)
    (*out)[start + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

Status DecodeBatch(std::string_view payload, BatchHeader* header,
                   const std::function<void(const OpView&)>& fn) {
  if (payload.size() < kBatchHeaderSize) return Status::Corruption("short batch");
  header->seq = GetFixed64(payload.data());
  header->time_ms = static_cast<int64_t>(GetFixed64(payload.data() + 8));
  header->count = GetFixed32(payload.data() + 16);
  Reader r(payload.substr(kBatchHeaderSize));
  for (uint32_t i = 0; i < header->count; ++i) {
    uint8_t type;
    OpView op;
    if (!r.Byte(&type)) return Status::Corruption("truncated operation");
    op.op = static_cast<Op>(type);
    bool ok = true;
    switch (op.op) {
      case Op::kPut:
        ok = r.Db(&op.db) && r.Byte(&op.flags) && r.String(&op.key) &&
             r.String(&op.value) && r.Fixed64(&op.expire_ms);
        break;
      case Op::kErase:
        ok = r.Db(&op.db) && r.Byte(&op.flags) && r.String(&op.key);
        break;
      case Op::kFlushDb:
        ok = r.Db(&op.db) && r.Fixed32(&op.ns);
        break;
      case Op::kSwapDb:
        ok = r.Db(&op.db) && r.Db(&op.db2);
        break;
      case Op::kLibraryPut:
        ok = r.String(&op.key) && r.String(&op.value);
        break;
      case Op::kLibraryDelete:
        ok = r.String(&op.key);
        break;
      case Op::kLibraryFlush:
        break;
      case Op::kHashSet:
        op.ctype = ValueType::kHash;
        ok = r.Db(&op.db) && r.Byte(&op.flags) && r.String(&op.key) &&
             r.String(&op.field) && r.String(&op.value);
        break;
      case Op::kHashDel:
      case Op::kSetAdd:
      case Op::kSetRem:
      case Op::kZRem:
        op.ctype = op.op == Op::kHashDel ? ValueType::kHash
                   : op.op == Op::kZRem  ? ValueType::kZSet
                                         : ValueType::kSet;
        ok =
            r.Db(&op.db) && r.Byte(&op.flags) && r.String(&op.key) && r.String(&op.field);
        break;
      case Op::kZAdd:
        op.ctype = ValueType::kZSet;
        ok = r.Db(&op.db) && r.Byte(&op.flags) && r.String(&op.key) &&
             r.String(&op.field) && r.Raw(8, &op.value);
        break;
      case Op::kExpire:
        ok = r.Db(&op.db) && r.Byte(&op.flags) && r.String(&op.key) &&
             r.Fixed64(&op.expire_ms);
        break;
      default:
        return Status::Corruption("unknown operation type " + std::to_string(type));
    }
    if (!ok) return Status::Corruption("truncated operation");
    fn(op);
  }
  if (!r.done()) return Status::Corruption("trailing bytes in batch");
  return Status::Ok();
}

}  // namespace edgekv::wal
