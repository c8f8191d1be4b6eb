#include "harness/report/report.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>

using namespace harness::report;
using namespace harness::report::testing;

namespace {

// The lines of one section of the text report: from its heading line to the blank line after it.
std::string section(const std::string& text, const std::string& heading) {
  const auto from = text.find("\n" + heading + "\n");
  if (from == std::string::npos)
    return "(no section " + heading + ")";
  const auto to = text.find("\n\n", from + 1);
  return text.substr(from + 1, to == std::string::npos ? std::string::npos : to - from);
}

constexpr const char* kFramesHeading = "frames\n     seq   idx SEND_REQ seen  SENDING     "
                                       "transmitted  destructor  AVAILABLE   latency     outcome\n";
constexpr const char* kFramesLegend =
    "  times: from the sender setting SEND_REQUEST (kernel-only rows: from the first kernel "
    "record); - = not observed\n"
    "  transmitted: tpacket_snd saw the driver's xmit return, so it can come after destructor and "
    "AVAILABLE (a veth frees the skb inside its xmit)\n";

} // namespace

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
  // The frame table, row by row: each phase's time from SEND_REQUEST, the latency, the outcome.
  EXPECT_EQ(section(t, "frames"),
            std::string(kFramesHeading) +
                "       0     0 +2.19 ms       +3.30 ms    +4.49 ms     +3.69 ms    +3.78 ms    "
                "3.78 ms     completed\n"
                "       1     1 +4.61 ms       +4.65 ms    +4.71 ms     +4.68 ms    +4.69 ms    "
                "4.69 ms     completed\n" +
                kFramesLegend);
  EXPECT_EQ(section(t, "phases"), "phases\n"
                                  "  SEND_REQUEST seen  2 frames\n"
                                  "  SENDING            2 frames\n"
                                  "  transmitted        2 frames\n"
                                  "  destructor         2 frames\n"
                                  "  AVAILABLE          2 frames\n");
  EXPECT_EQ(section(t, "probes"), "probes\n"
                                  "  anchor                     line  records    hits  note\n"
                                  "  set_status.v2_break           -        4       4  \n"
                                  "  get_status.v2_return          -        3       3  \n"
                                  "  destruct.pending_dec          -        2       2  \n"
                                  "  destruct.set_available        -        2       2  \n"
                                  "  snd.start                     -        1       1  \n"
                                  "  snd.ph_check                  -        3       3  \n"
                                  "  snd.len_sum                   -        2       2  \n"
                                  "  snd.return                    -        1       1  \n");
}

TEST(ReportText, PartialAndRowLimit) {
  constexpr const char* kWrap = "6.1.192-O0-v2-20frames-ring8-status";
  Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  r.partial = true;
  r.partial_reason = "interrupted by SIGINT while sending";
  const std::string t = format_report_text(r, 5);
  EXPECT_NE(t.find("PARTIAL REPORT: interrupted by SIGINT while sending"), std::string::npos);
  // The first five rows of the ring-wrapping run exactly, then the count of the rows left out.
  EXPECT_EQ(section(t, "frames"),
            std::string(kFramesHeading) +
                "       0     0 +3.27 ms       +6.03 ms    +8.95 ms     +7.57 ms    +7.72 ms    "
                "7.72 ms     completed\n"
                "       1     1 +8.96 ms       +9.03 ms    +9.11 ms     +9.07 ms    +9.08 ms    "
                "9.08 ms     completed\n"
                "       2     2 +9.12 ms       +9.15 ms    +9.20 ms     +9.16 ms    +9.18 ms    "
                "9.18 ms     completed\n"
                "       3     3 +9.20 ms       +9.23 ms    +9.28 ms     +9.25 ms    +9.25 ms    "
                "9.25 ms     completed\n"
                "       4     4 +9.28 ms       +9.31 ms    +9.53 ms     +9.32 ms    +9.33 ms    "
                "9.33 ms     completed\n"
                "  ... 15 more frames (all of them: report.json)\n" +
                kFramesLegend)
      << t;
  EXPECT_NE(t.find("verdict: INCOMPLETE (partial report): interrupted by SIGINT while sending"),
            std::string::npos);
  EXPECT_EQ(t.find("verdict: OK"), std::string::npos);
}
