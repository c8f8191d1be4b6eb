#pragma once

// `harness build --backend kprobe`: turns a probe plan into kprobe_events definitions for one
// kernel with `perf probe -k VMLINUX -D` (docs/DESIGN.md "kprobe tracer"). perf reads the DWARF
// of the vmlinux, so this runs on the build host and needs no kprobes there. Each anchor becomes
// one `perf probe -D 'EVENT=FUNC:RELATIVE_LINE key=expr ...'` (function-relative lines are the
// form perf resolves reliably); a trace key perf cannot locate is retried without it and
// recorded as unfetchable (`?` in the trace), an anchor perf cannot place at all is dropped.
// The anchors are placed on one perf process per CPU (perf_anchor.hpp), since each call costs
// about a second of DWARF reading. Results are cached by (vmlinux build id, plan, perf version).

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "kprobe/definitions.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace harness::kprobe {

inline constexpr std::string_view default_defs_name = "harness_probes";

// One `perf probe -D` attempt: argv after "perf", and its outcome (exposed for tests/fakes).
struct PerfAttempt {
  bool ok = false;
  std::string out; // definitions on success
  std::string err; // perf's complaint on failure
};
using PerfRunner = std::function<Result<PerfAttempt>(const std::vector<std::string>& argv)>;

struct KprobeBuildRequest {
  std::string vmlinux; // with DWARF
  std::string release;
  std::string build_id;
  probes::LineMap map; // the kernel's own lines (function starts are needed for relative lines)
  probes::ProbePlan plan;
  std::string out_dir;
  std::string name = std::string(default_defs_name);
  std::string cache_dir;
  bool use_cache = true;
  std::string perf = "perf";
  PerfRunner runner; // default: runs perf; called from several threads when jobs != 1
  int jobs = 0;      // perf processes at once (each anchor's calls stay in order); 0: one per CPU
  LineSink on_progress;
};

struct KprobeBuildResult {
  KprobeDefs defs;
  probes::ProbePlan plan; // the input plan, dropped anchors moved to `absent`, unreadable keys set
  std::string defs_path;
  std::string plan_path;
  bool cache_hit = false;
  long elapsed_ms = 0;
};

Result<KprobeBuildResult> build_kprobe_defs(const KprobeBuildRequest& req);

// ---- pure parts (exposed for tests) ----

// How perf reads a trace key at an anchor: probes/field_sources.hpp's paths in their order, in
// the C spelling perf takes as it is.
std::vector<std::string> fetch_expressions(std::string_view anchor, std::string_view key);

// "EVENT=FUNC:REL key=expr ..." for one attempt ("EVENT=FUNC ..." for the entry: rel < 0).
std::string perf_spec(std::string_view event, std::string_view function, int relative_line,
                      const std::vector<std::pair<std::string, std::string>>& fields);

// Every definition perf printed for `event` (the event itself and its _1, _2 ... copies).
Result<std::vector<KprobeEvent>>
events_from_perf_output(std::string_view out, std::string_view anchor, std::string_view event);

} // namespace harness::kprobe
