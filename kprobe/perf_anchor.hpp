#pragma once

// One anchor placed by `perf probe -D` (perf_probe.hpp): which line, which of its fields perf can
// read there, and the definitions perf printed. An anchor depends on no other one, except a
// stand-in (probes/anchors.hpp `stands_in_for`), which is decided once the anchors it stands in
// for are placed. build_kprobe_defs therefore places the anchors in two waves (the others, then
// the stand-ins), each on several perf processes at once, and merges the outcomes in plan order:
// the definitions are the same whatever the number of processes.

#include "base/result.hpp"
#include "kprobe/definitions.hpp"
#include "kprobe/perf_probe.hpp"
#include "probes/probe_plan.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness::kprobe::detail {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct AnchorOutcome {
  std::vector<KprobeEvent> events;
  std::vector<Unfetchable> unfetchable;
  std::optional<std::string> point; // FUNC:RELATIVE_LINE (FUNC for an entry) perf placed
  bool dropped = false;             // perf could not place it
  bool unneeded = false;            // a stand-in left out: what it stands in for is placed
  std::vector<std::string> notes;   // progress lines, said in plan order
  int attempts = 0;                 // perf calls made
};

// What the stand-in decision reads: the anchors placed by the first wave, with the fields perf
// could not read.
struct PlacedSoFar {
  std::map<std::string, std::string> points;
  std::vector<Unfetchable> unfetchable;
  // The lines perf can probe in each function (`perf probe -L FUNC`, relative to its first
  // line), where perf listed them: a line not listed has no address, and is not tried.
  std::map<std::string, std::set<int>> lines;
};

// Places one planned anchor. `run` is called from several threads at once when the waves run in
// parallel (a real perf process each).
Result<AnchorOutcome> place_anchor(const KprobeBuildRequest& req, const PerfRunner& run,
                                   const probes::PlannedProbe& p, const PlacedSoFar& placed);

// Every anchor of the plan placed: the first wave (all but stand-ins), then the stand-ins, each
// wave `req.jobs` anchors at a time (0: one per CPU), merged in plan order (notes said through
// req.on_progress in that order). The first error in plan order wins.
struct PlacedPlan {
  std::vector<KprobeEvent> events;
  std::vector<Unfetchable> unfetchable;
  std::vector<std::string> dropped;
  std::map<std::string, std::string> points;
  std::vector<std::string> unneeded;
  int attempts = 0;
  int jobs = 1; // perf processes at once
};
Result<PlacedPlan> place_all(const KprobeBuildRequest& req, const PerfRunner& run);

// Pure: the variables `perf probe -V FUNC:LINE` lists ("Available variables at ...", then one
// `@<SYMBOL+OFFSET>` block per address with a "TYPE<TAB>NAME" line per variable): the names
// every address has. nullopt when the output is not such a list (perf failed).
std::optional<std::set<std::string>> visible_variables(std::string_view perf_v_out);

// Pure: the lines `perf probe -L FUNC` numbers (those with an address), relative to the
// function's first line; nullopt when the output is not a listing.
std::optional<std::set<int>> placeable_lines(std::string_view perf_l_out);

// Pure: the variable an expression starts from ("po->tx_ring.head" -> "po").
std::string base_variable(std::string_view expr);

// The first non-blank line of perf's complaint, at most 200 characters.
std::string first_line(std::string_view s);

} // namespace harness::kprobe::detail
