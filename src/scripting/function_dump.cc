#include "function_dump.h"

#include <isa-l/crc64.h>
#include <liblzf/lzf.h>

#include <cstdint>

namespace edgekv {
namespace {

constexpr uint8_t kOpcodeFunction2 = 245;
constexpr uint8_t kOpcodeFunctionPreGa = 246;
constexpr uint8_t kEncodingLzf = 3;  // after the 0b11 "encoded" marker

// Redis's crc64: the reflected Jones polynomial, no inversions.
uint64_t RedisCrc64(std::string_view data) {
  return ~crc64_jones_refl(
      ~uint64_t{0}, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

void PutLength(std::string* out, uint64_t len) {
  if (len < (1u << 6)) {
    out->push_back(static_cast<char>(len));
  } else if (len < (1u << 14)) {
    out->push_back(static_cast<char>(0x40 | (len >> 8)));
    out->push_back(static_cast<char>(len & 0xff));
  } else if (len <= UINT32_MAX) {
    out->push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i)
      out->push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  } else {
    out->push_back(static_cast<char>(0x81));
    for (int i = 7; i >= 0; --i)
      out->push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  }
}

// As Redis's rdbSaveRawString: LZF for strings over 20 bytes when that saves
// more than 4 bytes, plain otherwise.
void PutString(std::string* out, std::string_view s) {
  if (s.size() > 20) {
    std::string packed(s.size() - 4 + 1, '\0');
    unsigned int n = lzf_compress(s.data(), static_cast<unsigned int>(s.size()),
                                  packed.data(), static_cast<unsigned int>(s.size() - 4));
    if (n > 0) {
      out->push_back(static_cast<char>(0xc0 | kEncodingLzf));
      PutLength(out, n);
      PutLength(out, s.size());
      out->append(packed.data(), n);
      return;
    }
  }
  PutLength(out, s.size());
  out->append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ == data_.size(); }
  bool Byte(uint8_t* b) {
    if (pos_ >= data_.size()) return false;
    *b = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  // A length, or (encoded) the special encoding's number.
  bool Length(uint64_t* len, bool* encoded) {
    uint8_t b;
    if (!Byte(&b)) return false;
    *encoded = false;
    switch (b >> 6) {
      case 0:
        *len = b & 0x3f;
        return true;
      case 1: {
        uint8_t lo;
        if (!Byte(&lo)) return false;
        *len = (uint64_t{b & 0x3fu} << 8) | lo;
        return true;
      }
      case 2: {
        int bytes = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
        if (bytes == 0) return false;
        *len = 0;
        for (int i = 0; i < bytes; ++i) {
          uint8_t x;
          if (!Byte(&x)) return false;
          *len = (*len << 8) | x;
        }
        return true;
      }
      default:
        *encoded = true;
        *len = b & 0x3f;
        return true;
    }
  }
  bool String(std::string* out) {
    uint64_t len;
    bool encoded;
    if (!Length(&len, &encoded)) return false;
    if (!encoded) return Take(len, out);
    if (len <= 2) {  // an integer of 1, 2 or 4 bytes, little endian
      const int bytes = 1 << len;
      int64_t v = 0;
      for (int i = 0; i < bytes; ++i) {
        uint8_t x;
        if (!Byte(&x)) return false;
        v |= int64_t{x} << (8 * i);
      }
      if (bytes < 8 && (v & (int64_t{1} << (8 * bytes - 1))))
        v -= int64_t{1} << (8 * bytes);
      *out = std::to_string(v);
      return true;
    }
    if (len != kEncodingLzf) return false;
    uint64_t packed_len, plain_len;
    if (!Length(&packed_len, &encoded) || encoded || !Length(&plain_len, &encoded) ||
        encoded) {
      return false;
    }
    std::string packed;
    if (!Take(packed_len, &packed)) return false;
    if (plain_len > (uint64_t{1} << 32)) return false;
    out->assign(plain_len, '\0');
    if (plain_len == 0) return true;
    unsigned int n =
        lzf_decompress(packed.data(), static_cast<unsigned int>(packed.size()),
                       out->data(), static_cast<unsigned int>(plain_len));
    return n == plain_len;
  }

 private:
  bool Take(uint64_t len, std::string* out) {
    if (len > data_.size() - pos_) return false;
    out->assign(data_.substr(pos_, len));
    pos_ += len;
    return true;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

std::string EncodeFunctionDump(const std::vector<std::string_view>& codes) {
  std::string out;
  for (std::string_view code : codes) {
    out.push_back(static_cast<char>(kOpcodeFunction2));
    PutString(&out, code);
  }
  out.push_back(static_cast<char>(kFunctionDumpRdbVersion & 0xff));
  out.push_back(static_cast<char>(kFunctionDumpRdbVersion >> 8));
  uint64_t crc = RedisCrc64(out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return out;
}

bool DecodeFunctionDump(std::string_view payload, std::vector<std::string>* codes,
                        std::string* error) {
  codes->clear();
  if (payload.size() < 10) {
    *error = "DUMP payload version or checksum are wrong";
    return false;
  }
  const char* footer = payload.data() + payload.size() - 10;
  const int version =
      static_cast<uint8_t>(footer[0]) | (static_cast<uint8_t>(footer[1]) << 8);
  uint64_t crc = 0;
  for (int i = 0; i < 8; ++i)
    crc |= uint64_t{static_cast<uint8_t>(footer[2 + i])} << (8 * i);
  if (version > kFunctionDumpRdbVersion ||
      crc != RedisCrc64(payload.substr(0, payload.size() - 8))) {
    *error = "DUMP payload version or checksum are wrong";
    return false;
  }
  Reader r(payload.substr(0, payload.size() - 10));
  while (!r.done()) {
    uint8_t opcode = 0;
    r.Byte(&opcode);
    if (opcode == kOpcodeFunctionPreGa) {
      *error = "Pre-GA function format not supported";
      return false;
    }
    if (opcode != kOpcodeFunction2) {
      *error = "given type is not a function";
      return false;
    }
    std::string code;
    if (!r.String(&code)) {
      *error = "Failed loading library payload";
      return false;
    }
    codes->push_back(std::move(code));
  }
  return true;
}

}  // namespace edgekv
