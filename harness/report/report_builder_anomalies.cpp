// The anomalies of a report: the frames the kernel did not handle, the faults of tpacket_snd
// calls and the probes that never fired (ReportBuilder::add_anomalies).
#include "harness/report/report_builder_internal.hpp"
#include "harness/report/text_util.hpp"

namespace harness::report {

std::string builder_detail::frames_text(const std::vector<std::uint64_t>& seqs,
                                        const std::vector<std::int64_t>& indices,
                                        std::uint64_t count) {
  if (!seqs.empty())
    return "seq " + format_list(seqs, count);
  if (!indices.empty())
    return "ring index " + format_index_list(indices, count);
  return {};
}

namespace {

using builder_detail::frames_text;

void add_anomaly(Report& r, std::string kind, std::string message, std::uint64_t count = 1,
                 std::vector<std::uint64_t> seqs = {}, std::vector<std::int64_t> indices = {},
                 std::string anchor = {}, int line = 0) {
  r.anomalies.push_back({std::move(kind), std::move(message), count, std::move(seqs),
                         std::move(indices), std::move(anchor), line});
}

bool planned(const BuildInputs& in, std::string_view anchor) {
  return !in.plan || in.plan->find(anchor) != nullptr;
}

// The records a call fault rests on, for each of its first findings.
std::vector<Evidence> call_evidence(const KernelStats& ks, CallFault f) {
  std::vector<Evidence> ev;
  for (const auto& x : ks.findings) {
    if (x.fault != f)
      continue;
    const std::string call =
        x.call_line ? " in the call at line " + std::to_string(x.call_line) : std::string();
    switch (f) {
    case CallFault::blocking_alloc:
      ev.push_back({"alloc.enter", x.line, x.tid, std::nullopt, -1, "noblock=0" + call});
      break;
    case CallFault::slept:
      ev.push_back({"sched.sleep", x.line, x.tid, std::nullopt, -1,
                    "state=" + std::to_string(x.value) + call});
      break;
    case CallFault::spin:
      ev.push_back({"snd.ph_check", x.earlier_line, x.tid, std::nullopt, -1, "ph=0" + call});
      ev.push_back({"snd.ph_check", x.line, x.tid, std::nullopt, -1,
                    "ph=0 again, no snd.wait or sched.sleep in between"});
      break;
    case CallFault::pending_leak:
      ev.push_back({"snd.wait", x.earlier_line, x.tid, std::nullopt, -1,
                    "pending=" + std::to_string(x.value) +
                        " with every frame taken already through its destructor"});
      ev.push_back({"snd.return", x.line, x.tid, std::nullopt, -1, "err=-110 (ETIMEDOUT)"});
      break;
    case CallFault::timeo_rearmed:
      ev.push_back({"snd.wait_continue", x.earlier_line, x.tid, std::nullopt, -1,
                    "timeo=" + std::to_string(x.left) + " left after a wait" + call});
      ev.push_back({"snd.wait", x.line, x.tid, std::nullopt, -1,
                    "timeo=" + std::to_string(x.value) + " at the next wait"});
      break;
    case CallFault::count_:
      break;
    }
  }
  return ev;
}

// The exact detectors of tpacket_snd calls (docs/report-schema.md): each finding names the
// records it rests on.
void add_call_faults(Report& r, const KernelStats& ks, const BuildInputs& in) {
  const auto calls = [&](CallFault f) {
    return ks.faulty_calls[static_cast<std::size_t>(f)];
  };
  if (ks.blocked_calls > 0) {
    std::vector<std::string> how;
    if (calls(CallFault::blocking_alloc))
      how.push_back("asked for a blocking skb allocation (sock_alloc_send_pskb noblock=0) in " +
                    plural(calls(CallFault::blocking_alloc), "call", "calls"));
    if (calls(CallFault::slept))
      how.push_back("slept in an interruptible (socket) wait in " +
                    plural(calls(CallFault::slept), "call", "calls"));
    std::string msg = "tpacket_snd blocked although MSG_DONTWAIT was set: it ";
    for (std::size_t i = 0; i < how.size(); ++i)
      msg += (i ? " and " : "") + how[i];
    add_anomaly(r, "blocked_dontwait", msg, ks.blocked_calls);
    auto ev = call_evidence(ks, CallFault::blocking_alloc);
    auto sl = call_evidence(ks, CallFault::slept);
    ev.insert(ev.end(), sl.begin(), sl.end());
    r.anomalies.back().evidence = std::move(ev);
  }
  if (calls(CallFault::pending_leak) > 0) {
    add_anomaly(r, "pending_leak",
                "the TX pending count leaked: a blocking tpacket_snd waited its whole timeout "
                "(-ETIMEDOUT) for frames in flight although every frame taken had been "
                "destructed (" +
                    plural(calls(CallFault::pending_leak), "call", "calls") + ")",
                calls(CallFault::pending_leak), {}, {}, "snd.wait");
    r.anomalies.back().evidence = call_evidence(ks, CallFault::pending_leak);
  }
  if (calls(CallFault::timeo_rearmed) > 0) {
    add_anomaly(r, "sndtimeo_rearmed",
                "tpacket_snd re-armed its send timeout: a wait began with more time than the "
                "previous wait had left, so SO_SNDTIMEO does not bound the call (" +
                    plural(calls(CallFault::timeo_rearmed), "call", "calls") + ")",
                calls(CallFault::timeo_rearmed), {}, {}, "snd.wait");
    r.anomalies.back().evidence = call_evidence(ks, CallFault::timeo_rearmed);
  }
  if (calls(CallFault::spin) > 0) {
    // Without the wait probe a wait that did not sleep (its completion already done) looks
    // like no wait at all: only a finding when snd.wait was probed.
    if (planned(in, "snd.wait")) {
      add_anomaly(r, "snd_spin",
                  "tpacket_snd spun: it found no frame to send again without waiting (no snd.wait, "
                  "no sleep in between) in " +
                      plural(calls(CallFault::spin), "call", "calls"),
                  calls(CallFault::spin), {}, {}, "snd.ph_check");
      r.anomalies.back().evidence = call_evidence(ks, CallFault::spin);
    } else {
      r.notes.push_back("tpacket_snd found no frame twice without a sleep in " +
                        plural(calls(CallFault::spin), "call", "calls") +
                        "; snd.wait was not probed, so whether it waited is unknown");
    }
  }
}

// Probes that should have fired and did not. Records a script counted (HITS) but did not
// deliver are lost records (loss.hpp), not a finding.
void add_probe_anomalies(Report& r, const BuildInputs& in, bool sent_something) {
  const bool lost = in.losses && in.losses->any();
  for (const auto& probe : r.probes) {
    if (!sent_something || !probe.planned || probe.expect != Expect::always || probe.fired() != 0)
      continue;
    const std::string line = probe.line > 0 ? " (line " + std::to_string(probe.line) + ")" : "";
    // With loss, no record is no proof: the kprobe tracer's HITS count the records it read.
    if (lost) {
      r.notes.push_back("no record of anchor " + probe.anchor + line +
                        " reached the trace; the tracer lost records, so whether it fired is "
                        "not known");
      continue;
    }
    add_anomaly(r, "probe_never_fired",
                "probe never fired: possible line drift at anchor " + probe.anchor + line +
                    ": run `harness drift`",
                1, {}, {}, probe.anchor, probe.line);
  }
  if (in.sender && !in.sender->interrupted && in.sender->stalled)
    add_anomaly(r, "sender_stalled",
                "the sender's ring made no progress within its completion timeout");
}

} // namespace

// Anomalies: findings that make the verdict.
void ReportBuilder::add_anomalies(Report& r, const BuildInputs& in, const KernelStats& ks,
                                  std::uint64_t stuck_count, bool sent_something) const {
  add_untaken_frames(r, in, ks);
  add_frame_anomalies(r, in, stuck_count);
  add_protocol_anomalies(r, in, ks);
  add_call_faults(r, ks, in);
  if (not_restored_.count > 0) {
    add_anomaly(r, "frame_not_restored",
                plural(not_restored_.count, "frame", "frames") +
                    " left in SENDING: tpacket_destruct_skb ran but never set AVAILABLE: " +
                    frames_text(not_restored_.seqs, not_restored_.indices, not_restored_.count),
                not_restored_.count, not_restored_.seqs, not_restored_.indices);
    r.anomalies.back().evidence = not_restored_.evidence;
  }
  if (clock_skew_.count > 0) {
    add_anomaly(r, "clock_skew",
                "the kernel's and the sender's clocks disagree: " +
                    plural(clock_skew_.count, "frame has", "frames have") +
                    " kernel records before the sender began filling them (up to " +
                    format_duration(skew_ns_) + " earlier), so latencies are not meaningful: " +
                    frames_text(clock_skew_.seqs, clock_skew_.indices, clock_skew_.count),
                clock_skew_.count, clock_skew_.seqs, clock_skew_.indices);
    r.anomalies.back().evidence = clock_skew_.evidence;
  }
  add_probe_anomalies(r, in, sent_something);
}

// The sender's frames the kernel did not take: none at all (no record of its socket), or some.
void ReportBuilder::add_untaken_frames(Report& r, const BuildInputs& in,
                                       const KernelStats& ks) const {
  const std::uint64_t kernel_frames = total_ - not_seen_.count - unobserved_.count;
  const bool lost = in.losses && in.losses->any();
  if (lost && kernel_frames == 0) {
    // Nothing of the sender's socket reached the trace, and the tracer says it lost records:
    // the verdict is incomplete (the loss section), not a kernel fault.
  } else if (in.sender && in.sender->totals.queued > 0 && kernel_frames == 0 && ks.events == 0) {
    add_anomaly(r, "no_kernel_records",
                "no probe record at all although the sender queued " +
                    plural(in.sender->totals.queued, "frame", "frames") +
                    ": the probes never fired (wrong kernel? stap output lost?)",
                in.sender->totals.queued);
  } else if (in.sender && in.sender->totals.queued > 0 && kernel_frames == 0) {
    std::string msg =
        "no probe record of the sender's socket (pid " + std::to_string(r.run.sender_pid) + ")";
    if (ks.foreign_sockets > 0)
      msg += "; records came from " + plural(ks.foreign_sockets, "other socket", "other sockets") +
             " only";
    add_anomaly(r, "no_kernel_records", msg, in.sender->totals.queued);
  } else if (not_seen_.count > 0) {
    std::string msg = plural(not_seen_.count, "frame", "frames") + " the kernel never took: " +
                      frames_text(not_seen_.seqs, not_seen_.indices, not_seen_.count);
    if (not_seen_but_sent_ > 0)
      msg += " (the sender saw " + plural(not_seen_but_sent_, "of them", "of them") +
             " come back: probe records lost?)";
    add_anomaly(r, "frame_not_seen", msg, not_seen_.count, not_seen_.seqs, not_seen_.indices);
  }
}

// Frames the kernel took and mishandled: kept, unaccounted for, refused, skipped, put back, or
// without a phase other frames show.
void ReportBuilder::add_frame_anomalies(Report& r, const BuildInputs& in,
                                        std::uint64_t stuck_count) const {
  if (stuck_count > 0)
    add_anomaly(r, "frame_stuck",
                plural(stuck_count, "frame", "frames") +
                    " the kernel took but never gave back (no AVAILABLE): " +
                    frames_text(stuck_.seqs, stuck_.indices, stuck_count),
                stuck_count, stuck_.seqs, stuck_.indices);
  // The sender keeps per-frame records for its first frames only (--max-records): kernel uses
  // of later frames have nothing to join and are no anomaly.
  const bool records_cut = in.sender && in.sender->totals.queued > in.sender_frame_records;
  if (records_cut)
    r.notes.push_back("the sender kept per-frame records for the first " +
                      std::to_string(in.sender_frame_records) + " of " +
                      std::to_string(in.sender->totals.queued) +
                      " frames; the kernel's view of later frames is not joined (unmatched)");
  if (unmatched_.count > 0 && !records_cut)
    add_anomaly(
        r, "frame_unmatched",
        plural(unmatched_.count, "kernel frame use", "kernel frame uses") +
            (in.sender ? " the sender's records do not account for: " : " without a ring index: ") +
            frames_text({}, unmatched_.indices, unmatched_.count),
        unmatched_.count, {}, unmatched_.indices);
  if (wrong_format_.count > 0)
    add_anomaly(r, "frame_wrong_format",
                plural(wrong_format_.count, "frame", "frames") +
                    " marked TP_STATUS_WRONG_FORMAT by the kernel: " +
                    frames_text(wrong_format_.seqs, wrong_format_.indices, wrong_format_.count),
                wrong_format_.count, wrong_format_.seqs, wrong_format_.indices);
  if (discarded_.count > 0)
    add_anomaly(r, "frame_discarded",
                plural(discarded_.count, "frame", "frames") +
                    " skipped as malformed (PACKET_LOSS), never transmitted: " +
                    frames_text(discarded_.seqs, discarded_.indices, discarded_.count),
                discarded_.count, discarded_.seqs, discarded_.indices);
  for (std::size_t p = 0; p < kPhaseCount; ++p) {
    const PhaseRow& row = r.phases[p];
    const Bucket& b = missing_[p];
    if (row.expected && row.observed && b.count > 0)
      add_anomaly(
          r, "missing_phase",
          plural(b.count, "frame", "frames") + " without the " +
              std::string(phase_title(row.phase)) +
              " phase although other frames show it: " + frames_text(b.seqs, b.indices, b.count),
          b.count, b.seqs, b.indices);
  }
}

} // namespace harness::report
