#pragma once

// A probe plan (`harness.plan/1`): what a generated script (or module) probes, written next to
// it as NAME.plan.json, so that `run --module` and `report` can name the anchor and line of a
// probe that never fired ("possible line drift at anchor X (line N)").

#include "base/result.hpp"
#include "probes/anchors.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::probes {

inline constexpr std::string_view plan_schema = "harness.plan/1";

enum class ProbeSet { status, call_return, all };

std::string_view to_string(ProbeSet set); // "status", "call-return", "all"
Result<ProbeSet> parse_probe_set(std::string_view text);
bool in_set(const AnchorDef& anchor, ProbeSet set);

struct PlannedProbe {
  std::string anchor;      // anchor name
  std::string function;    // function it lives in
  int line = 0;            // af_packet.c line (the function's start line for an entry probe)
  std::string statement;   // the statement text from the map ("" for an entry probe)
  std::string probe_point; // e.g. kernel.statement("tpacket_snd@net/packet/af_packet.c:2197")?
  bool optional = false;   // probe point ends in `?`: the script runs without it
  std::vector<std::string> fields; // trace keys its EV records carry
  // Keys of `fields` the tracer cannot read on this kernel (printed as `?`); the kprobe tracer
  // records here what perf could not locate. Written only when not empty.
  std::vector<std::string> unreadable;
};

struct ProbePlan {
  std::string plan_id;     // 16 hex digits, printed in the READY record
  std::string kernel;      // kernel release of the map
  std::string map;         // map identity (map_identity())
  std::string source_sha1; // af_packet.c sha1 of the map
  std::string package;     // the map's package, may be empty
  ProbeSet probes = ProbeSet::status;
  std::vector<PlannedProbe> anchors; // probed anchors, in script order
  std::vector<std::string> absent;   // anchors of the set that this kernel does not have

  const PlannedProbe* find(std::string_view anchor) const;
};

std::string plan_to_json(const ProbePlan& plan); // pretty-printed, ends with a newline
Result<ProbePlan> plan_from_json(std::string_view json_text, std::string_view origin);
Result<ProbePlan> load_plan(const std::string& path);
// What an option that takes a plan (--plan) wants: the hint of its errors.
inline constexpr std::string_view kPlanHint =
    "give the plan.json of a run directory, or the NAME.plan.json that `harness generate` or "
    "`harness build` wrote next to its script, module or definitions";
Status save_plan(const std::string& path, const ProbePlan& plan);

// Where a plan lives, by what it belongs to: the one home of these file names.
// "out.stp" -> "out.stp.plan.json": a script's plan.
std::string script_plan_path(const std::string& script_path);
// "dir/NAME.ko" or "dir/NAME.kprobes" -> "dir/NAME.plan.json": a tracer artifact's plan
// (`harness build` writes both; `run --module`/`--kprobes` and `vm run` read them; a cache
// entry keeps its artifact's plan the same way).
std::string artifact_plan_path(const std::string& artifact_path);
// "dir" -> "dir/plan.json": the plan of the probes a run directory's run used.
std::string run_plan_path(const std::string& run_dir);

} // namespace harness::probes
