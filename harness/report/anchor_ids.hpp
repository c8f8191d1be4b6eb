#pragma once

// Anchor names seen in a trace, as small integers so the correlator can dispatch on them without
// string compares. The anchors the correlator interprets have fixed ids (KnownAnchor, computed
// from the anchor table); any other well-formed name is interned on first sight (bounded), so hit
// counts of anchors this version does not know are still reported.

#include "harness/report/trace_record.hpp"
#include "probes/anchors.hpp"

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::report {

// The anchors the report interprets: every row of the anchor table (probes/anchors.hpp) that is
// not a bare function bound, in table order. Their ids are fixed and computed from the table.
inline constexpr bool interpreted(const probes::AnchorDef& a) {
  return a.fires != probes::Fires::bounds;
}

inline constexpr AnchorId kKnownAnchors = [] {
  AnchorId n = 0;
  for (const auto& a : probes::anchor_table)
    n += interpreted(a) ? 1 : 0;
  return n;
}();

// The fixed id of an interpreted anchor; not a constant expression (a compile error where it is
// used as one) when the table has no such interpreted anchor.
consteval AnchorId known_anchor_id(std::string_view name) {
  AnchorId id = 0;
  for (const auto& a : probes::anchor_table) {
    if (!interpreted(a))
      continue;
    if (a.name == name)
      return id;
    ++id;
  }
  throw "not an interpreted anchor of probes/anchors.hpp";
}

// Names for the anchors the correlator dispatches on (more may be in the table without one).
enum class KnownAnchor : AnchorId {
  set_status_v1_break = known_anchor_id("set_status.v1_break"),
  set_status_v2_break = known_anchor_id("set_status.v2_break"),
  set_status_v3_break = known_anchor_id("set_status.v3_break"),
  get_status_v1_return = known_anchor_id("get_status.v1_return"),
  get_status_v2_return = known_anchor_id("get_status.v2_return"),
  get_status_v3_return = known_anchor_id("get_status.v3_return"),
  destruct_start = known_anchor_id("destruct.start"),
  destruct_pending_dec = known_anchor_id("destruct.pending_dec"),
  destruct_set_available = known_anchor_id("destruct.set_available"),
  destruct_after_available = known_anchor_id("destruct.after_available"),
  snd_start = known_anchor_id("snd.start"),
  snd_size_max_clamp = known_anchor_id("snd.size_max_clamp"),
  snd_ph_check = known_anchor_id("snd.ph_check"),
  snd_set_sending = known_anchor_id("snd.set_sending"),
  snd_wait = known_anchor_id("snd.wait"),
  snd_wait_continue = known_anchor_id("snd.wait_continue"),
  snd_else_break = known_anchor_id("snd.else_break"),
  snd_alloc_failed = known_anchor_id("snd.alloc_failed"),
  snd_after_xmit = known_anchor_id("snd.after_xmit"),
  snd_already_destructed = known_anchor_id("snd.already_destructed"),
  snd_not_destructed = known_anchor_id("snd.not_destructed"),
  snd_len_sum = known_anchor_id("snd.len_sum"),
  snd_return = known_anchor_id("snd.return"),
  alloc_enter = known_anchor_id("alloc.enter"), // kernel event anchors
  sched_sleep = known_anchor_id("sched.sleep"),
};

// The names of the interpreted anchors, by id.
std::span<const std::string_view> known_anchor_names();

// Anchor name <-> id for one trace: the interpreted anchors at their fixed ids, then every other
// name in order of first sight.
class AnchorIds {
public:
  AnchorIds();
  // At most this many distinct names are interned; later new names share `overflow_id()`.
  static constexpr std::size_t kMaxAnchors = 512;

  // The id of `name`, interning it if new. nullopt when the name is not a valid anchor name
  // ([a-z0-9_.], 1-64 characters).
  std::optional<AnchorId> intern(std::string_view name);
  std::optional<AnchorId> find(std::string_view name) const;
  std::string_view name(AnchorId id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }
  AnchorId overflow_id() const { return overflow_; }

  static bool valid_name(std::string_view name);

private:
  void add(std::string_view name);

  std::vector<std::string> names_;
  // Ids by name length: lookups compare only the few names of the same length.
  std::array<std::vector<AnchorId>, 65> by_size_;
  // A direct-mapped cache in front of it: id + 1 of the first name hashed to each slot.
  static constexpr std::size_t kSlots = 512;
  static std::size_t slot(std::string_view name);
  std::array<AnchorId, kSlots> slots_{};
  AnchorId overflow_ = 0;
};

inline constexpr AnchorId id_of(KnownAnchor a) {
  return static_cast<AnchorId>(a);
}

} // namespace harness::report
