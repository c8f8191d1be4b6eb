// A real capture of the kprobe tracer (tests/fixtures/traces/README): the tracefs lines as read in
// the guest, translated with the real definitions and plan, through the whole offline pipeline.
#include "base/files.hpp"
#include "harness/report/analyze.hpp"
#include "kprobe/definitions.hpp"
#include "kprobe/trace_lines.hpp"

#include <gtest/gtest.h>

namespace harness::kprobe {
namespace {

const std::string kCapture =
    std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/6.12.118-O0-v2-20frames-ring8-kprobe";

TEST(CapturedKprobeRun, TwentyFramesThroughAnEightSlotRingOn612) {
  auto defs = load_defs(kCapture + ".kprobes");
  ASSERT_TRUE(defs) << format_error(defs.error());
  auto plan = probes::load_plan(kCapture + ".plan.json");
  ASSERT_TRUE(plan) << format_error(plan.error());
  auto sender = report::load_sender_records(kCapture + ".sender.json");
  ASSERT_TRUE(sender) << format_error(sender.error());
  auto raw = read_file(kCapture + ".tracefs");
  ASSERT_TRUE(raw);
  // Every thread in the capture is the guest's harness (its init, the reader, the sender); the
  // live tracer reads their tgid from /proc, which the replay cannot: the sender's pid stands in.
  const auto pid = static_cast<std::uint32_t>(sender->pid);
  LineTranslator tr(*defs, *plan, 0, [pid](std::uint32_t tid) { return tid == 0 ? 0u : pid; });
  std::string records = "HX1 READY 1 plan=" + plan->plan_id + " kernel=6.12.118 probes=status\n";
  std::size_t start = 0;
  for (std::size_t nl; (nl = raw->find('\n', start)) != std::string::npos; start = nl + 1)
    tr.translate(std::string_view(*raw).substr(start, nl - start), records);
  EXPECT_GT(tr.repeats(), 0u) << "snd.ph_check's second address fired in this capture";

  report::AnalyzeInputs in;
  in.plan = *plan;
  in.sender = *sender;
  // The live tracer moves kernel times onto the sender's clock by the REALTIME - MONOTONIC offset
  // it reads at start; the capture does not keep it, so the replay (offset 0) has the kernel's
  // times on another clock. Without the sender's fill times the report does not compare the two
  // clocks (anomaly clock_skew) and judges the kernel's records alone.
  for (auto& f : in.sender->frames)
    f.t_fill_ns = 0;
  report::Analysis analysis({}, std::move(in));
  report::feed_trace_text(records, analysis);
  const report::Report r = analysis.finish();
  EXPECT_EQ(r.exit_code(), 0) << records.substr(0, 2000);
  for (const auto& a : r.anomalies)
    ADD_FAILURE() << a.kind << ": " << a.message;
  ASSERT_EQ(r.frames.size(), 20u);
  for (std::size_t i = 0; i < r.frames.size(); ++i) {
    const auto& f = r.frames[i];
    ASSERT_TRUE(f.has_sender && f.has_kernel) << "frame " << i;
    EXPECT_EQ(f.sender.seq, i);
    EXPECT_EQ(f.index, static_cast<std::int64_t>(i % 8));
    EXPECT_EQ(f.outcome, report::Outcome::completed) << "frame " << i;
    for (auto p : {report::Phase::request_seen, report::Phase::sending, report::Phase::available})
      EXPECT_TRUE(f.seen(p)) << "frame " << i;
  }
}

} // namespace
} // namespace harness::kprobe
