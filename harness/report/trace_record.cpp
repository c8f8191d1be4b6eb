#include "harness/report/trace_record.hpp"

#include "probes/trace_format.hpp"

#include <algorithm>
#include <array>

namespace harness::report {
namespace {

constexpr const auto& kKeyNames = probes::trace::all_keys;

// Key ids grouped by name length, computed from the key list: a lookup compares only the few
// names of the same length (this runs for every key of every record).
constexpr std::size_t kMaxKeyLength = [] {
  std::size_t n = 0;
  for (auto k : kKeyNames)
    n = std::max(n, k.size());
  return n;
}();

constexpr std::size_t kMaxSameLength = [] {
  std::array<std::size_t, kMaxKeyLength + 1> count{};
  for (auto k : kKeyNames)
    ++count[k.size()];
  return *std::max_element(count.begin(), count.end());
}();

struct SameLength {
  std::array<std::uint8_t, kMaxSameLength> ids{};
  std::uint8_t count = 0;
};

constexpr auto kByLength = [] {
  std::array<SameLength, kMaxKeyLength + 1> t{};
  for (std::size_t i = 0; i < kKeyNames.size(); ++i) {
    auto& bucket = t[kKeyNames[i].size()];
    bucket.ids[bucket.count++] = static_cast<std::uint8_t>(i);
  }
  return t;
}();

} // namespace

std::string_view key_name(Key k) {
  return kKeyNames[static_cast<std::size_t>(k)];
}

std::optional<Key> key_from_name(std::string_view name) {
  if (name.size() >= kByLength.size())
    return std::nullopt;
  const SameLength& bucket = kByLength[name.size()];
  for (std::size_t i = 0; i < bucket.count; ++i)
    if (kKeyNames[bucket.ids[i]] == name)
      return static_cast<Key>(bucket.ids[i]);
  return std::nullopt;
}

namespace {
namespace lc = probes::trace::lost_cause;
constexpr std::array<std::string_view, kLostCauses> kLostCauseNames = {
    lc::overrun, lc::missed, lc::transport, lc::skipped, lc::gap, lc::uncounted, "other"};
} // namespace

std::string_view lost_cause_name(LostCause c) {
  return kLostCauseNames[static_cast<std::size_t>(c)];
}

LostCause lost_cause_from_name(std::string_view name) {
  for (std::size_t i = 0; i + 1 < kLostCauses; ++i)
    if (kLostCauseNames[i] == name)
      return static_cast<LostCause>(i);
  return LostCause::other;
}

} // namespace harness::report
