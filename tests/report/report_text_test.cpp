#include "harness/report/report.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>

using namespace harness::report;
using namespace harness::report::testing;

TEST(ReportText, TableSummaryProbesVerdict) {
  constexpr const char* kV2 = "6.1.192-O0-v2-2frames-status";
  const Report r = analyze_text(read_text(trace_fixture(kV2)), sender_records(kV2));
  const std::string t = format_report_text(r);
  EXPECT_NE(t.find("kernel 6.1.192"), std::string::npos) << t;
  EXPECT_NE(t.find("TPACKET_V2 raw on hxv0, ring 8 x 4096 bytes"), std::string::npos) << t;
  EXPECT_NE(t.find("SENDING"), std::string::npos);
  EXPECT_NE(t.find("completed"), std::string::npos);
  EXPECT_NE(t.find("latency SEND_REQUEST -> AVAILABLE: p50"), std::string::npos) << t;
  EXPECT_NE(t.find("snd.len_sum"), std::string::npos);
  EXPECT_NE(t.find("verdict: OK, every frame accounted for"), std::string::npos) << t;
}

TEST(ReportText, PartialAndRowLimit) {
  constexpr const char* kWrap = "6.1.192-O0-v2-20frames-ring8-status";
  Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  r.partial = true;
  r.partial_reason = "interrupted by SIGINT while sending";
  const std::string t = format_report_text(r, 5);
  EXPECT_NE(t.find("PARTIAL REPORT: interrupted by SIGINT while sending"), std::string::npos);
  EXPECT_NE(t.find("... 15 more frames"), std::string::npos);
  EXPECT_NE(t.find("verdict: INCOMPLETE (partial report): interrupted by SIGINT while sending"),
            std::string::npos);
  EXPECT_EQ(t.find("verdict: OK"), std::string::npos);
}
