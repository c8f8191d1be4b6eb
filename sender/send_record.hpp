#pragma once

// The sender's record types: what `harness send` and `harness run` keep of a run (frames, slots,
// totals, counters, receiver check). JSON lives in send_record_json.hpp, the text audit in
// send_audit.hpp.

#include "sender/sender_config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::sender {

// A TX ring slot's tp_status, decoded. Bit 2 (value 4) is TP_STATUS_WRONG_FORMAT on a TX ring;
// RX rings give the same bit the name TP_STATUS_LOSING. The kernel only ever sets it on a TX
// slot as WRONG_FORMAT, so the sender names it WRONG_FORMAT and the human audit adds
// "(= LOSING on RX rings)"; `raw` keeps the number. Timestamp flags (bits 29-31) are ignored.
enum class SlotStatus { available, send_request, sending, wrong_format, unknown };

SlotStatus classify_status(std::uint32_t raw);
// "AVAILABLE", "SEND_REQUEST", "SENDING", "WRONG_FORMAT", "UNKNOWN".
std::string_view status_name(SlotStatus s);
std::optional<SlotStatus> parse_status_name(std::string_view name);

// One frame the sender queued. Timestamps are CLOCK_REALTIME ns (0 = never).
struct FrameRecord {
  std::uint64_t seq = 0;         // sequence number in the payload header
  std::uint32_t index = 0;       // ring slot it used
  std::uint32_t ring = 0;        // which socket's ring (0 unless --sockets > 1)
  std::int64_t t_fill_ns = 0;    // payload written
  std::int64_t t_request_ns = 0; // tp_status set to SEND_REQUEST
  std::int64_t t_send_ns = 0;    // the send() call that covered it returned
  std::int64_t t_done_ns = 0;    // the sender saw the slot back in AVAILABLE
  SlotStatus final_status = SlotStatus::send_request; // AVAILABLE once done, else the slot's
                                                      // status at the audit
  bool malformed = false; // test hook: deliberately malformed (JSON key only when true)
};

// Every ring slot's tp_status at the end.
struct SlotAudit {
  std::uint32_t index = 0;
  std::uint32_t ring = 0; // which socket's ring (0 unless --sockets > 1)
  SlotStatus status = SlotStatus::available;
  std::uint32_t raw = 0;
};

// Most ring frames a sender record may describe: 2^24 frames of the smallest size already
// need 1 GiB of ring; a larger count in a file is corruption, not a run.
inline constexpr std::uint32_t kMaxRingFrames = 1u << 24;

struct RingGeometry {
  std::uint32_t frames = 0;
  std::uint32_t frame_size = 0;
  std::uint32_t block_size = 0;
  std::uint32_t frames_per_block = 0;
  std::uint32_t blocks = 0;
};

struct SendTotals {
  std::uint64_t requested = 0;   // --count
  std::uint64_t queued = 0;      // frames marked SEND_REQUEST
  std::uint64_t sent = 0;        // frames the kernel gave back (AVAILABLE), minus discarded
  std::uint64_t bytes = 0;       // tp_len summed over `sent`
  std::uint64_t discarded = 0;   // malformed frames PACKET_LOSS skipped (test hook only)
  std::int64_t elapsed_ns = 0;   // first fill to last completion seen
  std::uint64_t send_calls = 0;  // send() calls
  std::uint64_t retries = 0;     // send() calls that returned ENOBUFS/EAGAIN and were retried
  std::uint64_t send_errors = 0; // send() calls that failed otherwise
};

// Interface TX counters (netlink RTM_GETLINK, IFLA_STATS64, read inside the sender's netns).
struct IfaceCounters {
  bool valid = false;
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_dropped = 0;
};

// What the receiver on the veth peer saw (only with SenderConfig::veth).
struct ReceiverCheck {
  std::string iface;
  std::uint64_t expected = 0;     // frames the sender says it sent
  std::uint64_t received = 0;     // frames with this run's magic and run id
  std::uint64_t foreign = 0;      // other frames on the wire (IPv6 ND, ...), ignored
  std::uint64_t out_of_order = 0; // seq lower than or equal to the previous one
  std::uint64_t duplicates = 0;
  std::uint64_t missing = 0;      // expected seq never seen
  std::uint64_t bad_payload = 0;  // wrong length or pattern byte
  std::uint64_t unexpected = 0;   // arrived although the sender did not send it (stranded,
                                  // never queued, or discarded by PACKET_LOSS)
  std::uint64_t kernel_drops = 0; // PACKET_STATISTICS tp_drops of the receive socket
  std::string first_problem;      // the first mismatch, in words; empty when ok
  bool ok = false;
};

// What -e did and when.
struct InjectedError {
  int kind = 0;                // 0 none, 1 close(), 2 PACKET_TX_RING again
  std::uint64_t after_seq = 0; // injected after this many frames were queued
  std::string outcome;         // what the kernel/sender did next, in words
};

// What the sender keeps of one run: its setup, every frame's record, every slot's final status,
// totals, counters and the receiver's check (harness.sender/1, "sender records" in DESIGN.md).
struct SenderRecord {
  std::uint32_t run_id = 0;
  int pid = 0;
  std::string iface;
  std::string netns; // namespace path or name; empty = the caller's
  TpacketVersion version = TpacketVersion::v2;
  bool dgram = false;
  bool qdisc_bypass = false;
  bool vnet_hdr = false;
  bool loss = false;
  bool threaded = false;
  std::uint32_t sockets = 1; // rings in use; each has the geometry `ring`
  std::int64_t size = 0;     // tp_len of every frame
  RingGeometry ring;
  std::vector<FrameRecord> frames;
  std::vector<SlotAudit> slots;
  SendTotals totals;
  IfaceCounters before, after;
  std::optional<ReceiverCheck> receiver;
  InjectedError injected;
  bool interrupted = false;       // SIGINT/SIGTERM stopped the fill; results are partial
  bool stalled = false;           // the ring made no progress within the completion timeout
  std::vector<std::string> notes; // things worth telling the user (warnings, -v log)
};

// True when every requested frame was sent, no slot is left in SEND_REQUEST/SENDING/
// WRONG_FORMAT, the run was not interrupted and (with a receiver) the receiver saw them all.
bool all_frames_sent(const SenderRecord& r);

} // namespace harness::sender
