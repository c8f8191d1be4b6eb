// Folding frame timelines into the report's counts and buckets (ReportBuilder::add), and
// finish(): its steps in order, the frame-level ones here (phases, frames, loss, summary).
#include "harness/report/report_builder.hpp"

#include "harness/report/report_builder_internal.hpp"
#include "harness/report/text_util.hpp"

#include <algorithm>

namespace harness::report {
namespace {

using builder_detail::fill_run;
using builder_detail::fill_trace;
using builder_detail::Inputs;
using builder_detail::list_probes;
using builder_detail::settle_versioned_probes;

constexpr std::size_t pi(Phase p) {
  return static_cast<std::size_t>(p);
}

// The first kernel record of a frame (0: none).
std::uint64_t first_seen(const FrameTimeline& f) {
  std::uint64_t first = 0;
  for (auto t : f.t)
    if (t != 0 && (first == 0 || t < first))
      first = t;
  return first;
}

} // namespace

void ReportBuilder::Bucket::note(const FrameTimeline& tl) {
  ++count;
  if (tl.has_sender) {
    if (seqs.size() < kSamples)
      seqs.push_back(tl.sender.seq);
  } else if (indices.size() < kSamples) {
    indices.push_back(tl.index);
  }
}

namespace {

// The phases a kernel frame did not show, a bit each.
std::uint32_t missing_mask(const FrameTimeline& tl) {
  std::uint32_t m = 0;
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    if (tl.t[p] == 0)
      m |= 1u << p;
  return m;
}

// A frame the tracer lost records around, whose records do not tell a whole story by
// themselves: not given back, never taken, not placed, skipped, a status going backwards.
bool cut_by_loss(const FrameTimeline& tl) {
  return tl.in_loss && (tl.outcome != Outcome::completed || tl.status_backwards || tl.not_restored);
}

} // namespace

// Causality, not a tolerance: the sender takes t_fill before it writes the frame, and the kernel
// can only record the frame after the SEND_REQUEST store that follows (issue 30, defect 9).
void ReportBuilder::note_clock_skew(const FrameTimeline& tl) {
  if (!tl.has_sender || !tl.has_kernel || tl.sender.t_fill_ns <= 0)
    return;
  std::uint64_t first = 0;
  for (auto t : tl.t)
    if (t != 0 && (first == 0 || t < first))
      first = t;
  const auto fill = static_cast<std::uint64_t>(tl.sender.t_fill_ns);
  if (first == 0 || first >= fill)
    return;
  clock_skew_.note(tl);
  skew_ns_ = std::max(skew_ns_, fill - first);
  if (clock_skew_.evidence.size() < kSamples)
    clock_skew_.evidence.push_back({"", 0, 0, tl.sender.seq, tl.index,
                                    "first kernel record " + format_duration(fill - first) +
                                        " before the sender began filling the frame"});
}

// The frame's times into the latency, pickup and hold histograms (negative spans are left out:
// they are clock_skew's to report).
void ReportBuilder::note_times(const FrameTimeline& tl) {
  if (tl.has_sender && tl.sender.t_request_ns > 0) {
    const auto req = static_cast<std::uint64_t>(tl.sender.t_request_ns);
    if (tl.seen(Phase::available) && tl.at(Phase::available) >= req)
      latency_.add(tl.at(Phase::available) - req);
    if (tl.seen(Phase::destruct) && tl.at(Phase::destruct) >= req)
      latency_destruct_.add(tl.at(Phase::destruct) - req);
    if (tl.seen(Phase::request_seen) && tl.at(Phase::request_seen) >= req)
      pickup_.add(tl.at(Phase::request_seen) - req);
  }
  if (tl.seen(Phase::sending)) {
    const auto s = tl.at(Phase::sending);
    if (tl.seen(Phase::available) && tl.at(Phase::available) >= s)
      hold_.add(tl.at(Phase::available) - s);
    if (tl.seen(Phase::destruct) && tl.at(Phase::destruct) >= s)
      hold_destruct_.add(tl.at(Phase::destruct) - s);
  }
}

void ReportBuilder::add(const FrameTimeline& tl_in) {
  if (tl_in.outcome == Outcome::unmatched && tl_in.in_loss) {
    ++loss_fragments_; // part of a sender frame counted already
    return;
  }
  FrameTimeline tl = tl_in;
  if (cut_by_loss(tl))
    tl.outcome = Outcome::unobserved; // the loss explains what is missing: no finding
  ++total_;
  ++outcomes_[static_cast<std::size_t>(tl.outcome)];
  if (rows_.size() < max_rows_)
    rows_.push_back(tl);
  switch (tl.outcome) {
  case Outcome::stuck:
    if (tl.not_restored) {
      not_restored_.note(tl);
      if (not_restored_.evidence.size() < kSamples)
        not_restored_.evidence.push_back(
            {"tpacket_destruct_skb", tl.destruct_line, 0,
             tl.has_sender ? std::optional(tl.sender.seq) : std::nullopt, tl.index,
             "its first record; no AVAILABLE store followed"});
    } else {
      stuck_.note(tl);
    }
    break;
  case Outcome::not_seen:
    not_seen_.note(tl);
    if (tl.has_sender && tl.sender.final_status == sender::SlotStatus::available &&
        tl.sender.t_done_ns > 0)
      ++not_seen_but_sent_;
    break;
  case Outcome::unmatched:
    unmatched_.note(tl);
    break;
  case Outcome::wrong_format:
    wrong_format_.note(tl);
    break;
  case Outcome::discarded:
    discarded_.note(tl);
    break;
  case Outcome::unobserved:
    unobserved_.note(tl);
    break;
  case Outcome::completed:
    break;
  }
  if (tl.protocol)
    note_protocol(tl); // judged on records with no loss between them (correlator_protocol.cpp)
  note_clock_skew(tl);
  if (tl.xmit_err != 0)
    xmit_err_.note(tl);
  if (tl.has_kernel && tl.outcome == Outcome::completed && tl.in_loss) {
    // Which missing phase could have been recorded is known only at the end (settle_lossy).
    if (const std::uint32_t m = missing_mask(tl); m != 0)
      lossy_completed_[m].note(tl);
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      if (tl.t[p] != 0)
        ++with_[p];
  } else if (tl.has_kernel && tl.outcome == Outcome::completed)
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      if (tl.t[p] != 0)
        ++with_[p];
      else
        missing_[p].note(tl);
  else if (tl.has_kernel)
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      if (tl.t[p] != 0)
        ++with_[p];
  note_times(tl);
}

// Phases: which ones frames showed, which ones the planned probes can show at all.
void ReportBuilder::fill_phases(Report& r, const BuildInputs& in) const {
  for (std::size_t p = 0; p < kPhaseCount; ++p) {
    PhaseRow& row = r.phases[p];
    row.phase = static_cast<Phase>(p);
    row.frames = with_[p];
    row.observed = with_[p] > 0;
    row.missing = missing_[p].count;
  }
  for (const auto& probe : r.probes) {
    if (!probe.planned || probe.expect == Expect::other_version)
      continue;
    const auto mask = phases_of_anchor(probe.anchor);
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      if (mask & phase_bit(static_cast<Phase>(p)))
        r.phases[p].expected = true;
  }
  if (!in.plan)
    for (auto& row : r.phases)
      row.expected = row.expected || row.observed;
}

// Frames: without any probe that sees a frame come back, "never came back" is not knowable.
// Returns the frames counted stuck.
std::uint64_t ReportBuilder::settle_frames(Report& r) {
  const bool completion_observable =
      r.phases[pi(Phase::available)].observed || r.phases[pi(Phase::destruct)].observed;
  std::uint64_t stuck_count = stuck_.count;
  if (!completion_observable) {
    stuck_count = 0;
    for (auto& f : rows_)
      if (f.outcome == Outcome::stuck)
        f.outcome = Outcome::completed;
  }
  std::stable_sort(rows_.begin(), rows_.end(), [](const auto& a, const auto& b) {
    const auto ka = a.has_sender ? a.sender.seq : UINT64_MAX;
    const auto kb = b.has_sender ? b.sender.seq : UINT64_MAX;
    if (ka != kb)
      return ka < kb;
    if (a.has_sender)
      return a.index < b.index;
    // Kernel-only rows (a workload's, or a trace alone): per ring, in the order the kernel saw
    // them, so the uses of a slot after the ring wrapped follow the frames before them.
    if (a.ring != b.ring)
      return a.ring < b.ring;
    const auto ta = first_seen(a), tb = first_seen(b);
    if (ta != tb)
      return ta < tb;
    return a.index < b.index;
  });
  r.frames = std::move(rows_);
  r.frames_total = total_;

  return stuck_count;
}

// Completed frames the tracer lost records around and that lack a phase the probes can show:
// unobserved, not "missing a phase" (fill_phases decided which phases are expected). Returns how
// many.
std::uint64_t ReportBuilder::settle_lossy_frames(Report& r) {
  std::uint32_t expected = 0;
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    if (r.phases[p].expected && r.phases[p].observed)
      expected |= 1u << p;
  std::uint64_t moved = 0;
  for (std::uint32_t m = 1; m < lossy_completed_.size(); ++m) {
    const Bucket& b = lossy_completed_[m];
    if (b.count == 0 || (m & expected) == 0)
      continue;
    moved += b.count;
    unobserved_.count += b.count;
    for (auto s : b.seqs)
      if (unobserved_.seqs.size() < kSamples)
        unobserved_.seqs.push_back(s);
    for (auto i : b.indices)
      if (unobserved_.indices.size() < kSamples)
        unobserved_.indices.push_back(i);
  }
  for (auto& f : r.frames)
    if (f.in_loss && f.outcome == Outcome::completed && f.has_kernel &&
        (missing_mask(f) & expected) != 0)
      f.outcome = Outcome::unobserved;
  return moved;
}

// What the tracer lost, and what could therefore not be judged.
void ReportBuilder::fill_loss(Report& r, const BuildInputs& in, const KernelStats& ks) const {
  LossInfo& l = r.loss;
  l.frames_unobserved = unobserved_.count;
  l.frames_observed = total_ - unobserved_.count;
  for (auto n : ks.call_notes.unjudged_loss)
    l.calls_unjudged += n;
  if (!in.losses || !in.losses->any())
    return;
  const LossMap& m = *in.losses;
  l.any = true;
  l.records = m.records();
  l.uncounted = m.uncounted();
  for (std::size_t c = 0; c < kLostCauses; ++c)
    if (const auto n = m.by_cause(static_cast<LostCause>(c)); n > 0)
      l.by_cause[std::string(lost_cause_name(static_cast<LostCause>(c)))] = n;
  l.windows = m.windows().size();
  l.covered_ns = m.covered_ns();
  for (std::size_t i = 0; i < m.windows().size() && i < kSamples; ++i)
    l.first_windows.push_back(m.windows()[i]);
}

// Summary: the counts and percentiles of the run.
void ReportBuilder::fill_summary(Report& r, const BuildInputs& in, const KernelStats& ks,
                                 std::uint64_t stuck_count) const {
  Summary& sm = r.summary;
  if (in.sender) {
    sm.requested = in.sender->totals.requested;
    sm.queued = in.sender->totals.queued;
    sm.sent = in.sender->totals.sent;
  }
  sm.frames = total_;
  // Frames not knowably stuck (settle_frames) count as completed.
  sm.completed = outcomes_[static_cast<std::size_t>(Outcome::completed)] + stuck_.count -
                 stuck_count - lossy_moved_;
  sm.stuck = stuck_count;
  sm.not_seen = not_seen_.count;
  sm.unmatched = unmatched_.count;
  sm.wrong_format = wrong_format_.count;
  sm.discarded = discarded_.count;
  sm.unobserved = unobserved_.count;
  const bool avail = r.phases[pi(Phase::available)].observed;
  sm.latency = (avail ? latency_ : latency_destruct_).percentiles();
  sm.kernel_hold = (avail ? hold_ : hold_destruct_).percentiles();
  sm.pickup = pickup_.percentiles();
  sm.snd_calls = ks.snd_calls;
  sm.waits = ks.waits;
  sm.wait_continues = ks.wait_continues;
  sm.else_breaks = ks.else_breaks;
  sm.waits_dontwait = ks.waits_dontwait;
  sm.blocked_calls = ks.blocked_calls;
  sm.alloc_failed = ks.alloc_failed;
  sm.xmit_errors = ks.xmit_errors;
  sm.errors = ks.returned_errors;
  sm.bytes_returned = ks.bytes_returned;
  sm.max_pending = ks.max_pending;
}

bool ReportBuilder::sent_something(const BuildInputs& in, const KernelStats& ks) const {
  const std::uint64_t kernel_frames = total_ - not_seen_.count;
  return (in.sender && in.sender->totals.queued > 0) || ks.events > 0 || kernel_frames > 0;
}

Report ReportBuilder::finish(const BuildInputs& in) {
  Report r;
  r.harness_version = in.harness_version;
  r.partial = in.partial;
  r.partial_reason = in.partial_reason;
  const ParseStats empty_parse;
  const KernelStats empty_kernel;
  const Inputs c{in, in.parse ? *in.parse : empty_parse, in.kernel ? *in.kernel : empty_kernel};
  const int tpacket = fill_run(r.run, c);
  if (in.tpacket != 0 && in.tpacket != tpacket)
    r.notes.push_back("--tpacket v" + std::to_string(in.tpacket) + " is not used: the " +
                      (in.sender ? "sender's records" : "trace's own records") + " say TPACKET_V" +
                      std::to_string(tpacket));
  fill_trace(r.trace, c);
  list_probes(r, c, tpacket);
  if (tpacket == 0)
    settle_versioned_probes(r);
  fill_phases(r, in);
  const std::uint64_t stuck_count = settle_frames(r);
  lossy_moved_ = settle_lossy_frames(r);
  fill_summary(r, in, c.ks, stuck_count);
  r.calls = c.ks.call_spans;
  const bool sent = sent_something(in, c.ks);
  add_anomalies(r, in, c.ks, stuck_count, sent);
  fill_loss(r, in, c.ks);
  if (r.loss.any)
    for (auto& a : r.anomalies)
      if (a.not_from_loss.empty())
        a.not_from_loss = "its records lie outside every window in which the tracer lost "
                          "records (frames and calls those windows touch are not judged)";
  add_notes(r, in, c.ps, c.ks, sent);
  return r;
}

std::string_view Report::verdict() const {
  if (!anomalies.empty())
    return "anomalies";
  if (comparison && !comparison->regressions.empty())
    return "regression";
  return loss.any ? "incomplete" : "ok";
}

} // namespace harness::report
