// The HTML report: lanes per frame for real VM fixtures, escaping, the lane limit, anomaly
// links, the baseline section, and a real render in headless Chromium (Debian's chromium).
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "harness/report/offline.hpp"
#include "harness/report/report_html.hpp"
#include "png_colours.hpp"
#include "report_fixtures.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace harness::report {
namespace {

using namespace testing;
namespace fs = std::filesystem;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

Report run_fixture(const std::string& name) {
  const std::string base = std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/" + name;
  OfflineRequest req;
  req.trace_path = base + ".trace";
  req.sender_path = base + ".sender.json";
  req.plan_path = base + ".plan.json";
  auto r = rebuild_report(req);
  EXPECT_TRUE(r) << (r ? "" : format_error(r.error()));
  return r ? *r : Report{};
}

Report synthetic(std::size_t frames) {
  Report r;
  r.run.kernel = "6.1.192";
  for (std::size_t i = 0; i < frames; ++i) {
    FrameTimeline f;
    f.has_sender = true;
    f.sender = frame(i, static_cast<std::uint32_t>(i % 8), 1'000'000'000 + 10'000 * i);
    f.has_kernel = true;
    f.index = static_cast<std::int64_t>(i % 8);
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      f.t[p] = static_cast<std::uint64_t>(f.sender.t_request_ns) + 2000 * (p + 1);
    r.frames.push_back(f);
  }
  r.frames_total = frames;
  return r;
}

TEST(ReportHtml, RealFixturesHaveOneLanePerFrame) {
  for (const auto* name : {"6.1.192-O0-v2-2frames-ring8-run", "6.1.192-O0-v2-20frames-ring8-run",
                           "6.1.192-O2-v3-2frames-ring8-run"}) {
    SCOPED_TRACE(name);
    const Report r = run_fixture(name);
    ASSERT_GT(r.frames_total, 0u);
    const std::string html = format_report_html(r);
    EXPECT_EQ(count(html, "data-seq=\""), r.frames_total);
    for (std::uint64_t seq = 0; seq < r.frames_total; ++seq)
      EXPECT_NE(html.find("data-seq=\"" + std::to_string(seq) + "\""), std::string::npos) << seq;
    EXPECT_NE(html.find("kernel 6.1.192"), std::string::npos);
    EXPECT_NE(html.find("<h2>Probes</h2>"), std::string::npos);
    EXPECT_NE(html.find("snd.len_sum"), std::string::npos);
    // Self-contained: nothing to fetch, nothing to run.
    for (const auto* bad : {"http:", "https:", "<script", " src=", "<link", "url("})
      EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  }
}

// Issue 30: a tpacket_snd lane over the frames with the calls, their waits and their tasks'
// sleeps, from a real run with two sending threads (waits and sleeps in it).
TEST(ReportHtml, TheTpacketSndLaneShowsEveryCallItsWaitsAndSleeps) {
  const Report r = run_fixture("6.1.192-O0-v1-20frames-ring8-threads-run");
  ASSERT_GT(r.summary.snd_calls, 1u);
  ASSERT_GT(r.summary.waits, 0u);
  EXPECT_EQ(r.calls.size(), r.summary.snd_calls);
  std::size_t sleeps = 0, ended = 0;
  for (const auto& c : r.calls) {
    sleeps += c.sleeps_ns.size();
    ended += c.end_ns != 0;
    EXPECT_TRUE(c.end_ns == 0 || c.end_ns >= c.start_ns) << c.start_ns << " " << c.end_ns;
  }
  EXPECT_GT(sleeps, 0u);
  EXPECT_EQ(ended, r.calls.size());
  const std::string html = format_report_html(r);
  EXPECT_EQ(count(html, "<g class=\"calls\">"), 1u) << "on the shared axis only";
  EXPECT_NE(html.find("tpacket_snd (" + std::to_string(r.calls.size()) + " calls)"),
            std::string::npos);
  EXPECT_EQ(count(html, "<title>tpacket_snd, task "), r.calls.size());
  EXPECT_EQ(count(html, "<title>snd.wait: +"), r.summary.waits);
  EXPECT_EQ(count(html, "<title>sched.sleep: +"), sleeps);
}

// Issue 30: a finding about a tpacket_snd call is marked on the tpacket_snd lane at the record
// that shows it (the zoo's blocking allocation under MSG_DONTWAIT, a real capture).
TEST(ReportHtml, ACallsFindingIsMarkedOnTheTpacketSndLane) {
  const Report r = run_fixture("6.1.192-O0-zoo-alloc-blocks-dontwait-run");
  ASSERT_FALSE(r.anomalies.empty());
  std::size_t findings = 0;
  for (const auto& c : r.calls)
    for (const auto& [t, what] : c.findings) {
      ++findings;
      EXPECT_GE(t, c.start_ns);
      EXPECT_TRUE(c.end_ns == 0 || t <= c.end_ns);
    }
  EXPECT_GE(findings, 1u);
  const std::string html = format_report_html(r);
  EXPECT_EQ(count(html, "<title>anomaly: MSG_DONTWAIT, yet the skb allocation may block"),
            findings);
  // A clean run has none.
  EXPECT_EQ(count(format_report_html(run_fixture("6.1.192-O0-v1-20frames-ring8-threads-run")),
                  "<title>anomaly: "),
            0u);
}

TEST(ReportHtml, EscapesEveryStringFromInputFiles) {
  Report r = synthetic(2);
  r.run.kernel = "<script>alert(1)</script>";
  r.run.iface = "eth0\"><img src=x>";
  r.anomalies.push_back({.kind = "k<u>", .message = "a & b < c", .seqs = {1}});
  r.probes.push_back({.anchor = "snd.x'", .function = "f", .statement = "if (a<b && c>d)"});
  r.notes.push_back("<i>note</i>");
  const std::string html = format_report_html(r);
  for (const auto* raw : {"<script>", "<img", "<u>", "<i>", "a<b", "snd.x'"})
    EXPECT_EQ(html.find(raw), std::string::npos) << raw;
  for (const auto* escaped : {"&lt;script&gt;alert(1)&lt;/script&gt;", "eth0&quot;&gt;&lt;img",
                              "a &amp; b &lt; c", "if (a&lt;b &amp;&amp; c&gt;d)", "snd.x&#39;"})
    EXPECT_NE(html.find(escaped), std::string::npos) << escaped;
}

TEST(ReportHtml, AnomaliesLinkToTheirFramesLanes) {
  Report r = synthetic(6);
  r.anomalies.push_back({.kind = "stuck", .message = "1 frame stuck", .seqs = {3}});
  const std::string html = format_report_html(r);
  EXPECT_NE(html.find("<a href=\"#frame-3\">seq 3</a>"), std::string::npos);
  EXPECT_NE(html.find("class=\"lane flagged\" id=\"frame-3\""), std::string::npos);
  EXPECT_EQ(count(html, "\"lane flagged\""), 1u);
  EXPECT_NE(html.find("class=\"aligned lane flagged\" id=\"a-frame-3\""), std::string::npos);
}

// The x of every mark named `name` in the part of `html` from `from` to `to`.
std::vector<std::string> mark_xs(const std::string& html, const std::string& from,
                                 const std::string& to, const std::string& name) {
  const auto begin = html.find(from), end = html.find(to, begin);
  std::vector<std::string> xs;
  const std::string part = html.substr(begin, end - begin);
  for (auto at = part.find("<title>" + name); at != std::string::npos;
       at = part.find("<title>" + name, at + 1)) {
    // A mark is <path d="Mx y..."> or <circle cx="x" ...>, its <title> inside.
    const auto path = part.rfind("<path d=\"M", at), circle = part.rfind("<circle cx=\"", at);
    const bool is_path =
        path != std::string::npos && (circle == std::string::npos || path > circle);
    const auto x = is_path ? path + 10 : circle + 12;
    xs.push_back(part.substr(x, part.find_first_of(" \"", x) - x));
  }
  return xs;
}

// Issue 30: on one shared axis a long run's later frames shrink to dots; the second view starts
// every lane at its own SEND_REQUEST, so the sender's SEND_REQUEST diamond of every lane is at
// the same x there, while the shared axis spreads them over the run.
TEST(ReportHtml, TheAlignedViewStartsEveryLaneAtItsSendRequest) {
  Report r = synthetic(12);
  for (std::size_t i = 0; i < r.frames.size(); ++i) { // frames a second apart: 2 us phases
    const std::int64_t shift = static_cast<std::int64_t>(i) * 1'000'000'000;
    auto& sender = r.frames[i].sender;
    for (auto* t : {&sender.t_fill_ns, &sender.t_request_ns, &sender.t_send_ns, &sender.t_done_ns})
      *t += shift;
    for (auto& t : r.frames[i].t)
      t += static_cast<std::uint64_t>(shift);
  }
  const std::string html = format_report_html(r);
  const auto shared =
      mark_xs(html, "scroll tl-shared", "scroll tl-aligned", "sender: SEND_REQUEST set");
  const auto aligned = mark_xs(html, "scroll tl-aligned", "</svg>", "sender: SEND_REQUEST set");
  ASSERT_EQ(shared.size(), 12u);
  ASSERT_EQ(aligned.size(), 12u);
  EXPECT_NE(shared.front(), shared.back());
  for (const auto& x : aligned)
    EXPECT_EQ(x, aligned.front());
  // A phase 10 us after SEND_REQUEST is well apart from the lane's start when aligned (the axis
  // spans the 100 us to the sender's AVAILABLE), and on top of it on the shared axis (11 s).
  const auto avail_aligned = mark_xs(html, "scroll tl-aligned", "</svg>", "AVAILABLE");
  ASSERT_EQ(avail_aligned.size(), 12u);
  EXPECT_GT(std::stod(avail_aligned.front()) - std::stod(aligned.front()), 50.0)
      << avail_aligned.front() << " " << aligned.front();
  const auto avail_shared = mark_xs(html, "scroll tl-shared", "scroll tl-aligned", "AVAILABLE");
  ASSERT_EQ(avail_shared.size(), 12u);
  EXPECT_LT(std::stod(avail_shared.back()) - std::stod(shared.back()), 1.0);
  EXPECT_NE(html.find("id=\"axis-aligned\""), std::string::npos) << "the switch";
}

// Issue 30: the page people share said only "(anchor snd.wait)"; the text and JSON gave the
// records a finding rests on. The page lists them too, escaped.
TEST(ReportHtml, AnomaliesShowTheirEvidence) {
  const Report r = run_fixture("6.1.192-O0-zoo-pending-leak-run");
  ASSERT_FALSE(r.anomalies.empty());
  ASSERT_FALSE(r.anomalies.front().evidence.empty());
  const std::string html = format_report_html(r);
  const auto& e = r.anomalies.front().evidence.front();
  EXPECT_NE(html.find("<ul class=\"evidence\"><li>trace line " + std::to_string(e.trace_line) +
                      " <code>" + e.anchor + "</code>"),
            std::string::npos)
      << html.substr(html.find("id=\"anomalies\""), 2000);
  Report hostile = synthetic(2);
  hostile.anomalies.push_back({.kind = "x", .message = "m", .seqs = {1}});
  hostile.anomalies.back().evidence.push_back({"<script>", 7, 0, 1, 1, "<b>"});
  const std::string page = format_report_html(hostile);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
}

TEST(ReportHtml, ShowsTheBaselineComparison) {
  Report r = synthetic(2);
  EXPECT_EQ(format_report_html(r).find("Baseline comparison"), std::string::npos);
  r.comparison = Comparison{.baseline_file = "old.json",
                            .regressions = {{"latency p99", "10 us", "90 us", "grew 9x"}}};
  const std::string html = format_report_html(r);
  EXPECT_NE(html.find("Baseline comparison"), std::string::npos);
  EXPECT_NE(html.find("<td>latency p99</td><td>10 us</td><td>90 us</td>"), std::string::npos);
}

TEST(ReportHtml, TenThousandFramesAreCappedAndTheRestGrouped) {
  const Report r = synthetic(10000);
  const std::string html = format_report_html(r);
  EXPECT_EQ(count(html, "data-seq=\""), HtmlOptions{}.max_lanes);
  EXPECT_NE(html.find("Showing lanes for the first 256 of 10000 frames"), std::string::npos);
  const auto agg = html.find("<table class=\"agg\">");
  ASSERT_NE(agg, std::string::npos);
  const std::string groups = html.substr(agg, html.find("</table>", agg) - agg);
  EXPECT_EQ(count(groups, "<tr><td>"), 100u) << "groups of the 9744 frames past the limit";
  EXPECT_NE(groups.find("<td>256-353</td>"), std::string::npos) << "98 rows per group";
  const std::string small = format_report_html(synthetic(2));
  std::cout << "HTML size: 2 frames " << small.size() << " bytes, 10000 frames " << html.size()
            << " bytes\n";
  EXPECT_EQ(small.find("Showing lanes"), std::string::npos);
}

TEST(ReportHtml, PhaseOffsetsChartCountsEveryFrameOfEachPhase) {
  const Report r = run_fixture("6.1.192-O0-v2-20frames-ring8-run");
  const std::string html = format_report_html(r);
  const auto at = html.find("<svg class=\"offsets\"");
  ASSERT_NE(at, std::string::npos);
  const std::string chart = html.substr(at, html.find("</svg>", at) - at);
  for (const auto* row : {"SEND_REQUEST seen (20)", "SENDING (20)", "AVAILABLE (20)"})
    EXPECT_NE(chart.find(row), std::string::npos) << row;
  // The bins of one phase hold every frame once.
  std::uint64_t frames = 0;
  const std::string colour = "fill=\"#ff7f0e\"";
  for (auto p = chart.find(colour); p != std::string::npos; p = chart.find(colour, p + 1)) {
    const auto title = chart.find("<title>", p) + 7;
    frames += std::stoull(chart.substr(title, chart.find(' ', title) - title));
  }
  EXPECT_EQ(frames, 20u);
  // Without the sender's times there is nothing to measure from.
  Report kernel_only = synthetic(3);
  for (auto& f : kernel_only.frames)
    f.has_sender = false;
  EXPECT_EQ(format_report_html(kernel_only).find("class=\"offsets\""), std::string::npos);
}

TEST(ReportHtml, NoFramesSaysSo) {
  EXPECT_NE(format_report_html(Report{}).find("No frames"), std::string::npos);
}

// Headless Chromium: the page parses (the DOM it built has one lane per frame) and renders
// something that is not blank.
class ChromiumRender : public ::testing::Test {
protected:
  void SetUp() override {
    for (const auto* dir : {"/usr/bin/chromium", "/usr/local/bin/chromium"})
      if (::access(dir, X_OK) == 0)
        chromium_ = dir;
    if (chromium_.empty())
      GTEST_SKIP() << "chromium is not installed (scripts/install-deps --tests installs it)";
    dir_ = fs::temp_directory_path() / ("harness-html-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty())
      fs::remove_all(dir_, ec);
  }
  Result<Captured> chromium(std::vector<std::string> args, const std::string& html) {
    ChildSpec spec{.exe = chromium_,
                   .args = {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            "--user-data-dir=" + dir_ + "/profile"},
                   .env = {{"HOME", dir_}}};
    spec.args.insert(spec.args.end(), args.begin(), args.end());
    spec.args.push_back("file://" + html);
    return run_captured(spec, std::chrono::seconds(120));
  }
  std::string chromium_, dir_;
};

TEST_F(ChromiumRender, RealFixtureParsesWithOneLanePerFrameAndIsNotBlank) {
  const Report r = run_fixture("6.1.192-O0-v2-20frames-ring8-run");
  const std::string html = dir_ + "/report.html";
  ASSERT_TRUE(write_report_html(r, html));

  auto dom = chromium({"--dump-dom"}, html);
  ASSERT_TRUE(dom && dom->status.success()) << (dom ? dom->err : "");
  EXPECT_EQ(count(dom->out, "data-seq=\""), r.frames_total);
  EXPECT_EQ(count(dom->out, "<g class=\"lane"), r.frames_total);

  // A laptop's and a phone-sized window: the page renders at both (the timeline scrolls inside
  // its box rather than widening the page).
  for (unsigned width : {1200u, 480u}) {
    SCOPED_TRACE(width);
    const std::string png = dir_ + "/shot-" + std::to_string(width) + ".png";
    auto shot =
        chromium({"--screenshot=" + png, "--window-size=" + std::to_string(width) + ",1400"}, html);
    ASSERT_TRUE(shot && shot->status.success()) << (shot ? shot->err : "");
    auto data = read_file(png);
    ASSERT_TRUE(data);
    auto st = png_stats(*data);
    ASSERT_TRUE(st) << "not an 8-bit RGB(A) PNG";
    EXPECT_EQ(st->width, width);
    // Text, lanes and the phase colours: far more than a blank or one-colour page.
    EXPECT_GT(st->colours, 50u);
    EXPECT_GT(st->non_background, 0.02);
  }
}

} // namespace
} // namespace harness::report
