#include "edgekv/collection.h"

#include <strings.h>

namespace edgekv {
namespace {
constexpr std::string_view kNames[] = {"string", "hash", "set", "zset"};
}  // namespace

std::string_view TypeName(ValueType t) {
  auto i = static_cast<size_t>(t);
  return i < std::size(kNames) ? kNames[i] : "none";
}

bool TypeFromName(std::string_view name, ValueType* out) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (name.size() == kNames[i].size() &&
        ::strncasecmp(name.data(), kNames[i].data(), name.size()) == 0) {
      *out = static_cast<ValueType>(i);
      return true;
    }
  }
  return false;
}

}  // namespace edgekv
