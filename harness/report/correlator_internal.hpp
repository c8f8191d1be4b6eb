#pragma once

// What the correlator's files share besides the class (correlator.hpp): correlator.cpp reads
// each record, correlator_calls.cpp judges tpacket_snd calls, correlator_uses.cpp follows the
// uses of ring slots and correlator_join.cpp joins them with the sender's records.

#include "harness/report/anchor_ids.hpp"
#include "harness/report/frame_timeline.hpp"

#include <cstdint>

namespace harness::report::correlator_detail {

// The first kernel record of a use (0: none).
inline std::uint64_t first_kernel_ts(const FrameTimeline& tl) {
  std::uint64_t first = 0;
  for (auto t : tl.t)
    if (t != 0 && (first == 0 || t < first))
      first = t;
  return first;
}

inline bool is_destruct(AnchorId a) {
  return a == id_of(KnownAnchor::destruct_start) || a == id_of(KnownAnchor::destruct_pending_dec) ||
         a == id_of(KnownAnchor::destruct_set_available) ||
         a == id_of(KnownAnchor::destruct_after_available);
}

} // namespace harness::report::correlator_detail
