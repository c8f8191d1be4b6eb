#include "harness/report/analyze.hpp"
#include "report_fixtures.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(::getpid());
}

} // namespace

TEST(Analyze, FileAndTextGiveTheSameReport) {
  constexpr const char* kWrap = "6.1.192-O0-v2-20frames-ring8-status";
  const Report from_text = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  AnalyzeInputs in;
  in.sender = sender_records(kWrap);
  Analysis a({}, std::move(in));
  ASSERT_TRUE(feed_trace_file(trace_fixture(kWrap), a));
  const Report from_file = a.finish();
  EXPECT_EQ(from_file.frames_total, from_text.frames_total);
  EXPECT_EQ(from_file.trace.lines, from_text.trace.lines);
  EXPECT_EQ(from_file.summary.latency.p99, from_text.summary.latency.p99);
}

TEST(Analyze, LinesAcrossChunkBoundariesCrlfAndAHugeGarbageLine) {
  const std::string path = temp_path("big.trace");
  {
    std::ofstream out(path, std::ios::binary);
    out << "HX1 READY 1 plan=p kernel=k probes=status\r\n";
    out << std::string(3 << 20, 'x') << "\n"; // 3 MiB without a newline: garbage, not a crash
    for (int i = 0; i < 40000; ++i)           // ~2.5 MiB of records
      out << "HX1 EV " << 1000 + i << " 0 1 1 snd.start po=0x1 head=0 frame_max=7 flags=0\n";
    out << "HX1 END 99999999\n";
  }
  Analysis a({}, {});
  ASSERT_TRUE(feed_trace_file(path, a));
  const auto& s = a.parse_stats();
  EXPECT_EQ(s.events, 40000u);
  EXPECT_EQ(s.malformed, 0u);
  EXPECT_TRUE(s.ready);
  EXPECT_TRUE(s.end_ts);
  const Report r = a.finish();
  EXPECT_EQ(r.summary.snd_calls, 40000u);
  ::unlink(path.c_str());
}

TEST(Analyze, MissingTraceNamesTheFile) {
  Analysis a({}, {});
  auto s = feed_trace_file("/nonexistent/trace.txt", a);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::usage);
  EXPECT_NE(s.error().what.find("/nonexistent/trace.txt"), std::string::npos);
}

TEST(Analyze, SenderRecordsErrorsNameTheFile) {
  const std::string path = temp_path("bad.sender.json");
  { std::ofstream(path) << "{\"schema\": \"harness.sender/1\", \"frames\": 3}"; }
  auto r = load_sender_records(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  EXPECT_NE(r.error().what.find(path), std::string::npos);
  { std::ofstream(path) << "not json"; }
  r = load_sender_records(path);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().why.find("not valid JSON"), std::string::npos);
  ::unlink(path.c_str());
}
