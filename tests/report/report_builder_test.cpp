#include "harness/report/report_builder.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

namespace {

probes::ProbePlan small_plan() {
  probes::ProbePlan p;
  p.plan_id = "00112233aabbccdd";
  p.kernel = "6.1.192";
  p.probes = probes::ProbeSet::status;
  for (auto [anchor, line] :
       {std::pair{"snd.start", 2797}, std::pair{"snd.len_sum", 2989}, std::pair{"snd.wait", 2884},
        std::pair{"set_status.v1_break", 415}, std::pair{"set_status.v2_break", 419}}) {
    probes::PlannedProbe pp;
    pp.anchor = anchor;
    pp.function = "tpacket_snd";
    pp.line = line;
    p.anchors.push_back(pp);
  }
  return p;
}

} // namespace

TEST(ReportBuilder, SilentAlwaysProbesAreDriftAnomaliesOthersAreNot) {
  const std::string text =
      "HX1 READY 1 plan=00112233aabbccdd kernel=6.1.192 probes=status\n"
      "HX1 EV 10 0 100 100 snd.start po=0x1 head=0 frame_max=7 version=1 flags=0\n"
      "HX1 EV 11 0 100 100 set_status.v2_break po=0x1 frame=0x10 status=2\n"
      "HX1 EV 12 0 100 100 set_status.v2_break po=0x1 frame=0x10 status=0\n"
      "HX1 HITS snd.start 1\nHX1 HITS snd.len_sum 0\nHX1 HITS snd.wait 0\n"
      "HX1 HITS set_status.v1_break 0\nHX1 HITS set_status.v2_break 2\n"
      "HX1 END 20\n";
  const Report r = analyze_text(text, {}, small_plan());
  ASSERT_EQ(r.anomalies.size(), 1u) << r.anomalies[0].message;
  EXPECT_EQ(r.anomalies[0].kind, "probe_never_fired");
  EXPECT_EQ(r.anomalies[0].anchor, "snd.len_sum");
  EXPECT_EQ(r.anomalies[0].message,
            "probe never fired: possible line drift at anchor snd.len_sum (line 2989): run "
            "`harness drift`");
  EXPECT_EQ(r.run.tpacket, 2) << "from snd.start's version";
  EXPECT_EQ(r.probes.size(), 5u);
}

// HITS above the records delivered (an older script without `sq`): lost records that no window
// places, so the whole run is not judged; never a finding (issue 26: it was `events_lost`).
TEST(ReportBuilder, HitsAboveRecordsAreLostRecordsNotAFinding) {
  const std::string text = "HX1 EV 10 0 100 100 snd.start po=0x1 head=0 frame_max=7 flags=0\n"
                           "HX1 HITS snd.start 5\nHX1 END 20\n";
  const Report r = analyze_text(text);
  EXPECT_TRUE(r.anomalies.empty());
  EXPECT_TRUE(r.loss.any);
  EXPECT_EQ(r.loss.records, 4u);
  EXPECT_EQ(r.loss.by_cause.at("uncounted"), 4u);
  EXPECT_EQ(r.verdict(), "incomplete");
  EXPECT_EQ(r.exit_code(), 15);
}

TEST(ReportBuilder, WithoutPlanTheEndSummaryListsTheProbes) {
  // The generated scripts print a HITS line for every probe, zero or not.
  const std::string text = "HX1 EV 10 0 100 100 snd.start po=0x1 head=0 frame_max=7 flags=0\n"
                           "HX1 HITS snd.start 1\nHX1 HITS snd.return 0\nHX1 END 20\n";
  const Report r = analyze_text(text);
  const Anomaly* a = find_anomaly(r, "probe_never_fired");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->anchor, "snd.return");
}

TEST(ReportBuilder, NotesForMissingReadyAndEnd) {
  const Report r = analyze_text("garbage\n");
  EXPECT_EQ(r.notes.size(), 2u);
  EXPECT_EQ(r.trace.other_lines, 1u);
  EXPECT_EQ(r.exit_code(), 0) << "nothing was sent: nothing to account for";
}

TEST(ReportBuilder, RowsAreCappedButCountsAreNot) {
  ReportBuilder b(3);
  for (int i = 9; i >= 0; --i) {
    FrameTimeline tl;
    tl.has_sender = true;
    tl.sender = frame(static_cast<std::uint64_t>(i), 0, 1000);
    tl.has_kernel = true;
    tl.t[static_cast<int>(Phase::available)] = 5000;
    b.add(tl);
  }
  const Report r = b.finish({});
  EXPECT_EQ(r.frames.size(), 3u);
  EXPECT_EQ(r.frames_total, 10u);
  EXPECT_EQ(r.frames[0].sender.seq, 7u) << "kept rows are sorted by seq";
  EXPECT_EQ(r.summary.latency.count, 10u);
  EXPECT_EQ(r.summary.latency.p50, 4000u);
}
