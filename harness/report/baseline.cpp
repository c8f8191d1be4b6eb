#include "harness/report/baseline.hpp"

#include "harness/report/text_util.hpp"

#include <cmath>
#include <cstdio>
#include <set>

namespace harness::report {
namespace {

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.0f%%", x * 100.0);
  return buf;
}

double rate(std::uint64_t n, std::uint64_t total) {
  return total ? static_cast<double>(n) / static_cast<double>(total) : 0.0;
}

const ProbeRow* find_probe(const Report& r, const std::string& anchor) {
  for (const auto& p : r.probes)
    if (p.anchor == anchor)
      return &p;
  return nullptr;
}

void regress(Comparison& c, std::string what, std::string b, std::string n, std::string msg) {
  c.regressions.push_back({std::move(what), std::move(b), std::move(n), std::move(msg)});
}

// The runs themselves: kernel, probe set, TPACKET version, a partial baseline, lost records.
std::string text_of(const std::string& s) {
  return s.empty() ? "(none)" : s;
}
template <class N> std::string text_of(N n) {
  return std::to_string(n);
}

// The same scenario on another kernel is what a baseline is for; anything else that differs is
// said (issue 30: 20 frames at -O0 against 2 at -O2 were compared without a word).
void compare_scenarios(Comparison& c, const Report& base, const Report& cur) {
  auto differ = [&c](const std::string& what, const auto& b, const auto& n) {
    if (b != n)
      c.not_comparable.push_back(what + " " + text_of(b) + " -> " + text_of(n));
  };
  differ("frames requested", base.summary.requested, cur.summary.requested);
  differ("ring frames", base.run.ring_frames, cur.run.ring_frames);
  differ("frame size", base.run.frame_size, cur.run.frame_size);
  differ("rings", base.run.rings, cur.run.rings);
  differ("socket", base.run.socket, cur.run.socket);
  if (base.run.tpacket != cur.run.tpacket)
    c.not_comparable.push_back("TPACKET_V" + std::to_string(base.run.tpacket) + " -> TPACKET_V" +
                               std::to_string(cur.run.tpacket));
  if (base.run.probes != cur.run.probes && !base.run.probes.empty())
    c.not_comparable.push_back("probe set " + base.run.probes + " -> " + cur.run.probes +
                               ": probe comparisons cover the common anchors only");
  differ("workload", base.workload ? std::string("a program (--exec/--pid)") : "the sender",
         cur.workload ? std::string("a program (--exec/--pid)") : "the sender");
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    if (base.phases[p].expected != cur.phases[p].expected)
      c.not_comparable.push_back("the " + std::string(phase_title(static_cast<Phase>(p))) +
                                 " phase is " +
                                 (cur.phases[p].expected ? "observable now, not in the baseline"
                                                         : "observable in the baseline, not now") +
                                 " (a kernel built otherwise, e.g. -O0 against -O2?)");
}

void compare_runs(Comparison& c, const Report& base, const Report& cur) {
  if (base.run.kernel != cur.run.kernel && !base.run.kernel.empty())
    c.notes.push_back("kernel " + base.run.kernel + " -> " + cur.run.kernel);
  compare_scenarios(c, base, cur);
  if (base.partial)
    c.notes.push_back("the baseline is a partial report");
  // What a run's tracer lost is never a change in the kernel (docs/report-schema.md "loss"):
  // an absence in such a run is a note, not a regression.
  const bool lost = cur.loss.any;
  if (lost)
    c.notes.push_back("this run's tracer lost records (" +
                      plural(cur.loss.frames_unobserved, "frame", "frames") +
                      " not judged): a phase or probe seen no more is a note, not a regression");
  if (base.loss.any)
    c.notes.push_back("the baseline's tracer lost records");
}

// Phases present.
void compare_phases(Comparison& c, const Report& base, const Report& cur) {
  const bool lost = cur.loss.any;
  for (std::size_t p = 0; p < kPhaseCount; ++p) {
    const auto& b = base.phases[p];
    const auto& n = cur.phases[p];
    const std::string title(phase_title(static_cast<Phase>(p)));
    if (b.observed && !n.observed && lost)
      c.notes.push_back("phase " + title + " not observed now (records were lost)");
    else if (b.observed && !n.observed)
      regress(c, "phase " + std::string(phase_name(static_cast<Phase>(p))),
              std::to_string(b.frames) + " frames", "never",
              "phase " + title +
                  " no longer observed (baseline: " + plural(b.frames, "frame", "frames") + ")");
    else if (!b.observed && n.observed)
      c.notes.push_back("phase " + title + " observed now, not in the baseline");
  }
}

// Probe hit counts.
void compare_probes(Comparison& c, const Report& base, const Report& cur,
                    const BaselineOptions& opt) {
  const bool lost = cur.loss.any;
  for (const auto& bp : base.probes) {
    if (bp.fired() == 0)
      continue;
    const ProbeRow* np = find_probe(cur, bp.anchor);
    const std::uint64_t now = np ? np->fired() : 0;
    if (now == 0) {
      const bool was_planned_now = np && np->planned;
      if (bp.expect == Expect::always && (was_planned_now || !np) && !lost)
        regress(c, "probe " + bp.anchor, std::to_string(bp.fired()), "0",
                "probe " + bp.anchor + " fired " + std::to_string(bp.fired()) +
                    " times in the baseline, never now" +
                    (np && np->line ? " (line " + std::to_string(np->line) + ")" : std::string()));
      else
        c.notes.push_back("probe " + bp.anchor + " fired " + std::to_string(bp.fired()) +
                          " times in the baseline, not now");
      continue;
    }
    const double bpf = rate(bp.fired(), std::max<std::uint64_t>(base.summary.frames, 1));
    const double npf = rate(now, std::max<std::uint64_t>(cur.summary.frames, 1));
    if (bpf > 0 && std::fabs(npf - bpf) / bpf > opt.tolerance)
      c.notes.push_back("probe " + bp.anchor + ": " + std::to_string(bp.fired()) + " -> " +
                        std::to_string(now) + " hits");
  }
  for (const auto& np : cur.probes)
    if (np.fired() > 0 &&
        (!find_probe(base, np.anchor) || find_probe(base, np.anchor)->fired() == 0))
      c.notes.push_back("probe " + np.anchor + " fires now, not in the baseline");
}

// Frame outcomes.
void compare_outcomes(Comparison& c, const Report& base, const Report& cur) {
  struct OutcomeCount {
    const char* name;
    std::uint64_t Summary::*field;
  };
  const OutcomeCount bad[] = {{"stuck", &Summary::stuck},
                              {"never taken by the kernel", &Summary::not_seen},
                              {"unmatched", &Summary::unmatched},
                              {"WRONG_FORMAT", &Summary::wrong_format},
                              {"discarded", &Summary::discarded}};
  for (const auto& o : bad) {
    const auto b = base.summary.*o.field, n = cur.summary.*o.field;
    if (n > 0 && rate(n, cur.summary.frames) > rate(b, base.summary.frames))
      regress(c, std::string("frames ") + o.name,
              std::to_string(b) + "/" + std::to_string(base.summary.frames),
              std::to_string(n) + "/" + std::to_string(cur.summary.frames),
              std::string("frames ") + o.name + ": " + std::to_string(b) + " of " +
                  std::to_string(base.summary.frames) + " -> " + std::to_string(n) + " of " +
                  std::to_string(cur.summary.frames));
  }
  if (rate(cur.summary.completed, cur.summary.frames) <
          rate(base.summary.completed, base.summary.frames) &&
      c.regressions.empty())
    c.notes.push_back("completed share fell: " + std::to_string(base.summary.completed) + "/" +
                      std::to_string(base.summary.frames) + " -> " +
                      std::to_string(cur.summary.completed) + "/" +
                      std::to_string(cur.summary.frames));
}

// Latency percentiles.
void compare_latencies(Comparison& c, const Report& base, const Report& cur,
                       const BaselineOptions& opt) {
  struct Pct {
    const char* name;
    Percentiles Summary::*field;
  };
  const Pct pcts[] = {{"latency", &Summary::latency},
                      {"kernel hold", &Summary::kernel_hold},
                      {"pickup", &Summary::pickup}};
  for (const auto& pc : pcts) {
    const Percentiles& b = base.summary.*pc.field;
    const Percentiles& n = cur.summary.*pc.field;
    if (b.count == 0 || n.count == 0) {
      if (b.count > 0 && n.count == 0)
        c.notes.push_back(std::string(pc.name) + " percentiles missing now");
      continue;
    }
    const std::pair<const char*, std::uint64_t Percentiles::*> qs[] = {
        {"p50", &Percentiles::p50}, {"p90", &Percentiles::p90}, {"p99", &Percentiles::p99}};
    for (const auto& [qname, qf] : qs) {
      const double bv = static_cast<double>(b.*qf), nv = static_cast<double>(n.*qf);
      const double floor = static_cast<double>(opt.latency_floor_ns);
      const std::string what = std::string(pc.name) + " " + qname;
      const std::string change = format_duration(b.*qf) + " -> " + format_duration(n.*qf) +
                                 (bv > 0 ? " (" + percent((nv - bv) / bv) + ")" : "");
      if (nv > bv * (1.0 + opt.tolerance) + floor)
        regress(c, what, format_duration(b.*qf), format_duration(n.*qf),
                what + " " + change + ", beyond the " +
                    std::to_string(static_cast<int>(opt.tolerance * 100)) + "% tolerance");
      else if (nv < bv * (1.0 - opt.tolerance) - floor)
        c.notes.push_back(what + " improved: " + change);
    }
  }
}

// Blocking and errors.
void compare_errors(Comparison& c, const Report& base, const Report& cur) {
  if (cur.summary.blocked_calls > 0 && base.summary.blocked_calls == 0)
    regress(c, "blocked_dontwait", "0", std::to_string(cur.summary.blocked_calls),
            "tpacket_snd now blocks with MSG_DONTWAIT (" +
                plural(cur.summary.blocked_calls, "call", "calls") + "), never in the baseline");
  for (const auto& [err, count] : cur.summary.errors)
    if (!base.summary.errors.count(err))
      c.notes.push_back("tpacket_snd returns " + errno_value_text(err) + " now (" +
                        std::to_string(count) + "x), never in the baseline");
  std::set<std::string> base_kinds;
  for (const auto& a : base.anomalies)
    base_kinds.insert(a.kind);
  for (const auto& a : cur.anomalies)
    if (!base_kinds.count(a.kind))
      c.notes.push_back("new anomaly kind: " + a.kind);
}

} // namespace

Comparison compare_with_baseline(const Report& base, const Report& cur, const BaselineOptions& opt,
                                 std::string baseline_file) {
  Comparison c;
  c.baseline_file = std::move(baseline_file);
  c.tolerance = opt.tolerance;
  compare_runs(c, base, cur);
  compare_phases(c, base, cur);
  compare_probes(c, base, cur, opt);
  compare_outcomes(c, base, cur);
  compare_latencies(c, base, cur, opt);
  compare_errors(c, base, cur);
  return c;
}

} // namespace harness::report
