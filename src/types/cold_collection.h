// A big collection that stays on disk while its elements are changed: what
// memory holds of it is its metadata (type, disk version, size) and the
// changes not yet known to be on disk, each element's latest value or its
// removal. The store reads an element from here first, then from disk
// (Store::ReadElements), and completes it into the whole collection when a
// command needs all of it (Store::Find). Once its changes are on disk they
// may be dropped (ClearChanges): the disk then holds everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "edgekv/collection.h"

namespace edgekv {

class ColdCollection final : public Collection {
 public:
  ColdCollection(ValueType type, uint64_t version, size_t size, std::string_view encoding)
      : Collection(type, /*on_disk=*/true),
        version_(version),
        size_(size),
        encoding_(encoding) {}

  uint64_t version() const { return version_; }
  size_t size() const override { return size_; }
  size_t bytes() const override { return sizeof(*this) + change_bytes_; }
  // The encoding the whole collection has (a big one's).
  std::string_view encoding() const override { return encoding_; }
  // A copy of the metadata and the changes: a ColdCollection of the same
  // disk version (Store::Find completes it before anything copies a value).
  std::unique_ptr<Collection> Clone() const override;
  // The elements changed and still present, with their values.
  void ForEachElement(const ElementVisitor& fn) const override;
  // Only what the changes know: nullopt also for an element on disk.
  std::optional<std::string_view> FindElement(std::string_view elem,
                                              std::string*) const override;
  void LoadElement(std::string_view elem, std::string_view value,
                   const EncodingLimits&) override {
    Set(elem, value, false);
  }

  // What the changes say of elem: nullptr when nothing (the disk knows),
  // else its latest value or its removal (nullopt).
  const std::optional<std::string>* Change(std::string_view elem) const;
  // elem now has `value` (as the log keeps it); `added`: it is new.
  void Set(std::string_view elem, std::string_view value, bool added);
  // elem, which was there, is removed.
  void Remove(std::string_view elem);
  // Every change is on disk: forget them.
  void ClearChanges();
  size_t changes() const { return changes_.size(); }
  // Each change in element order: fn(elem, value or nullopt for a removal).
  void ForEachChange(
      const std::function<void(std::string_view elem,
                               const std::optional<std::string>& value)>& fn) const;

 private:
  std::optional<std::string>& Slot(std::string_view elem);

  const uint64_t version_;
  size_t size_;
  const std::string_view encoding_;  // a literal
  std::map<std::string, std::optional<std::string>, std::less<>> changes_;
  size_t change_bytes_ = 0;
};

}  // namespace edgekv
