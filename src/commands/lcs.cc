#include "lcs.h"

#include <algorithm>

#include "args.h"
#include "dispatcher.h"
#include "keyspace.h"

namespace edgekv {

LcsResult ComputeLcs(std::string_view a, std::string_view b, bool want_subsequence,
                     bool want_ranges, int64_t min_range) {
  const auto alen = static_cast<uint32_t>(a.size());
  const auto blen = static_cast<uint32_t>(b.size());
  const size_t width = size_t{blen} + 1;
  std::vector<uint32_t> dp((size_t{alen} + 1) * width, 0);
  auto at = [&](uint32_t i, uint32_t j) -> uint32_t& { return dp[i * width + j]; };
  for (uint32_t i = 1; i <= alen; ++i) {
    for (uint32_t j = 1; j <= blen; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1
                                      : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  LcsResult r;
  r.len = at(alen, blen);
  if (!want_subsequence && !want_ranges) return r;
  if (want_subsequence) r.subsequence.assign(r.len, '\0');
  // Walk back from the end. A range grows backwards while the matches stay
  // contiguous in both strings; it is emitted when they stop being so, or at
  // the start of either string (Redis's order and its edge cases).
  uint32_t idx = r.len, i = alen, j = blen;
  uint32_t as = alen, ae = 0, bs = 0, be = 0;  // as == alen: no open range
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      if (want_subsequence) r.subsequence[idx - 1] = a[i - 1];
      if (as == alen) {
        as = ae = i - 1;
        bs = be = j - 1;
      } else if (as == i && bs == j) {
        --as;
        --bs;
      } else {
        emit = true;
      }
      if (as == 0 || bs == 0) emit = true;
      --idx;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (as != alen) emit = true;
    }
    if (emit) {
      int64_t match_len = int64_t{ae} - as + 1;
      if (want_ranges && (min_range == 0 || match_len >= min_range)) {
        r.ranges.push_back({as, ae, bs, be});
      }
      as = alen;
    }
  }
  return r;
}

void LcsCommand(CommandContext& ctx) {
  Entry* ea = LookupRead(ctx, ctx.arg(1));
  Entry* eb = LookupRead(ctx, ctx.arg(2));
  if ((ea != nullptr && ea->is_collection()) || (eb != nullptr && eb->is_collection())) {
    ctx.reply->Error("ERR The specified keys must contain string values");
    return;
  }
  std::string_view a = ea != nullptr ? ea->value() : std::string_view();
  std::string_view b = eb != nullptr ? eb->value() : std::string_view();
  bool idx = false, len = false, with_len = false;
  int64_t min_range = 0;
  for (size_t k = 3; k < ctx.argc(); ++k) {
    std::string_view opt = ctx.arg(k);
    if (EqualsIgnoreCase(opt, "IDX")) {
      idx = true;
    } else if (EqualsIgnoreCase(opt, "LEN")) {
      len = true;
    } else if (EqualsIgnoreCase(opt, "WITHMATCHLEN")) {
      with_len = true;
    } else if (EqualsIgnoreCase(opt, "MINMATCHLEN") && k + 1 < ctx.argc()) {
      if (!ParseInt64(ctx.arg(++k), &min_range)) {
        ctx.reply->Error(errors::kNotInteger);
        return;
      }
      if (min_range < 0) min_range = 0;
    } else {
      ctx.reply->Error(errors::kSyntax);
      return;
    }
  }
  if (idx && len) {
    ctx.reply->Error("ERR If you want both the length and indexes, please just use IDX.");
    return;
  }
  // The table is transient memory a client asks for: bounded as Redis 7.2
  // bounds it, by proto-max-bulk-len (4 bytes per cell).
  uint64_t cells = (uint64_t{a.size()} + 1) * (uint64_t{b.size()} + 1);
  if (cells >
      static_cast<uint64_t>(ctx.server->config().Int(Cfg::kProtoMaxBulkLen)) / 4) {
    ctx.reply->Error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    return;
  }
  LcsResult r = ComputeLcs(a, b, /*want_subsequence=*/!idx && !len, idx, min_range);
  if (len) {
    ctx.reply->Integer(r.len);
    return;
  }
  if (!idx) {
    ctx.reply->Bulk(r.subsequence);
    return;
  }
  ReplyBuilder& out = *ctx.reply;
  out.MapHeader(2);
  out.Bulk("matches");
  out.ArrayHeader(r.ranges.size());
  for (const LcsRange& m : r.ranges) {
    out.ArrayHeader(with_len ? 3 : 2);
    out.ArrayHeader(2);
    out.Integer(m.a_start);
    out.Integer(m.a_end);
    out.ArrayHeader(2);
    out.Integer(m.b_start);
    out.Integer(m.b_end);
    if (with_len) out.Integer(int64_t{m.a_end} - m.a_start + 1);
  }
  out.Bulk("len");
  out.Integer(r.len);
}

}  // namespace edgekv
