// Reading the records: the sockets they belong to, and each record handed to what it is about
// (a call, correlator_calls.cpp; a use of a ring slot, correlator_uses.cpp); the end of the trace.
#include "harness/report/correlator.hpp"

#include "harness/report/anchor_ids.hpp"
#include "harness/report/correlator_internal.hpp"

#include <algorithm>

namespace harness::report {
namespace {

using correlator_detail::is_destruct;

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

void Correlator::on_event(const TraceRecord& r) {
  note_record(r);
  if (r.anchor >= kKnownAnchors)
    return;
  const auto ka = static_cast<KnownAnchor>(r.anchor);
  if (ka == KnownAnchor::alloc_enter || ka == KnownAnchor::sched_sleep) {
    kernel_event(r); // no po: not about a socket or a frame
    return;
  }
  if (ka == KnownAnchor::snd_start)
    start_call(r); // a new call: forget the thread's previous socket before resolving this one's
  Socket& s = socket_for(r);
  mark_ours(s, r);
  const std::uint64_t ph = r.has(Key::ph) ? r.get(Key::ph) : 0;
  switch (ka) {
  case KnownAnchor::snd_start:
    on_snd_start(s, r);
    break;
  case KnownAnchor::snd_ph_check:
    on_ph_check(s, r, ph);
    break;
  case KnownAnchor::snd_wait:
    on_wait(s, r);
    break;
  case KnownAnchor::snd_wait_continue:
    on_wait_continue(r);
    break;
  case KnownAnchor::snd_else_break:
    ++stats_.else_breaks;
    break;
  case KnownAnchor::snd_alloc_failed:
    ++stats_.alloc_failed;
    break;
  case KnownAnchor::snd_set_sending:
    on_set_sending(s, r, ph);
    break;
  case KnownAnchor::snd_after_xmit:
    on_after_xmit(s, r, ph);
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
    on_len_sum(s, r, ph);
    break;
  case KnownAnchor::snd_return:
    on_return(s, r);
    break;
  case KnownAnchor::set_status_v1_break:
  case KnownAnchor::set_status_v2_break:
  case KnownAnchor::set_status_v3_break:
    on_set_status(s, r);
    break;
  case KnownAnchor::get_status_v1_return:
  case KnownAnchor::get_status_v2_return:
  case KnownAnchor::get_status_v3_return:
    on_get_status(s, r);
    break;
  case KnownAnchor::destruct_pending_dec:
  case KnownAnchor::destruct_set_available:
    on_destruct(s, r, ph);
    break;
  case KnownAnchor::destruct_after_available:
    on_after_available(s, r);
    break;
  default:
    break;
  }
}

// What every record tells, whatever it is about: the clock and the largest pending count.
void Correlator::note_record(const TraceRecord& r) {
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
}

void Correlator::on_ph_check(Socket& s, const TraceRecord& r, std::uint64_t ph) {
  if (!r.has(Key::ph)) {
    unreadable(r);
    return;
  }
  if (auto it = calls_.find(r.tid); it != calls_.end()) {
    it->second.frame = ph;
    it->second.frame_ts = r.ts_ns;
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
    protocol_event(StatusEventKind::read, ph, kStatusSendRequest, r);
    if (head) // again, now that the use is open, to move the expected head on
      map_index(s, ph, static_cast<std::int64_t>(r.get(Key::head)), MapSource::ph_check);
  }
}

// tpacket_snd's loop works on one frame from its ph_check to the next: where `ph` is optimised
// out (an -O2 kernel), a record of the loop body is about the frame its thread's call found
// last. Records lost since then could hide another ph_check: the record is then unreadable.
std::uint64_t Correlator::call_frame(const TraceRecord& r) const {
  const auto it = calls_.find(r.tid);
  if (it == calls_.end() || !it->second.has_start || it->second.frame == 0 ||
      lost_between(it->second.frame_ts, r.ts_ns))
    return 0;
  return it->second.frame;
}

// The frame of a tpacket_snd loop record: its `ph`, else its call's current frame (counted), else
// none (the record is unreadable).
std::uint64_t Correlator::loop_frame(const TraceRecord& r, std::uint64_t ph) {
  if (r.has(Key::ph))
    return ph;
  const std::uint64_t frame = call_frame(r);
  if (frame == 0)
    unreadable(r);
  else
    ++stats_.by_call_frame;
  return frame;
}

// The SENDING store's own line (a stand-in, probed where set_status.* cannot be): the phase only.
// Neither the protocol check nor the socket's count of frames taken reads it: where the store's
// own record comes too (a script made from a map alone) it would count each store twice.
void Correlator::on_set_sending(Socket& s, const TraceRecord& r, std::uint64_t ph) {
  if ((ph = loop_frame(r, ph)) != 0)
    phase(s, ph, Phase::sending, r);
}

void Correlator::on_after_xmit(Socket& s, const TraceRecord& r, std::uint64_t ph) {
  if (!r.has(Key::ph) && (ph = loop_frame(r, ph)) == 0)
    return;
  phase(s, ph, Phase::xmit, r);
  if (r.has(Key::err) && r.get(Key::err) != 0) {
    ++stats_.xmit_errors;
    if (ph != 0)
      slots_[ph].use.tl.xmit_err = r.get_signed(Key::err);
  }
}

void Correlator::on_len_sum(Socket& s, const TraceRecord& r, std::uint64_t ph) {
  if (!r.has(Key::ph) && (ph = loop_frame(r, ph)) == 0)
    return;
  phase(s, ph, Phase::xmit, r);
  protocol_event(StatusEventKind::skb_used, ph, 0, r);
  if (r.has(Key::head) && ph != 0) {
    // The head has already moved past the frame here.
    const auto n = static_cast<std::int64_t>(ring_size(s));
    const auto h = static_cast<std::int64_t>(r.get(Key::head));
    map_index(s, ph, n > 0 ? (h + n - 1) % n : h - 1, MapSource::len_sum);
    s.expected_head = h;
  }
}

void Correlator::on_set_status(Socket& s, const TraceRecord& r) {
  if (!r.has(Key::frame) || !r.has(Key::status)) {
    unreadable(r);
    return;
  }
  if ((r.get(Key::status) & ~std::uint64_t{kStatusTsMask}) == kStatusSending)
    ++s.taken;
  set_status(s, r.get(Key::frame), static_cast<std::uint32_t>(r.get(Key::status)), r);
  protocol_event(StatusEventKind::store, r.get(Key::frame), r.get(Key::status), r);
}

void Correlator::on_get_status(Socket& s, const TraceRecord& r) {
  if (!r.has(Key::frame) || !r.has(Key::status)) {
    unreadable(r);
    return;
  }
  if ((r.get(Key::status) & ~std::uint64_t{kStatusTsMask}) == kStatusSendRequest)
    phase(s, r.get(Key::frame), Phase::request_seen, r);
  protocol_event(StatusEventKind::read, r.get(Key::frame), r.get(Key::status), r);
}

void Correlator::on_destruct(Socket& s, const TraceRecord& r, std::uint64_t ph) {
  if (r.anchor == id_of(KnownAnchor::destruct_pending_dec))
    ++s.released;
  if (!r.has(Key::ph)) {
    ++blind_destructs_; // some frame's skb was destructed: which, no record says
    unreadable(r);
    return;
  }
  phase(s, ph, Phase::destruct, r);
  if (r.anchor == id_of(KnownAnchor::destruct_set_available))
    note_give_back(r, ph);
  protocol_event(r.anchor == id_of(KnownAnchor::destruct_set_available) ? StatusEventKind::give_back
                                                                        : StatusEventKind::skb_used,
                 ph, 0, r);
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
