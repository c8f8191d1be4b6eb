#pragma once

// Anchor names seen in a trace, as small integers so the correlator can dispatch on them without
// string compares. The anchors the correlator interprets have fixed ids (KnownAnchor); any other
// well-formed name is interned on first sight (bounded), so hit counts of anchors this version
// does not know are still reported.

#include "trace_record.hpp"

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::report {

// Names follow DESIGN.md "Anchors" (stap/anchors.cpp is the table; a test checks they agree).
enum class KnownAnchor : AnchorId {
  set_status_v1_break,
  set_status_v2_break,
  set_status_v3_break,
  get_status_v1_return,
  get_status_v2_return,
  get_status_v3_return,
  destruct_start,
  destruct_pending_dec,
  destruct_set_available,
  snd_start,
  snd_size_max_clamp,
  snd_ph_check,
  snd_wait,
  snd_wait_continue,
  snd_else_break,
  snd_alloc_failed,
  snd_after_xmit,
  snd_already_destructed,
  snd_not_destructed,
  snd_len_sum,
  snd_return,
  alloc_enter, // kernel event anchors (DESIGN.md "Kernel event anchors")
  sched_sleep,
  count_
};
inline constexpr AnchorId kKnownAnchors = static_cast<AnchorId>(KnownAnchor::count_);

std::span<const std::string_view> known_anchor_names();

class AnchorTable {
public:
  AnchorTable();
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
