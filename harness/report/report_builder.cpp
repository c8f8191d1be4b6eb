#include "harness/report/report_builder.hpp"

#include "harness/report/text_util.hpp"

#include <algorithm>
#include <set>

namespace harness::report {
namespace {

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

void add_anomaly(Report& r, std::string kind, std::string message, std::uint64_t count = 1,
                 std::vector<std::uint64_t> seqs = {}, std::vector<std::int64_t> indices = {},
                 std::string anchor = {}, int line = 0) {
  r.anomalies.push_back({std::move(kind), std::move(message), count, std::move(seqs),
                         std::move(indices), std::move(anchor), line});
}

std::string frames_text(const std::vector<std::uint64_t>& seqs,
                        const std::vector<std::int64_t>& indices, std::uint64_t count) {
  if (!seqs.empty())
    return "seq " + format_list(seqs, count);
  if (!indices.empty())
    return "ring index " + format_index_list(indices, count);
  return {};
}

bool planned(const BuildInputs& in, std::string_view anchor) {
  return !in.plan || in.plan->find(anchor) != nullptr;
}

// The exact detectors of tpacket_snd calls (docs/report-schema.md): each finding names the
// records it rests on.
void add_call_faults(Report& r, const KernelStats& ks, const BuildInputs& in) {
  auto evidence_of = [&](CallFault f) {
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
  };
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
    auto ev = evidence_of(CallFault::blocking_alloc);
    auto sl = evidence_of(CallFault::slept);
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
    r.anomalies.back().evidence = evidence_of(CallFault::pending_leak);
  }
  if (calls(CallFault::timeo_rearmed) > 0) {
    add_anomaly(r, "sndtimeo_rearmed",
                "tpacket_snd re-armed its send timeout: a wait began with more time than the "
                "previous wait had left, so SO_SNDTIMEO does not bound the call (" +
                    plural(calls(CallFault::timeo_rearmed), "call", "calls") + ")",
                calls(CallFault::timeo_rearmed), {}, {}, "snd.wait");
    r.anomalies.back().evidence = evidence_of(CallFault::timeo_rearmed);
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
      r.anomalies.back().evidence = evidence_of(CallFault::spin);
    } else {
      r.notes.push_back("tpacket_snd found no frame twice without a sleep in " +
                        plural(calls(CallFault::spin), "call", "calls") +
                        "; snd.wait was not probed, so whether it waited is unknown");
    }
  }
}

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

// What finish() reads besides the builder's own counts.
struct Inputs {
  const BuildInputs& in;
  const ParseStats& ps;
  const KernelStats& ks;
};

// Run identity: the READY record, else the plan; the ring from the sender's records. Returns the
// TPACKET version in use (0 when unknown).
int fill_run(RunInfo& run, const Inputs& c) {
  const BuildInputs& in = c.in;
  const ParseStats& ps = c.ps;
  const KernelStats& ks = c.ks;
  if (ps.ready) {
    run.kernel = ps.ready->kernel;
    run.plan_id = ps.ready->plan;
    run.probes = ps.ready->probes;
  }
  if (in.plan) {
    if (run.kernel.empty())
      run.kernel = in.plan->kernel;
    if (run.plan_id.empty())
      run.plan_id = in.plan->plan_id;
    if (run.probes.empty())
      run.probes = std::string(probes::to_string(in.plan->probes));
    run.map = in.plan->map;
  }
  int tpacket = in.tpacket;
  if (in.sender) {
    const auto& s = *in.sender;
    run.iface = s.iface;
    tpacket = static_cast<int>(s.version);
    run.socket = s.dgram ? "dgram" : "raw";
    run.ring_frames = s.ring.frames;
    run.frame_size = s.ring.frame_size;
    run.block_size = s.ring.block_size;
    run.frames_per_block = s.ring.frames_per_block;
    run.rings = s.sockets;
    run.sender_pid = static_cast<std::uint32_t>(s.pid);
    run.run_id = s.run_id;
  }
  if (tpacket == 0 && ks.geometry && ks.geometry->version && *ks.geometry->version <= 2)
    tpacket = static_cast<int>(*ks.geometry->version) + 1;
  run.tpacket = tpacket;
  return tpacket;
}

// Trace facts: what the parser and the correlator counted.
void fill_trace(TraceInfo& tr, const Inputs& c) {
  const ParseStats& ps = c.ps;
  const KernelStats& ks = c.ks;
  tr.lines = ps.lines;
  tr.records = ps.records;
  tr.events = ps.events;
  tr.other_lines = ps.other_lines;
  tr.malformed = ps.malformed;
  tr.truncated_tail = ps.truncated_tail;
  tr.malformed_samples = ps.samples;
  tr.reordered = c.in.reordered;
  tr.late = c.in.late;
  tr.ready = ps.ready.has_value();
  tr.ready_ts = ps.ready ? ps.ready->ts_ns : 0;
  tr.end = ps.end_ts.has_value();
  tr.end_ts = ps.end_ts.value_or(0);
  tr.first_event_ts = ks.first_ts;
  tr.last_event_ts = ks.last_ts;
  tr.unreadable_events = ks.unreadable_events;
  tr.unmapped_uses = ks.unmapped_uses;
  tr.mapping_conflicts = ks.mapping_conflicts;
  tr.foreign_sockets = ks.foreign_sockets;
  tr.foreign_uses = ks.foreign_uses;
}

// A probe row's counts (records, END hits, unreadable records) and what a run should show of it.
void fill_counts(ProbeRow& row, const Inputs& c, int tpacket) {
  const BuildInputs& in = c.in;
  const ParseStats& ps = c.ps;
  const KernelStats& ks = c.ks;
  if (in.anchors) {
    if (auto id = in.anchors->find(row.anchor)) {
      if (*id < ps.events_by_anchor.size())
        row.events = ps.events_by_anchor[*id];
      if (*id < ps.hits.size() && ps.hits[*id] >= 0)
        row.hits = static_cast<std::uint64_t>(ps.hits[*id]);
      if (*id < ks.unreadable_by_anchor.size())
        row.unreadable = ks.unreadable_by_anchor[*id];
    }
  }
  const auto e = expectation_of(row.anchor, tpacket);
  row.expect = e.expect;
  row.when = std::string(e.when);
}

// Probes: the plan's, then whatever else the trace mentions.
void list_probes(Report& r, const Inputs& c, int tpacket) {
  const BuildInputs& in = c.in;
  const ParseStats& ps = c.ps;
  std::set<std::string> listed;
  if (in.plan)
    for (const auto& p : in.plan->anchors) {
      ProbeRow row;
      row.anchor = p.anchor;
      row.function = p.function;
      row.line = p.line;
      row.statement = p.statement;
      row.planned = true;
      fill_counts(row, c, tpacket);
      listed.insert(row.anchor);
      r.probes.push_back(std::move(row));
    }
  if (in.anchors)
    for (std::size_t id = 0; id < in.anchors->size(); ++id) {
      const bool ev = id < ps.events_by_anchor.size() && ps.events_by_anchor[id] > 0;
      const bool hit = id < ps.hits.size() && ps.hits[id] >= 0;
      const std::string name(in.anchors->name(static_cast<AnchorId>(id)));
      if ((!ev && !hit) || listed.count(name))
        continue;
      ProbeRow row;
      row.anchor = name;
      row.planned = hit && !in.plan; // the END summary lists every probe of the script
      fill_counts(row, c, tpacket);
      listed.insert(name);
      r.probes.push_back(std::move(row));
    }
}

// Without a TPACKET version, a versioned status probe is only expected if no sibling fired.
void settle_versioned_probes(Report& r) {
  for (auto& row : r.probes) {
    const int v = anchor_version(row.anchor);
    if (v == 0)
      continue;
    const auto stem = row.anchor.substr(0, row.anchor.find('.'));
    for (const auto& other : r.probes)
      if (&other != &row && anchor_version(other.anchor) != 0 &&
          other.anchor.substr(0, other.anchor.find('.')) == stem && other.fired() > 0 &&
          row.fired() == 0)
        row.expect = Expect::other_version;
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

void ReportBuilder::add(const FrameTimeline& tl_in) {
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
  if (tl.status_backwards && tl.outcome != Outcome::unobserved)
    backwards_.note(tl);
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

// Anomalies: findings that make the verdict.
void ReportBuilder::add_anomalies(Report& r, const BuildInputs& in, const KernelStats& ks,
                                  std::uint64_t stuck_count, bool sent_something) const {
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
  if (backwards_.count > 0)
    add_anomaly(r, "status_backwards",
                "status went backwards (SENDING -> SEND_REQUEST) for " +
                    plural(backwards_.count, "frame", "frames") + ": " +
                    frames_text(backwards_.seqs, backwards_.indices, backwards_.count),
                backwards_.count, backwards_.seqs, backwards_.indices);
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
  add_call_faults(r, ks, in);
  if (not_restored_.count > 0) {
    add_anomaly(r, "frame_not_restored",
                plural(not_restored_.count, "frame", "frames") +
                    " left in SENDING: tpacket_destruct_skb ran but never set AVAILABLE: " +
                    frames_text(not_restored_.seqs, not_restored_.indices, not_restored_.count),
                not_restored_.count, not_restored_.seqs, not_restored_.indices);
    r.anomalies.back().evidence = not_restored_.evidence;
  }
  add_probe_anomalies(r, in, sent_something);
}

// Notes: facts worth knowing that are not failures by themselves.
void ReportBuilder::add_notes(Report& r, const BuildInputs& in, const ParseStats& ps,
                              const KernelStats& ks, bool sent_something) const {
  add_timing_notes(r, ks);
  add_trace_notes(r, in, ps);
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
  fill_trace(r.trace, c);
  list_probes(r, c, tpacket);
  if (tpacket == 0)
    settle_versioned_probes(r);
  fill_phases(r, in);
  const std::uint64_t stuck_count = settle_frames(r);
  lossy_moved_ = settle_lossy_frames(r);
  fill_summary(r, in, c.ks, stuck_count);
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
