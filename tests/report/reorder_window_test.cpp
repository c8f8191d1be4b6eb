#include "harness/report/reorder_window.hpp"

#include <gtest/gtest.h>
#include <vector>

using namespace harness::report;

namespace {
TraceRecord at(std::uint64_t ts, std::uint32_t cpu = 0) {
  TraceRecord r;
  r.ts_ns = ts;
  r.cpu = cpu;
  return r;
}
} // namespace

TEST(ReorderWindow, PutsInterleavedCpusBackInOrder) {
  ReorderWindow w(1000, 100);
  std::vector<std::uint64_t> out;
  auto rel = [&](const TraceRecord& r) {
    out.push_back(r.ts_ns);
  };
  for (auto ts : {10, 30, 20, 50, 40, 45, 60})
    w.push(at(static_cast<std::uint64_t>(ts)), rel);
  w.flush(rel);
  EXPECT_EQ(out, (std::vector<std::uint64_t>{10, 20, 30, 40, 45, 50, 60}));
  EXPECT_EQ(w.reordered(), 3u); // 20, 40 and 45 arrived after a newer record
  EXPECT_EQ(w.late(), 0u);
}

TEST(ReorderWindow, EqualTimestampsKeepArrivalOrder) {
  ReorderWindow w(1000, 100);
  std::vector<std::uint32_t> out;
  auto rel = [&](const TraceRecord& r) {
    out.push_back(r.cpu);
  };
  w.push(at(5, 1), rel);
  w.push(at(5, 2), rel);
  w.push(at(4, 3), rel);
  w.push(at(5, 4), rel);
  w.flush(rel);
  EXPECT_EQ(out, (std::vector<std::uint32_t>{3, 1, 2, 4}));
}

TEST(ReorderWindow, ReleasesOnceOlderThanTheWindowAndCountsLateRecords) {
  ReorderWindow w(100, 1000);
  std::vector<std::uint64_t> out;
  auto rel = [&](const TraceRecord& r) {
    out.push_back(r.ts_ns);
  };
  w.push(at(1000), rel);
  w.push(at(1050), rel);
  EXPECT_TRUE(out.empty());
  w.push(at(1200), rel); // 1000 and 1050 are now more than 100 ns older
  EXPECT_EQ(out, (std::vector<std::uint64_t>{1000, 1050}));
  w.push(at(900), rel); // too late to be put in order: released at once, counted
  EXPECT_EQ(out.back(), 900u);
  EXPECT_EQ(w.late(), 1u);
}

TEST(ReorderWindow, MemoryIsBoundedByMaxRecords) {
  ReorderWindow w(UINT64_MAX / 2, 16);
  std::size_t released = 0;
  for (std::uint64_t i = 0; i < 100000; ++i)
    w.push(at(i), [&](const TraceRecord&) { ++released; });
  EXPECT_EQ(w.max_depth(), 17u);
  EXPECT_EQ(released, 100000u - 16u);
}

// A trace in descending order: every record is put back, each before all the held ones.
TEST(ReorderWindow, DescendingTraceComesOutAscending) {
  ReorderWindow w(UINT64_MAX / 2, 4096);
  std::vector<std::uint64_t> out;
  auto rel = [&](const TraceRecord& r) {
    out.push_back(r.ts_ns);
  };
  for (std::uint64_t i = 4096; i > 0; --i)
    w.push(at(i), rel);
  EXPECT_TRUE(out.empty());
  w.flush(rel);
  ASSERT_EQ(out.size(), 4096u);
  for (std::size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(out[i], i + 1);
  EXPECT_EQ(w.reordered(), 4095u);
  EXPECT_EQ(w.max_depth(), 4096u);
}
