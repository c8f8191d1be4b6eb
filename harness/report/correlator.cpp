#include "harness/report/correlator.hpp"

#include "harness/report/anchor_table.hpp"

#include <algorithm>

namespace harness::report {
namespace {

constexpr std::size_t pi(Phase p) {
  return static_cast<std::size_t>(p);
}

constexpr std::uint32_t abit(KnownAnchor a) {
  return 1u << static_cast<unsigned>(a);
}
static_assert(kKnownAnchors <= 31, "anchor bits must fit a use's mask");

// Anchors whose phase is redone when the kernel puts a frame back to SEND_REQUEST and retries.
constexpr std::uint32_t kRetryBits =
    abit(KnownAnchor::set_status_v1_break) | abit(KnownAnchor::set_status_v2_break) |
    abit(KnownAnchor::set_status_v3_break) | abit(KnownAnchor::snd_after_xmit) |
    abit(KnownAnchor::snd_len_sum);

constexpr std::uint32_t kAvailableBit = 1u << 31;

std::uint64_t first_kernel_ts(const FrameTimeline& tl) {
  std::uint64_t first = 0;
  for (auto t : tl.t)
    if (t != 0 && (first == 0 || t < first))
      first = t;
  return first;
}

bool is_destruct(AnchorId a) {
  return a == id_of(KnownAnchor::destruct_start) || a == id_of(KnownAnchor::destruct_pending_dec) ||
         a == id_of(KnownAnchor::destruct_set_available);
}

} // namespace

Correlator::Correlator(CorrelatorOptions options, SenderSource* sender, Sink sink)
    : opt_(options), sender_(sender), sink_(std::move(sink)) {
  if (sender_)
    ring_taken_.assign(sender_->rings(), false);
}

std::uint64_t Correlator::ring_size(const Socket& s) const {
  return s.ring_frames ? s.ring_frames : opt_.ring_frames;
}

Correlator::Socket& Correlator::socket_for(const TraceRecord& r) {
  std::uint64_t po = r.has(Key::po) ? r.get(Key::po) : 0;
  if (po == 0) {
    // An optimised kernel may not show po where the frame is taken: use the socket of this
    // thread's tpacket_snd call, else the one socket of the sender if there is exactly one.
    if (auto it = calls_.find(r.tid); it != calls_.end() && it->second.po != 0) {
      po = it->second.po;
    } else {
      const Socket* only = nullptr;
      int n = 0;
      for (const auto& [k, s] : sockets_)
        if (k != 0 && s.ours && s.in_process) {
          only = &s;
          ++n;
        }
      if (n == 1)
        po = only->po;
    }
  } else if (!is_destruct(r.anchor)) {
    if (auto it = calls_.find(r.tid); it != calls_.end() && it->second.po == 0)
      it->second.po = po;
  }
  auto [it, inserted] = sockets_.try_emplace(po);
  if (inserted) {
    it->second.po = po;
    it->second.first_ts = r.ts_ns;
  }
  return it->second;
}

void Correlator::mark_ours(Socket& s, const TraceRecord& r) {
  if (!is_destruct(r.anchor))
    s.in_process = true;
  if (s.ours)
    return;
  // The destructor runs in whatever context freed the skb, so its pid proves nothing.
  if (opt_.sender_pid == 0 || (r.pid == opt_.sender_pid && !is_destruct(r.anchor))) {
    s.ours = true;
  }
}

void Correlator::unreadable(const TraceRecord& r) {
  ++stats_.unreadable_events;
  if (stats_.unreadable_by_anchor.size() <= r.anchor)
    stats_.unreadable_by_anchor.resize(r.anchor + 1u, 0);
  ++stats_.unreadable_by_anchor[r.anchor];
}

bool Correlator::lossy(std::uint64_t from_ns, std::uint64_t to_ns) const {
  return opt_.losses && opt_.losses->overlaps(from_ns, to_ns);
}

bool Correlator::lost_between(std::uint64_t first_ns, std::uint64_t second_ns) const {
  return opt_.losses && opt_.losses->between(first_ns, second_ns);
}

void Correlator::fault(Call& c, CallFault f, const TraceRecord& r, std::uint64_t since_ns,
                       std::uint64_t value, std::uint64_t earlier_line, std::uint64_t left) {
  const auto bit = 1u << static_cast<unsigned>(f);
  if (c.faults & bit)
    return; // counted once per call
  // Each finding rests on what did not happen between two records (no wait, no return, no
  // decrement) up to the record read now: if the tracer lost records in between, the absence
  // proves nothing.
  if (lost_between(since_ns, now_)) {
    c.faults |= bit;
    ++stats_.call_notes.unjudged_loss[static_cast<std::size_t>(f)];
    return;
  }
  constexpr std::uint32_t kBlocked = (1u << static_cast<unsigned>(CallFault::blocking_alloc)) |
                                     (1u << static_cast<unsigned>(CallFault::slept));
  if ((bit & kBlocked) && !(c.faults & kBlocked))
    ++stats_.blocked_calls;
  c.faults |= bit;
  ++stats_.faulty_calls[static_cast<std::size_t>(f)];
  std::size_t same = 0;
  for (const auto& x : stats_.findings)
    same += x.fault == f;
  if (same < kMaxFindingSamples)
    stats_.findings.push_back({f, r.tid, r.ts_ns, c.start_line, r.line, earlier_line, value, left});
}

// The first record of each fault in a call, judged at its snd.return (a fault counts once).
void candidate(auto& c, CallFault f, const TraceRecord& r) {
  for (const auto& [g, rec] : c.candidates)
    if (g == f)
      return;
  c.candidates.emplace_back(f, r);
}

// alloc.enter and sched.sleep (DESIGN.md "Kernel event anchors") mean something only for a
// task inside tpacket_snd: its tid has an open call. A tracer may report them for any task.
void Correlator::kernel_event(const TraceRecord& r) {
  auto it = calls_.find(r.tid);
  if (it == calls_.end() || !it->second.has_start)
    return;
  Call& c = it->second;
  CallNotes& n = stats_.call_notes;
  const bool dontwait = c.flags_known && (c.flags & kMsgDontwait);
  if (r.anchor == id_of(KnownAnchor::alloc_enter)) {
    if (!r.has(Key::noblock)) {
      ++n.alloc_unreadable;
      unreadable(r);
    } else if (dontwait && r.get(Key::noblock) == 0) {
      candidate(c, CallFault::blocking_alloc, r);
    }
    return;
  }
  // sched.sleep: the task gave up the CPU to wait, so whatever comes next in this call waited.
  c.empty_since_wait = 0;
  if (!c.flags_known || !r.has(Key::state)) {
    ++n.unjudged_sleeps;
    return;
  }
  if (!dontwait) {
    ++n.sleeps_blocking; // a blocking send may wait for frames in flight
    return;
  }
  // Socket waits (sock_wait_for_wmem, wait_for_completion_interruptible_timeout, sk_wait_event)
  // sleep interruptibly so that a signal ends a blocking send; lock and memory waits (a
  // contended pg_vec_lock when several threads send, reclaim) sleep uninterruptibly and are
  // legitimate with MSG_DONTWAIT too.
  const std::uint64_t state = r.get(Key::state);
  if (state & kTaskInterruptible) {
    candidate(c, CallFault::slept, r);
  } else {
    if (n.lock_sleeps++ == 0)
      n.first_lock_sleep_line = r.line;
  }
}

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

void Correlator::restore(Use& u, std::uint32_t from, std::uint32_t to) {
  if (!u.tl.status_backwards) {
    u.tl.status_backwards = true;
    u.tl.backwards_from = from;
    u.tl.backwards_to = to;
  }
  // The kernel will take the frame again: its next SENDING and xmit belong to this use.
  u.tl.t[pi(Phase::sending)] = 0;
  u.tl.t[pi(Phase::xmit)] = 0;
  u.bits &= ~kRetryBits;
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
    const bool beyond_request = u.tl.seen(Phase::sending) || u.tl.seen(Phase::xmit) ||
                                u.tl.seen(Phase::destruct) || u.tl.seen(Phase::available);
    if (p == Phase::request_seen) {
      // Counted through the probe that saw it first, so get_status + ph_check count once.
      const bool again = bit == u.request_bit;
      // SEND_REQUEST seen when records since this use began may have been lost: the slot's next
      // frame as likely as this one again (its completion lost), so a use of its own, which the
      // join places by time (never merged into this one, never a status going backwards).
      const bool after_loss = lost_between(first_kernel_ts(u.tl), r.ts_ns);
      if (!beyond_request && !after_loss) {
        if (again)
          ++u.tl.request_seen_count; // found again after a failed or empty attempt
        attach(u);
        return;
      }
      if (!u.tl.seen(Phase::destruct) && !u.tl.seen(Phase::available) && !after_loss) {
        // SEND_REQUEST while the kernel holds the frame in SENDING: someone wrote the status.
        restore(u, kStatusSending, kStatusSendRequest);
        if (again)
          ++u.tl.request_seen_count;
        attach(u);
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
      restore(slot.use, kStatusSending, kStatusSendRequest);
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

void Correlator::join(Socket& s, FrameTimeline& tl, bool near_loss) {
  if (tl.index < 0) {
    ++stats_.unmapped_uses;
    tl.outcome = Outcome::unmatched;
    return;
  }
  if (!sender_) {
    // Kernel view only (`run --exec`, a trace alone): each socket's ring is numbered in the
    // order its first frame came out, so the frames of several rings stay apart.
    if (!s.ring_known) {
      s.ring = next_ring_++;
      s.ring_known = true;
    }
    tl.ring = s.ring;
    return;
  }
  const auto index = static_cast<std::uint32_t>(tl.index);
  const std::uint64_t first = first_kernel_ts(tl);
  if (!s.ring_known) {
    if (sender_->rings() <= 1) {
      s.ring = 0;
    } else {
      // Several rings (--sockets): the socket belongs to the ring whose waiting frame for this
      // slot was requested last before the kernel saw it.
      std::int64_t best = -1;
      std::int64_t best_t = 0;
      bool best_before = false;
      for (std::uint32_t ring = 0; ring < sender_->rings(); ++ring) {
        if (ring < ring_taken_.size() && ring_taken_[ring])
          continue;
        const auto* f = sender_->peek(ring, index);
        if (!f)
          continue;
        const bool before = first == 0 || f->t_request_ns <= static_cast<std::int64_t>(first);
        if (best < 0 || (before && (!best_before || f->t_request_ns > best_t))) {
          best = ring;
          best_t = f->t_request_ns;
          best_before = before;
        }
      }
      if (best < 0) {
        tl.outcome = Outcome::unmatched;
        return;
      }
      s.ring = static_cast<std::uint32_t>(best);
      ring_taken_[s.ring] = true;
    }
    s.ring_known = true;
  }
  tl.ring = s.ring;
  const auto* f = sender_->peek(s.ring, index);
  if (!f) {
    tl.outcome = Outcome::unmatched;
    return;
  }
  // Near lost records a use may be a piece of an earlier frame's (split by the loss): the kernel
  // cannot have seen a frame before the sender requested it, so this use is not that frame's.
  if (near_loss && first != 0 && f->t_request_ns > 0 &&
      first + LossMap::kMarginNs < static_cast<std::uint64_t>(f->t_request_ns)) {
    tl.outcome = Outcome::unmatched;
    tl.in_loss = true; // a piece the loss made, not a use the kernel made up
    return;
  }
  sender::FrameRecord cur = *f;
  sender_->pop(s.ring, index);
  // The k-th use of a slot is the k-th frame queued in it, unless the kernel's records of a
  // frame were lost: a frame queued in the slot after `cur` but before the kernel saw this use
  // shows that `cur` went by unseen.
  while (first != 0) {
    const auto* g = sender_->peek(s.ring, index);
    if (!g || g->t_request_ns <= 0 || static_cast<std::uint64_t>(g->t_request_ns) >= first)
      break;
    FrameTimeline missed;
    missed.has_sender = true;
    missed.sender = cur;
    missed.index = cur.index;
    missed.ring = cur.ring;
    missed.outcome = Outcome::not_seen;
    missed.in_loss =
        lossy(static_cast<std::uint64_t>(std::max<std::int64_t>(cur.t_request_ns, 0)), first);
    sink_(missed);
    cur = *g;
    sender_->pop(s.ring, index);
  }
  tl.has_sender = true;
  tl.sender = cur;
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
  // slot was left in SENDING.
  if (tl.outcome == Outcome::completed && tl.seen(Phase::sending) && tl.seen(Phase::destruct) &&
      !tl.seen(Phase::available)) {
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

void Correlator::on_event(const TraceRecord& r) {
  ++stats_.events;
  now_ = r.ts_ns;
  for (const std::uint64_t addr : after_destruct_)
    if (auto it = slots_.find(addr); it != slots_.end() && it->second.use.after_destruct_ts == 0)
      it->second.use.after_destruct_ts = r.ts_ns;
  after_destruct_.clear();
  if (stats_.first_ts == 0 || r.ts_ns < stats_.first_ts)
    stats_.first_ts = r.ts_ns;
  stats_.last_ts = std::max(stats_.last_ts, r.ts_ns);
  // A count: a negative one (two's complement, from a signed fetch) or one from 2^63 on is no
  // maximum (and a report.json could not hold it; found by fuzz_trace).
  if (r.has(Key::pending) && r.get(Key::pending) <= static_cast<std::uint64_t>(INT64_MAX))
    stats_.max_pending = std::max(stats_.max_pending.value_or(0), r.get(Key::pending));
  if (r.anchor >= kKnownAnchors)
    return;
  const auto ka = static_cast<KnownAnchor>(r.anchor);
  if (ka == KnownAnchor::alloc_enter || ka == KnownAnchor::sched_sleep) {
    kernel_event(r); // no po: not about a socket or a frame
    return;
  }
  if (ka == KnownAnchor::snd_start) {
    // A new call: forget the thread's previous socket before resolving this record's.
    Call& c = calls_[r.tid];
    drop_candidates(c); // the previous call never showed its snd.return
    c = Call{};
    c.start_ts = r.ts_ns;
    c.start_line = r.line;
    c.has_start = true;
    c.flags_known = r.has(Key::flags);
    c.flags = r.has(Key::flags) ? r.get(Key::flags) : 0;
  }
  Socket& s = socket_for(r);
  mark_ours(s, r);
  const std::uint64_t ph = r.has(Key::ph) ? r.get(Key::ph) : 0;
  switch (ka) {
  case KnownAnchor::snd_start: {
    ++stats_.snd_calls;
    if (r.has(Key::frame_max))
      s.ring_frames = r.get(Key::frame_max) + 1; // frame_max is the last index
    if (r.has(Key::head)) {
      s.expected_head = static_cast<std::int64_t>(r.get(Key::head));
      s.head_ts = r.ts_ns;
    }
    if (s.ours && !stats_.geometry && (r.has(Key::frame_max) || r.has(Key::version))) {
      KernelGeometry g;
      g.frame_max = r.has(Key::frame_max) ? r.get(Key::frame_max) : 0;
      g.frame_size = r.has(Key::frame_size) ? r.get(Key::frame_size) : 0;
      g.frames_per_block = r.has(Key::frames_per_block) ? r.get(Key::frames_per_block) : 0;
      if (r.has(Key::version))
        g.version = r.get(Key::version);
      stats_.geometry = g;
    }
    break;
  }
  case KnownAnchor::snd_ph_check:
    if (!r.has(Key::ph)) {
      unreadable(r);
      break;
    }
    if (ph == 0) {
      // No SEND_REQUEST frame. A correct loop then waits (snd.wait, or at least a sleep) or
      // leaves; finding none twice in a row without either is a spin.
      if (auto it = calls_.find(r.tid); it != calls_.end()) {
        Call& c = it->second;
        if (c.empty_since_wait++ == 0) {
          c.empty_line = r.line;
          c.empty_ts = r.ts_ns;
        } else {
          fault(c, CallFault::spin, r, c.empty_ts, c.empty_since_wait, c.empty_line);
        }
      }
    } else {
      const bool head = r.has(Key::head);
      if (head)
        map_index(s, ph, static_cast<std::int64_t>(r.get(Key::head)), MapSource::ph_check);
      phase(s, ph, Phase::request_seen, r);
      if (head) // again, now that the use is open, to move the expected head on
        map_index(s, ph, static_cast<std::int64_t>(r.get(Key::head)), MapSource::ph_check);
    }
    break;
  case KnownAnchor::snd_wait: {
    ++stats_.waits;
    Call& c = calls_[r.tid];
    if (c.flags & kMsgDontwait)
      ++stats_.waits_dontwait;
    c.empty_since_wait = 0;
    // tpacket_snd sets timeo once (sock_sndtimeo) and then only from each wait's return, so a
    // wait starts with what the previous one left: more means the timeout was re-armed and
    // SO_SNDTIMEO no longer bounds the call (fixed in 6.16 and its stable backports).
    if (r.has(Key::timeo) && c.timeo_left && r.get(Key::timeo) > *c.timeo_left)
      fault(c, CallFault::timeo_rearmed, r, c.timeo_ts, r.get(Key::timeo), c.timeo_line,
            *c.timeo_left);
    // Every frame this socket took has run its destructor, yet frames count as in flight: if
    // nothing completes the wait, pending was not decremented somewhere.
    c.wait_line = 0;
    if (r.has(Key::pending) && r.get(Key::pending) > 0 && s.taken > 0 && s.released == s.taken) {
      c.wait_line = r.line;
      c.wait_pending = r.get(Key::pending);
    }
    break;
  }
  case KnownAnchor::snd_wait_continue:
    ++stats_.wait_continues;
    if (r.has(Key::timeo)) {
      Call& c = calls_[r.tid];
      c.timeo_left = r.get(Key::timeo);
      c.timeo_line = r.line;
      c.timeo_ts = r.ts_ns;
    }
    break;
  case KnownAnchor::snd_else_break:
    ++stats_.else_breaks;
    break;
  case KnownAnchor::snd_alloc_failed:
    ++stats_.alloc_failed;
    break;
  case KnownAnchor::snd_after_xmit:
    if (!r.has(Key::ph)) {
      unreadable(r);
      break;
    }
    phase(s, ph, Phase::xmit, r);
    if (r.has(Key::err) && r.get(Key::err) != 0) {
      ++stats_.xmit_errors;
      if (ph != 0)
        slots_[ph].use.tl.xmit_err = r.get_signed(Key::err);
    }
    break;
  case KnownAnchor::snd_already_destructed:
  case KnownAnchor::snd_not_destructed:
    ++(ka == KnownAnchor::snd_already_destructed ? stats_.already_destructed
                                                 : stats_.not_destructed);
    if (ph != 0 && r.has(Key::err))
      if (auto it = slots_.find(ph); it != slots_.end() && it->second.use.open)
        it->second.use.tl.xmit_err = r.get_signed(Key::err);
    break;
  case KnownAnchor::snd_len_sum:
    if (!r.has(Key::ph)) {
      unreadable(r);
      break;
    }
    phase(s, ph, Phase::xmit, r);
    if (r.has(Key::head) && ph != 0) {
      // The head has already moved past the frame here.
      const auto n = static_cast<std::int64_t>(ring_size(s));
      const auto h = static_cast<std::int64_t>(r.get(Key::head));
      map_index(s, ph, n > 0 ? (h + n - 1) % n : h - 1, MapSource::len_sum);
      s.expected_head = h;
    }
    break;
  case KnownAnchor::snd_return: {
    ++stats_.snd_returns;
    // A wait that timed out (-ETIMEDOUT) with nothing in flight by the records: the pending
    // count leaked. A decrement merely in progress at the wait would have completed it.
    // The counts behind it (taken, released) are the socket's since its first record.
    if (auto it = calls_.find(r.tid); it != calls_.end() && it->second.wait_line != 0 &&
                                      r.has(Key::err) && r.get_signed(Key::err) == kErrTimedOut)
      fault(it->second, CallFault::pending_leak, r, s.first_ts, it->second.wait_pending,
            it->second.wait_line);
    if (auto it = calls_.find(r.tid); it != calls_.end()) {
      // Durations are timing facts for notes (report_builder.cpp), never a finding.
      const Call& c = it->second;
      if (c.has_start && r.ts_ns >= c.start_ts && !lost_between(c.start_ts, r.ts_ns)) {
        const std::uint64_t d = r.ts_ns - c.start_ts;
        stats_.call_ns.add(d);
        if (d > stats_.slowest_call_ns) {
          stats_.slowest_call_ns = d;
          stats_.slowest_call_line = c.start_line;
        }
      }
      // A lost snd.return and snd.start would merge two calls (and their flags) into one.
      for (const auto& [f, rec] : it->second.candidates)
        fault(it->second, f, rec, c.start_ts, f == CallFault::slept ? rec.get(Key::state) : 0);
      calls_.erase(it);
    }
    if (r.has(Key::err)) {
      const auto err = r.get_signed(Key::err);
      if (err < 0)
        ++stats_.returned_errors[err];
      else
        stats_.bytes_returned += static_cast<std::uint64_t>(err);
    }
    break;
  }
  case KnownAnchor::set_status_v1_break:
  case KnownAnchor::set_status_v2_break:
  case KnownAnchor::set_status_v3_break:
    if (!r.has(Key::frame) || !r.has(Key::status)) {
      unreadable(r);
      break;
    }
    if ((r.get(Key::status) & ~std::uint64_t{kStatusTsMask}) == kStatusSending)
      ++s.taken;
    set_status(s, r.get(Key::frame), static_cast<std::uint32_t>(r.get(Key::status)), r);
    break;
  case KnownAnchor::get_status_v1_return:
  case KnownAnchor::get_status_v2_return:
  case KnownAnchor::get_status_v3_return:
    if (!r.has(Key::frame) || !r.has(Key::status)) {
      unreadable(r);
      break;
    }
    if ((r.get(Key::status) & ~std::uint64_t{kStatusTsMask}) == kStatusSendRequest)
      phase(s, r.get(Key::frame), Phase::request_seen, r);
    break;
  case KnownAnchor::destruct_pending_dec:
  case KnownAnchor::destruct_set_available:
    if (ka == KnownAnchor::destruct_pending_dec)
      ++s.released;
    if (!r.has(Key::ph)) {
      unreadable(r);
      break;
    }
    phase(s, ph, Phase::destruct, r);
    break;
  default:
    break;
  }
}

void Correlator::drop_candidates(const Call& c) {
  stats_.call_notes.unclosed_candidates += c.candidates.size();
}

void Correlator::finish() {
  if (finished_)
    return;
  finished_ = true;
  now_ = UINT64_MAX;
  for (const auto& [tid, c] : calls_)
    drop_candidates(c);
  // Slots in index order so that the frames of a ring come out in ring order.
  std::vector<std::pair<std::int64_t, Slot*>> open;
  for (auto& [addr, slot] : slots_)
    if (slot.use.open)
      open.emplace_back(slot.index, &slot);
  std::sort(open.begin(), open.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [index, slot] : open)
    emit(*slot, true);
  for (const auto& [po, s] : sockets_) {
    if (po == 0 || !s.in_process)
      continue;
    ++(s.ours ? stats_.sockets : stats_.foreign_sockets);
  }
  if (sender_)
    sender_->drain([&](const sender::FrameRecord& f) {
      FrameTimeline tl;
      tl.has_sender = true;
      tl.sender = f;
      tl.index = f.index;
      tl.ring = f.ring;
      tl.outcome = Outcome::not_seen;
      // The kernel could have taken it any time after the request, or before the sender saw it
      // come back.
      tl.in_loss = lossy(static_cast<std::uint64_t>(std::max<std::int64_t>(f.t_request_ns, 0)),
                         f.t_done_ns > 0 ? static_cast<std::uint64_t>(f.t_done_ns) : UINT64_MAX);
      sink_(tl);
    });
}

} // namespace harness::report
