#pragma once

#include "sender/payload.hpp"
#include "sender/receiver.hpp"
#include "sender/send_record.hpp"
#include "sender/sender_config.hpp"
#include "sender/tx_ring.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace harness::sender {

// What every ring's loop shares (read-only, except the per-seq slots each loop owns).
struct LoopShared {
  const SenderConfig* config = nullptr;
  PayloadLayout layout;
  std::vector<std::uint8_t> frame_template;    // packet data of seq 0
  std::vector<FrameRecord>* records = nullptr; // indexed by seq, size min(count, max_records)
};

// What one ring's loop did.
struct LoopResult {
  SendTotals totals;            // requested is left 0: the caller knows it
  std::vector<SlotAudit> slots; // every slot's final status
  bool interrupted = false;
  bool stalled = false;
  std::int64_t start_ns = 0, end_ns = 0; // CLOCK_MONOTONIC: first fill, end of the drain
  InjectedError injected;
  std::vector<std::string> notes;
  SendOutcome outcome; // which sequence numbers were queued and which of them were not sent
};

// Fills one TX ring with sequence numbers [first, end), keeps it moving with send() (itself, or
// with a second thread doing blocking send() when the config says `threaded`), drains it within
// bounded time and audits every slot. Never leaves a gap: slots are filled strictly in ring
// order, and a slot is reused only once the kernel has given it back.
LoopResult run_ring(TxRing& ring, std::uint32_t ring_id, const LoopShared& shared,
                    std::uint64_t first, std::uint64_t end);

} // namespace harness::sender
