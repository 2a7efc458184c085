// The latency-tracking-info-percentiles directive: which percentiles INFO
// latencystats reports, parsed, checked and printed as Redis does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgekv::latency {

// latency-tracking-info-percentiles: numbers 0..100 separated by single
// spaces, as Redis splits the value ("" is none). Returns the error text
// Redis gives, or "" and the values.
std::string ParsePercentiles(std::string_view text, std::vector<double>* out);
// A percentile as Redis prints it: "%f" without trailing zeros ("99.9", "50").
std::string FormatPercentile(double p);
// The directive's text as CONFIG GET shows it ("50.0 99" -> "50 99"); the
// text itself if it is not valid.
std::string NormalizePercentiles(std::string_view text);

}  // namespace edgekv::latency
