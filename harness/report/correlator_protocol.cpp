// The protocol check's feed: each status record of a frame as a StatusEvent for
// protocol_step (status_protocol.hpp), with its thread's call and what the tracer may have lost.
#include "harness/report/anchor_ids.hpp"
#include "harness/report/correlator.hpp"

namespace harness::report {

void Correlator::protocol_event(StatusEventKind kind, std::uint64_t addr, std::uint64_t status,
                                const TraceRecord& r) {
  if (addr == 0)
    return;
  Slot& slot = slots_[addr];
  StatusEvent e;
  e.kind = kind;
  e.status = static_cast<std::uint32_t>(status) & ~kStatusTsMask;
  e.rec = {r.anchor, r.line, r.tid, r.ts_ns};
  if (auto it = calls_.find(r.tid); it != calls_.end() && it->second.has_start) {
    e.in_call = true;
    e.call = {id_of(KnownAnchor::snd_start), it->second.start_line, r.tid, it->second.start_ts};
  }
  e.lost_ever = lost_between(0, r.ts_ns);
  // The slot's first record: any earlier loss may have taken records of it.
  e.lost_before = slot.proto_ts != 0 ? lost_between(slot.proto_ts, r.ts_ns) : e.lost_ever;
  if (kind == StatusEventKind::give_back)
    markers_seen_ = true;
  e.markers = markers_seen_;
  const ProtocolStep step = protocol_step(slot.proto, e);
  slot.proto = step.next;
  slot.proto_ts = r.ts_ns;
  if (step.unjudged)
    ++stats_.protocol_unjudged;
  if (step.judged)
    ++stats_.protocol_checked;
  if (!step.finding || !slot.use.open || slot.use.tl.protocol)
    return;
  FrameTimeline& tl = slot.use.tl;
  tl.protocol = step.finding;
  if (step.finding->from == kStatusSending && step.finding->to == kStatusSendRequest) {
    tl.status_backwards = true;
    tl.backwards_from = kStatusSending;
    tl.backwards_to = kStatusSendRequest;
  }
}

} // namespace harness::report
