#pragma once

// The kprobe tracer's artifact (`harness.kprobes/1`, NAME.kprobes next to NAME.plan.json): the
// kprobe_events definitions `perf probe -D` produced for one kernel's vmlinux and one probe plan,
// one or more events per anchor (a line can have several addresses, e.g. inlined copies), and
// the trace keys each anchor could not fetch (they print `?`, as with stap). docs/DESIGN.md
// "kprobe tracer" describes the format and how it reaches tracefs.
//
// Everything here is pure and strict: a definition is only accepted when every token matches
// the small grammar perf emits (symbol+offset, name=fetch:type), because these lines are written
// into the kernel's kprobe_events file.

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::kprobe {

inline constexpr std::string_view defs_schema = "harness.kprobes/1";
inline constexpr std::string_view defs_suffix = ".kprobes";

// One kprobe event: `p:GROUP/EVENT PROBE ARG...` once the group is chosen at install time.
struct KprobeEvent {
  std::string anchor;            // the anchor it stands for (probes/anchors.cpp name)
  std::string event;             // event name, unique in the file ([a-z_][a-z0-9_]*)
  std::string probe;             // where: SYMBOL+OFFSET (e.g. tpacket_snd+2340)
  std::vector<std::string> args; // fetch arguments NAME=FETCH:TYPE; NAME is a trace key
};

// A trace key an anchor's probe cannot read on this kernel (perf found no location for it).
struct Unfetchable {
  std::string anchor;
  std::string key;
};

struct KprobeDefs {
  std::string kernel;   // release of the kernel the definitions are for
  std::string build_id; // GNU build id of its vmlinux (hex); a mismatch on the target refuses
  std::string plan_id;  // the plan they implement
  std::string perf;     // `perf --version` of the generator, for the record
  std::vector<KprobeEvent> events;
  std::vector<Unfetchable> unfetchable;
  std::vector<std::string> dropped; // anchors perf could not place at all (no line entry)
};

// ---- grammar checks (exposed for tests) ----
bool valid_event_name(std::string_view s);     // [a-z_][a-z0-9_]{0,63}
bool valid_group_name(std::string_view s);     // [a-z_][a-z0-9_]{0,31}
bool valid_probe_location(std::string_view s); // SYMBOL[+OFFSET], symbol [A-Za-z_][A-Za-z0-9_.]*
bool valid_fetch_arg(std::string_view s);      // KEY=FETCH:TYPE with a known trace key

// The event name of an anchor: "snd.len_sum" -> "snd_len_sum".
std::string event_name_for(std::string_view anchor);

// One line of `perf probe -D` output: "p:GROUP/EVENT PROBE ARG..." (also "p:EVENT ...").
struct PerfDefinition {
  std::string event;
  std::string probe;
  std::vector<std::string> args;
};
Result<PerfDefinition> parse_perf_definition(std::string_view line);

// The kprobe_events line that installs `e` in `group`.
std::string install_line(std::string_view group, const KprobeEvent& e);
// The kprobe_events line that removes it.
std::string remove_line(std::string_view group, std::string_view event);

std::string defs_to_json(const KprobeDefs& defs); // pretty-printed, ends with a newline
Result<KprobeDefs> defs_from_json(std::string_view text, std::string_view origin);
Result<KprobeDefs> load_defs(const std::string& path);
Status save_defs(const std::string& path, const KprobeDefs& defs);

// Refuses definitions made for another kernel than the one with RUNNING_BUILD_ID (empty: the
// running kernel's build id is unknown, nothing to compare).
Status check_defs_kernel(const KprobeDefs& defs, const std::string& running_build_id);

} // namespace harness::kprobe
