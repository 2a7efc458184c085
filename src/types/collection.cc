#include "edgekv/collection.h"

#include <strings.h>

#include "types/hash_value.h"
#include "types/set_value.h"
#include "types/zset_value.h"

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

std::unique_ptr<Collection> NewCollection(ValueType t) {
  switch (t) {
    case ValueType::kHash:
      return std::make_unique<HashValue>();
    case ValueType::kSet:
      return std::make_unique<SetValue>();
    case ValueType::kZSet:
      return std::make_unique<ZSetValue>();
    default:
      return nullptr;
  }
}

}  // namespace edgekv
