#include "harness/report/report.hpp"
#include "harness/report/text_util.hpp"
#include "harness/report/workload.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace harness::report {
namespace {

std::string pad(std::string s, std::size_t w, bool right = false) {
  if (s.size() >= w)
    return s;
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

std::string rel(std::uint64_t t, std::uint64_t base) {
  if (t == 0)
    return "-";
  if (base == 0)
    return "?";
  if (t >= base)
    return "+" + format_duration(t - base);
  return "-" + format_duration(base - t);
}

std::string percentiles_text(const Percentiles& p, const std::string& unit_frames) {
  if (p.count == 0)
    return "n/a (no frame shows both ends)";
  return "p50 " + format_duration(p.p50) + "  p90 " + format_duration(p.p90) + "  p99 " +
         format_duration(p.p99) + "  max " + format_duration(p.max) + "  (" +
         plural(p.count, unit_frames, unit_frames + "s") + ")";
}

void frame_table(std::ostringstream& o, const Report& r, std::size_t max_rows) {
  o << "\nframes\n";
  if (r.frames.empty()) {
    o << "  (none)\n";
    return;
  }
  const std::vector<std::pair<std::string, std::size_t>> cols = {
      {"seq", 6},        {"idx", 5},          {"SEND_REQ seen", 14},
      {"SENDING", 11},   {"transmitted", 12}, {"destructor", 11},
      {"AVAILABLE", 11}, {"latency", 11},     {"outcome", 0}};
  o << " ";
  for (const auto& [name, w] : cols)
    o << " " << (w ? pad(name, w, name == "seq" || name == "idx") : name);
  o << "\n";
  const std::size_t shown = std::min(max_rows, r.frames.size());
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& f = r.frames[i];
    std::uint64_t base = 0;
    if (f.has_sender && f.sender.t_request_ns > 0)
      base = static_cast<std::uint64_t>(f.sender.t_request_ns);
    else
      for (auto t : f.t)
        if (t != 0 && (base == 0 || t < base))
          base = t;
    std::uint64_t end = f.seen(Phase::available) ? f.at(Phase::available) : f.at(Phase::destruct);
    // A latency keeps its sign: a negative one is a clock that disagrees (anomaly clock_skew).
    std::string latency =
        f.has_sender && f.sender.t_request_ns > 0 && end != 0 ? rel(end, base) : std::string("-");
    if (latency.starts_with('+'))
      latency.erase(0, 1);
    std::string outcome(outcome_name(f.outcome));
    if (f.status_backwards)
      outcome += ", status went backwards";
    if (f.xmit_err != 0)
      outcome += ", xmit " + errno_value_text(f.xmit_err);
    if (f.mapped_by == MapSource::ring_order)
      outcome += " (index inferred)";
    if (f.ring != 0)
      outcome += ", ring " + std::to_string(f.ring);
    o << "  " << pad(f.has_sender ? std::to_string(f.sender.seq) : "-", 6, true) << " "
      << pad(f.index >= 0 ? std::to_string(f.index) : "?", 5, true) << " "
      << pad(rel(f.at(Phase::request_seen), base), 14) << " "
      << pad(rel(f.at(Phase::sending), base), 11) << " " << pad(rel(f.at(Phase::xmit), base), 12)
      << " " << pad(rel(f.at(Phase::destruct), base), 11) << " "
      << pad(rel(f.at(Phase::available), base), 11) << " " << pad(latency, 11) << " " << outcome
      << "\n";
  }
  if (r.frames_total > shown)
    o << "  ... " << (r.frames_total - shown) << " more frames (all of them: report.json)\n";
  o << "  times: from the sender setting SEND_REQUEST (kernel-only rows: from the first kernel "
       "record); - = not observed\n"
       "  transmitted: tpacket_snd saw the driver's xmit return, so it can come after destructor "
       "and AVAILABLE (a veth frees the skb inside its xmit)\n";
}

} // namespace

namespace {

// `run --exec`: what ran, how it ended, and the last lines it printed.
void workload_lines(std::ostringstream& o, const WorkloadInfo& w) {
  o << "workload:";
  for (const auto& a : w.argv)
    o << " " << a;
  o << " (pid " << w.pid;
  if (!w.iface.empty())
    o << ", on " << w.iface;
  o << "): " << workload_end_text(w) << "\n";
  for (const auto& [name, tail] :
       {std::pair{"stdout", &w.stdout_tail}, std::pair{"stderr", &w.stderr_tail}})
    for (const auto& l : *tail)
      o << "  " << name << "| " << l << "\n";
}

// What the tracer lost and what was therefore not judged (docs/report-schema.md "loss").
void loss_lines(std::ostringstream& o, const LossInfo& l) {
  if (!l.any)
    return;
  o << "\nlost records\n  the tracer lost ";
  o << (l.records ? plural(l.records, "record", "records") : std::string("records"));
  if (l.uncounted)
    o << (l.records ? " and more it could not count" : " it could not count");
  if (!l.by_cause.empty()) {
    o << " (";
    bool first = true;
    for (const auto& [cause, n] : l.by_cause) {
      o << (first ? "" : ", ") << cause << " " << n;
      first = false;
    }
    o << ")";
  }
  o << " in " << plural(l.windows, "window", "windows") << " covering "
    << format_duration(l.covered_ns) << " of the trace\n";
  for (const auto& w : l.first_windows) {
    o << "    " << (w.from_ns ? std::to_string(w.from_ns) : std::string("start")) << " .. "
      << (w.to_ns < INT64_MAX ? std::to_string(w.to_ns) : std::string("end")) << " ns\n";
  }
  char share[32];
  std::snprintf(share, sizeof share, "%.1f%%", 100.0 * l.observed_share());
  o << "  " << share << " of frames fully observed (" << l.frames_observed << "); "
    << plural(l.frames_unobserved, "frame", "frames")
    << " unobserved: the loss touched them, so what is missing is not read as a kernel fault\n";
  if (l.calls_unjudged)
    o << "  " << plural(l.calls_unjudged, "finding", "findings")
      << " about tpacket_snd calls not made: records between their evidence may be lost\n";
}

// What ran: the kernel and probes, the sender's ring or the workload, where the files are.
void run_lines(std::ostringstream& o, const Report& r) {
  o << "harness report";
  if (!r.run.kernel.empty())
    o << ": kernel " << r.run.kernel;
  if (!r.run.probes.empty())
    o << ", probes " << r.run.probes;
  if (!r.run.plan_id.empty())
    o << " (plan " << r.run.plan_id << ")";
  o << "\n";
  if (r.run.ring_frames || !r.run.iface.empty()) {
    o << "sender: ";
    if (r.run.tpacket)
      o << "TPACKET_V" << r.run.tpacket << " ";
    if (!r.run.socket.empty())
      o << r.run.socket << " ";
    if (!r.run.iface.empty())
      o << "on " << r.run.iface << ", ";
    o << "ring " << r.run.ring_frames << " x " << r.run.frame_size << " bytes";
    if (r.run.rings > 1)
      o << " (" << r.run.rings << " rings)";
    if (r.run.sender_pid)
      o << ", pid " << r.run.sender_pid;
    o << "\n";
  }
  if (r.workload)
    workload_lines(o, *r.workload);
  if (!r.run.run_dir.empty())
    o << "files: " << r.run.run_dir << "\n";
  if (r.partial)
    o << "PARTIAL REPORT: "
      << (r.partial_reason.empty() ? "the run did not finish" : r.partial_reason) << "\n";
}

void summary_lines(std::ostringstream& o, const Report& r) {
  const Summary& s = r.summary;
  o << "\nsummary\n";
  o << "  frames: ";
  if (s.requested || s.queued)
    o << s.requested << " requested, " << s.queued << " queued, " << s.sent << " sent (sender); ";
  o << s.completed << " completed";
  if (s.stuck)
    o << ", " << s.stuck << " stuck";
  if (s.not_seen)
    o << ", " << s.not_seen << " never taken by the kernel";
  if (s.unmatched)
    o << ", " << s.unmatched << " unmatched";
  if (s.wrong_format)
    o << ", " << s.wrong_format << " WRONG_FORMAT";
  if (s.discarded)
    o << ", " << s.discarded << " discarded";
  if (s.unobserved)
    o << ", " << s.unobserved << " unobserved (the tracer lost records)";
  o << "\n";
  o << "  latency SEND_REQUEST -> " << (r.phases[4].observed ? "AVAILABLE" : "destructor") << ": "
    << percentiles_text(s.latency, "frame") << "\n";
  o << "  kernel hold SENDING -> " << (r.phases[4].observed ? "AVAILABLE" : "destructor") << ": "
    << percentiles_text(s.kernel_hold, "frame") << "\n";
  o << "  pickup SEND_REQUEST -> seen by tpacket_snd: " << percentiles_text(s.pickup, "frame")
    << "\n";
  o << "  tpacket_snd: " << plural(s.snd_calls, "call", "calls") << ", "
    << plural(s.waits, "wait/schedule loop", "wait/schedule loops");
  if (s.waits_dontwait)
    o << " (" << s.waits_dontwait << " with MSG_DONTWAIT)";
  if (s.else_breaks)
    o << ", " << s.else_breaks << " else-break";
  if (s.blocked_calls)
    o << ", " << s.blocked_calls << " blocked with MSG_DONTWAIT";
  o << "\n  errors returned: ";
  if (s.errors.empty())
    o << "none";
  for (auto it = s.errors.begin(); it != s.errors.end(); ++it)
    o << (it == s.errors.begin() ? "" : ", ") << errno_value_text(it->first) << " x" << it->second;
  if (s.alloc_failed)
    o << "; skb allocation failed " << s.alloc_failed << "x";
  if (s.xmit_errors)
    o << "; xmit errors " << s.xmit_errors;
  if (s.max_pending)
    o << "; max pending " << *s.max_pending;
  o << "\n";
}

void phase_lines(std::ostringstream& o, const Report& r) {
  o << "\nphases\n";
  for (const auto& p : r.phases) {
    o << "  " << pad(std::string(phase_title(p.phase)), 18) << " ";
    if (!p.expected && !p.observed)
      o << "not probed\n";
    else
      o << plural(p.frames, "frame", "frames") << (p.observed ? "" : " (never observed)")
        << (p.missing ? ", " + std::to_string(p.missing) + " completed frames without it" : "")
        << "\n";
  }
}

void probe_lines(std::ostringstream& o, const Report& r) {
  if (r.probes.empty())
    return;
  o << "\nprobes\n  " << pad("anchor", 24) << pad("line", 7, true) << pad("records", 9, true)
    << pad("hits", 8, true) << "  note\n";
  for (const auto& p : r.probes) {
    std::string note;
    if (p.expect == Expect::other_version || (p.fired() == 0 && p.expect == Expect::conditional))
      note = p.when;
    if (!p.planned)
      note = note.empty() ? "not in the plan" : note + "; not in the plan";
    if (p.unreadable)
      note += (note.empty() ? "" : "; ") + std::to_string(p.unreadable) + " unreadable";
    o << "  " << pad(p.anchor, 24) << pad(p.line ? std::to_string(p.line) : "-", 7, true)
      << pad(std::to_string(p.events), 9, true)
      << pad(p.hits ? std::to_string(*p.hits) : "-", 8, true) << "  " << note << "\n";
  }
}

void anomaly_lines(std::ostringstream& o, const Report& r) {
  if (r.anomalies.empty())
    return;
  o << "\nanomalies (" << r.anomalies.size() << ")\n";
  for (const auto& a : r.anomalies) {
    o << "  - " << a.message << "\n";
    if (a.evidence.empty())
      continue;
    // The records it rests on, by trace line (docs/report-schema.md `evidence`).
    o << "    [" << a.kind << "] evidence:";
    for (const auto& e : a.evidence) {
      o << " ";
      if (e.trace_line)
        o << "line " << e.trace_line << " " << e.anchor;
      if (!e.detail.empty())
        o << (e.trace_line ? " " : "") << e.detail;
      if (e.seq)
        o << " seq " << *e.seq;
      if (e.index >= 0)
        o << " index " << e.index;
      o << ";";
    }
    o << "\n";
    if (!a.not_from_loss.empty())
      o << "    not from lost records: " << a.not_from_loss << "\n";
  }
}

void comparison_lines(std::ostringstream& o, const Comparison& c) {
  o << "\nbaseline " << c.baseline_file << " (tolerance " << static_cast<int>(c.tolerance * 100)
    << "%): ";
  if (c.regressions.empty())
    o << "no regression\n";
  else
    o << plural(c.regressions.size(), "regression", "regressions") << "\n";
  if (!c.not_comparable.empty()) {
    o << "  - NOT COMPARABLE: the runs differ in more than the kernel, so a change below may come "
         "from that:\n";
    for (const auto& d : c.not_comparable)
      o << "      " << d << "\n";
  }
  for (const auto& g : c.regressions)
    o << "  - REGRESSION " << g.message << "\n";
  for (const auto& n : c.notes)
    o << "  - " << n << "\n";
}

void verdict_line(std::ostringstream& o, const Report& r) {
  o << "\nverdict: ";
  // A partial report cannot vouch for frames it never saw: say why it stopped instead of "OK".
  if (r.partial) {
    o << "INCOMPLETE (partial report)";
    if (!r.partial_reason.empty())
      o << ": " << r.partial_reason;
    if (!r.anomalies.empty())
      o << "; " << plural(r.anomalies.size(), "anomaly", "anomalies");
  } else if (r.exit_code() == 0) {
    o << "OK, every frame accounted for" << (r.comparison ? ", no regression" : "");
  } else if (r.verdict() == "incomplete") {
    char share[32];
    std::snprintf(share, sizeof share, "%.1f%%", 100.0 * r.loss.observed_share());
    o << "INCOMPLETE, the tracer lost "
      << (r.loss.records ? plural(r.loss.records, "record", "records") : std::string("records"))
      << "; " << share << " of frames fully observed, no anomaly in them"
      << (r.comparison ? ", no regression" : "");
  } else {
    o << "FAIL, " << plural(r.anomalies.size(), "anomaly", "anomalies");
    if (r.comparison)
      o << ", " << plural(r.comparison->regressions.size(), "regression", "regressions");
  }
  o << "\n";
}

} // namespace

std::string format_report_text(const Report& r, std::size_t max_rows) {
  std::ostringstream o;
  run_lines(o, r);
  frame_table(o, r, max_rows);
  summary_lines(o, r);
  phase_lines(o, r);
  probe_lines(o, r);
  anomaly_lines(o, r);
  loss_lines(o, r.loss);
  if (!r.notes.empty()) {
    o << "\nnotes\n";
    for (const auto& n : r.notes)
      o << "  - " << n << "\n";
  }
  if (r.comparison)
    comparison_lines(o, *r.comparison);
  verdict_line(o, r);
  return o.str();
}

} // namespace harness::report
