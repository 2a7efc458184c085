#include "util/latency_percentiles.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace edgekv::latency {

std::string ParsePercentiles(std::string_view text, std::vector<double>* out) {
  out->clear();
  if (text.empty()) return {};
  size_t i = 0;
  while (true) {
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    std::string word(text.substr(i, end - i));
    char* stop = nullptr;
    double v = word.empty() ? 0 : std::strtod(word.c_str(), &stop);
    if (word.empty() || stop != word.c_str() + word.size() || std::isnan(v) ||
        std::isspace(static_cast<unsigned char>(word[0]))) {
      return "Invalid latency-tracking-info-percentiles parameters";
    }
    if (v > 100.0 || v < 0.0) {
      return "latency-tracking-info-percentiles parameters should sit between "
             "[0.0,100.0]";
    }
    out->push_back(v);
    if (end == text.size()) return {};
    i = end + 1;
  }
}

std::string FormatPercentile(double p) {
  std::string s = fmt::format("{:f}", p);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string NormalizePercentiles(std::string_view text) {
  std::vector<double> values;
  if (!ParsePercentiles(text, &values).empty()) return std::string(text);
  std::string out;
  for (double v : values) {
    if (!out.empty()) out.push_back(' ');
    out += FormatPercentile(v);
  }
  return out;
}

}  // namespace edgekv::latency
