#pragma once

// Where each trace key (trace_format.hpp `key`) lives in the kernel at the anchors that read it:
// the one home of that fact, whatever the tracer. A source is a C access path in the kernel's
// own spelling, from a variable in scope at the probe (a local or an argument of the anchor's
// function) through its members: `->` through a pointer, `.` into an embedded struct or union,
// e.g. `po->tx_ring.frame_max`. A key with several paths lists them in the order to try them,
// the newest kernels' first (a member retyped or renamed); a tracer reads the first its kernel
// resolves. Each tracer renders a path in its own syntax (stap/generate.cpp: `$po->tx_ring->
// frame_max`; kprobe/perf_probe.cpp: perf probe takes the C spelling as it is).
//
// Not here, because only one tracer can do it or each reads it its own way:
// - `state` (sched.sleep) is no variable at a line but the sched_switch tracepoint's: stap asks
//   task_state(task_current()), the kprobe tracer reads the tracepoint's prev_state.
// - since 3.14 `pending` is a per-cpu refcount (tx_ring.pending_refcnt): only stap can sum it
//   (a loop in the script, stap/generate.cpp); a perf fetch argument cannot, so the kprobe tracer
//   reads the <= 3.13 atomic_t below or prints `?`.

#include "probes/trace_format.hpp"

#include <array>
#include <string_view>

namespace harness::probes {

struct FieldSource {
  std::string_view key;
  std::string_view anchor;                 // empty: every anchor without its own row for the key
  std::array<std::string_view, 2> paths{}; // tried in order; an unused one is empty
};

inline constexpr auto field_sources = [] {
  namespace k = trace::key;
  return std::to_array<FieldSource>({
      {k::po, {}, {"po"}},
      {k::frame, {}, {"frame"}},
      {k::ph, {}, {"ph"}},
      // The TX completion since tpacket_ubuf_complete (6.12 backports, 6.16+): at -O2 its locals
      // `po` and `ph` have no location perf supports, but the struct they were read from does
      // (tpacket_ubuf_complete's `tu`, e.g. Debian 6.12.118: ph = +24(%bx)). Older kernels'
      // tpacket_destruct_skb has no `tu`: the first path resolves there.
      {k::po, "destruct.pending_dec", {"po", "tu->po"}},
      {k::ph, "destruct.pending_dec", {"ph", "tu->ph"}},
      {k::po, "destruct.set_available", {"po", "tu->po"}},
      {k::ph, "destruct.set_available", {"ph", "tu->ph"}},
      {k::po, "destruct.after_available", {"po", "tu->po"}},
      {k::ph, "destruct.after_available", {"ph", "tu->ph"}},
      // The destructor's argument (tpacket_destruct_skb's and tpacket_ubuf_complete's).
      {k::skb, {}, {"skb"}},
      {k::status, {}, {"status"}},
      // __packet_get_status's arms read the frame header of their version (`union tpacket_uhdr h`).
      {k::status, "get_status.v1_return", {"h.h1->tp_status"}},
      {k::status, "get_status.v2_return", {"h.h2->tp_status"}},
      {k::status, "get_status.v3_return", {"h.h3->tp_status"}},
      {k::head, {}, {"po->tx_ring.head"}},
      {k::frame_max, {}, {"po->tx_ring.frame_max"}},
      {k::frame_size, {}, {"po->tx_ring.frame_size"}},
      {k::frames_per_block, {}, {"po->tx_ring.frames_per_block"}},
      {k::version, {}, {"po->tp_version"}},
      {k::flags, {}, {"msg->msg_flags"}},
      // <= 3.13: atomic_t; since 3.14 a per-cpu refcount (see above).
      {k::pending, {}, {"po->tx_ring.pending.counter"}},
      {k::err, {}, {"err"}},
      {k::len_sum, {}, {"len_sum"}},
      {k::tp_len, {}, {"tp_len"}},
      {k::ts, {}, {"ts"}},
      {k::sndbuf, {}, {"po->sk.sk_sndbuf"}},
      // refcount_t since 4.13, atomic_t before.
      {k::wmem, {}, {"po->sk.sk_wmem_alloc.refs.counter", "po->sk.sk_wmem_alloc.counter"}},
      // alloc.enter: sock_alloc_send_pskb's `int noblock`.
      {k::noblock, {}, {"noblock"}},
      // snd.wait / snd.wait_continue: tpacket_snd's `long timeo` (jiffies left to wait).
      {k::timeo, {}, {"timeo"}},
  });
}();

// Where `key` lives at `anchor`: the anchor's own row, else the key's general one; nullptr for
// a key read no variable holds (`state`, above).
constexpr const FieldSource* field_source(std::string_view anchor, std::string_view key) {
  for (const auto& f : field_sources)
    if (f.key == key && f.anchor == anchor)
      return &f;
  for (const auto& f : field_sources)
    if (f.key == key && f.anchor.empty())
      return &f;
  return nullptr;
}

} // namespace harness::probes
