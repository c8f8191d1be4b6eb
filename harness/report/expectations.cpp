#include "harness/report/expectations.hpp"

#include "probes/anchors.hpp"

#include <array>

namespace harness::report {

// The facts (which anchors fire always, which only on a path, which ring version, which phase)
// are columns of the anchor table, probes/anchors.hpp; this file only reads them.

int anchor_version(std::string_view anchor) {
  const probes::AnchorDef* a = probes::find_any_anchor(anchor);
  return a ? a->tpacket : 0;
}

AnchorExpectation expectation_of(std::string_view anchor, int tpacket) {
  const probes::AnchorDef* a = probes::find_any_anchor(anchor);
  if (a ? a->fires == probes::Fires::bounds
        : anchor.ends_with(".end") || anchor.ends_with(".start"))
    return {Expect::bounds, "function bounds"};
  if (!a)
    return {Expect::conditional, "an anchor this version of harness does not interpret"};
  if (a->tpacket != 0 && tpacket != 0 && a->tpacket != tpacket) {
    static constexpr std::array<std::string_view, 3> kOnly = {
        "only for TPACKET_V1 rings", "only for TPACKET_V2 rings", "only for TPACKET_V3 rings"};
    return {Expect::other_version, kOnly[static_cast<std::size_t>(a->tpacket - 1)]};
  }
  if (a->fires == probes::Fires::always)
    return {Expect::always, ""};
  return {Expect::conditional, a->when};
}

std::uint32_t phases_of_anchor(std::string_view anchor) {
  const probes::AnchorDef* a = probes::find_any_anchor(anchor);
  if (!a || !a->phase)
    return 0;
  std::uint32_t mask = phase_bit(*a->phase);
  // __packet_set_status records both SENDING (tpacket_snd) and AVAILABLE (the destructor).
  if (*a->phase == Phase::sending)
    mask |= phase_bit(Phase::available);
  return mask;
}

} // namespace harness::report
