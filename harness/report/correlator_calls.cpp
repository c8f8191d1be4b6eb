// The tpacket_snd calls: each thread's call from snd.start to snd.return, what its waits and
// sleeps show, and the faults found in it (Correlator::fault, kernel_event, on_return).
#include "harness/report/correlator.hpp"

#include <algorithm>

namespace harness::report {

std::string_view call_fault_text(CallFault f) {
  switch (f) {
  case CallFault::blocking_alloc:
    return "MSG_DONTWAIT, yet the skb allocation may block (noblock=0)";
  case CallFault::slept:
    return "MSG_DONTWAIT, yet the task slept in a socket wait";
  case CallFault::spin:
    return "found no frame twice with no wait or sleep between (spinning)";
  case CallFault::pending_leak:
    return "timed out waiting for frames every one of which was destructed (pending leaked)";
  case CallFault::timeo_rearmed:
    return "a wait began with more time than the previous one left (timeout re-armed)";
  case CallFault::count_:
    break;
  }
  return "?";
}

void Correlator::fault(Call& c, CallFault f, const TraceRecord& r, std::uint64_t since_ns,
                       std::uint64_t value, std::uint64_t earlier_line, std::uint64_t left) {
  const auto bit = 1u << static_cast<unsigned>(f);
  if (c.faults & bit)
    return; // counted once per call
  // Each finding rests on what did not happen between two records (no wait, no return, no
  // decrement) up to the record that shows it: if the tracer lost records in between, the
  // absence proves nothing. Records lost after it change nothing it rests on.
  if (lost_between(since_ns, std::min(now_, r.ts_ns))) {
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
  if (c.span)
    stats_.call_spans[*c.span].findings.emplace_back(r.ts_ns, call_fault_text(f));
  std::size_t same = 0;
  for (const auto& x : stats_.findings)
    same += x.fault == f;
  if (same < kMaxFindingSamples)
    stats_.findings.push_back({f, r.tid, r.ts_ns, c.start_line, r.line, earlier_line, value, left});
}

namespace {

// The first record of each fault in a call, judged at its snd.return (a fault counts once).
void candidate(auto& c, CallFault f, const TraceRecord& r) {
  for (const auto& [g, rec] : c.candidates)
    if (g == f)
      return;
  c.candidates.emplace_back(f, r);
}

} // namespace

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
  if (CallSpan* span = span_of(r))
    span->sleeps_ns.push_back(r.ts_ns);
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

void Correlator::start_call(const TraceRecord& r) {
  Call& c = calls_[r.tid];
  drop_candidates(c); // the previous call never showed its snd.return
  c = Call{};
  c.start_ts = r.ts_ns;
  c.start_line = r.line;
  c.has_start = true;
  c.flags_known = r.has(Key::flags);
  c.flags = r.has(Key::flags) ? r.get(Key::flags) : 0;
  if (stats_.call_spans.size() < kMaxCallSpans) {
    c.span = stats_.call_spans.size();
    stats_.call_spans.push_back({.tid = r.tid, .start_ns = r.ts_ns});
  }
}

CallSpan* Correlator::span_of(const TraceRecord& r) {
  auto it = calls_.find(r.tid);
  if (it == calls_.end() || !it->second.span)
    return nullptr;
  return &stats_.call_spans[*it->second.span];
}

void Correlator::on_snd_start(Socket& s, const TraceRecord& r) {
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
}

void Correlator::on_wait(Socket& s, const TraceRecord& r) {
  ++stats_.waits;
  if (CallSpan* span = span_of(r))
    span->waits_ns.push_back(r.ts_ns);
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
}

void Correlator::on_wait_continue(const TraceRecord& r) {
  ++stats_.wait_continues;
  if (r.has(Key::timeo)) {
    Call& c = calls_[r.tid];
    c.timeo_left = r.get(Key::timeo);
    c.timeo_line = r.line;
    c.timeo_ts = r.ts_ns;
  }
}

void Correlator::on_return(Socket& s, const TraceRecord& r) {
  ++stats_.snd_returns;
  // A wait that timed out (-ETIMEDOUT) with nothing in flight by the records: the pending
  // count leaked. A decrement merely in progress at the wait would have completed it.
  // The counts behind it (taken, released) are the socket's since its first record.
  if (auto it = calls_.find(r.tid); it != calls_.end() && it->second.wait_line != 0 &&
                                    r.has(Key::err) && r.get_signed(Key::err) == kErrTimedOut)
    fault(it->second, CallFault::pending_leak, r, s.first_ts, it->second.wait_pending,
          it->second.wait_line);
  if (CallSpan* span = span_of(r)) {
    span->end_ns = r.ts_ns;
    if (r.has(Key::err))
      span->ret = r.get_signed(Key::err);
  }
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
    // A lost snd.return and snd.start before the candidate would merge two calls (and their
    // flags) into one: judged on the records from snd.start to the candidate's (fault()); a
    // loss after it leaves the candidate in the call whose snd.start gave the flags.
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
}

void Correlator::drop_candidates(const Call& c) {
  stats_.call_notes.unclosed_candidates += c.candidates.size();
}

} // namespace harness::report
