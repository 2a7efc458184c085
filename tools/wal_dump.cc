// edgekv-wal-dump <dir>/wal [--after SEQ]: prints WAL segments in readable
// form, one batch per block, without changing anything (a torn tail is
// reported, not truncated).
#include <cstdio>
#include <cstring>
#include <string>

#include "format/batch.h"
#include "wal/wal_reader.h"

namespace {

std::string Printable(std::string_view s, size_t max = 80) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 32 && c < 127) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  out += "\"";
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgekv;
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "Usage: edgekv-wal-dump <dir>/wal [--after SEQ]\n");
    return 2;
  }
  wal::ReplayOptions ro;
  ro.truncate_torn_tail = false;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--after") == 0) ro.after_seq = std::stoull(argv[i + 1]);
  }
  wal::ReplayResult rr;
  Status s = wal::Replay(
      argv[1], ro,
      [](uint64_t seq, std::string_view payload) -> Status {
        wal::BatchHeader h;
        std::string lines;
        Status d = wal::DecodeBatch(payload, &h, [&](const wal::OpView& op) {
          char head[64];
          switch (op.op) {
            case wal::Op::kPut:
              std::snprintf(head, sizeof(head), "  PUT db=%d flags=%u ", op.db, op.flags);
              lines += head + Printable(op.key) + " " + Printable(op.value) +
                       " expire_ms=" + std::to_string(op.expire_ms) + "\n";
              break;
            case wal::Op::kErase:
              std::snprintf(head, sizeof(head), "  ERASE db=%d flags=%u ", op.db,
                            op.flags);
              lines += head + Printable(op.key) + "\n";
              break;
            case wal::Op::kFlushDb:
              lines += "  FLUSHDB db=" + std::to_string(op.db) +
                       " namespace=" + std::to_string(op.ns) + "\n";
              break;
            case wal::Op::kSwapDb:
              lines += "  SWAPDB " + std::to_string(op.db) + " " +
                       std::to_string(op.db2) + "\n";
              break;
            case wal::Op::kLibraryPut:
              lines +=
                  "  LIBRARY_PUT " + Printable(op.key) + " " + Printable(op.value) + "\n";
              break;
            case wal::Op::kLibraryDelete:
              lines += "  LIBRARY_DELETE " + Printable(op.key) + "\n";
              break;
            case wal::Op::kLibraryFlush:
              lines += "  LIBRARY_FLUSH\n";
              break;
            case wal::Op::kHashSet:
              std::snprintf(head, sizeof(head), "  HSET db=%d flags=%u ", op.db,
                            op.flags);
              lines += head + Printable(op.key) + " " + Printable(op.field) + " " +
                       Printable(op.value) + "\n";
              break;
            case wal::Op::kHashDel:
            case wal::Op::kSetAdd:
            case wal::Op::kSetRem:
            case wal::Op::kZRem:
              std::snprintf(head, sizeof(head), "  %s db=%d flags=%u ",
                            op.op == wal::Op::kHashDel  ? "HDEL"
                            : op.op == wal::Op::kSetAdd ? "SADD"
                            : op.op == wal::Op::kSetRem ? "SREM"
                                                        : "ZREM",
                            op.db, op.flags);
              lines += head + Printable(op.key) + " " + Printable(op.field) + "\n";
              break;
            case wal::Op::kZAdd: {
              double score = 0;
              std::memcpy(&score, op.value.data(), 8);
              std::snprintf(head, sizeof(head), "  ZADD db=%d flags=%u score=%.17g ",
                            op.db, op.flags, score);
              lines += head + Printable(op.key) + " " + Printable(op.field) + "\n";
              break;
            }
            case wal::Op::kExpire:
              std::snprintf(head, sizeof(head), "  EXPIRE db=%d flags=%u ", op.db,
                            op.flags);
              lines += head + Printable(op.key) +
                       " expire_ms=" + std::to_string(op.expire_ms) + "\n";
              break;
          }
        });
        std::printf("batch seq=%llu time_ms=%lld ops=%u\n%s",
                    static_cast<unsigned long long>(seq),
                    static_cast<long long>(h.time_ms), h.count, lines.c_str());
        return d;
      },
      &rr);
  if (!rr.note.empty()) std::printf("# %s\n", rr.note.c_str());
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("# %llu batches, last seq %llu\n",
              static_cast<unsigned long long>(rr.batches),
              static_cast<unsigned long long>(rr.last_seq));
  return 0;
}
