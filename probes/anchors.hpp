#pragma once

// The anchor table: the one home of the anchor contract (docs/DESIGN.md "Anchors"). Every named
// statement of net/packet/af_packet.c and every kernel event harness probes is one row of
// `anchor_table` below: its function, how the locator finds it (the pattern rule, in
// anchor_rules.hpp), the trace keys its probe prints (trace_format.hpp), which probe sets hold
// it, which TPACKET ring version it fires for, what a run should show of it and which frame phase
// it marks. Maps, locator, generator, both tracers and the report all read this table; the
// report's fast ids (harness/report/anchor_ids.hpp) are computed from it at compile time.
// Adding an anchor is one row here (and its rule, when it is a statement).

#include "probes/anchor_rules.hpp"
#include "probes/trace_format.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace harness::probes {

inline constexpr std::string_view af_packet_path = "net/packet/af_packet.c";

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

// The phases of a TX frame's life an anchor can mark (the report's frame timeline;
// docs/report-schema.md "frames").
enum class FramePhase : std::uint8_t {
  request_seen, // tpacket_snd found the frame in SEND_REQUEST (get_status / ph_check)
  sending,      // __packet_set_status(..., TP_STATUS_SENDING)
  xmit,         // the skb was handed to the device (after_xmit / len_sum)
  destruct,     // tpacket_destruct_skb ran for it
  available,    // __packet_set_status(..., TP_STATUS_AVAILABLE) from the destructor
};

// What a run should show of an anchor (the report's "probes" expectations).
enum class Fires : std::uint8_t {
  bounds,      // a function's start/end line: only a map bound, the report does not interpret it
  always,      // fires whenever a frame is sent: silence means the probe sits on the wrong line
  conditional, // fires only on a particular path (`when` says which)
};

struct AnchorDef {
  std::string_view name;     // e.g. "snd.len_sum"
  std::string_view function; // canonical function name (FunctionDef::canonical)
  AnchorKind kind = AnchorKind::statement;
  std::string_view rule_text;               // human description of the pattern rule (docs, errors)
  const AnchorRule* rule = nullptr;         // statements only (anchor_rules.hpp)
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
  int tpacket = 0; // fires only for rings of this TPACKET version (1..3); 0: for every ring
  Fires fires = Fires::bounds;
  std::string_view when;           // for `conditional`: the path it fires on
  std::optional<FramePhase> phase; // the frame phase its record marks, if any
  // A stand-in is probed only where none of these anchors can be placed: they see the phase's
  // status store itself; an -O2 kernel inlines __packet_set_status and they are gone, and the
  // stand-in shows the store from a line after it (DESIGN.md "Stand-in anchors").
  std::span<const std::string_view> stands_in_for;
  // A tracer that cannot place the anchor's line may take one of the next `later_lines` lines
  // of the function instead (an -O2 kernel has no line-table entry for most lines): what the
  // anchor shows holds there too. 0: its own line only.
  int later_lines = 0;
};

namespace anchor_rows {

namespace k = trace::key;

inline constexpr std::array<std::string_view, 1> kSetStatusNames = {"__packet_set_status"};
inline constexpr std::array<std::string_view, 1> kGetStatusNames = {"__packet_get_status"};
// The TX completion: the skb destructor up to 6.x; newer kernels (and stable backports, e.g.
// Debian's 6.12.117) complete TX frames from a ubuf_info callback instead.
inline constexpr std::array<std::string_view, 2> kDestructNames = {"tpacket_destruct_skb",
                                                                   "tpacket_ubuf_complete"};
inline constexpr std::array<std::string_view, 1> kSndNames = {"tpacket_snd"};

inline constexpr std::array<FunctionDef, 4> kFunctions = {{
    {"__packet_set_status", kSetStatusNames},
    {"__packet_get_status", kGetStatusNames},
    {"tpacket_destruct_skb", kDestructNames},
    {"tpacket_snd", kSndNames},
}};

// ---- trace keys printed by each probe ----
inline constexpr std::array kSetFields = {k::po, k::frame, k::status, k::version};
inline constexpr std::array kGetFields = {k::po, k::frame, k::status};
inline constexpr std::array kPendingFields = {k::po, k::ph, k::pending};
inline constexpr std::array kAvailableFields = {k::po, k::ph, k::ts, k::skb};
inline constexpr std::array kAfterAvailableFields = {k::po, k::ph, k::skb};
inline constexpr std::array kSetSendingFields = {k::po, k::ph, k::skb};
inline constexpr std::array<std::string_view, 3> kStatusStores = {
    "set_status.v1_break", "set_status.v2_break", "set_status.v3_break"};
inline constexpr std::array kSndStartFields = {
    k::po, k::head, k::frame_max, k::frame_size, k::frames_per_block, k::version, k::flags};
inline constexpr std::array kSockFields = {k::po, k::sndbuf, k::wmem};
inline constexpr std::array kPhHeadFields = {k::po, k::ph, k::head};
inline constexpr std::array kWaitFields = {k::po, k::pending, k::flags, k::timeo};
inline constexpr std::array kContinueFields = {k::po, k::flags, k::pending, k::timeo};
inline constexpr std::array kElseBreakFields = {k::po, k::len_sum};
inline constexpr std::array kErrFields = {k::po, k::err};
inline constexpr std::array kPhErrFields = {k::po, k::ph, k::err};
inline constexpr std::array kLenSumFields = {k::po,     k::ph,    k::head,   k::len_sum,
                                             k::tp_len, k::flags, k::pending};
inline constexpr std::array kReturnFields = {k::po, k::err, k::sndbuf, k::wmem};
inline constexpr std::array kAllocFields = {k::noblock};
inline constexpr std::array kSleepFields = {k::state};

constexpr auto start = AnchorKind::function_start;
constexpr auto end = AnchorKind::function_end;
constexpr auto stmt = AnchorKind::statement;
constexpr auto always = Fires::always;
constexpr auto conditional = Fires::conditional;

inline constexpr std::string_view kNoV3 =
    "before 4.11 (no TPACKET_V3 TX ring: the case is missing or falls through to default)";
inline constexpr std::string_view kNameLine = "the function's name line";
inline constexpr std::string_view kClosingBrace = "the function's closing brace";

} // namespace anchor_rows

// Every anchor, one row each: the af_packet.c anchors (the ones maps locate) in source order
// within each function, functions in file order; then the kernel event anchors, which no map
// holds. The facts behind `fires`/`when`/`phase` are those of tpacket_snd and the TX completion
// (docs/af_packet-history.md).
// check-sizes: table
inline constexpr auto anchor_table = [] {
  using namespace anchor_rows;
  namespace r = rules;
  return std::to_array<AnchorDef>({
      // ---- __packet_set_status: records SENDING (tpacket_snd) and AVAILABLE (completion) ----
      {.name = "set_status.start",
       .function = "__packet_set_status",
       .kind = start,
       .rule_text = kNameLine},
      {.name = "set_status.v1_break",
       .function = "__packet_set_status",
       .kind = stmt,
       .rule_text = "the only `break;` of the `case TPACKET_V1:` arm",
       .rule = &r::kRV1Break,
       .fields = kSetFields,
       .in_status = true,
       .tpacket = 1,
       .fires = always,
       .phase = FramePhase::sending},
      {.name = "set_status.v2_break",
       .function = "__packet_set_status",
       .kind = stmt,
       .rule_text = "the only `break;` of the `case TPACKET_V2:` arm",
       .rule = &r::kRV2Break,
       .fields = kSetFields,
       .in_status = true,
       .tpacket = 2,
       .fires = always,
       .phase = FramePhase::sending},
      {.name = "set_status.v3_break",
       .function = "__packet_set_status",
       .kind = stmt,
       .rule_text = "the only `break;` of the `case TPACKET_V3:` arm",
       .rule = &r::kRV3Break,
       .fields = kSetFields,
       .optional = true,
       .absent_when = kNoV3,
       .in_status = true,
       .tpacket = 3,
       .fires = always,
       .phase = FramePhase::sending},
      {.name = "set_status.end",
       .function = "__packet_set_status",
       .kind = end,
       .rule_text = kClosingBrace},

      // ---- __packet_get_status: tpacket_snd reads SEND_REQUEST ----
      {.name = "get_status.start",
       .function = "__packet_get_status",
       .kind = start,
       .rule_text = kNameLine},
      {.name = "get_status.v1_return",
       .function = "__packet_get_status",
       .kind = stmt,
       .rule_text = "the only `return` of the `case TPACKET_V1:` arm",
       .rule = &r::kRV1Return,
       .fields = kGetFields,
       .in_status = true,
       .tpacket = 1,
       .fires = always,
       .phase = FramePhase::request_seen},
      {.name = "get_status.v2_return",
       .function = "__packet_get_status",
       .kind = stmt,
       .rule_text = "the only `return` of the `case TPACKET_V2:` arm",
       .rule = &r::kRV2Return,
       .fields = kGetFields,
       .in_status = true,
       .tpacket = 2,
       .fires = always,
       .phase = FramePhase::request_seen},
      {.name = "get_status.v3_return",
       .function = "__packet_get_status",
       .kind = stmt,
       .rule_text = "the only `return` of the `case TPACKET_V3:` arm",
       .rule = &r::kRV3Return,
       .fields = kGetFields,
       .optional = true,
       .absent_when = kNoV3,
       .in_status = true,
       .tpacket = 3,
       .fires = always,
       .phase = FramePhase::request_seen},
      {.name = "get_status.end",
       .function = "__packet_get_status",
       .kind = end,
       .rule_text = kClosingBrace},

      // ---- tpacket_destruct_skb (tpacket_ubuf_complete): the TX completion ----
      {.name = "destruct.start",
       .function = "tpacket_destruct_skb",
       .kind = start,
       .rule_text = kNameLine,
       .fires = always},
      {.name = "destruct.pending_dec",
       .function = "tpacket_destruct_skb",
       .kind = stmt,
       .rule_text =
           "the only `atomic_dec(&po->tx_ring.pending)` or `packet_dec_pending(&po->tx_ring)`",
       .rule = &r::kRPendingDec,
       .fields = kPendingFields,
       .in_status = true,
       .fires = always,
       .phase = FramePhase::destruct},
      {.name = "destruct.set_available",
       .function = "tpacket_destruct_skb",
       .kind = stmt,
       .rule_text = "the only `__packet_set_status(po, ph, TP_STATUS_AVAILABLE...`",
       .rule = &r::kRSetAvailable,
       .fields = kAvailableFields,
       .in_status = true,
       .fires = always,
       .phase = FramePhase::destruct},
      // At -O2: the first line perf can place after the AVAILABLE store (Debian 6.1.0-57:
      // tpacket_destruct_skb:17, `sock_wfree(skb)`, 4 lines on; 6.12.118: tpacket_ubuf_complete
      // :19, `kfree(tu)`). The correlator ties its record to the destruct.set_available record
      // before the store by skb (or ph) and thread (docs/tracing-notes.md).
      {.name = "destruct.after_available",
       .function = "tpacket_destruct_skb",
       .kind = stmt,
       .rule_text = "the statement after `__packet_set_status(po, ph, TP_STATUS_AVAILABLE...);` "
                    "when that store is a statement of its own (not guarded by an `if`)",
       .rule = &r::kRAfterAvailable,
       .fields = kAfterAvailableFields,
       .optional = true,
       .absent_when = "when the AVAILABLE store is guarded (a modified kernel): its next line "
                      "does not show the store was made",
       .in_status = true,
       .fires = always,
       .phase = FramePhase::available,
       .stands_in_for = kStatusStores,
       .later_lines = 8},
      {.name = "destruct.end",
       .function = "tpacket_destruct_skb",
       .kind = end,
       .rule_text = kClosingBrace},

      // ---- tpacket_snd: the send loop ----
      {.name = "snd.start",
       .function = "tpacket_snd",
       .kind = start,
       .rule_text = "the function's name line; probed as its entry",
       .fields = kSndStartFields,
       .in_status = true,
       .in_call_return = true,
       .probe_function_entry = true,
       .fires = always},
      {.name = "snd.size_max_clamp",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "the only `if` whose condition holds `size_max > dev->mtu + reserve`",
       .rule = &r::kRSizeMaxClamp,
       .fields = kSockFields,
       .in_call_return = true,
       .fires = conditional,
       .when = "only when the frame size exceeds the device MTU plus headroom"},
      {.name = "snd.ph_check",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "the first `if (unlikely(ph == NULL))` (or `!ph`) after the unique "
                    "`ph = packet_current_frame(po, &po->tx_ring`",
       .rule = &r::kRPhCheck,
       .fields = kPhHeadFields,
       .in_status = true,
       .fires = always,
       .phase = FramePhase::request_seen},
      {.name = "snd.wait",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "inside that NULL block, the only `schedule();` or "
                    "`wait_for_completion_interruptible_timeout(`",
       .rule = &r::kRWait,
       .fields = kWaitFields,
       .in_status = true,
       .fires = conditional,
       .when = "only when tpacket_snd waits for frames in flight"},
      {.name = "snd.wait_continue",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "inside that NULL block, the only `continue;`",
       .rule = &r::kRWaitContinue,
       .fields = kContinueFields,
       .in_status = true,
       .fires = conditional,
       .when = "only after a wait"},
      {.name = "snd.else_break",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "when that NULL block has an `else break;` (or `else { break; }`), the "
                    "statement it jumps to: the first after the loop's `} while (...);` (the "
                    "`break;` line itself has no line-table entry)",
       .rule = &r::kRElseBreak,
       .fields = kElseBreakFields,
       .optional = true,
       .absent_when = "before 6.16 and its stable backports (the NULL block has no `else`)",
       .in_status = true,
       .fires = conditional,
       .when = "only when the ring has no more SEND_REQUEST frames and nothing to wait for"},
      {.name = "snd.alloc_failed",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "after the unique `sock_alloc_send_skb(`, the only `goto out_status;` of the "
                    "first `if (unlikely(skb == NULL))` (or `!skb`)",
       .rule = &r::kRAllocFailed,
       .fields = kErrFields,
       .in_call_return = true,
       .fires = conditional,
       .when = "only when sock_alloc_send_skb fails"},
      // At -O2 (Debian 6.1.0-57: tpacket_snd:170, packet_sendmsg+3176, `skb` but no `ph`): its
      // record is about the frame its call found last, like len_sum's (docs/DESIGN.md
      // "Stand-in anchors").
      {.name = "snd.set_sending",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "the only `__packet_set_status(po, ph, TP_STATUS_SENDING);`, when it is a "
                    "statement of its own (not guarded by an `if`)",
       .rule = &r::kRSetSending,
       .fields = kSetSendingFields,
       .optional = true,
       .absent_when = "when the SENDING store is guarded (a modified kernel): reaching its line "
                      "does not show the store is made",
       .in_status = true,
       .fires = always,
       .phase = FramePhase::sending,
       .stands_in_for = kStatusStores},
      {.name = "snd.after_xmit",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "the statement after the unique `err = <...xmit...>(... skb);`",
       .rule = &r::kRXmitNext,
       .fields = kPhErrFields,
       .in_call_return = true,
       .fires = always,
       .phase = FramePhase::xmit},
      {.name = "snd.already_destructed",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "between that transmit call and `len_sum += tp_len;`, the only `skb = NULL;`",
       .rule = &r::kRAlreadyDestructed,
       .fields = kPhErrFields,
       .in_call_return = true,
       .fires = conditional,
       .when = "only when the xmit fails"},
      {.name = "snd.not_destructed",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "between that transmit call and `len_sum += tp_len;`, the only `err = 0;`",
       .rule = &r::kRNotDestructed,
       .fields = kPhErrFields,
       .in_call_return = true,
       .fires = conditional,
       .when = "only when the xmit drops the skb"},
      {.name = "snd.len_sum",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "the only `len_sum += tp_len;`",
       .rule = &r::kRLenSum,
       .fields = kLenSumFields,
       .in_status = true,
       .fires = always,
       .phase = FramePhase::xmit},
      {.name = "snd.return",
       .function = "tpacket_snd",
       .kind = stmt,
       .rule_text = "the last `return err;`",
       .rule = &r::kRReturn,
       .fields = kReturnFields,
       .in_status = true,
       .in_call_return = true,
       .fires = always},
      {.name = "snd.end", .function = "tpacket_snd", .kind = end, .rule_text = kClosingBrace},

      // ---- kernel event anchors (DESIGN.md "Kernel event anchors"): no rule, no line ----
      {.name = "alloc.enter",
       .function = "sock_alloc_send_pskb",
       .kind = AnchorKind::kernel_function,
       .rule_text = "the entry of sock_alloc_send_pskb (tpacket_snd's skb allocation through "
                    "sock_alloc_send_skb / packet_alloc_skb); `noblock` is its int argument",
       .fields = kAllocFields,
       .in_status = true,
       // tpacket_snd allocates an skb for every frame it sends.
       .fires = always},
      {.name = "sched.sleep",
       .function = "sched:sched_switch",
       .kind = AnchorKind::tracepoint,
       .rule_text = "sched_switch of the task leaving the CPU to sleep: not a preemption, prev "
                    "state non-zero (`state`)",
       .fields = kSleepFields,
       .in_status = true,
       .fires = conditional,
       .when = "only when the sending task sleeps inside tpacket_snd (a blocking send waiting "
               "for frames in flight, a contended lock)"},
  });
}();

inline constexpr bool is_kernel_event(const AnchorDef& a) {
  return a.kind == AnchorKind::kernel_function || a.kind == AnchorKind::tracepoint;
}

// The number of af_packet.c anchors: the table's rows before the kernel event anchors.
inline constexpr std::size_t af_packet_anchor_count = [] {
  std::size_t n = 0;
  while (n < anchor_table.size() && !is_kernel_event(anchor_table[n]))
    ++n;
  return n;
}();

// The table's invariants, checked where it is written.
static_assert([] {
  for (std::size_t i = af_packet_anchor_count; i < anchor_table.size(); ++i)
    if (!is_kernel_event(anchor_table[i]))
      return false; // kernel event anchors come last
  for (const auto& a : anchor_table) {
#ifndef __SANITIZE_ADDRESS__ // GCC's ASan makes a rule's address non-constant; other builds check
    if ((a.kind == AnchorKind::statement) != (a.rule != nullptr))
      return false; // statements, and only they, have a rule
#endif
    if (a.optional == a.absent_when.empty())
      return false; // an optional anchor says when it is absent
    if ((a.fires == Fires::conditional) == a.when.empty())
      return false; // a conditional anchor says when it fires
    for (auto f : a.fields)
      if (!trace::is_key(f))
        return false; // fields are trace keys
    for (auto s : a.stands_in_for) {
      bool known = false;
      for (const auto& b : anchor_table)
        known = known || (b.name == s && b.stands_in_for.empty());
      if (!known)
        return false; // a stand-in stands in for anchors of the table, which are no stand-ins
    }
  }
  for (std::size_t i = 0; i < anchor_table.size(); ++i)
    for (std::size_t j = i + 1; j < anchor_table.size(); ++j)
      if (anchor_table[i].name == anchor_table[j].name)
        return false; // names are unique
  return true;
}());

// The anchors whose record says the destructor gave a frame back (one record of each per frame):
// what a tracer counts as frames completed while a run sends.
inline constexpr std::array<std::string_view, 2> completion_anchors = {"destruct.set_available",
                                                                       "destruct.pending_dec"};
static_assert([] {
  for (auto c : completion_anchors) {
    bool found = false;
    for (const auto& a : anchor_table)
      found = found || (a.name == c && a.phase == FramePhase::destruct);
    if (!found)
      return false;
  }
  return true;
}());

// All af_packet.c anchors (the ones maps locate), in source order within each function,
// functions in file order.
std::span<const AnchorDef> anchors();

// nullptr when `name` is not a known af_packet.c anchor.
const AnchorDef* find_anchor(std::string_view name);

// The kernel event anchors (kind kernel_function or tracepoint), which no map holds.
std::span<const AnchorDef> kernel_event_anchors();

// An af_packet.c anchor or a kernel event anchor; nullptr when neither.
const AnchorDef* find_any_anchor(std::string_view name);

// The stand-ins that show what anchor `name` shows where it cannot be placed (AnchorDef::
// stands_in_for), in table order; empty for most anchors.
std::vector<std::string_view> stand_ins_for(std::string_view name);

// The functions the anchors live in, in file order.
std::span<const FunctionDef> anchored_functions();

// The definition whose canonical name or one of whose names is `name`; nullptr otherwise.
const FunctionDef* find_function(std::string_view name);

} // namespace harness::probes
