// The notes of a report: facts worth knowing that are not failures by themselves (timing, the
// trace's completeness, inferred ring indices, the sender's own notes).
#include "harness/report/report_builder_internal.hpp"
#include "harness/report/text_util.hpp"

namespace harness::report {
namespace {

using builder_detail::frames_text;

// Timing facts, never findings: the threshold comes from the run itself (its median call).
void add_timing_notes(Report& r, const KernelStats& ks) {
  constexpr std::uint64_t kMinCalls = 8, kFactor = 10;
  const CallNotes& n = ks.call_notes;
  if (n.lock_sleeps > 0)
    r.notes.push_back(plural(n.lock_sleeps, "uninterruptible sleep", "uninterruptible sleeps") +
                      " inside tpacket_snd with MSG_DONTWAIT (a contended pg_vec_lock, memory "
                      "reclaim; first at trace line " +
                      std::to_string(n.first_lock_sleep_line) + "): not a socket wait");
  if (n.unclosed_candidates > 0)
    r.notes.push_back(plural(n.unclosed_candidates, "blocking allocation or sleep",
                             "blocking allocations or sleeps") +
                      " in MSG_DONTWAIT calls not judged: their tpacket_snd call never showed "
                      "snd.return (not probed, or the run was cut short)");
  if (n.unjudged_sleeps > 0)
    r.notes.push_back(plural(n.unjudged_sleeps, "sleep", "sleeps") +
                      " inside tpacket_snd could not be judged (msg_flags or state unreadable)");
  if (ks.call_ns.count() < kMinCalls)
    return;
  const std::uint64_t median = ks.call_ns.quantile(0.5);
  if (median > 0 && ks.slowest_call_ns > kFactor * median)
    r.notes.push_back("timing only: the slowest tpacket_snd call took " +
                      format_duration(ks.slowest_call_ns) + " (trace line " +
                      std::to_string(ks.slowest_call_line) + "), over " + std::to_string(kFactor) +
                      "x the run's median call (" + format_duration(median) + ")");
}

// What the trace itself says about its completeness and the probes' readability.
void add_trace_notes(Report& r, const BuildInputs& in, const ParseStats& ps) {
  const TraceInfo& tr = r.trace;
  if (!tr.ready)
    r.notes.push_back("no READY record: stap never reported ready, or its output was lost");
  if (!tr.end)
    r.notes.push_back("no END record: stap stopped before its end probe ran; probe hit counts "
                      "are missing");
  if (ps.ready_records > 1)
    r.notes.push_back(std::to_string(ps.ready_records) +
                      " READY records: outputs of several runs were concatenated");
  if (tr.malformed > 0)
    r.notes.push_back(plural(tr.malformed, "malformed trace line", "malformed trace lines") +
                      " skipped (first at line " +
                      std::to_string(ps.samples.empty() ? 0 : ps.samples.front().line) + ": " +
                      (ps.samples.empty() ? std::string("?") : ps.samples.front().reason) + ")");
  if (tr.late > 0)
    r.notes.push_back(plural(tr.late, "record", "records") +
                      " arrived too late to be put in time order");
  if (in.plan && ps.ready && !ps.ready->plan.empty() && ps.ready->plan != in.plan->plan_id)
    r.notes.push_back("the trace was produced by plan " + ps.ready->plan +
                      " but the plan file is " + in.plan->plan_id + ": anchor lines may not match");
  for (const auto& probe : r.probes)
    if (probe.unreadable > 0)
      r.notes.push_back(plural(probe.unreadable, "record", "records") + " of " + probe.anchor +
                        " lacked a value the correlator needs (`?`: optimised out or not "
                        "readable)");
  if (tr.by_call_frame > 0)
    r.notes.push_back(plural(tr.by_call_frame, "record", "records") +
                      " of tpacket_snd without the frame address (`ph` optimised out) were taken "
                      "as about the frame their call found last (its ph_check)");
  if (tr.unmapped_uses > 0)
    r.notes.push_back(plural(tr.unmapped_uses, "kernel frame", "kernel frames") +
                      " could not be placed in the ring (no ph_check/len_sum record and no "
                      "ring head)");
  if (tr.mapping_conflicts > 0)
    r.notes.push_back(plural(tr.mapping_conflicts, "frame address", "frame addresses") +
                      " changed ring index (ring set up again?)");
  if (tr.foreign_sockets > 0)
    r.notes.push_back(plural(tr.foreign_sockets, "other socket", "other sockets") + " (" +
                      plural(tr.foreign_uses, "frame", "frames") +
                      ") used a TX ring during the run; ignored");
}

} // namespace

// Notes: facts worth knowing that are not failures by themselves.
void ReportBuilder::add_notes(Report& r, const BuildInputs& in, const ParseStats& ps,
                              const KernelStats& ks, bool sent_something) const {
  add_timing_notes(r, ks);
  add_trace_notes(r, in, ps);
  if (loss_fragments_ > 0)
    r.notes.push_back(plural(loss_fragments_, "kernel frame use", "kernel frame uses") +
                      " inside windows where the tracer lost records could not be tied to the "
                      "sender's frames (the records that would place them were lost): each is "
                      "part of a frame counted already, not a frame of its own");
  bool inferred = false;
  for (const auto& f : r.frames)
    inferred = inferred || f.mapped_by == MapSource::ring_order;
  if (inferred)
    r.notes.push_back("some ring indices were inferred from the ring order (no ph_check or "
                      "len_sum record for them)");
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    if (r.phases[p].expected && !r.phases[p].observed && sent_something)
      r.notes.push_back("phase " + std::string(phase_title(static_cast<Phase>(p))) +
                        " was never observed");
  if (xmit_err_.count > 0)
    r.notes.push_back(plural(xmit_err_.count, "frame", "frames") + " saw a non-zero xmit return: " +
                      frames_text(xmit_err_.seqs, xmit_err_.indices, xmit_err_.count));
  if (in.sender) {
    // The sender's -v log goes to its notes; keep the report readable.
    constexpr std::size_t kSenderNotes = 20;
    const auto& sn = in.sender->notes;
    for (std::size_t i = 0; i < sn.size() && i < kSenderNotes; ++i)
      r.notes.push_back("sender: " + sn[i]);
    if (sn.size() > kSenderNotes)
      r.notes.push_back("sender: " + std::to_string(sn.size() - kSenderNotes) +
                        " more notes in the sender's records");
  }
  if (total_ > r.frames.size())
    r.notes.push_back("frame table holds the first " + std::to_string(r.frames.size()) + " of " +
                      std::to_string(total_) + " frames");
}

} // namespace harness::report
