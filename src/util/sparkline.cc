#include "util/sparkline.h"

#include <algorithm>

namespace edgekv {
namespace {

// Three heights per row; a full column below the top of a bar is '|'.
constexpr char kBarChars[] = "_o#";
constexpr int kBarCharCount = 3;

// Columns [first, first + len), scaled between min and max of all values.
void RenderBlock(const std::vector<uint32_t>& values,
                 const std::vector<std::string>& labels, uint32_t min, uint32_t max,
                 size_t first, size_t len, int rows, std::string* out) {
  double range = static_cast<double>(max - min);
  if (range == 0) range = 1;
  const int steps = kBarCharCount * rows;
  std::vector<int> step(len);
  size_t longest_label = 0;
  for (size_t j = 0; j < len; ++j) {
    double rel = static_cast<double>(values[first + j] - min);
    // Truncated twice, as Redis computes it: (int)(rel * steps) / range.
    int s = static_cast<int>(static_cast<int>(rel * steps) / range);
    step[j] = std::clamp(s, 0, steps - 1);
    longest_label = std::max(longest_label, labels[first + j].size());
  }
  std::string line(len, ' ');
  for (int row = 0; row < rows; ++row) {
    for (size_t j = 0; j < len; ++j) {
      int c = step[j] - (rows - row - 1) * kBarCharCount;
      line[j] = c < 0 ? ' ' : c < kBarCharCount ? kBarChars[c] : '|';
    }
    out->append(line).push_back('\n');
  }
  out->append(std::string(len, ' ')).push_back('\n');
  for (size_t k = 0; k < longest_label; ++k) {
    for (size_t j = 0; j < len; ++j) {
      const std::string& label = labels[first + j];
      line[j] = k < label.size() ? label[k] : ' ';
    }
    out->append(line).push_back('\n');
  }
}

}  // namespace

std::string RenderSparkline(const std::vector<uint32_t>& values,
                            const std::vector<std::string>& labels, size_t columns,
                            int rows) {
  std::string out;
  if (values.empty()) return out;
  const auto [min, max] = std::minmax_element(values.begin(), values.end());
  for (size_t first = 0; first < values.size(); first += columns) {
    if (first != 0) out.push_back('\n');
    RenderBlock(values, labels, *min, *max, first,
                std::min(columns, values.size() - first), rows, &out);
  }
  return out;
}

}  // namespace edgekv
