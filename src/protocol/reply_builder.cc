#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "edgekv/reply.h"

namespace edgekv {
namespace {

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, p);
}

// Room for the largest header ("*" + 20 digits + "\r\n") in a deferred slot.
constexpr size_t kDeferredSlot = 24;

}  // namespace

void ReplyBuilder::Header(char type, int64_t n) {
  out_->push_back(type);
  AppendInt(out_, n);
  out_->append("\r\n");
}

void ReplyBuilder::SimpleString(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n");
}

void ReplyBuilder::Error(std::string_view msg) {
  out_->push_back('-');
  // The code is the first word when it is all upper case; otherwise "ERR".
  std::string_view code = msg.substr(0, msg.find(' '));
  bool has_code = !code.empty();
  for (char c : code) has_code = has_code && c >= 'A' && c <= 'Z';
  if (!has_code) {
    out_->append("ERR ");
    code = "ERR";
  }
  ++errors_;
  if (sink_ != nullptr) sink_->OnError(code);
  // An error line cannot hold newlines; Redis replaces them with spaces.
  size_t start = out_->size();
  out_->append(msg);
  for (size_t i = start; i < out_->size(); ++i) {
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n') (*out_)[i] = ' ';
  }
  out_->append("\r\n");
}

void ReplyBuilder::ErrorVerbatim(std::string_view msg) {
  out_->push_back('-');
  ++errors_;
  if (sink_ != nullptr) sink_->OnError(msg.substr(0, msg.find(' ')));
  size_t start = out_->size();
  out_->append(msg);
  for (size_t i = start; i < out_->size(); ++i) {
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n') (*out_)[i] = ' ';
  }
  out_->append("\r\n");
}

void ReplyBuilder::BigNumber(std::string_view digits) {
  if (resp_ >= 3) {
    out_->push_back('(');
    out_->append(digits);
    out_->append("\r\n");
  } else {
    Bulk(digits);
  }
}

std::string ReplyBuilder::TakeBackError(size_t mark) {
  std::string error = out_->substr(mark + 1);
  if (error.size() >= 2) error.resize(error.size() - 2);
  out_->resize(mark);
  if (errors_ > 0) --errors_;
  if (sink_ != nullptr)
    sink_->OnErrorTakenBack(std::string_view(error).substr(0, error.find(' ')));
  return error;
}

void ReplyBuilder::Integer(int64_t v) { Header(':', v); }

void ReplyBuilder::Bulk(std::string_view s) {
  if (!Fits(s.size())) return;
  Header('$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n");
}

void ReplyBuilder::Null() {
  if (resp_ >= 3) {
    out_->append("_\r\n");
  } else {
    out_->append("$-1\r\n");
  }
}

void ReplyBuilder::NullArray() {
  if (resp_ >= 3) {
    out_->append("_\r\n");
  } else {
    out_->append("*-1\r\n");
  }
}

void ReplyBuilder::Double(double v) {
  std::string s = FormatDouble(v);
  if (resp_ >= 3) {
    out_->push_back(',');
    out_->append(s);
    out_->append("\r\n");
  } else {
    Bulk(s);
  }
}

void ReplyBuilder::Bool(bool v) {
  if (resp_ >= 3) {
    out_->append(v ? "#t\r\n" : "#f\r\n");
  } else {
    Integer(v ? 1 : 0);
  }
}

void ReplyBuilder::Verbatim(std::string_view s, std::string_view format) {
  if (format.size() != 3) format = "txt";
  if (resp_ >= 3) {
    if (!Fits(s.size())) return;
    Header('=', static_cast<int64_t>(s.size() + 4));
    out_->append(format);
    out_->push_back(':');
    out_->append(s);
    out_->append("\r\n");
  } else {
    Bulk(s);
  }
}

void ReplyBuilder::ArrayHeader(size_t n) { Header('*', static_cast<int64_t>(n)); }

void ReplyBuilder::MapHeader(size_t pairs) {
  if (resp_ >= 3) {
    Header('%', static_cast<int64_t>(pairs));
  } else {
    Header('*', static_cast<int64_t>(pairs * 2));
  }
}

void ReplyBuilder::SetHeader(size_t n) {
  Header(resp_ >= 3 ? '~' : '*', static_cast<int64_t>(n));
}

size_t ReplyBuilder::BeginDeferred() {
  size_t mark = out_->size();
  out_->append(kDeferredSlot, '\0');
  return mark;
}

void ReplyBuilder::FinishDeferredArray(size_t mark, size_t n) {
  char buf[kDeferredSlot];
  buf[0] = '*';
  auto [p, ec] = std::to_chars(buf + 1, buf + sizeof(buf), n);
  *p++ = '\r';
  *p++ = '\n';
  size_t len = static_cast<size_t>(p - buf);
  out_->replace(mark, kDeferredSlot, buf, len);
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%.17g", v);
  return std::string(buf, static_cast<size_t>(n));
}

std::string FormatLongDouble(long double v) {
  char buf[5 * 1024];
  int n = std::snprintf(buf, sizeof(buf), "%.17Lf", v);
  std::string s(buf, static_cast<size_t>(n));
  // Trim trailing zeros after the decimal point, then the point itself.
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace edgekv
