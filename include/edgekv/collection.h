// The value of a key that is not a string: a collection held by its entry
// (Entry::collection()). Each type keeps its elements in its own class
// (hash_value.h, ...); the store only frees, measures and copies them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace edgekv {

// A key's type. The numbers are stored on disk and in the log.
enum class ValueType : uint8_t {
  kString = 0,
  kHash = 1,
  kSet = 2,
  kZSet = 3,
};

// TYPE's answer ("string", "hash", ...).
std::string_view TypeName(ValueType t);
// The type TYPE names `name` (SCAN ... TYPE); false for an unknown name.
bool TypeFromName(std::string_view name, ValueType* out);

// Redis 7.0's size thresholds for the compact encodings (CONFIG SET may
// change them at any time; a collection converts when it crosses one, and
// never back, as in Redis).
struct EncodingLimits {
  size_t hash_max_listpack_entries = 512;
  size_t hash_max_listpack_value = 64;
  size_t set_max_intset_entries = 512;
  size_t set_max_listpack_entries = 128;
  size_t set_max_listpack_value = 64;
  size_t zset_max_listpack_entries = 128;
  size_t zset_max_listpack_value = 64;
};

class Collection {
 public:
  explicit Collection(ValueType type, bool on_disk = false)
      : type_(type), on_disk_(on_disk) {}
  virtual ~Collection() = default;
  Collection(const Collection&) = delete;
  Collection& operator=(const Collection&) = delete;

  ValueType type() const { return type_; }
  // A collection whose elements are on disk, with only its changes not yet
  // there in memory (types/cold_collection.h). Store::Find completes one
  // before any command sees it; only the store's element changes and point
  // reads work on it as such.
  bool on_disk() const { return on_disk_; }
  virtual size_t size() const = 0;  // elements
  // Bytes allocated for the elements (an allocator-level estimate).
  virtual size_t bytes() const = 0;
  // OBJECT ENCODING's answer.
  virtual std::string_view encoding() const = 0;
  virtual std::unique_ptr<Collection> Clone() const = 0;

  // Every element with its value as the log and the disk keep it (a hash's
  // field and value; a set's member and ""), in the encoding's order.
  using ElementVisitor =
      std::function<void(std::string_view elem, std::string_view value)>;
  virtual void ForEachElement(const ElementVisitor& fn) const = 0;
  // One element's value as ForEachElement gives it (made in *scratch when
  // it is not kept as such), or nullopt when absent.
  virtual std::optional<std::string_view> FindElement(std::string_view elem,
                                                      std::string* scratch) const = 0;
  // Adds an element read back from the log or the disk.
  virtual void LoadElement(std::string_view elem, std::string_view value,
                           const EncodingLimits& limits) = 0;

 private:
  const ValueType type_;
  const bool on_disk_;
};

// An empty collection of type t (not kString).
std::unique_ptr<Collection> NewCollection(ValueType t);

}  // namespace edgekv
