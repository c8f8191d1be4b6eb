#pragma once

// What the correlator knows about one frame: the sender's record joined with the kernel's view
// of one use of a ring slot.

#include "harness/report/status_protocol.hpp"
#include "probes/anchors.hpp"
#include "sender/send_record.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace harness::report {

// Kernel phases of a TX ring frame, in the order they happen (probes/anchors.hpp: the anchor
// table says which anchor marks which).
using Phase = probes::FramePhase;
inline constexpr std::size_t kPhaseCount = static_cast<std::size_t>(Phase::available) + 1;
std::string_view phase_name(Phase p);  // "request_seen", "sending", ...
std::string_view phase_title(Phase p); // "SEND_REQUEST seen", "SENDING", ...

// How a kernel frame address was tied to a ring index.
enum class MapSource : std::uint8_t {
  none,       // never: the frame could not be placed in the ring
  ph_check,   // snd.ph_check printed ph and tx_ring.head together
  len_sum,    // snd.len_sum printed ph and head (after the head moved on)
  ring_order, // inferred: tpacket_snd takes frames in ring order from the head
};
std::string_view map_source_name(MapSource m);

enum class Outcome : std::uint8_t {
  completed,    // the kernel gave the frame back (AVAILABLE), or the last observable phase
  stuck,        // the kernel took it but never gave it back
  not_seen,     // the sender queued it, the kernel never took it
  unmatched,    // the kernel used a slot the sender's records do not account for
  wrong_format, // the kernel marked it TP_STATUS_WRONG_FORMAT
  discarded,    // PACKET_LOSS: the kernel skipped it as malformed
  unobserved,   // the tracer lost records in its lifetime and what came is not a whole story
};
inline constexpr std::size_t kOutcomes = static_cast<std::size_t>(Outcome::unobserved) + 1;
std::string_view outcome_name(Outcome o);

struct FrameTimeline {
  bool has_sender = false;
  sender::FrameRecord sender; // valid when has_sender

  bool has_kernel = false;
  std::uint64_t po = 0;    // struct packet_sock address
  std::uint64_t addr = 0;  // frame header address
  std::int64_t index = -1; // ring slot; the sender's when joined
  std::uint32_t ring = 0;
  MapSource mapped_by = MapSource::none;
  std::array<std::uint64_t, kPhaseCount> t{}; // CLOCK_REALTIME ns of each phase, 0 = not seen
  std::uint32_t request_seen_count = 0;       // times tpacket_snd found it in SEND_REQUEST
  std::int64_t xmit_err = 0;                  // non-zero: what the xmit returned
  std::uint32_t last_status = 0xffffffff;     // last status the kernel set (raw), ~0 = none
  std::uint64_t destruct_line = 0; // trace line of the first destructor record of this use
  bool not_restored = false;       // the destructor ran, SENDING was seen, AVAILABLE never came
  // The first status store of this use that breaks the TX ring's protocol (status_protocol.hpp);
  // status_backwards is the same finding when it is SENDING -> SEND_REQUEST (its /1 name).
  std::optional<ProtocolFinding> protocol;
  bool status_backwards = false;
  // The tracer lost records while this frame was in the ring (loss.hpp): an absence is not
  // evidence. Set by the correlator; the report decides what it still shows.
  bool in_loss = false;
  std::uint32_t backwards_from = 0, backwards_to = 0; // raw statuses of the first regression
  Outcome outcome = Outcome::completed;

  std::uint64_t at(Phase p) const { return t[static_cast<std::size_t>(p)]; }
  bool seen(Phase p) const { return at(p) != 0; }
};

// TP_STATUS_* values (linux/if_packet.h) the correlator interprets; the timestamp flags in bits
// 29-31 are masked off before comparing.
inline constexpr std::uint32_t kStatusAvailable = 0;
inline constexpr std::uint32_t kStatusSendRequest = 1;
inline constexpr std::uint32_t kStatusSending = 2;
inline constexpr std::uint32_t kStatusWrongFormat = 4;
inline constexpr std::uint32_t kStatusTsMask = 0xe0000000u;
inline constexpr std::uint64_t kMsgDontwait = 0x40;
// Task states (include/linux/sched.h) in sched.sleep records.
inline constexpr std::uint64_t kTaskInterruptible = 0x1;
inline constexpr std::int64_t kErrTimedOut = -110; // -ETIMEDOUT

} // namespace harness::report
