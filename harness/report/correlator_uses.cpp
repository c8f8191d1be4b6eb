// The uses of ring slots: which frame address is which ring index, each phase a record shows,
// when a use ends and what became of it (Correlator::phase, set_status, emit).
#include "harness/report/correlator.hpp"
#include "harness/report/correlator_internal.hpp"

#include <algorithm>

namespace harness::report {
namespace {

using correlator_detail::first_kernel_ts;
using correlator_detail::is_destruct;

constexpr std::size_t pi(Phase p) {
  return static_cast<std::size_t>(p);
}

constexpr std::uint32_t abit(KnownAnchor a) {
  return 1u << static_cast<unsigned>(a);
}
static_assert(kKnownAnchors <= 31, "anchor bits must fit a use's mask");

// Anchors whose phase is redone when the kernel puts a frame back to SEND_REQUEST and retries.
constexpr std::uint32_t kStoreBits = abit(KnownAnchor::set_status_v1_break) |
                                     abit(KnownAnchor::set_status_v2_break) |
                                     abit(KnownAnchor::set_status_v3_break);
constexpr std::uint32_t kRetryBits = kStoreBits | abit(KnownAnchor::snd_set_sending) |
                                     abit(KnownAnchor::snd_after_xmit) |
                                     abit(KnownAnchor::snd_len_sum);

constexpr std::uint32_t kAvailableBit = 1u << 31;

} // namespace

Correlator::Slot& Correlator::slot_for(std::uint64_t addr, const TraceRecord& r) {
  Slot& slot = slots_[addr];
  if (slot.po == 0 && r.has(Key::po))
    slot.po = r.get(Key::po);
  return slot;
}

void Correlator::map_index(Socket& s, std::uint64_t addr, std::int64_t index, MapSource src) {
  if (addr == 0 || index < 0)
    return;
  const auto n = static_cast<std::int64_t>(ring_size(s));
  if (n > 0)
    index %= n;
  Slot& slot = slots_[addr];
  if (slot.index >= 0 && slot.index != index)
    ++stats_.mapping_conflicts;
  s.head_ts = now_;
  // Keep the most direct evidence: ph_check (ph with its own head) over len_sum over inference.
  if (slot.index != index || static_cast<int>(src) < static_cast<int>(slot.src) ||
      slot.src == MapSource::none || slot.src == MapSource::ring_order) {
    slot.index = index;
    slot.src = src;
  }
  if (slot.use.open && !slot.use.closed)
    s.expected_head = n > 0 ? (index + 1) % n : index + 1;
}

void Correlator::open_use(Socket& s, Slot& slot, std::uint64_t addr) {
  slot.use = Use{};
  slot.use.open = true;
  slot.use.opener = s.po;
  FrameTimeline& tl = slot.use.tl;
  tl.has_kernel = true;
  tl.addr = addr;
  const auto n = static_cast<std::int64_t>(ring_size(s));
  // A fresh ring starts at slot 0; snd.start, ph_check and len_sum move the guess on. Records
  // lost since the position was last told leave the guess unfounded: the use stays unplaced.
  if (slot.index < 0 && !lost_between(s.head_ts, now_)) {
    if (s.expected_head < 0 && s.ours)
      s.expected_head = 0;
    if (s.expected_head >= 0) {
      slot.index = n > 0 ? s.expected_head % n : s.expected_head;
      slot.src = MapSource::ring_order;
    }
  }
  if (slot.index >= 0)
    s.expected_head = n > 0 ? (slot.index + 1) % n : slot.index + 1;
}

// The frame is SEND_REQUEST again after SENDING: whether that broke the protocol is the protocol
// check's to say (correlator_protocol.cpp, which sets status_backwards).
void Correlator::restore(Use& u) {
  // The kernel will take the frame again: its next SENDING and xmit belong to this use.
  u.tl.t[pi(Phase::sending)] = 0;
  u.tl.t[pi(Phase::xmit)] = 0;
  u.bits &= ~kRetryBits;
}

Correlator::RequestAgain Correlator::request_again(const Socket& s, const Use& u,
                                                   const TraceRecord& r) const {
  // SEND_REQUEST seen when records since this use began may have been lost: the slot's next
  // frame as likely as this one again (its completion lost), so a use of its own, which the
  // join places by time (never merged into this one, never a status going backwards).
  if (lost_between(first_kernel_ts(u.tl), r.ts_ns))
    return RequestAgain::next_frame;
  const bool beyond_request = u.tl.seen(Phase::sending) || u.tl.seen(Phase::xmit) ||
                              u.tl.seen(Phase::destruct) || u.tl.seen(Phase::available);
  // The kernel takes ring slots in order and moves on only past a frame it took, so a frame
  // found again with no other slot found in between is the same frame (its send failed);
  // after other slots, the ring went round: the next frame, the previous one ended where no
  // probe could see it (an -O2 kernel whose completion records lack `ph`).
  if (!beyond_request)
    return s.requests == u.request_mark ? RequestAgain::same_frame : RequestAgain::next_frame;
  // SEND_REQUEST while the kernel holds the frame in SENDING: someone wrote the status. Unless
  // destructor records that name no frame came since: this frame's end may be one of them.
  if (!u.tl.seen(Phase::destruct) && !u.tl.seen(Phase::available) &&
      blind_destructs_ == u.blind_mark)
    return RequestAgain::put_back;
  return RequestAgain::next_frame;
}

void Correlator::phase(Socket& s, std::uint64_t addr, Phase p, const TraceRecord& r) {
  if (addr == 0)
    return;
  Slot& slot = slot_for(addr, r);
  Use& u = slot.use;
  // __packet_set_status records two phases (SENDING, AVAILABLE) through the same anchors.
  const std::uint32_t bit = p == Phase::available      ? kAvailableBit
                            : r.anchor < kKnownAnchors ? 1u << r.anchor
                                                       : 0;
  const bool in_sender = opt_.sender_pid != 0 && r.pid == opt_.sender_pid && !is_destruct(r.anchor);
  auto attach = [&](Use& use) {
    auto& t = use.tl.t[pi(p)];
    if (t == 0)
      t = r.ts_ns;
    if (p == Phase::destruct && use.tl.destruct_line == 0)
      use.tl.destruct_line = r.line;
    if (p == Phase::destruct) {
      use.after_destruct_ts = 0;
      after_destruct_.push_back(addr);
    }
    use.bits |= bit;
    use.pid_match = use.pid_match || in_sender;
    use.last_ts = std::max(use.last_ts, r.ts_ns);
  };
  if (u.closed) {
    // The frame is AVAILABLE again, but records of the same use can follow: the destructor's
    // own lines after its __packet_set_status, and on devices that free the skb inside the
    // xmit (lo, veth, qdisc bypass) tpacket_snd's lines after the xmit.
    if ((p == Phase::xmit || p == Phase::destruct) && !(u.bits & bit)) {
      attach(u);
      return;
    }
    emit(slot, false);
  }
  if (u.open) {
    if (p == Phase::request_seen) {
      const RequestAgain what = request_again(s, u, r);
      if (what != RequestAgain::next_frame) {
        if (what == RequestAgain::put_back)
          restore(u);
        // Counted through the probe that saw it first, so get_status + ph_check count once.
        if (bit == u.request_bit)
          ++u.tl.request_seen_count; // found again after a failed or empty attempt
        attach(u);
        u.request_mark = ++s.requests;
        u.blind_mark = blind_destructs_;
        return;
      }
      emit(slot, false); // the previous use ended without an AVAILABLE record
    } else if (u.bits & bit) {
      emit(slot, false); // this probe already fired for the current use: a new one began
    } else {
      attach(u);
      if (p == Phase::available)
        u.closed = true;
      return;
    }
  }
  open_use(s, slot, addr);
  attach(slot.use);
  if (p == Phase::request_seen) {
    slot.use.tl.request_seen_count = 1;
    slot.use.request_bit = bit;
    slot.use.request_mark = ++s.requests;
    slot.use.blind_mark = blind_destructs_;
  }
  if (p == Phase::available)
    slot.use.closed = true;
}

void Correlator::set_status(Socket& s, std::uint64_t addr, std::uint32_t status,
                            const TraceRecord& r) {
  if (addr == 0)
    return;
  switch (status & ~kStatusTsMask) {
  case kStatusSending:
    phase(s, addr, Phase::sending, r);
    break;
  case kStatusAvailable:
    phase(s, addr, Phase::available, r);
    break;
  case kStatusSendRequest: {
    // tpacket_snd's error exit puts the frame back (out_status): after SENDING that is a
    // status going backwards.
    Slot& slot = slot_for(addr, r);
    if (slot.use.open && !slot.use.closed && slot.use.tl.seen(Phase::sending))
      restore(slot.use);
    break;
  }
  case kStatusWrongFormat: {
    Slot& slot = slot_for(addr, r);
    if (!slot.use.open || slot.use.closed)
      phase(s, addr, Phase::request_seen, r);
    slot.use.closed = true;
    break;
  }
  default:
    break;
  }
  Slot& slot = slot_for(addr, r);
  if (slot.use.open)
    slot.use.tl.last_status = status;
}

void Correlator::emit(Slot& slot, bool at_end) {
  Use& u = slot.use;
  if (!u.open)
    return;
  FrameTimeline tl = u.tl;
  const bool pid_match = u.pid_match;
  const std::uint64_t opener = u.opener;
  const std::uint64_t after_destruct = u.after_destruct_ts;
  const std::uint64_t prev_end = slot.prev_end_ts;
  const bool store_probed = (u.bits & kStoreBits) != 0;
  slot.prev_end_ts = u.last_ts;
  u = Use{};
  tl.index = slot.index;
  tl.mapped_by = slot.src;
  tl.po = slot.po;
  const std::uint32_t st = tl.last_status & ~kStatusTsMask;
  if (tl.last_status != 0xffffffffu && st == kStatusWrongFormat)
    tl.outcome = Outcome::wrong_format;
  else if (tl.seen(Phase::available) && !tl.seen(Phase::sending) && !tl.seen(Phase::destruct))
    tl.outcome = Outcome::discarded;
  else if (tl.seen(Phase::available) || tl.seen(Phase::destruct) || !at_end)
    tl.outcome = Outcome::completed; // the destructor always gives the frame back
  else
    tl.outcome = Outcome::stuck; // the report decides whether AVAILABLE was observable at all
  // The probe that saw the kernel store SENDING would have seen the destructor's AVAILABLE
  // store too (same __packet_set_status arm): after the destructor ran, its absence means the
  // slot was left in SENDING. Not so for a stand-in's SENDING (snd.set_sending, a line of
  // tpacket_snd): whether AVAILABLE is observable is another probe's business.
  if (tl.outcome == Outcome::completed && store_probed && tl.seen(Phase::sending) &&
      tl.seen(Phase::destruct) && !tl.seen(Phase::available)) {
    tl.not_restored = true;
    tl.outcome = Outcome::stuck;
  }

  Socket* s = nullptr;
  if (auto it = sockets_.find(slot.po); slot.po != 0 && it != sockets_.end())
    s = &it->second;
  if (!s || (!s->ours && pid_match))
    if (auto it = sockets_.find(opener); it != sockets_.end())
      s = &it->second;
  const bool ours = opt_.sender_pid == 0 || pid_match || (s && s->ours);
  if (!ours || !s) {
    ++stats_.foreign_uses;
    return;
  }
  join(*s, tl, lossy(prev_end, at_end ? UINT64_MAX : now_));
  // Records of this use could come from the slot's previous use (or, when SEND_REQUEST was seen,
  // from the request) until its next use (now) or, at the end, ever; the AVAILABLE store a
  // destructor left out, only before the record that followed it.
  std::uint64_t from = prev_end;
  if (tl.seen(Phase::request_seen)) {
    from = first_kernel_ts(tl);
    if (tl.has_sender && tl.sender.t_request_ns > 0)
      from = std::min(from, static_cast<std::uint64_t>(tl.sender.t_request_ns));
  }
  std::uint64_t to = at_end ? UINT64_MAX : now_;
  if (tl.not_restored && after_destruct != 0)
    to = after_destruct;
  tl.in_loss = tl.in_loss || lossy(from, to);
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    if (tl.t[p] != 0)
      ++stats_.phase_uses[p];
  sink_(tl);
}

} // namespace harness::report
