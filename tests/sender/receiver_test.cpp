#include "sender/receiver.hpp"

#include <gtest/gtest.h>

using namespace harness::sender;

namespace {

// What a receiver saw, fed in arrival order; `count`/`sockets` as the sender shared them.
Received arrivals(std::vector<std::uint64_t> seqs, std::uint64_t count = 0,
                  std::uint32_t sockets = 1) {
  Received rx;
  for (auto s : seqs)
    rx.add(s, ring_of(s, count, sockets));
  return rx;
}

SendOutcome all_sent(std::uint64_t n) {
  SendOutcome o;
  o.queued.insert_range(0, n);
  return o;
}

} // namespace

TEST(VerifyReception, AllInOrderIsOk) {
  auto c = verify_reception(arrivals({0, 1, 2, 3}), all_sent(4));
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.expected, 4u);
  EXPECT_EQ(c.received, 4u);
  EXPECT_EQ(c.first_problem, "");
}

TEST(VerifyReception, CountsMissingDuplicateAndReordered) {
  auto c = verify_reception(arrivals({0, 2, 1, 2}), all_sent(4));
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.out_of_order, 1u);
  EXPECT_EQ(c.duplicates, 1u);
  EXPECT_EQ(c.missing, 1u); // 3
  EXPECT_NE(c.first_problem.find("1 arrived after 2"), std::string::npos) << c.first_problem;
  c = verify_reception(arrivals({0, 1, 3}), all_sent(5));
  EXPECT_EQ(c.missing, 2u);
  EXPECT_EQ(c.first_problem, "sequence number 2 was sent but never arrived");
}

TEST(VerifyReception, FramesThatMustNotArriveAreUnexpected) {
  SendOutcome o = all_sent(3);
  o.exceptions = {{1, Fate::discarded}, {2, Fate::not_sent}};
  auto c = verify_reception(arrivals({0, 1, 2, 7}), o);
  EXPECT_EQ(c.unexpected, 3u); // 1, 2 and 7 (never queued)
  EXPECT_EQ(c.expected, 1u);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.first_problem.find("PACKET_LOSS"), std::string::npos) << c.first_problem;
}

TEST(VerifyReception, UncertainFramesMayOrMayNotArrive) {
  SendOutcome o = all_sent(2);
  o.exceptions = {{1, Fate::uncertain}};
  EXPECT_TRUE(verify_reception(arrivals({0, 1}), o).ok);
  EXPECT_TRUE(verify_reception(arrivals({0}), o).ok);
}

TEST(VerifyReception, OrderIsCheckedPerSocket) {
  // Two sockets: 0-4 and 5-9, interleaved on the wire.
  EXPECT_TRUE(verify_reception(arrivals({5, 0, 6, 1, 2, 7, 8, 3, 4, 9}, 10, 2), all_sent(10)).ok);
  EXPECT_EQ(
      verify_reception(arrivals({5, 0, 7, 6, 1, 2, 8, 3, 4, 9}, 10, 2), all_sent(10)).out_of_order,
      1u);
  EXPECT_EQ(ring_of(4, 10, 2), 0u);
  EXPECT_EQ(ring_of(5, 10, 2), 1u);
  EXPECT_EQ(ring_of(9, 10, 3), 2u);
}

TEST(VerifyReception, BadPayloadAndDropsFail) {
  Received rx = arrivals({0});
  rx.bad_payload = 1;
  rx.first_bad = "frame with sequence number 1: byte 40 is 0, expected 40";
  auto c = verify_reception(rx, all_sent(2));
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_problem, rx.first_bad);
  Received dropped = arrivals({0, 1});
  dropped.kernel_drops = 3;
  EXPECT_FALSE(verify_reception(dropped, all_sent(2)).ok);
}

TEST(VerifyReception, MemoryStaysSmallForLongInOrderRuns) {
  Received rx;
  for (std::uint64_t s = 0; s < 1'000'000; ++s)
    rx.add(s, 0);
  EXPECT_EQ(rx.seen.ranges().size(), 1u);
  EXPECT_TRUE(verify_reception(rx, all_sent(1'000'000)).ok);
}
