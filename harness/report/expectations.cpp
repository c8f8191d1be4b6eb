#include "expectations.hpp"

#include <array>
#include <string>
#include <utility>

namespace harness::report {
namespace {

struct Row {
  std::string_view anchor;
  Expect expect;
  std::string_view when;
  std::optional<Phase> phase;
};

// Facts from tpacket_snd/tpacket_destruct_skb (DESIGN.md "Anchors", CONTEXT.md §2).
constexpr std::array<Row, 23> kRows = {{
    {"set_status.v1_break", Expect::always, "", Phase::sending},
    {"set_status.v2_break", Expect::always, "", Phase::sending},
    {"set_status.v3_break", Expect::always, "", Phase::sending},
    {"get_status.v1_return", Expect::always, "", Phase::request_seen},
    {"get_status.v2_return", Expect::always, "", Phase::request_seen},
    {"get_status.v3_return", Expect::always, "", Phase::request_seen},
    {"destruct.start", Expect::always, "", std::nullopt},
    {"destruct.pending_dec", Expect::always, "", Phase::destruct},
    {"destruct.set_available", Expect::always, "", Phase::destruct},
    {"snd.start", Expect::always, "", std::nullopt},
    {"snd.size_max_clamp", Expect::conditional,
     "only when the frame size exceeds the device MTU plus headroom", std::nullopt},
    {"snd.ph_check", Expect::always, "", Phase::request_seen},
    {"snd.wait", Expect::conditional, "only when tpacket_snd waits for frames in flight",
     std::nullopt},
    {"snd.wait_continue", Expect::conditional, "only after a wait", std::nullopt},
    {"snd.else_break", Expect::conditional,
     "only when the ring has no more SEND_REQUEST frames and nothing to wait for", std::nullopt},
    {"snd.alloc_failed", Expect::conditional, "only when sock_alloc_send_skb fails", std::nullopt},
    {"snd.after_xmit", Expect::always, "", Phase::xmit},
    {"snd.already_destructed", Expect::conditional, "only when the xmit fails", std::nullopt},
    {"snd.not_destructed", Expect::conditional, "only when the xmit drops the skb", std::nullopt},
    {"snd.len_sum", Expect::always, "", Phase::xmit},
    {"snd.return", Expect::always, "", std::nullopt},
    // Kernel event anchors: tpacket_snd allocates an skb for every frame it sends.
    {"alloc.enter", Expect::always, "", std::nullopt},
    {"sched.sleep", Expect::conditional,
     "only when the sending task sleeps inside tpacket_snd (a blocking send waiting for frames in "
     "flight, a contended lock)",
     std::nullopt},
}};

const Row* find(std::string_view anchor) {
  for (const auto& r : kRows)
    if (r.anchor == anchor)
      return &r;
  return nullptr;
}

} // namespace

int anchor_version(std::string_view anchor) {
  const auto dot = anchor.find('.');
  if (dot == std::string_view::npos || anchor.size() < dot + 3 || anchor[dot + 1] != 'v')
    return 0;
  const char d = anchor[dot + 2];
  return d >= '1' && d <= '3' ? d - '0' : 0;
}

AnchorExpectation expectation_of(std::string_view anchor, int tpacket) {
  if (anchor.ends_with(".end") || (anchor.ends_with(".start") && !find(anchor)))
    return {Expect::bounds, "function bounds"};
  const Row* r = find(anchor);
  if (!r)
    return {Expect::conditional, "an anchor this version of harness does not interpret"};
  const int v = anchor_version(anchor);
  if (v != 0 && tpacket != 0 && v != tpacket) {
    static constexpr std::array<std::string_view, 3> kOnly = {
        "only for TPACKET_V1 rings", "only for TPACKET_V2 rings", "only for TPACKET_V3 rings"};
    return {Expect::other_version, kOnly[static_cast<std::size_t>(v - 1)]};
  }
  return {r->expect, r->when};
}

std::uint32_t phases_of_anchor(std::string_view anchor) {
  const Row* r = find(anchor);
  if (!r || !r->phase)
    return 0;
  std::uint32_t mask = phase_bit(*r->phase);
  // __packet_set_status records both SENDING (tpacket_snd) and AVAILABLE (the destructor).
  if (*r->phase == Phase::sending)
    mask |= phase_bit(Phase::available);
  return mask;
}

} // namespace harness::report
