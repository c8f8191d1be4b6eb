#include "harness/report/anchor_ids.hpp"

#include "probes/swar.hpp"

#include <array>

namespace harness::report {
namespace {

constexpr auto kNames = [] {
  std::array<std::string_view, kKnownAnchors> names{};
  std::size_t i = 0;
  for (const auto& a : probes::anchor_table)
    if (interpreted(a))
      names[i++] = a.name;
  return names;
}();

} // namespace

std::size_t AnchorIds::slot(std::string_view name) {
  // The first and last eight bytes tell every shipped anchor apart (`set_status.v1_break` /
  // `..v2_break`); a collision only costs the by-size scan.
  std::uint64_t a = name.size(), b = 0;
  if (name.size() >= 8) {
    a ^= probes::swar::load8(name.data());
    b = probes::swar::load8(name.data() + name.size() - 8);
  } else {
    for (char c : name)
      b = (b << 8) | static_cast<unsigned char>(c);
  }
  const std::uint64_t h = a * 0x9e3779b97f4a7c15ull ^ b * 0xc2b2ae3d27d4eb4full;
  return static_cast<std::size_t>(h >> 55) & (kSlots - 1);
}

std::span<const std::string_view> known_anchor_names() {
  return kNames;
}

AnchorIds::AnchorIds() {
  names_.reserve(kNames.size() + 8);
  for (auto n : kNames)
    add(n);
}

void AnchorIds::add(std::string_view name) {
  const auto id = static_cast<AnchorId>(names_.size());
  names_.emplace_back(name);
  by_size_[name.size()].push_back(id);
  if (auto& s = slots_[slot(name)]; s == 0)
    s = static_cast<AnchorId>(id + 1);
}

bool AnchorIds::valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
      return false;
  return true;
}

std::optional<AnchorId> AnchorIds::find(std::string_view name) const {
  if (name.empty() || name.size() >= by_size_.size())
    return std::nullopt;
  if (const AnchorId s = slots_[slot(name)]; s != 0) {
    const std::string& cached = names_[s - 1u];
    if (cached.size() == name.size() &&
        probes::swar::equal(cached.data(), name.data(), name.size()))
      return static_cast<AnchorId>(s - 1u);
  }
  for (AnchorId id : by_size_[name.size()])
    if (names_[id] == name)
      return id;
  return std::nullopt;
}

std::optional<AnchorId> AnchorIds::intern(std::string_view name) {
  if (auto id = find(name))
    return id;
  if (!valid_name(name))
    return std::nullopt;
  if (names_.size() >= kMaxAnchors) {
    if (overflow_ == 0) {
      overflow_ = static_cast<AnchorId>(names_.size());
      names_.emplace_back("(other anchors)"); // not findable by name
    }
    return overflow_;
  }
  add(name);
  return static_cast<AnchorId>(names_.size() - 1);
}

} // namespace harness::report
