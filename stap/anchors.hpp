#pragma once

// The anchor table: every named statement of net/packet/af_packet.c that harness knows about.
// Each anchor is described once, in anchors.cpp: its function, how the locator finds it (the
// pattern rule), the trace fields its probe reads, and which probe sets include it. Anchor names
// are the contract between map files, scripts, trace records and reports (DESIGN.md "Anchors").

#include <span>
#include <string_view>

namespace harness::stap {

inline constexpr std::string_view af_packet_path = "net/packet/af_packet.c";

struct AnchorRule; // the locator's pattern rule (anchor_rule.hpp; defined in anchors.cpp)

// A function that holds anchors. Its canonical name is the one the anchors name (and the one
// 3.13 used); `names` lists every name it has had, because newer kernels renamed or replaced
// it (the TX completion moved from tpacket_destruct_skb to tpacket_ubuf_complete). A source
// must define exactly one of them.
struct FunctionDef {
  std::string_view canonical;
  std::span<const std::string_view> names;
};

enum class AnchorKind {
  function_start, // the line holding the function's name in its definition
  function_end,   // the line of the function's closing brace
  statement,      // a statement found by a pattern rule inside the function body
  // Kernel event anchors (DESIGN.md "Kernel event anchors"): not af_packet.c lines, so they
  // have no line in a map and the locator never sees them. `function` names the kernel
  // function or the tracepoint. A tracer reports them only for tasks of the probed process;
  // the correlator keeps those of a task inside tpacket_snd (snd.start seen, snd.return not yet).
  kernel_function, // the entry of a kernel function outside af_packet.c
  tracepoint,      // a kernel tracepoint ("sched:sched_switch")
};

struct AnchorDef {
  std::string_view name;     // e.g. "snd.len_sum"
  std::string_view function; // canonical function name (FunctionDef::canonical)
  AnchorKind kind = AnchorKind::statement;
  std::string_view rule_text;               // human description of the pattern rule (docs, errors)
  std::span<const std::string_view> fields; // trace keys (trace_format.hpp) its probe prints
  // An optional anchor may legitimately be absent in some kernel versions (when its rule's
  // absence condition holds, e.g. no `case TPACKET_V3` body before 4.11); a required one
  // missing is an error.
  bool optional = false;
  std::string_view absent_when; // e.g. "before 4.11 (no TPACKET_V3 TX)"; empty when required
  bool in_status = false;       // part of the `status` probe set (what status.stp probed)
  bool in_call_return = false;  // part of the `call-return` probe set
  // Probed as the function entry (kernel.function) rather than a statement; `snd.start` only.
  bool probe_function_entry = false;
  const AnchorRule* rule = nullptr; // statements only
};

// All af_packet.c anchors (the ones maps locate), in source order within each function,
// functions in file order.
std::span<const AnchorDef> anchors();

// nullptr when `name` is not a known af_packet.c anchor.
const AnchorDef* find_anchor(std::string_view name);

// The kernel event anchors (kind kernel_function or tracepoint), which no map holds.
std::span<const AnchorDef> kernel_event_anchors();

// An af_packet.c anchor or a kernel event anchor; nullptr when neither.
const AnchorDef* find_any_anchor(std::string_view name);

inline bool is_kernel_event(const AnchorDef& a) {
  return a.kind == AnchorKind::kernel_function || a.kind == AnchorKind::tracepoint;
}

// The functions the anchors live in, in file order.
std::span<const FunctionDef> anchored_functions();

// The definition whose canonical name or one of whose names is `name`; nullptr otherwise.
const FunctionDef* find_function(std::string_view name);

} // namespace harness::stap
