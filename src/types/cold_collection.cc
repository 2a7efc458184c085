#include "types/cold_collection.h"

namespace edgekv {
namespace {
// A map node: the tree links and colour, the key and the optional value.
constexpr size_t kNodeBytes =
    32 + sizeof(std::string) + sizeof(std::optional<std::string>);

size_t ChangeBytes(std::string_view elem, const std::optional<std::string>& v) {
  return kNodeBytes + elem.size() + (v.has_value() ? v->size() : 0);
}
}  // namespace

std::unique_ptr<Collection> ColdCollection::Clone() const {
  auto c = std::make_unique<ColdCollection>(type(), version_, size_, encoding_);
  c->changes_ = changes_;
  c->change_bytes_ = change_bytes_;
  return c;
}

void ColdCollection::ForEachElement(const ElementVisitor& fn) const {
  for (const auto& [elem, value] : changes_) {
    if (value.has_value()) fn(elem, *value);
  }
}

std::optional<std::string_view> ColdCollection::FindElement(std::string_view elem,
                                                            std::string*) const {
  const std::optional<std::string>* c = Change(elem);
  if (c == nullptr || !c->has_value()) return std::nullopt;
  return std::string_view(**c);
}

const std::optional<std::string>* ColdCollection::Change(std::string_view elem) const {
  auto it = changes_.find(elem);
  return it == changes_.end() ? nullptr : &it->second;
}

std::optional<std::string>& ColdCollection::Slot(std::string_view elem) {
  auto it = changes_.find(elem);
  if (it == changes_.end()) {
    it = changes_.emplace(std::string(elem), std::nullopt).first;
    change_bytes_ += ChangeBytes(elem, std::nullopt);
  }
  return it->second;
}

void ColdCollection::Set(std::string_view elem, std::string_view value, bool added) {
  std::optional<std::string>& slot = Slot(elem);
  change_bytes_ -= ChangeBytes(elem, slot);
  slot.emplace(value);
  change_bytes_ += ChangeBytes(elem, slot);
  if (added) ++size_;
}

void ColdCollection::Remove(std::string_view elem) {
  std::optional<std::string>& slot = Slot(elem);
  change_bytes_ -= ChangeBytes(elem, slot);
  slot.reset();
  change_bytes_ += ChangeBytes(elem, slot);
  --size_;
}

void ColdCollection::ClearChanges() {
  changes_.clear();
  change_bytes_ = 0;
}

void ColdCollection::ForEachChange(
    const std::function<void(std::string_view, const std::optional<std::string>&)>& fn)
    const {
  for (const auto& [elem, value] : changes_) fn(elem, value);
}

}  // namespace edgekv
