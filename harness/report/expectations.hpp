#pragma once

// What a run should show, per anchor: some probes fire for every frame sent (their silence
// means the probe sits on the wrong line), others only on particular paths (a wait, an error),
// and the version-specific status probes only for the TPACKET version in use.

#include "harness/report/frame_timeline.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace harness::report {

enum class Expect {
  always,        // fires whenever a frame is sent
  conditional,   // fires only on a particular path (see `when`)
  other_version, // belongs to another TPACKET version than the one in use
  bounds,        // a function start/end anchor (not part of the probe sets)
};

struct AnchorExpectation {
  Expect expect = Expect::conditional;
  std::string_view when; // for conditional ones: "only when the ring is empty and ...", etc.
};

// `tpacket`: 1..3 (the sender's --tpacket), 0 when unknown (every version probe is `always`
// then, as far as the table goes, and the report only needs one of them to fire).
AnchorExpectation expectation_of(std::string_view anchor, int tpacket);

constexpr std::uint32_t phase_bit(Phase p) {
  return 1u << static_cast<unsigned>(p);
}
// The frame phases an anchor records (bits of phase_bit), 0 if none.
std::uint32_t phases_of_anchor(std::string_view anchor);

// "v2" style version digit of a versioned status anchor (set_status.v2_break -> 2), 0 if none.
int anchor_version(std::string_view anchor);

} // namespace harness::report
