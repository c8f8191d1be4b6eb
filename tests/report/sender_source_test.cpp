#include "harness/report/sender_source.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>

using namespace harness::report;
using namespace harness::report::testing;

TEST(VectorSenderSource, HandsOutFramesPerSlotInSeqOrder) {
  VectorSenderSource s({frame(5, 1, 50), frame(0, 0, 0), frame(2, 0, 20), frame(1, 1, 10)}, 1);
  ASSERT_NE(s.peek(0, 0), nullptr);
  EXPECT_EQ(s.peek(0, 0)->seq, 0u);
  s.pop(0, 0);
  EXPECT_EQ(s.peek(0, 0)->seq, 2u);
  EXPECT_EQ(s.peek(0, 1)->seq, 1u);
  EXPECT_EQ(s.peek(0, 7), nullptr);
  EXPECT_EQ(s.peek(3, 0), nullptr);
  std::vector<std::uint64_t> left;
  s.drain([&](const harness::sender::FrameRecord& f) { left.push_back(f.seq); });
  EXPECT_EQ(left, (std::vector<std::uint64_t>{1, 2, 5}));
  EXPECT_EQ(s.peek(0, 1), nullptr);
}

TEST(VectorSenderSource, RingsFromTheRecords) {
  auto a = frame(0, 0, 0);
  auto b = frame(1, 0, 1);
  b.ring = 1;
  VectorSenderSource s({a, b}, 1);
  EXPECT_EQ(s.rings(), 2u);
  EXPECT_EQ(s.peek(1, 0)->seq, 1u);
}
