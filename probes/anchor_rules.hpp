#pragma once

// The locator's pattern rule of each statement anchor (the steps anchor_rule.hpp defines),
// referenced by the anchor table (anchors.hpp). Rules are written from the history of
// af_packet.c (docs/af_packet-history.md) so that one rule holds from 3.0 to 7.x: they search
// inside the function body only, lean on statements that never changed, and say explicitly
// when an anchor's absence is legitimate.

#include "probes/anchor_rule.hpp"

#include <array>

namespace harness::probes::rules {

using S = RuleStep;
inline constexpr auto block = StepOp::block;
inline constexpr auto case_arm = StepOp::case_arm;
inline constexpr auto after = StepOp::after;
inline constexpr auto before = StepOp::before;
inline constexpr auto require = StepOp::require;
inline constexpr auto target = StepOp::target;
inline constexpr auto next_token = StepOp::next_token;

// The status store of each TPACKET version ends with `break;` (set) or is a `return` (get).
// V3: before 4.11 `case TPACKET_V3:` is either missing (< 3.2) or an empty arm falling through
// to `default:` (WARN + BUG): absent. A V3 arm with a body but no break is an error.
inline constexpr std::array kV1Break = {S{case_arm, Pick::only, {"case TPACKET_V1:"}},
                                        S{target, Pick::only, {"break;"}}};
inline constexpr std::array kV2Break = {S{case_arm, Pick::only, {"case TPACKET_V2:"}},
                                        S{target, Pick::only, {"break;"}}};
inline constexpr std::array kV3Break = {S{case_arm, Pick::only, {"case TPACKET_V3:"}, true},
                                        S{target, Pick::only, {"break;"}}};
inline constexpr std::array kV1Return = {S{case_arm, Pick::only, {"case TPACKET_V1:"}},
                                         S{target, Pick::only, {"return"}}};
inline constexpr std::array kV2Return = {S{case_arm, Pick::only, {"case TPACKET_V2:"}},
                                         S{target, Pick::only, {"return"}}};
inline constexpr std::array kV3Return = {S{case_arm, Pick::only, {"case TPACKET_V3:"}, true},
                                         S{target, Pick::only, {"return"}}};

// <= 3.13 an atomic_t; since 3.14 a per-cpu refcount behind packet_dec_pending().
inline constexpr std::array kPendingDec = {S{
    target, Pick::only, {"atomic_dec(&po->tx_ring.pending)", "packet_dec_pending(&po->tx_ring)"}}};
inline constexpr std::array kSetAvailable = {
    S{target, Pick::only, {"__packet_set_status(po, ph, TP_STATUS_AVAILABLE"}}};
// The statement after that store, only when the store is a statement of its own (after `;`, `{`
// or `}`): then reaching the next statement means the store was made. A guarded store (`if (c)
// __packet_set_status(...)`, a modified kernel) proves nothing there: absent.
inline constexpr std::array kAfterAvailable = {
    S{next_token,
      Pick::only,
      {"; __packet_set_status(po, ph, TP_STATUS_AVAILABLE ... );",
       "{ __packet_set_status(po, ph, TP_STATUS_AVAILABLE ... );",
       "} __packet_set_status(po, ph, TP_STATUS_AVAILABLE ... );"},
      true}};

// `if ((size_max > dev->mtu + reserve [+ VLAN_HLEN]) [&& ...])`.
inline constexpr std::array kSizeMaxClamp = {
    S{target, Pick::only, {"if ( ... size_max > dev->mtu + reserve"}}};

// The NULL check right after the loop fetches the next SEND_REQUEST frame. Every spelling of the
// NULL test is accepted; the first after the fetch is the one (the fetch itself is unique).
inline constexpr S kAfterFetch{after, Pick::only, {"ph = packet_current_frame(po, &po->tx_ring"}};
inline constexpr S kPhNullFirst{
    target,
    Pick::first,
    {"if (unlikely(ph == NULL))", "if (unlikely(!ph))", "if (ph == NULL)", "if (!ph)"}};
inline constexpr S kPhNullBlock{
    block,
    Pick::first,
    {"if (unlikely(ph == NULL))", "if (unlikely(!ph))", "if (ph == NULL)", "if (!ph)"}};
inline constexpr std::array kPhCheck = {kAfterFetch, kPhNullFirst};
// <= 5.2 `schedule();` (guarded by need_resched() since 3.14); since 5.3 (and the 4.9.y+
// backports) `timeo = wait_for_completion_interruptible_timeout(...)`.
inline constexpr std::array kWait = {
    kAfterFetch, kPhNullBlock,
    S{target,
      Pick::only,
      {"timeo = wait_for_completion_interruptible_timeout(",
       "wait_for_completion_interruptible_timeout(", "schedule();"}}};
inline constexpr std::array kWaitContinue = {kAfterFetch, kPhNullBlock,
                                             S{target, Pick::only, {"continue;"}}};
// 6.16 (and backports, e.g. 6.1.158+): `} else break;` when there is nothing to wait for. Before,
// the NULL block has no `else` at all: absent. A `break;` line has no line-table entry (6.1 at
// -O0: none), so the anchor is where the break lands: the first statement after the loop.
// `else { break; }` is the same exit in the brace style checkpatch asks for (a cleanup of the
// upstream `} else\n break;` would produce it); any other `else` is an error, not absent.
inline constexpr std::array kElseBreak = {
    kAfterFetch,
    kPhNullBlock,
    S{require, Pick::first, {"else"}, true},
    S{require, Pick::only, {"else break;", "else { break; }"}},
    S{StepOp::whole_body},
    S{next_token, Pick::only, {"} while (...);"}}};
inline constexpr std::array kAllocFailed = {
    S{after, Pick::only, {"sock_alloc_send_skb("}},
    S{block,
      Pick::first,
      {"if (unlikely(skb == NULL))", "if (unlikely(!skb))", "if (skb == NULL)", "if (!skb)"}},
    S{target, Pick::only, {"goto out_status;"}}};
// tpacket_snd's SENDING store, only as a statement of its own (after `;`, `{` or `}`): reaching
// its line means the store is made next (the inlined __packet_set_status has no other way out but
// BUG()). A guarded store (a modified kernel) makes the anchor absent.
inline constexpr std::array kSetSending = {S{target,
                                             Pick::only,
                                             {"; @__packet_set_status(po, ph, TP_STATUS_SENDING);",
                                              "{ @__packet_set_status(po, ph, TP_STATUS_SENDING);",
                                              "} @__packet_set_status(po, ph, TP_STATUS_SENDING);"},
                                             true}};
// The transmit call: dev_queue_xmit(skb) (<= 3.13), po->xmit(skb) (3.14+),
// READ_ONCE(po->xmit)(skb) (5.x+), packet_xmit(po, skb) (6.x+).
inline constexpr S kAfterXmit{after, Pick::only, {"err = ... %xmit ... skb);"}};
inline constexpr S kBeforeLenSum{before, Pick::only, {"len_sum += tp_len;"}};
inline constexpr std::array kXmitNext = {S{next_token, Pick::only, {"err = ... %xmit ... skb);"}}};
inline constexpr std::array kAlreadyDestructed = {kAfterXmit, kBeforeLenSum,
                                                  S{target, Pick::only, {"skb = NULL;"}}};
inline constexpr std::array kNotDestructed = {kAfterXmit, kBeforeLenSum,
                                              S{target, Pick::only, {"err = 0;"}}};
inline constexpr std::array kLenSum = {S{target, Pick::only, {"len_sum += tp_len;"}}};
inline constexpr std::array kReturn = {S{target, Pick::last, {"return err;"}}};

constexpr AnchorRule R(std::span<const RuleStep> s) {
  return AnchorRule{s};
}
inline constexpr AnchorRule kRV1Break = R(kV1Break), kRV2Break = R(kV2Break),
                            kRV3Break = R(kV3Break), kRV1Return = R(kV1Return),
                            kRV2Return = R(kV2Return), kRV3Return = R(kV3Return),
                            kRPendingDec = R(kPendingDec), kRSetAvailable = R(kSetAvailable),
                            kRAfterAvailable = R(kAfterAvailable), kRSetSending = R(kSetSending),
                            kRSizeMaxClamp = R(kSizeMaxClamp), kRPhCheck = R(kPhCheck),
                            kRWait = R(kWait), kRWaitContinue = R(kWaitContinue),
                            kRElseBreak = R(kElseBreak), kRAllocFailed = R(kAllocFailed),
                            kRXmitNext = R(kXmitNext), kRAlreadyDestructed = R(kAlreadyDestructed),
                            kRNotDestructed = R(kNotDestructed), kRLenSum = R(kLenSum),
                            kRReturn = R(kReturn);

} // namespace harness::probes::rules
