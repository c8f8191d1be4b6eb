#pragma once

// The TX ring's status protocol, checked store by store (docs/report-schema.md
// "status_protocol"). A pure stage: the correlator (correlator_protocol.cpp) turns the records of
// one frame address into StatusEvents and keeps one SlotProtocol per address; `step` judges each
// event against the protocol and returns the slot's next state and what it found.
//
// The protocol (docs/af_packet-history.md; linux/if_packet.h values, timestamp bits masked):
//   user space       AVAILABLE -> SEND_REQUEST (also WRONG_FORMAT -> SEND_REQUEST: a fixed frame)
//   tpacket_snd      SEND_REQUEST -> SENDING (it takes the frame, its skb now owns it)
//                    SEND_REQUEST -> WRONG_FORMAT (a bad frame, PACKET_LOSS unset)
//                    SEND_REQUEST -> AVAILABLE (a bad frame skipped with PACKET_LOSS: no skb)
//                    SEND_REQUEST -> SEND_REQUEST (out_status after a failed allocation)
//                    AVAILABLE -> SEND_REQUEST (out_status after a failed xmit whose skb was
//                    already destructed: the frame is offered again)
//   the destructor   SENDING -> AVAILABLE (tpacket_destruct_skb: the skb is done with it)
// Anything else, a store made where its transition is not allowed, or AVAILABLE stored while the
// frame's skb is alive (before its destructor ran) is a finding naming the transition, the place,
// the records. A store outside tpacket_snd and the destructor is another ring's (tpacket_rcv on
// an RX ring that may have a closed TX ring's pages): it starts the slot's history over. User
// stores are never recorded: tpacket_snd's reads (get_status, ph_check) show them. Records the
// tracer may have lost in between make the next event "not judged".

#include "harness/report/trace_record.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace harness::report {

// Where a status store was made.
enum class StorePlace : std::uint8_t {
  snd,        // inside the storing thread's tpacket_snd call
  destructor, // tpacket_destruct_skb: right after its destruct.set_available record of the frame
  user,       // no store record: tpacket_snd read a status no kernel store explains
  other,      // a store record outside tpacket_snd and the destructor: another ring's
};
std::string_view store_place_name(StorePlace p); // "tpacket_snd", "tpacket_destruct_skb", ...

// What a finding breaks.
enum class ProtocolBreach : std::uint8_t {
  transition, // the protocol has no such transition (at any place)
  place,      // a transition made where it is not allowed (legal only elsewhere)
  skb_alive,  // the slot given back (AVAILABLE) while its skb was still alive
};
std::string_view protocol_breach_name(ProtocolBreach b); // "transition", "place", "skb_alive"

inline constexpr std::uint32_t kStatusNone = 0xffffffffu; // nothing known of the slot yet

// One record, as the finding names it (line 0: none).
struct StatusRef {
  AnchorId anchor = 0;
  std::uint64_t line = 0;
  std::uint32_t tid = 0;
  std::uint64_t ts = 0;
};

enum class StatusEventKind : std::uint8_t {
  store,     // a kernel store record (set_status.*): `status`
  read,      // tpacket_snd read `status` (get_status.*, snd.ph_check with a frame)
  give_back, // the destructor is about to store AVAILABLE (destruct.set_available)
  skb_used,  // the frame's skb is alive: transmitted (after_xmit, len_sum) or destructed
};

struct StatusEvent {
  StatusEventKind kind = StatusEventKind::store;
  std::uint32_t status = 0; // masked (store, read)
  StatusRef rec;            // the record
  bool in_call = false;     // its thread is inside tpacket_snd (snd.start, no snd.return yet)
  StatusRef call;           // that call's snd.start
  // Records of this slot may have been lost since its previous event: nothing is judged.
  bool lost_before = false;
  // Records may have been lost before it at all: a thread's call may be unknown (place `other`).
  bool lost_ever = false;
  // The trace has shown the destructor's marker (destruct.set_available) before: a store without
  // one is not the destructor's. Until then an AVAILABLE store may be either's: not judged.
  bool markers = false;
  // A store anchor that is itself at one call site (e.g. an -O2 probe on the inlined
  // __packet_set_status of tpacket_snd's SENDING line) tells its place; else it is inferred.
  std::optional<StorePlace> place;
};

// What the records tell of one slot (one frame address).
struct SlotProtocol {
  std::uint32_t status = kStatusNone; // last known status
  StatusRef told;                     // the record that told it
  bool lost = false;                  // records lost since: the next event is not judged
  bool tx = false;                    // tpacket_snd read it: a TX ring frame
  // A finding was made since the frame's last request: what follows until the next request is
  // its consequence (the destructor giving back a slot given back already), not judged again.
  bool broken = false;
  // Records of the slot may have been lost in this cycle: until the frame's next request its
  // history (who stored what, whether its skb was destructed) is incomplete, nothing is judged.
  bool doubtful = false;
  bool destructed = false; // its skb's destructor ran (since the last request)
  // The destructor's give-back in progress (destruct.set_available seen, its store not yet).
  bool giving_back = false;
  bool requested_since = false; // SEND_REQUEST seen after that marker
  bool give_lost = false;       // records of the slot may have been lost before the marker
  std::uint32_t give_from = kStatusNone;
  StatusRef give_told, give_ref;
  // AVAILABLE stored by tpacket_snd over SEND_REQUEST: a PACKET_LOSS skip, unless its skb shows.
  bool skipped = false;
  StatusRef skip_ref, skip_told;
};

struct ProtocolFinding {
  ProtocolBreach breach = ProtocolBreach::transition;
  std::uint32_t from = kStatusNone, to = 0; // masked statuses
  StorePlace place = StorePlace::snd;
  StatusRef store;   // the store record (the read that showed it, for a user store)
  StatusRef before;  // the record that told `from` (line 0: none)
  StatusRef context; // what placed it: the destructor's marker, the call's snd.start, or the
                     // record that shows the skb alive
};

struct ProtocolStep {
  SlotProtocol next;
  std::optional<ProtocolFinding> finding;
  bool unjudged = false; // a store not judged: records of its slot may have been lost
  bool judged = false;   // a store (or a user's, seen by a read) checked against the protocol
};

ProtocolStep protocol_step(const SlotProtocol& s, const StatusEvent& e);

} // namespace harness::report
