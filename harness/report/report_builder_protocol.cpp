// The protocol check's findings (status_protocol.hpp) as anomalies: one per broken transition
// and place, naming the store's anchor and line and carrying its records as evidence
// (ReportBuilder::note_protocol, add_protocol_anomalies).
#include "harness/report/report_builder_internal.hpp"
#include "harness/report/text_util.hpp"

namespace harness::report {
namespace {

std::string from_text(std::uint32_t s) {
  return s == kStatusNone ? "unknown" : status_text(s);
}

std::string why_text(const ProtocolFinding& f) {
  switch (f.breach) {
  case ProtocolBreach::skb_alive:
    return "the slot was given back while its skb was still alive (before its destructor)";
  case ProtocolBreach::place:
    return std::string(store_place_name(f.place)) + " may not make this store";
  case ProtocolBreach::transition:
    break;
  }
  return "the TX ring protocol has no such transition";
}

std::string anchor_name(const BuildInputs& in, AnchorId id) {
  return in.anchors ? std::string(in.anchors->name(id)) : std::to_string(id);
}

int probe_line(const Report& r, const std::string& anchor) {
  for (const auto& p : r.probes)
    if (p.anchor == anchor)
      return p.line;
  return 0;
}

// The records one frame's finding rests on: the store (or the read that showed it), the record
// that told the status before, and what placed the store or showed its skb alive.
void add_evidence(std::vector<Evidence>& ev, const BuildInputs& in,
                  const ReportBuilder::ProtocolSample& x) {
  const ProtocolFinding& f = x.finding;
  const std::string frame = "frame " + format_hex(x.addr) + ": ";
  const std::string move = from_text(f.from) + " -> " + status_text(f.to);
  const std::string what =
      f.place == StorePlace::user
          ? "tpacket_snd read " + status_text(f.to) + " that no kernel store explains: " + move
          : move + " stored by " + std::string(store_place_name(f.place));
  ev.push_back(
      {anchor_name(in, f.store.anchor), f.store.line, f.store.tid, x.seq, x.index, frame + what});
  if (f.before.line != 0)
    ev.push_back({anchor_name(in, f.before.anchor), f.before.line, f.before.tid, x.seq, x.index,
                  "the status was " + from_text(f.from) + " here"});
  if (f.context.line == 0)
    return;
  std::string why = "the tpacket_snd call that stored it";
  if (f.breach == ProtocolBreach::skb_alive && f.context.line > f.store.line)
    why = "the frame's skb still alive here, after the store";
  else if (f.place == StorePlace::destructor)
    why = "the destructor's give-back that stored it";
  ev.push_back(
      {anchor_name(in, f.context.anchor), f.context.line, f.context.tid, x.seq, x.index, why});
}

} // namespace

void ReportBuilder::note_protocol(const FrameTimeline& tl) {
  const ProtocolFinding& f = *tl.protocol;
  const std::uint64_t key = (std::uint64_t{static_cast<std::uint8_t>(f.breach)} << 48) |
                            (std::uint64_t{static_cast<std::uint8_t>(f.place)} << 40) |
                            (std::uint64_t{f.from & 0xffffu} << 16) | (f.to & 0xffffu);
  ProtocolGroup& g = protocol_[key];
  g.frames.note(tl);
  if (g.samples.size() < kSamples)
    g.samples.push_back(
        {f, tl.addr, tl.has_sender ? std::optional(tl.sender.seq) : std::nullopt, tl.index});
}

// status_backwards keeps its /1 id for SENDING -> SEND_REQUEST; every other is status_protocol.
void ReportBuilder::add_protocol_anomalies(Report& r, const BuildInputs& in,
                                           const KernelStats& ks) const {
  for (const auto& [key, g] : protocol_) {
    const ProtocolFinding& f = g.samples.front().finding;
    const bool backwards = f.from == kStatusSending && f.to == kStatusSendRequest;
    const std::string anchor = anchor_name(in, f.store.anchor);
    const int line = probe_line(r, anchor);
    std::string msg = backwards ? "status went backwards (SENDING -> SEND_REQUEST)"
                                : "TX ring status protocol broken: " + from_text(f.from) + " -> " +
                                      status_text(f.to);
    msg += " by " + std::string(store_place_name(f.place)) + " (" + anchor +
           (line > 0 ? ", line " + std::to_string(line) : std::string()) + "): " + why_text(f) +
           "; " + plural(g.frames.count, "frame", "frames") + ": " +
           builder_detail::frames_text(g.frames.seqs, g.frames.indices, g.frames.count);
    r.anomalies.push_back({backwards ? "status_backwards" : "status_protocol", std::move(msg),
                           g.frames.count, g.frames.seqs, g.frames.indices, anchor, line});
    for (const auto& x : g.samples)
      add_evidence(r.anomalies.back().evidence, in, x);
  }
  if (ks.protocol_unjudged > 0)
    r.notes.push_back(plural(ks.protocol_unjudged, "status store was", "status stores were") +
                      " not checked against the TX ring protocol: the tracer may have lost "
                      "records of their slot just before them");
}

} // namespace harness::report
