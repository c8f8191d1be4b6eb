// The anchor table: the one place where each anchor is described (function, rule, fields, sets).
// Rules are written from the history of af_packet.c (docs/DESIGN.md, CONTEXT.md §2) so that one
// rule holds from 3.0 to 7.x: they search inside the function body only, lean on statements
// that never changed, and say explicitly when an anchor's absence is legitimate.
#include "anchors.hpp"

#include "anchor_rule.hpp"
#include "trace_format.hpp"

#include <array>

namespace harness::stap {
namespace {

namespace k = trace::key;

constexpr std::array<std::string_view, 1> kSetStatusNames = {"__packet_set_status"};
constexpr std::array<std::string_view, 1> kGetStatusNames = {"__packet_get_status"};
// The TX completion: the skb destructor up to 6.x; newer kernels (and stable backports, e.g.
// Debian's 6.12.117) complete TX frames from a ubuf_info callback instead.
constexpr std::array<std::string_view, 2> kDestructNames = {"tpacket_destruct_skb",
                                                            "tpacket_ubuf_complete"};
constexpr std::array<std::string_view, 1> kSndNames = {"tpacket_snd"};

constexpr std::array<FunctionDef, 4> kFunctions = {{
    {"__packet_set_status", kSetStatusNames},
    {"__packet_get_status", kGetStatusNames},
    {"tpacket_destruct_skb", kDestructNames},
    {"tpacket_snd", kSndNames},
}};

// ---- fields read by each probe (trace_format.hpp keys) ----
constexpr std::array<std::string_view, 4> kSetFields = {k::po, k::frame, k::status, k::version};
constexpr std::array<std::string_view, 3> kGetFields = {k::po, k::frame, k::status};
constexpr std::array<std::string_view, 3> kPendingFields = {k::po, k::ph, k::pending};
constexpr std::array<std::string_view, 3> kAvailableFields = {k::po, k::ph, k::ts};
constexpr std::array<std::string_view, 7> kSndStartFields = {
    k::po, k::head, k::frame_max, k::frame_size, k::frames_per_block, k::version, k::flags};
constexpr std::array<std::string_view, 3> kSockFields = {k::po, k::sndbuf, k::wmem};
constexpr std::array<std::string_view, 3> kPhHeadFields = {k::po, k::ph, k::head};
constexpr std::array<std::string_view, 4> kWaitFields = {k::po, k::pending, k::flags, k::timeo};
constexpr std::array<std::string_view, 4> kContinueFields = {k::po, k::flags, k::pending, k::timeo};
constexpr std::array<std::string_view, 2> kElseBreakFields = {k::po, k::len_sum};
constexpr std::array<std::string_view, 2> kErrFields = {k::po, k::err};
constexpr std::array<std::string_view, 3> kPhErrFields = {k::po, k::ph, k::err};
constexpr std::array<std::string_view, 7> kLenSumFields = {
    k::po, k::ph, k::head, k::len_sum, k::tp_len, k::flags, k::pending};
constexpr std::array<std::string_view, 4> kReturnFields = {k::po, k::err, k::sndbuf, k::wmem};
constexpr std::array<std::string_view, 1> kAllocFields = {k::noblock};
constexpr std::array<std::string_view, 1> kSleepFields = {k::state};
constexpr std::span<const std::string_view> kNoFields{};

// ---- rules ----
using S = RuleStep;
constexpr auto block = StepOp::block;
constexpr auto case_arm = StepOp::case_arm;
constexpr auto after = StepOp::after;
constexpr auto before = StepOp::before;
constexpr auto require = StepOp::require;
constexpr auto target = StepOp::target;
constexpr auto next_token = StepOp::next_token;

// The status store of each TPACKET version ends with `break;` (set) or is a `return` (get).
// V3: before 4.11 `case TPACKET_V3:` is either missing (< 3.2) or an empty arm falling through
// to `default:` (WARN + BUG): absent. A V3 arm with a body but no break is an error.
constexpr std::array kV1Break = {S{case_arm, Pick::only, {"case TPACKET_V1:"}},
                                 S{target, Pick::only, {"break;"}}};
constexpr std::array kV2Break = {S{case_arm, Pick::only, {"case TPACKET_V2:"}},
                                 S{target, Pick::only, {"break;"}}};
constexpr std::array kV3Break = {S{case_arm, Pick::only, {"case TPACKET_V3:"}, true},
                                 S{target, Pick::only, {"break;"}}};
constexpr std::array kV1Return = {S{case_arm, Pick::only, {"case TPACKET_V1:"}},
                                  S{target, Pick::only, {"return"}}};
constexpr std::array kV2Return = {S{case_arm, Pick::only, {"case TPACKET_V2:"}},
                                  S{target, Pick::only, {"return"}}};
constexpr std::array kV3Return = {S{case_arm, Pick::only, {"case TPACKET_V3:"}, true},
                                  S{target, Pick::only, {"return"}}};

// <= 3.13 an atomic_t; since 3.14 a per-cpu refcount behind packet_dec_pending().
constexpr std::array kPendingDec = {S{
    target, Pick::only, {"atomic_dec(&po->tx_ring.pending)", "packet_dec_pending(&po->tx_ring)"}}};
constexpr std::array kSetAvailable = {
    S{target, Pick::only, {"__packet_set_status(po, ph, TP_STATUS_AVAILABLE"}}};

// `if ((size_max > dev->mtu + reserve [+ VLAN_HLEN]) [&& ...])`.
constexpr std::array kSizeMaxClamp = {
    S{target, Pick::only, {"if ( ... size_max > dev->mtu + reserve"}}};

// The NULL check right after the loop fetches the next SEND_REQUEST frame. Every spelling of the
// NULL test is accepted; the first after the fetch is the one (the fetch itself is unique).
constexpr S kAfterFetch{after, Pick::only, {"ph = packet_current_frame(po, &po->tx_ring"}};
constexpr S kPhNullFirst{
    target,
    Pick::first,
    {"if (unlikely(ph == NULL))", "if (unlikely(!ph))", "if (ph == NULL)", "if (!ph)"}};
constexpr S kPhNullBlock{
    block,
    Pick::first,
    {"if (unlikely(ph == NULL))", "if (unlikely(!ph))", "if (ph == NULL)", "if (!ph)"}};
constexpr std::array kPhCheck = {kAfterFetch, kPhNullFirst};
// <= 5.2 `schedule();` (guarded by need_resched() since 3.14); since 5.3 (and the 4.9.y+
// backports) `timeo = wait_for_completion_interruptible_timeout(...)`.
constexpr std::array kWait = {kAfterFetch, kPhNullBlock,
                              S{target,
                                Pick::only,
                                {"timeo = wait_for_completion_interruptible_timeout(",
                                 "wait_for_completion_interruptible_timeout(", "schedule();"}}};
constexpr std::array kWaitContinue = {kAfterFetch, kPhNullBlock,
                                      S{target, Pick::only, {"continue;"}}};
// 6.16 (and backports, e.g. 6.1.158+): `} else break;` when there is nothing to wait for. Before,
// the NULL block has no `else` at all: absent. A `break;` line has no line-table entry (6.1 at
// -O0: none), so the anchor is where the break lands: the first statement after the loop.
// `else { break; }` is the same exit in the brace style checkpatch asks for (a cleanup of the
// upstream `} else\n break;` would produce it); any other `else` is an error, not absent.
constexpr std::array kElseBreak = {kAfterFetch,
                                   kPhNullBlock,
                                   S{require, Pick::first, {"else"}, true},
                                   S{require, Pick::only, {"else break;", "else { break; }"}},
                                   S{StepOp::whole_body},
                                   S{next_token, Pick::only, {"} while (...);"}}};
constexpr std::array kAllocFailed = {
    S{after, Pick::only, {"sock_alloc_send_skb("}},
    S{block,
      Pick::first,
      {"if (unlikely(skb == NULL))", "if (unlikely(!skb))", "if (skb == NULL)", "if (!skb)"}},
    S{target, Pick::only, {"goto out_status;"}}};
// The transmit call: dev_queue_xmit(skb) (<= 3.13), po->xmit(skb) (3.14+),
// READ_ONCE(po->xmit)(skb) (5.x+), packet_xmit(po, skb) (6.x+).
constexpr S kAfterXmit{after, Pick::only, {"err = ... %xmit ... skb);"}};
constexpr S kBeforeLenSum{before, Pick::only, {"len_sum += tp_len;"}};
constexpr std::array kXmitNext = {S{next_token, Pick::only, {"err = ... %xmit ... skb);"}}};
constexpr std::array kAlreadyDestructed = {kAfterXmit, kBeforeLenSum,
                                           S{target, Pick::only, {"skb = NULL;"}}};
constexpr std::array kNotDestructed = {kAfterXmit, kBeforeLenSum,
                                       S{target, Pick::only, {"err = 0;"}}};
constexpr std::array kLenSum = {S{target, Pick::only, {"len_sum += tp_len;"}}};
constexpr std::array kReturn = {S{target, Pick::last, {"return err;"}}};

constexpr AnchorRule R(std::span<const RuleStep> s) {
  return AnchorRule{s};
}
constexpr AnchorRule kRV1Break = R(kV1Break), kRV2Break = R(kV2Break), kRV3Break = R(kV3Break),
                     kRV1Return = R(kV1Return), kRV2Return = R(kV2Return),
                     kRV3Return = R(kV3Return), kRPendingDec = R(kPendingDec),
                     kRSetAvailable = R(kSetAvailable), kRSizeMaxClamp = R(kSizeMaxClamp),
                     kRPhCheck = R(kPhCheck), kRWait = R(kWait), kRWaitContinue = R(kWaitContinue),
                     kRElseBreak = R(kElseBreak), kRAllocFailed = R(kAllocFailed),
                     kRXmitNext = R(kXmitNext), kRAlreadyDestructed = R(kAlreadyDestructed),
                     kRNotDestructed = R(kNotDestructed), kRLenSum = R(kLenSum),
                     kRReturn = R(kReturn);

constexpr auto start = AnchorKind::function_start;
constexpr auto end = AnchorKind::function_end;
constexpr auto stmt = AnchorKind::statement;

constexpr std::string_view kNoV3 = "before 4.11 (no TPACKET_V3 TX ring: the case is missing or "
                                   "falls through to default)";

// name, function, kind, rule, fields, optional, absent_when, status, call_return, entry, rule
constexpr auto kAnchors = std::to_array<AnchorDef>({
    {"set_status.start", "__packet_set_status", start, "the function's name line", kNoFields},
    {"set_status.v1_break",
     "__packet_set_status",
     stmt,
     "the only `break;` of the `case TPACKET_V1:` arm",
     kSetFields,
     false,
     {},
     true,
     false,
     false,
     &kRV1Break},
    {"set_status.v2_break",
     "__packet_set_status",
     stmt,
     "the only `break;` of the `case TPACKET_V2:` arm",
     kSetFields,
     false,
     {},
     true,
     false,
     false,
     &kRV2Break},
    {"set_status.v3_break", "__packet_set_status", stmt,
     "the only `break;` of the `case TPACKET_V3:` arm", kSetFields, true, kNoV3, true, false, false,
     &kRV3Break},
    {"set_status.end", "__packet_set_status", end, "the function's closing brace", kNoFields},

    {"get_status.start", "__packet_get_status", start, "the function's name line", kNoFields},
    {"get_status.v1_return",
     "__packet_get_status",
     stmt,
     "the only `return` of the `case TPACKET_V1:` arm",
     kGetFields,
     false,
     {},
     true,
     false,
     false,
     &kRV1Return},
    {"get_status.v2_return",
     "__packet_get_status",
     stmt,
     "the only `return` of the `case TPACKET_V2:` arm",
     kGetFields,
     false,
     {},
     true,
     false,
     false,
     &kRV2Return},
    {"get_status.v3_return", "__packet_get_status", stmt,
     "the only `return` of the `case TPACKET_V3:` arm", kGetFields, true, kNoV3, true, false, false,
     &kRV3Return},
    {"get_status.end", "__packet_get_status", end, "the function's closing brace", kNoFields},

    {"destruct.start", "tpacket_destruct_skb", start, "the function's name line", kNoFields},
    {"destruct.pending_dec",
     "tpacket_destruct_skb",
     stmt,
     "the only `atomic_dec(&po->tx_ring.pending)` or `packet_dec_pending(&po->tx_ring)`",
     kPendingFields,
     false,
     {},
     true,
     false,
     false,
     &kRPendingDec},
    {"destruct.set_available",
     "tpacket_destruct_skb",
     stmt,
     "the only `__packet_set_status(po, ph, TP_STATUS_AVAILABLE...`",
     kAvailableFields,
     false,
     {},
     true,
     false,
     false,
     &kRSetAvailable},
    {"destruct.end", "tpacket_destruct_skb", end, "the function's closing brace", kNoFields},

    {"snd.start",
     "tpacket_snd",
     start,
     "the function's name line; probed as its entry",
     kSndStartFields,
     false,
     {},
     true,
     true,
     true},
    {"snd.size_max_clamp",
     "tpacket_snd",
     stmt,
     "the only `if` whose condition holds `size_max > dev->mtu + reserve`",
     kSockFields,
     false,
     {},
     false,
     true,
     false,
     &kRSizeMaxClamp},
    {"snd.ph_check",
     "tpacket_snd",
     stmt,
     "the first `if (unlikely(ph == NULL))` (or `!ph`) after the unique "
     "`ph = packet_current_frame(po, &po->tx_ring`",
     kPhHeadFields,
     false,
     {},
     true,
     false,
     false,
     &kRPhCheck},
    {"snd.wait",
     "tpacket_snd",
     stmt,
     "inside that NULL block, the only `schedule();` or "
     "`wait_for_completion_interruptible_timeout(`",
     kWaitFields,
     false,
     {},
     true,
     false,
     false,
     &kRWait},
    {"snd.wait_continue",
     "tpacket_snd",
     stmt,
     "inside that NULL block, the only `continue;`",
     kContinueFields,
     false,
     {},
     true,
     false,
     false,
     &kRWaitContinue},
    {"snd.else_break", "tpacket_snd", stmt,
     "when that NULL block has an `else break;` (or `else { break; }`), the statement it jumps "
     "to: the first after "
     "the loop's `} while (...);` (the `break;` line itself has no line-table entry)",
     kElseBreakFields, true, "before 6.16 and its stable backports (the NULL block has no `else`)",
     true, false, false, &kRElseBreak},
    {"snd.alloc_failed",
     "tpacket_snd",
     stmt,
     "after the unique `sock_alloc_send_skb(`, the only `goto out_status;` of the first "
     "`if (unlikely(skb == NULL))` (or `!skb`)",
     kErrFields,
     false,
     {},
     false,
     true,
     false,
     &kRAllocFailed},
    {"snd.after_xmit",
     "tpacket_snd",
     stmt,
     "the statement after the unique `err = <...xmit...>(... skb);`",
     kPhErrFields,
     false,
     {},
     false,
     true,
     false,
     &kRXmitNext},
    {"snd.already_destructed",
     "tpacket_snd",
     stmt,
     "between that transmit call and `len_sum += tp_len;`, the only `skb = NULL;`",
     kPhErrFields,
     false,
     {},
     false,
     true,
     false,
     &kRAlreadyDestructed},
    {"snd.not_destructed",
     "tpacket_snd",
     stmt,
     "between that transmit call and `len_sum += tp_len;`, the only `err = 0;`",
     kPhErrFields,
     false,
     {},
     false,
     true,
     false,
     &kRNotDestructed},
    {"snd.len_sum",
     "tpacket_snd",
     stmt,
     "the only `len_sum += tp_len;`",
     kLenSumFields,
     false,
     {},
     true,
     false,
     false,
     &kRLenSum},
    {"snd.return",
     "tpacket_snd",
     stmt,
     "the last `return err;`",
     kReturnFields,
     false,
     {},
     true,
     true,
     false,
     &kRReturn},
    {"snd.end", "tpacket_snd", end, "the function's closing brace", kNoFields},
});

// Kernel event anchors: what the exact detectors need besides af_packet.c lines (DESIGN.md
// "Kernel event anchors"). No rule, no line: maps and the locator do not know them.
constexpr auto kEventAnchors = std::to_array<AnchorDef>({
    {"alloc.enter",
     "sock_alloc_send_pskb",
     AnchorKind::kernel_function,
     "the entry of sock_alloc_send_pskb (tpacket_snd's skb allocation through "
     "sock_alloc_send_skb / packet_alloc_skb); `noblock` is its int argument",
     kAllocFields,
     false,
     {},
     true,
     false,
     false},
    {"sched.sleep",
     "sched:sched_switch",
     AnchorKind::tracepoint,
     "sched_switch of the task leaving the CPU to sleep: not a preemption, prev state "
     "non-zero (`state`)",
     kSleepFields,
     false,
     {},
     true,
     false,
     false},
});

} // namespace

std::span<const AnchorDef> anchors() {
  return kAnchors;
}

std::span<const AnchorDef> kernel_event_anchors() {
  return kEventAnchors;
}

const AnchorDef* find_any_anchor(std::string_view name) {
  if (const AnchorDef* a = find_anchor(name))
    return a;
  for (const auto& a : kEventAnchors)
    if (a.name == name)
      return &a;
  return nullptr;
}

const AnchorDef* find_anchor(std::string_view name) {
  for (const auto& a : kAnchors)
    if (a.name == name)
      return &a;
  return nullptr;
}

std::span<const FunctionDef> anchored_functions() {
  return kFunctions;
}

const FunctionDef* find_function(std::string_view name) {
  for (const auto& f : kFunctions) {
    if (f.canonical == name)
      return &f;
    for (auto n : f.names)
      if (n == name)
        return &f;
  }
  return nullptr;
}

} // namespace harness::stap
