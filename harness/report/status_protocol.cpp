// The TX ring's status protocol, one event at a time (status_protocol.hpp).
#include "harness/report/status_protocol.hpp"

#include "harness/report/frame_timeline.hpp"

namespace harness::report {

std::string_view store_place_name(StorePlace p) {
  switch (p) {
  case StorePlace::snd:
    return "tpacket_snd";
  case StorePlace::destructor:
    return "tpacket_destruct_skb";
  case StorePlace::user:
    return "user space (no store record)";
  case StorePlace::other:
    return "outside tpacket_snd and the destructor";
  }
  return "tpacket_snd";
}

std::string_view protocol_breach_name(ProtocolBreach b) {
  switch (b) {
  case ProtocolBreach::transition:
    return "transition";
  case ProtocolBreach::place:
    return "place";
  case ProtocolBreach::skb_alive:
    return "skb_alive";
  }
  return "transition";
}

namespace {

constexpr bool known_value(std::uint32_t s) {
  return s == kStatusAvailable || s == kStatusSendRequest || s == kStatusSending ||
         s == kStatusWrongFormat;
}

// Whether some place may store `to` at all (the first record of a slot has no `from`).
bool place_may_store(StorePlace place, std::uint32_t to) {
  switch (place) {
  case StorePlace::snd:
    return known_value(to);
  case StorePlace::destructor:
    return to == kStatusAvailable;
  case StorePlace::user:
    return to == kStatusSendRequest;
  case StorePlace::other:
    return false;
  }
  return false;
}

// The protocol's table: is `from` -> `to` allowed at `place`?
bool allowed(StorePlace place, std::uint32_t from, std::uint32_t to, const SlotProtocol& s) {
  if (from == kStatusNone)
    return place_may_store(place, to);
  switch (place) {
  case StorePlace::snd:
    return (from == kStatusSendRequest && known_value(to)) ||
           (from == kStatusAvailable && to == kStatusSendRequest && s.destructed);
  case StorePlace::destructor:
    return from == kStatusSending && to == kStatusAvailable;
  case StorePlace::user:
    return to == kStatusSendRequest &&
           (from == kStatusAvailable || from == kStatusWrongFormat || from == kStatusSendRequest);
  case StorePlace::other:
    return false;
  }
  return false;
}

// Whether `from` -> `to` is allowed at some other place than `place`.
bool allowed_elsewhere(StorePlace place, std::uint32_t from, std::uint32_t to,
                       const SlotProtocol& s) {
  for (StorePlace p : {StorePlace::snd, StorePlace::destructor, StorePlace::user})
    if (p != place && allowed(p, from, to, s))
      return true;
  return false;
}

ProtocolBreach breach_of(StorePlace place, std::uint32_t from, std::uint32_t to,
                         const SlotProtocol& s) {
  if (to == kStatusAvailable && from == kStatusSending && place != StorePlace::destructor)
    return ProtocolBreach::skb_alive;
  if (place == StorePlace::other || allowed_elsewhere(place, from, to, s))
    return ProtocolBreach::place;
  return ProtocolBreach::transition;
}

// Where a store record was made: the destructor's when its marker for this frame came from the
// same thread (a SENDING store after a new request is tpacket_snd's, the marker was stale).
StorePlace place_of(const SlotProtocol& s, const StatusEvent& e) {
  if (e.place)
    return *e.place;
  if (s.giving_back && s.give_ref.tid == e.rec.tid &&
      !(e.status == kStatusSending && s.requested_since))
    return StorePlace::destructor;
  return e.in_call ? StorePlace::snd : StorePlace::other;
}

ProtocolFinding finding(ProtocolBreach b, std::uint32_t from, std::uint32_t to, StorePlace place,
                        const StatusRef& store, const StatusRef& before, const StatusRef& context) {
  return {b, from, to, place, store, before, context};
}

// A kernel store record.
ProtocolStep on_store(const SlotProtocol& s, const StatusEvent& e) {
  ProtocolStep out{s, std::nullopt, false};
  SlotProtocol& n = out.next;
  const StorePlace place = place_of(s, e);
  // The destructor's store of a give-back seen: judged from the status its marker saw.
  const bool by_destructor = place == StorePlace::destructor && s.giving_back;
  const std::uint32_t from = by_destructor ? s.give_from : s.status;
  const StatusRef before = by_destructor ? s.give_told : s.told;
  const StatusRef context = by_destructor ? s.give_ref : e.call;
  const bool lost = e.lost_before || s.lost || (by_destructor && s.give_lost);
  if (by_destructor) {
    n.giving_back = false;
    // The store took effect at its marker: a later event of the slot (another CPU's record read
    // before this one) already moved the status on.
    if (s.told.line == s.give_ref.line) {
      n.status = e.status;
      n.told = e.rec;
    }
  } else {
    n.status = e.status;
    n.told = e.rec;
  }
  n.lost = false;
  n.skipped = false;
  if (e.status == kStatusSending)
    n.destructed = false;
  if (place == StorePlace::other) {
    // Outside tpacket_snd and the destructor only another ring stores: tpacket_rcv on an RX
    // ring, whose pages may be a closed TX ring's (the kernel selftest psock_tpacket runs TX
    // then RX rings on one machine). The slot's history starts over; nothing is judged.
    out.next = SlotProtocol{};
    return out;
  }
  if (lost) {
    out.unjudged = s.tx;
    return out;
  }
  // A PACKET_LOSS skip, as long as no skb of the frame shows up. Never a destructor's store
  // without its marker: a clean kernel stores SENDING before it gives a frame an skb.
  if (place == StorePlace::snd && from == kStatusSendRequest && e.status == kStatusAvailable) {
    n.skipped = true;
    n.skip_ref = e.rec;
    n.skip_told = before;
  }
  if (!by_destructor && !e.place && !e.markers && e.status == kStatusAvailable)
    return out; // the destructor's marker is not probed: its store cannot be told from others
  out.judged = true;
  if (allowed(place, from, e.status, s))
    return out;
  out.finding =
      finding(breach_of(place, from, e.status, s), from, e.status, place, e.rec, before, context);
  return out;
}

// tpacket_snd read the status: a SEND_REQUEST no store record explains is the user's store.
ProtocolStep on_read(const SlotProtocol& s, const StatusEvent& e) {
  ProtocolStep out{s, std::nullopt, false};
  SlotProtocol& n = out.next;
  if (!e.in_call)
    return out; // the RX path reads its own ring's frames
  n.tx = true;
  if (e.lost_before || s.lost) {
    n.lost = false;
    n.status = e.status;
    n.told = e.rec;
    n.skipped = false;
    return out;
  }
  if (e.status != kStatusSendRequest) {
    if (s.status == kStatusNone) {
      n.status = e.status;
      n.told = e.rec;
    }
    return out; // the kernel's own stores are recorded: a read tells nothing new
  }
  if (s.giving_back)
    n.requested_since = true;
  if (s.status == kStatusSendRequest)
    return out;
  // With the destructor's give-back under way the user may already have seen AVAILABLE.
  const std::uint32_t from = s.giving_back ? kStatusAvailable : s.status;
  out.judged = true;
  if (!allowed(StorePlace::user, from, kStatusSendRequest, s) && from != kStatusNone)
    out.finding = finding(ProtocolBreach::transition, from, kStatusSendRequest, StorePlace::user,
                          e.rec, s.told, StatusRef{});
  n.status = kStatusSendRequest;
  n.told = e.rec;
  n.skipped = false;
  n.destructed = false;
  return out;
}

// The destructor's marker: its AVAILABLE store follows (tentatively made now).
ProtocolStep on_give_back(const SlotProtocol& s, const StatusEvent& e) {
  ProtocolStep out{s, std::nullopt, false};
  SlotProtocol& n = out.next;
  const bool lost = e.lost_before || s.lost;
  if (!lost && s.skipped)
    out.finding = finding(ProtocolBreach::skb_alive, kStatusSendRequest, kStatusAvailable,
                          StorePlace::snd, s.skip_ref, s.skip_told, e.rec);
  n.giving_back = true;
  n.requested_since = false;
  n.give_lost = lost;
  n.give_from = lost ? kStatusNone : s.status;
  n.give_told = lost ? StatusRef{} : s.told;
  n.give_ref = e.rec;
  n.status = kStatusAvailable;
  n.told = e.rec;
  n.destructed = true;
  n.skipped = false;
  n.lost = false;
  return out;
}

// A record that shows the frame's skb alive (transmitted, or in its destructor).
ProtocolStep on_skb_used(const SlotProtocol& s, const StatusEvent& e) {
  ProtocolStep out{s, std::nullopt, false};
  if (!e.lost_before && !s.lost && s.skipped)
    out.finding = finding(ProtocolBreach::skb_alive, kStatusSendRequest, kStatusAvailable,
                          StorePlace::snd, s.skip_ref, s.skip_told, e.rec);
  out.next.skipped = false;
  if (e.lost_before)
    out.next.lost = true; // what came in between is unknown: the next store is not judged
  return out;
}

ProtocolStep dispatch(const SlotProtocol& s, const StatusEvent& e) {
  switch (e.kind) {
  case StatusEventKind::store:
    return on_store(s, e);
  case StatusEventKind::read:
    return on_read(s, e);
  case StatusEventKind::give_back:
    return on_give_back(s, e);
  case StatusEventKind::skb_used:
    return on_skb_used(s, e);
  }
  return {s, std::nullopt, false};
}

} // namespace

ProtocolStep protocol_step(const SlotProtocol& s, const StatusEvent& e) {
  ProtocolStep out = dispatch(s, e);
  const bool new_cycle = e.kind == StatusEventKind::read && e.in_call &&
                         e.status == kStatusSendRequest && s.status != kStatusSendRequest;
  const bool lost = e.lost_before || s.lost;
  if (new_cycle)
    out.next.broken = false; // a new request: a new cycle of the frame
  out.next.doubtful = !new_cycle && (s.doubtful || lost);
  if (lost && e.kind != StatusEventKind::give_back)
    out.next.giving_back = false; // its store may be what was lost
  if (s.doubtful || lost) {
    out.unjudged = out.unjudged || (out.judged && e.kind == StatusEventKind::store);
    out.judged = false;
    out.finding.reset();
  }
  if (out.finding && s.broken && !new_cycle) {
    out.finding.reset(); // a consequence of the cycle's first finding
    out.judged = false;
  }
  if (out.finding)
    out.next.broken = true;
  return out;
}

} // namespace harness::report
