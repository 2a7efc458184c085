// A text sparkline as Redis draws them (its sparkline.c, used by LATENCY
// GRAPH): each value a column of `rows` rows scaled between the smallest and
// the largest value, three heights per row ("_", "o", "#", and "|" below the
// top of a bar); then one blank row and each column's label written
// downwards, a character per row. Past `columns` values the graph goes on
// in another block, after an empty line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace edgekv {

// `labels` has one entry per value.
std::string RenderSparkline(const std::vector<uint32_t>& values,
                            const std::vector<std::string>& labels, size_t columns,
                            int rows);

}  // namespace edgekv
