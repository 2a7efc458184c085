#include "edgekv/glob.h"

#include <cctype>

namespace edgekv {
namespace {

char Fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Iterative matcher with single-star backtracking; linear-ish time, so a
// pattern like "a*a*a*a*b" cannot make the server spin exponentially.
bool MatchFrom(std::string_view p, std::string_view s, bool nocase) {
  size_t pi = 0, si = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        while (pi < p.size() && p[pi] == '*') ++pi;
        if (pi == p.size()) return true;
        star_p = pi;
        star_s = si;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (pc == '[') {
        size_t j = pi + 1;
        bool negate = false;
        if (j < p.size() && p[j] == '^') {
          negate = true;
          ++j;
        }
        bool matched = false;
        while (j < p.size() && p[j] != ']') {
          if (p[j] == '\\' && j + 1 < p.size()) {
            ++j;
            if (Fold(p[j], nocase) == Fold(s[si], nocase)) matched = true;
            ++j;
          } else if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
            char lo = Fold(p[j], nocase), hi = Fold(p[j + 2], nocase);
            if (lo > hi) std::swap(lo, hi);
            char c = Fold(s[si], nocase);
            if (c >= lo && c <= hi) matched = true;
            j += 3;
          } else {
            if (Fold(p[j], nocase) == Fold(s[si], nocase)) matched = true;
            ++j;
          }
        }
        if (negate) matched = !matched;
        if (matched) {
          pi = j < p.size() ? j + 1 : j;
          ++si;
          continue;
        }
      } else {
        if (pc == '\\' && pi + 1 < p.size()) {
          ++pi;
          pc = p[pi];
        }
        if (Fold(pc, nocase) == Fold(s[si], nocase)) {
          ++pi;
          ++si;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view s, bool nocase) {
  return MatchFrom(pattern, s, nocase);
}

std::string_view GlobLiteralPrefix(std::string_view pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?' || c == '[' || c == '\\') return pattern.substr(0, i);
  }
  return pattern;
}

}  // namespace edgekv
