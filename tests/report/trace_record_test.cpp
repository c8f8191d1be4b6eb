#include "harness/report/trace_record.hpp"
#include "probes/trace_format.hpp"

#include <gtest/gtest.h>

using namespace harness::report;

TEST(TraceRecord, KeyNamesRoundTripAndMatchTheTraceFormat) {
  for (std::size_t i = 0; i < kKeyCount; ++i) {
    const auto k = static_cast<Key>(i);
    EXPECT_EQ(key_from_name(key_name(k)), k) << key_name(k);
  }
  EXPECT_EQ(key_name(Key::frames_per_block), harness::probes::trace::key::frames_per_block);
  EXPECT_FALSE(key_from_name("nope"));
  EXPECT_FALSE(key_from_name(""));
  EXPECT_FALSE(key_from_name("p"));
}

TEST(TraceRecord, PresenceBits) {
  TraceRecord r;
  EXPECT_FALSE(r.value(Key::ph));
  r.values[static_cast<std::size_t>(Key::ph)] = 7;
  r.given |= TraceRecord::bit(Key::ph);
  EXPECT_EQ(r.value(Key::ph), 7u);
}
