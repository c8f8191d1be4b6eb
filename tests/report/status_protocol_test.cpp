// The TX ring's status protocol check (harness/report/status_protocol.hpp): every transition at
// every place the stage can be told, legal ones giving no finding and every other one named with
// its transition, place and records; then whole traces through the correlator and the report
// (evidence, loss, the races of two CPUs' records).
#include "harness/report/frame_timeline.hpp"
#include "harness/report/status_protocol.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>
#include <sstream>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

namespace {

constexpr std::uint32_t A = kStatusAvailable, R = kStatusSendRequest, S = kStatusSending,
                        W = kStatusWrongFormat;
constexpr auto kTransition = ProtocolBreach::transition;
constexpr auto kPlace = ProtocolBreach::place;
constexpr auto kSkbAlive = ProtocolBreach::skb_alive;

const StatusRef kTold{1, 10, 100, 1000};   // the record that told the slot's status
const StatusRef kCall{9, 5, 100, 500};     // the storing thread's snd.start
const StatusRef kMarker{7, 20, 200, 2000}; // the destructor's destruct.set_available
const StatusRef kStore{2, 30, 100, 3000};  // the store record judged

struct Row {
  StorePlace place;
  std::uint32_t from, to;
  std::optional<ProtocolBreach> breach; // nullopt: legal
  bool destructed = false;              // the frame's destructor ran since its last request
};

// clang-format off
// The protocol, written out: every from -> to at every place a store record can be placed.
const Row kRows[] = {
    // tpacket_snd takes SEND_REQUEST frames: SENDING, WRONG_FORMAT, a PACKET_LOSS skip to
    // AVAILABLE, SEND_REQUEST again at out_status; AVAILABLE -> SEND_REQUEST only after the
    // frame's skb was destructed (a failed xmit offers the frame again).
    {StorePlace::snd, A, A, kTransition}, {StorePlace::snd, A, R, kPlace},
    {StorePlace::snd, A, S, kTransition}, {StorePlace::snd, A, W, kTransition},
    {StorePlace::snd, A, R, std::nullopt, true},
    {StorePlace::snd, R, A, std::nullopt}, {StorePlace::snd, R, R, std::nullopt},
    {StorePlace::snd, R, S, std::nullopt}, {StorePlace::snd, R, W, std::nullopt},
    {StorePlace::snd, S, A, kSkbAlive},   {StorePlace::snd, S, R, kTransition},
    {StorePlace::snd, S, S, kTransition}, {StorePlace::snd, S, W, kTransition},
    {StorePlace::snd, W, A, kTransition}, {StorePlace::snd, W, R, kPlace},
    {StorePlace::snd, W, S, kTransition}, {StorePlace::snd, W, W, kTransition},
    {StorePlace::snd, R, 8, kTransition},
    // The destructor gives SENDING frames back, nothing else.
    {StorePlace::destructor, A, A, kTransition}, {StorePlace::destructor, A, R, kPlace},
    {StorePlace::destructor, A, S, kTransition}, {StorePlace::destructor, A, W, kTransition},
    {StorePlace::destructor, R, A, kPlace},      {StorePlace::destructor, R, R, kPlace},
    {StorePlace::destructor, R, S, kPlace},      {StorePlace::destructor, R, W, kPlace},
    {StorePlace::destructor, S, A, std::nullopt}, {StorePlace::destructor, S, R, kTransition},
    {StorePlace::destructor, S, S, kTransition}, {StorePlace::destructor, S, W, kTransition},
    {StorePlace::destructor, W, A, kTransition}, {StorePlace::destructor, W, R, kPlace},
    {StorePlace::destructor, W, S, kTransition}, {StorePlace::destructor, W, W, kTransition},
    // The first record of a slot: only the place is judged.
    {StorePlace::snd, kStatusNone, S, std::nullopt}, {StorePlace::snd, kStatusNone, A, std::nullopt},
    {StorePlace::destructor, kStatusNone, A, std::nullopt},
    {StorePlace::destructor, kStatusNone, S, kPlace},
};
// clang-format on

std::string row_name(const Row& r) {
  return std::string(store_place_name(r.place)) + " " + std::to_string(r.from) + " -> " +
         std::to_string(r.to) + (r.destructed ? " (destructed)" : "");
}

// The slot before the store, and the store record, as the correlator would hand them over.
std::pair<SlotProtocol, StatusEvent> setup(const Row& row) {
  SlotProtocol s;
  s.status = row.from;
  s.told = row.from == kStatusNone ? StatusRef{} : kTold;
  s.tx = true;
  s.destructed = row.destructed;
  StatusEvent e;
  e.kind = StatusEventKind::store;
  e.status = row.to;
  e.rec = kStore;
  e.markers = true;
  if (row.place == StorePlace::snd) {
    e.in_call = true;
    e.call = kCall;
  }
  if (row.place == StorePlace::destructor) {
    s.giving_back = true;
    s.give_from = row.from;
    s.give_told = s.told;
    s.give_ref = kMarker;
    s.status = A; // the marker's tentative AVAILABLE
    s.told = kMarker;
    e.rec.tid = kMarker.tid;
  }
  return {s, e};
}

bool same(const StatusRef& a, const StatusRef& b) {
  return a.anchor == b.anchor && a.line == b.line && a.tid == b.tid && a.ts == b.ts;
}

} // namespace

TEST(StatusProtocol, EveryTransitionAtEveryPlaceIsJudgedByTheTable) {
  for (const Row& row : kRows) {
    SCOPED_TRACE(row_name(row));
    const auto [s, e] = setup(row);
    const ProtocolStep step = protocol_step(s, e);
    EXPECT_TRUE(step.judged);
    EXPECT_FALSE(step.unjudged);
    if (!row.breach) {
      EXPECT_FALSE(step.finding) << protocol_breach_name(step.finding->breach);
      continue;
    }
    ASSERT_TRUE(step.finding);
    const ProtocolFinding& f = *step.finding;
    EXPECT_EQ(f.breach, *row.breach) << protocol_breach_name(f.breach);
    EXPECT_EQ(f.from, row.from);
    EXPECT_EQ(f.to, row.to);
    EXPECT_EQ(f.place, row.place);
    EXPECT_TRUE(same(f.store, e.rec));
    EXPECT_TRUE(same(f.before, row.from == kStatusNone ? StatusRef{} : kTold));
    const StatusRef context = row.place == StorePlace::destructor ? kMarker
                              : row.place == StorePlace::snd      ? kCall
                                                                  : StatusRef{};
    EXPECT_TRUE(same(f.context, context));
  }
}

TEST(StatusProtocol, AStoreUpdatesTheSlotAndTheDestructorsConsumesItsMarker) {
  const auto [s, e] = setup({StorePlace::destructor, S, A, std::nullopt});
  const ProtocolStep step = protocol_step(s, e);
  EXPECT_FALSE(step.next.giving_back);
  EXPECT_EQ(step.next.status, A);
  EXPECT_TRUE(same(step.next.told, e.rec));
}

TEST(StatusProtocol, UserStoresAreSeenByTheKernelsReads) {
  for (const auto& [from, giving_back, bad] :
       {std::tuple{A, false, false}, std::tuple{W, false, false}, std::tuple{S, true, false},
        std::tuple{S, false, true}}) {
    SCOPED_TRACE(std::to_string(from) + (giving_back ? " giving back" : ""));
    SlotProtocol s;
    s.status = giving_back ? A : from;
    s.told = kTold;
    s.tx = true;
    s.giving_back = giving_back;
    StatusEvent e{StatusEventKind::read, R, kStore, true, kCall};
    const ProtocolStep step = protocol_step(s, e);
    EXPECT_EQ(step.next.status, R);
    EXPECT_EQ(step.next.requested_since, giving_back);
    ASSERT_EQ(step.finding.has_value(), bad);
    if (!bad)
      continue;
    EXPECT_EQ(step.finding->breach, kTransition);
    EXPECT_EQ(step.finding->place, StorePlace::user);
    EXPECT_EQ(step.finding->from, S);
    EXPECT_EQ(step.finding->to, R);
    EXPECT_TRUE(same(step.finding->store, kStore));
    EXPECT_TRUE(same(step.finding->before, kTold));
  }
}

TEST(StatusProtocol, ReadsOutsideACallAndOtherStatusesTellNothing) {
  SlotProtocol s;
  s.status = S;
  s.told = kTold;
  s.tx = true;
  StatusEvent rx{StatusEventKind::read, R, kStore, false, {}}; // the RX path's lookup
  EXPECT_FALSE(protocol_step(s, rx).finding);
  EXPECT_EQ(protocol_step(s, rx).next.status, S);
  StatusEvent early{StatusEventKind::read, A, kStore, true, kCall}; // before the store's record
  EXPECT_FALSE(protocol_step(s, early).finding);
  EXPECT_EQ(protocol_step(s, early).next.status, S);
}

TEST(StatusProtocol, AfterLostRecordsTheNextStoreIsNotJudged) {
  const auto [s, e0] = setup({StorePlace::snd, S, S, kTransition});
  StatusEvent e = e0;
  e.lost_before = true;
  const ProtocolStep step = protocol_step(s, e);
  EXPECT_FALSE(step.finding);
  EXPECT_TRUE(step.unjudged);
  EXPECT_FALSE(step.judged);
  EXPECT_EQ(step.next.status, S);
  // A slot whose skb showed up after a loss: its next store is not judged either.
  SlotProtocol after =
      protocol_step(s, {StatusEventKind::skb_used, 0, kStore, true, kCall, true}).next;
  EXPECT_TRUE(after.lost);
  EXPECT_FALSE(protocol_step(after, e0).finding);
}

// Outside tpacket_snd and the destructor only another ring stores (tpacket_rcv, whose RX ring
// may have a closed TX ring's pages): never judged, and the slot's history starts over, so the
// next TX ring's first SEND_REQUEST on that page is no transition from the RX status.
TEST(StatusProtocol, AStoreOutsideTpacketSndAndTheDestructorStartsTheSlotOver) {
  for (std::uint32_t from : {A, R, S, W, kStatusNone})
    for (std::uint32_t to : {A, R, S, W, 9u}) {
      SCOPED_TRACE(std::to_string(from) + " -> " + std::to_string(to));
      auto [s, e] = setup({StorePlace::other, from, to, std::nullopt});
      for (bool lost : {false, true}) {
        e.lost_ever = e.lost_before = lost;
        const ProtocolStep step = protocol_step(s, e);
        EXPECT_FALSE(step.finding);
        EXPECT_FALSE(step.judged);
        EXPECT_FALSE(step.unjudged);
        EXPECT_EQ(step.next.status, kStatusNone);
        EXPECT_FALSE(step.next.tx);
        StatusEvent read;
        read.kind = StatusEventKind::read;
        read.status = R;
        read.rec = kStore;
        read.in_call = true;
        read.call = kCall;
        EXPECT_FALSE(protocol_step(step.next, read).finding);
      }
    }
}

TEST(StatusProtocol, AvailableWithoutTheDestructorsMarkerProbedIsNotJudged) {
  const auto [s, e0] = setup({StorePlace::snd, S, A, kSkbAlive});
  StatusEvent e = e0;
  e.markers = false;
  EXPECT_FALSE(protocol_step(s, e).finding);
}

TEST(StatusProtocol, ASkipWhoseSkbShowsUpWasGivenBackWhileAlive) {
  auto [s, e] = setup({StorePlace::snd, R, A, std::nullopt});
  const ProtocolStep skip = protocol_step(s, e);
  ASSERT_FALSE(skip.finding);
  EXPECT_TRUE(skip.next.skipped);
  const StatusRef xmit{11, 40, 100, 4000};
  for (auto kind : {StatusEventKind::skb_used, StatusEventKind::give_back}) {
    const ProtocolStep step = protocol_step(skip.next, {kind, 0, xmit, true, kCall});
    ASSERT_TRUE(step.finding);
    EXPECT_EQ(step.finding->breach, kSkbAlive);
    EXPECT_EQ(step.finding->from, R);
    EXPECT_EQ(step.finding->to, A);
    EXPECT_EQ(step.finding->place, StorePlace::snd);
    EXPECT_TRUE(same(step.finding->store, kStore));
    EXPECT_TRUE(same(step.finding->before, kTold));
    EXPECT_TRUE(same(step.finding->context, xmit));
  }
  // A new request first: the skip was a PACKET_LOSS skip.
  const auto asked = protocol_step(skip.next, {StatusEventKind::read, R, xmit, true, kCall});
  EXPECT_FALSE(asked.finding);
  EXPECT_FALSE(
      protocol_step(asked.next, {StatusEventKind::skb_used, 0, xmit, true, kCall}).finding);
}

TEST(StatusProtocol, WhatFollowsAFindingInTheSameCycleIsItsConsequence) {
  auto [s, e] = setup({StorePlace::snd, S, S, kTransition});
  const ProtocolStep first = protocol_step(s, e);
  ASSERT_TRUE(first.finding);
  EXPECT_TRUE(first.next.broken);
  EXPECT_FALSE(protocol_step(first.next, e).finding); // SENDING -> SENDING again
  // The user's next request begins a new cycle, judged again.
  const ProtocolStep asked =
      protocol_step(first.next, {StatusEventKind::read, R, kTold, true, kCall});
  ASSERT_TRUE(asked.finding); // SENDING -> SEND_REQUEST by user space
  EXPECT_EQ(asked.finding->place, StorePlace::user);
}

TEST(StatusProtocol, AStoreAnchorAtOneCallSiteTellsItsOwnPlace) {
  auto [s, e] = setup({StorePlace::destructor, S, A, std::nullopt});
  e.place = StorePlace::snd; // the SENDING line's probe, whatever marker is pending
  e.status = S;
  const ProtocolStep step = protocol_step(s, e);
  ASSERT_TRUE(step.finding);
  EXPECT_EQ(step.finding->place, StorePlace::snd);
  EXPECT_EQ(step.finding->from, A); // the destructor's give-back under way
  EXPECT_EQ(step.finding->breach, kTransition);
  EXPECT_TRUE(step.next.giving_back);
}
