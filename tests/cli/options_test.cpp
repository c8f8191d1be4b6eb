// The user-visible options no other test ran (issue 29, "Untested user-visible options and
// commands"), through the real binary on the real fixtures. Each test looks at what the option
// does (rows printed, a file's content, the argv a program was given), not only at the exit
// status. The options that need a VM (`vm run --iface`, `run --pid`, `run --exec --duration`,
// `demo`) are tested in tests/e2e.
#include "base/files.hpp"
#include "cli_test_util.hpp"
#include "text_lines.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace harness {
namespace {

using namespace cli_testing;
using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kTraces = std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/";
const std::string kRun20 = kTraces + "6.1.192-O0-v2-20frames-ring8-run";
const std::string kRun2 = kTraces + "6.1.192-O0-v2-2frames-ring8-run";
const std::string kMap61 = std::string(HARNESS_SOURCE_DIR) + "/probes/maps/6.1.192-debian.json";

using harness::testing::lines_of;

// The rows of a text report's frame table: the lines after its column header, up to the
// "... N more frames" or "times:" line.
std::vector<std::string> frame_rows(const std::string& report) {
  std::vector<std::string> rows;
  bool in_table = false;
  for (const auto& l : lines_of(report)) {
    if (!in_table) {
      in_table = has(l, "SEND_REQ seen") && has(l, "outcome");
      continue;
    }
    if (l.starts_with("  ...") || l.starts_with("  times:") || l.empty())
      break;
    rows.push_back(l);
  }
  return rows;
}

// The line of the check `name` in doctor's output (its first block: the tracer `run` picks).
std::string check_line(const std::string& out, const std::string& name) {
  for (const auto& l : lines_of(out))
    if (l.size() > 8 && l.substr(8).starts_with(name + " "))
      return l;
  return {};
}

json read_json(const std::string& path) {
  auto text = read_file(path);
  EXPECT_TRUE(text) << path;
  return text ? json::parse(*text) : json::object();
}

std::vector<std::string> report_args(const std::string& run, std::vector<std::string> more) {
  std::vector<std::string> args = {
      "report", "--trace",         run + ".trace", "--sender", run + ".sender.json",
      "--plan", run + ".plan.json"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(ReportOptions, MaxRowsLimitsTheFrameTableAndNothingElse) {
  TempDir d;
  auto all = harness(report_args(kRun20, {}));
  ASSERT_EQ(all.status.code, 0) << all.err;
  const auto every = frame_rows(all.out);
  ASSERT_EQ(every.size(), 20u) << all.out; // 20 frames, fewer than the default 64
  EXPECT_FALSE(has(all.out, "more frames")) << all.out;

  auto five = harness(report_args(kRun20, {"--max-rows", "5", "--json", d.file("r.json")}));
  EXPECT_EQ(five.status.code, 0) << five.err;
  const auto rows = frame_rows(five.out);
  EXPECT_EQ(rows, std::vector<std::string>(every.begin(), every.begin() + 5)) << five.out;
  EXPECT_TRUE(has(five.out, "  ... 15 more frames (all of them: report.json)\n")) << five.out;
  // Only the table is cut: the summary and the verdict are the full report's.
  EXPECT_EQ(five.out.substr(five.out.find("\nsummary\n")),
            all.out.substr(all.out.find("\nsummary\n")));
  EXPECT_EQ(read_json(d.file("r.json"))["frames"].size(), 20u) << "the JSON keeps every frame";

  auto zero = harness(report_args(kRun20, {"--max-rows", "0"}));
  EXPECT_EQ(frame_rows(zero.out), every) << "0 is all of them";
  auto one = harness(report_args(kRun20, {"--max-rows", "1"}));
  EXPECT_EQ(frame_rows(one.out).size(), 1u) << one.out;
  EXPECT_TRUE(has(one.out, "... 19 more frames")) << one.out;

  auto bad = harness(report_args(kRun20, {"--max-rows", "-1"}));
  EXPECT_EQ(bad.status.code, 2) << bad.err;
  EXPECT_TRUE(has(bad.err, "harness: --max-rows -1: must be 0 or more")) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

TEST(ReportOptions, QuietPrintsOnlyTheVerdictLine) {
  TempDir d;
  const std::string zoo = kTraces + "6.1.192-O0-zoo-pending-leak-run";
  for (const auto& [run, code] : {std::pair{kRun20, 0}, std::pair{zoo, 1}}) {
    auto full = harness(report_args(run, {}));
    ASSERT_EQ(full.status.code, code) << full.out;
    const std::string verdict = full.out.substr(full.out.rfind("\nverdict: ") + 1);
    ASSERT_EQ(lines_of(verdict).size(), 1u) << verdict;
    for (const char* q : {"-q", "--quiet"}) {
      fs::remove(d.file("q.json"));
      auto quiet = harness(report_args(run, {q, "--json", d.file("q.json")}));
      EXPECT_EQ(quiet.status.code, code) << q << ": the exit status is the report's";
      EXPECT_EQ(quiet.out, verdict) << q;
      // Quiet is about standard output only: the JSON file is the whole report.
      EXPECT_EQ(read_json(d.file("q.json"))["frames"].size(), run == kRun20 ? 20u : 4u);
    }
  }
  EXPECT_EQ(lines_of(harness(report_args(zoo, {"-q"})).out),
            std::vector<std::string>{"verdict: FAIL, 1 anomaly"});
}

// --tpacket decides which version-specific probes a trace without sender records must have
// fired, when the trace itself cannot tell: a TPACKET_V3 capture whose `version` fields are
// unreadable (`?`, as an optimised-out variable prints).
TEST(ReportOptions, TpacketSaysWhichVersionsProbesAreExpected) {
  TempDir d;
  const std::string run = kTraces + "6.1.192-O0-v3-2frames-ring8-run";
  std::string text = *read_file(run + ".trace");
  std::size_t n = 0;
  for (auto at = text.find(" version="); at != std::string::npos;
       at = text.find(" version=", at + 1), ++n)
    text.replace(at + 9, text.find_first_of(" \n", at + 9) - at - 9, "?");
  ASSERT_GT(n, 0u);
  ASSERT_TRUE(write_file_atomic(d.file("trace.txt"), text));
  auto report = [&](std::vector<std::string> more) {
    std::vector<std::string> args = {"report",           "--trace", d.file("trace.txt"), "--plan",
                                     run + ".plan.json", "--json",  d.file("r.json")};
    args.insert(args.end(), more.begin(), more.end());
    return harness(args);
  };
  auto row = [](const std::string& out, const std::string& anchor) {
    for (const auto& l : lines_of(out))
      if (l.starts_with("  " + anchor + " "))
        return l;
    return std::string();
  };

  auto unknown = report({});
  EXPECT_EQ(unknown.status.code, 0) << unknown.out;
  EXPECT_EQ(read_json(d.file("r.json"))["run"]["tpacket"], 0);
  EXPECT_FALSE(has(row(unknown.out, "set_status.v1_break"), "only for")) << unknown.out;

  auto v3 = report({"--tpacket", "v3"});
  EXPECT_EQ(v3.status.code, 0) << v3.out;
  EXPECT_EQ(read_json(d.file("r.json"))["run"]["tpacket"], 3);
  EXPECT_TRUE(has(row(v3.out, "set_status.v1_break"), "only for TPACKET_V1 rings")) << v3.out;
  EXPECT_TRUE(has(row(v3.out, "get_status.v2_return"), "only for TPACKET_V2 rings")) << v3.out;
  EXPECT_FALSE(has(row(v3.out, "set_status.v3_break"), "only for")) << v3.out;
  EXPECT_TRUE(has(v3.out, "verdict: OK")) << v3.out;

  // Told V1, the V1 probes that never fired are findings.
  auto v1 = report({"--tpacket", "v1"});
  EXPECT_EQ(v1.status.code, 1) << v1.out;
  EXPECT_EQ(read_json(d.file("r.json"))["run"]["tpacket"], 1);
  EXPECT_TRUE(has(row(v1.out, "set_status.v3_break"), "only for TPACKET_V3 rings")) << v1.out;
  EXPECT_TRUE(has(v1.out, "probe never fired: possible line drift at anchor set_status.v1_break"))
      << v1.out;

  auto bad = report({"--tpacket", "v4"});
  EXPECT_EQ(bad.status.code, 2) << bad.err;
  EXPECT_TRUE(has(bad.err, "harness: --tpacket v4: must be v1, v2 or v3")) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << bad.out;
}

// What the run recorded beats the option: the same trace with its `version` fields readable (a
// V3 ring) is OK under a wrong --tpacket v1, which the report notes it did not use; so are the
// sender's records. The wrong option once turned this clean trace into a FAIL.
TEST(ReportOptions, TpacketNeverOverridesWhatTheRunRecorded) {
  TempDir d;
  const std::string run = kTraces + "6.1.192-O0-v3-2frames-ring8-run";
  for (const bool with_sender : {false, true}) {
    std::vector<std::string> args = {"report",         "--trace",          run + ".trace",
                                     "--plan",         run + ".plan.json", "--json",
                                     d.file("r.json"), "--tpacket",        "v1"};
    if (with_sender)
      args.insert(args.end(), {"--sender", run + ".sender.json"});
    auto r = harness(args);
    EXPECT_EQ(r.status.code, 0) << r.out;
    EXPECT_TRUE(has(r.out, "verdict: OK")) << r.out;
    EXPECT_EQ(read_json(d.file("r.json"))["run"]["tpacket"], 3);
    EXPECT_TRUE(has(r.out, std::string("--tpacket v1 is not used: the ") +
                               (with_sender ? "sender's records" : "trace's own records") +
                               " say TPACKET_V3"))
        << r.out;
  }
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

TEST(ReportOptions, HtmlWritesTheWholeReportAsOnePage) {
  TempDir d;
  const std::string page = d.file("report.html");
  // --max-rows and -q are about the text on standard output: the page still has every frame.
  auto r = harness(report_args(kRun20, {"--html", page, "--max-rows", "3", "-q"}));
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, "verdict: OK, every frame accounted for\n");
  const auto html = read_file(page);
  ASSERT_TRUE(html);
  EXPECT_TRUE(html->starts_with("<!DOCTYPE html>")) << html->substr(0, 100);
  EXPECT_TRUE(has(*html, "<title>harness report: kernel 6.1.192</title>"));
  EXPECT_EQ(count(*html, "<g class=\"lane\" id=\"frame-"), 20u);
  EXPECT_TRUE(has(*html, "<g class=\"lane\" id=\"frame-19\""));
  EXPECT_TRUE(has(*html, "<span class=\"verdict ok\">OK: every frame accounted for</span>"));
  EXPECT_EQ(count(*html, "<script"), 0u) << "self-contained, no scripts";

  // A run with a finding: the page says so and links the frames it rests on.
  const std::string zoo = kTraces + "6.1.192-O0-zoo-pending-leak-run";
  r = harness(report_args(zoo, {"--html", page}));
  ASSERT_EQ(r.status.code, 1) << r.err;
  const auto bad = read_file(page);
  ASSERT_TRUE(bad);
  EXPECT_TRUE(has(*bad, "<span class=\"verdict bad\">1 anomaly</span>"));
  EXPECT_TRUE(has(*bad, "pending_leak"));
  EXPECT_EQ(count(*bad, "<g class=\"lane\" id=\"frame-"), 4u);
  EXPECT_TRUE(has(*bad, "href=\"#frame-0\""));
}

TEST(MapOptions, PackageIsRecordedInTheMapAndReadBack) {
  if (!fs::exists(af_packet("6.1")))
    GTEST_SKIP() << "needs the extracted linux-source-6.1 (scripts/install-deps --tests)";
  TempDir d;
  const std::string out = d.file("map.json");
  const std::string package = "linux-source-6.1 6.1.192-2 rebuilt here";
  auto r = harness({"map", "--source", af_packet("6.1"), "--package", package, "-o", out});
  ASSERT_EQ(r.status.code, 0) << r.err;
  const json m = read_json(out);
  EXPECT_EQ(m["package"], package);
  EXPECT_EQ(m["anchors"], read_json(kMap61)["anchors"]) << "only the label differs";
  EXPECT_TRUE(has(r.err, "map of 6.1.192 (" + package + ", sha1 c5ceefa17faa) written to " + out))
      << r.err;
  // Without it, the map names no package.
  auto plain = harness({"map", "--source", af_packet("6.1")});
  ASSERT_EQ(plain.status.code, 0) << plain.err;
  EXPECT_FALSE(json::parse(plain.out).contains("package")) << plain.out;
  // The written map loads back with its label (drift names it).
  auto drift = harness({"drift", "--source", af_packet("6.1"), "--map", out});
  EXPECT_EQ(drift.status.code, 0) << drift.err;
  EXPECT_TRUE(has(drift.out, "map:    6.1.192 (" + package + ", sha1 c5ceefa17faa)")) << drift.out;
  // A label the map file could not hold is refused, and nothing is written.
  for (const std::string& bad : {std::string("a\tb"), std::string(201, 'p')}) {
    auto refused =
        harness({"map", "--source", af_packet("6.1"), "--package", bad, "-o", d.file("bad.json")});
    EXPECT_EQ(refused.status.code, 2) << refused.err;
    EXPECT_TRUE(has(refused.err, "harness: --package: at most 200 printable characters"))
        << refused.err;
    EXPECT_FALSE(fs::exists(d.file("bad.json")));
  }
}

TEST(GenerateOptions, AllowNearestWritesTheNearestMapsProbesAndSaysSo) {
  TempDir d;
  auto refused = harness({"generate", "--kernel", "6.1.999", "-o", d.file("refused.stp")});
  EXPECT_EQ(refused.status.code, 8) << refused.err;
  EXPECT_FALSE(fs::exists(d.file("refused.stp")));
  EXPECT_FALSE(fs::exists(d.file("refused.stp.plan.json")));

  auto nearest =
      harness({"generate", "--kernel", "6.1.999", "--allow-nearest", "-o", d.file("near.stp")});
  ASSERT_EQ(nearest.status.code, 0) << nearest.err;
  EXPECT_TRUE(has(nearest.err, "harness: note: lines not proven: no line map for kernel 6.1.999; "
                               "using the nearest, 6.1.192"))
      << nearest.err;
  // Exactly the probes and plan of the nearest shipped map.
  auto exact = harness({"generate", "--kernel", "6.1.192", "-o", d.file("exact.stp")});
  ASSERT_EQ(exact.status.code, 0) << exact.err;
  EXPECT_FALSE(has(exact.err, "not proven")) << exact.err;
  EXPECT_EQ(*read_file(d.file("near.stp")), *read_file(d.file("exact.stp")));
  EXPECT_EQ(read_json(d.file("near.stp.plan.json")), read_json(d.file("exact.stp.plan.json")));
  EXPECT_EQ(read_json(d.file("near.stp.plan.json"))["source_sha1"],
            read_json(kMap61)["source"]["sha1"]);
}

TEST(VerifyOptions, JsonHasOneRowPerAnchorOfTheMap) {
  if (!find_program("stap"))
    GTEST_SKIP() << "stap is not installed (scripts/install-deps --tests installs it)";
  const std::string tree = test_kernel_build();
  ASSERT_FALSE(tree.empty());
  auto r = harness({"verify", "--kernel-build", tree, "--json"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  ASSERT_TRUE(json::accept(r.out)) << r.out;
  const json v = json::parse(r.out);
  EXPECT_EQ(v["schema"], "harness.verify/1");
  EXPECT_EQ(v["kernel_build"], tree);
  EXPECT_EQ(v["release"], "6.1.192");
  EXPECT_EQ(v["af_packet_O0"], true);
  EXPECT_EQ(v["probes"], "all");
  EXPECT_EQ(v["unusable"], 0);
  const json map = read_json(kMap61);
  ASSERT_EQ(v["anchors"].size(), map["anchors"].size());
  for (std::size_t i = 0; i < map["anchors"].size(); ++i) {
    EXPECT_EQ(v["anchors"][i]["anchor"], map["anchors"][i]["name"]) << i;
    EXPECT_EQ(v["anchors"][i]["line"], map["anchors"][i]["line"]) << i;
    EXPECT_EQ(v["anchors"][i]["usable"], true) << v["anchors"][i].dump();
  }
  // The text table says the same per anchor (its state column).
  auto text = harness({"verify", "--kernel-build", tree});
  ASSERT_EQ(text.status.code, 0) << text.err;
  EXPECT_FALSE(json::accept(text.out));
  for (const auto& a : v["anchors"]) {
    bool found = false;
    for (const auto& l : lines_of(text.out))
      found = found || (l.starts_with(a["anchor"].get<std::string>() + " ") &&
                        has(l, " " + a["state"].get<std::string>() + " "));
    EXPECT_TRUE(found) << a.dump() << "\n" << text.out;
  }

  // A map whose snd.len_sum is one line off: that row is unusable, with the nearest line, and
  // the status is 1.
  TempDir d;
  json off = map;
  for (auto& a : off["anchors"])
    if (a["name"] == "snd.len_sum")
      a["line"] = a["line"].get<int>() + 1;
  ASSERT_TRUE(write_file_atomic(d.file("off.json"), off.dump(2) + "\n"));
  auto bad = harness({"verify", "--kernel-build", tree, "--map", d.file("off.json"), "--json"});
  EXPECT_EQ(bad.status.code, 1) << bad.err;
  const json b = json::parse(bad.out);
  EXPECT_EQ(b["unusable"], 1);
  for (const auto& a : b["anchors"]) {
    EXPECT_EQ(a["usable"], a["anchor"] != "snd.len_sum") << a.dump();
    if (a["anchor"] == "snd.len_sum") {
      EXPECT_EQ(a["state"], "NOT PROBEABLE");
      EXPECT_EQ(a["nearest_line"], 2989);
    }
  }
}

TEST(SendOptions, SocketsShareTheFramesBetweenTheirRings) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "sending on a veth pair needs root";
  TempDir d;
  auto r = harness(
      {"send", "--veth", "-c", "30", "--sockets", "3", "--json", "--records", d.file("s.json")});
  ASSERT_EQ(r.status.code, 0) << r.err << r.out;
  const json s = json::parse(r.out);
  EXPECT_EQ(read_json(d.file("s.json")), s) << "--records holds what --json printed";
  EXPECT_EQ(s["sockets"], 3);
  ASSERT_EQ(s["frames"].size(), 30u);
  std::map<int, std::vector<std::uint64_t>> by_ring;
  for (const auto& f : s["frames"])
    by_ring[f.value("ring", 0)].push_back(f["seq"].get<std::uint64_t>());
  ASSERT_EQ(by_ring.size(), 3u) << s["frames"].dump();
  for (const auto& [ring, seqs] : by_ring) {
    EXPECT_EQ(seqs.size(), 10u) << "ring " << ring;
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << "ring " << ring;
  }
  // Every ring's slots are audited, and the receiver got every frame intact, in order.
  EXPECT_EQ(s["slots"].size(), 3 * s["ring"]["frames"].get<std::size_t>());
  EXPECT_EQ(s["receiver"]["ok"], true) << s["receiver"].dump();
  EXPECT_EQ(s["receiver"]["received"], 30);

  auto text = harness({"send", "--veth", "-c", "30", "--sockets", "3"});
  ASSERT_EQ(text.status.code, 0) << text.err;
  EXPECT_TRUE(has(text.out, ", 3 sockets, ")) << text.out;
  EXPECT_TRUE(has(text.out, " x 3 rings\n")) << text.out;
  auto one = harness({"send", "--veth", "-c", "30", "--json"});
  ASSERT_EQ(one.status.code, 0) << one.err;
  EXPECT_EQ(json::parse(one.out)["sockets"], 1);

  auto bad = harness({"send", "--veth", "-c", "30", "--sockets", "0"});
  EXPECT_EQ(bad.status.code, 2) << bad.err;
  EXPECT_TRUE(has(bad.err, "harness: --sockets 0")) << bad.err;
  EXPECT_TRUE(bad.out.empty()) << "nothing is sent: " << bad.out;
}

TEST(DoctorOptions, TheInterfaceGivenIsTheOneChecked) {
  auto lo = harness({"doctor", "lo"});
  EXPECT_TRUE(has(check_line(lo.out, "interface"), " lo up")) << lo.out;
  auto missing = harness({"doctor", "hx-no-such-if"});
  EXPECT_TRUE(has(check_line(missing.out, "interface"), "FAIL  interface       no such interface"))
      << missing.out;
  EXPECT_TRUE(has(missing.out, "hint: list them with `ip link`, or use --veth")) << missing.out;
  auto none = harness({"doctor"});
  EXPECT_TRUE(has(check_line(none.out, "interface"), "throwaway veth pair")) << none.out;
}

TEST(DoctorOptions, BuildDirIsTheKernelChecked) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "doctor's first check is root; the kernel check's verdict needs it passed";
  TempDir d;
  // Not a build tree: the kernel check fails, and that is the verdict (the check after root).
  auto r = harness({"doctor", "-r", d.path()});
  EXPECT_EQ(r.status.code, 6) << r.out;
  EXPECT_TRUE(
      has(check_line(r.out, "kernel"),
          "FAIL  kernel          not a kernel build tree (no include/config/kernel.release)"))
      << r.out;
  EXPECT_TRUE(has(r.out, "verdict: `harness run` would stop at \"kernel\" (exit status 6)"))
      << r.out;
  const std::string tree = test_kernel_build();
  ASSERT_FALSE(tree.empty());
  r = harness({"doctor", "--build-dir", tree});
  EXPECT_TRUE(has(check_line(r.out, "kernel"), "ok    kernel          6.1.192 (build tree " + tree))
      << r.out;
  EXPECT_TRUE(has(check_line(r.out, "line map"), "6.1.192 (exact: the build tree's own file"))
      << r.out;
  EXPECT_FALSE(has(r.out, "(running)")) << r.out;
}

TEST(DoctorOptions, ModuleDecidesTheTracerAndNeedsItsPlan) {
  TempDir d;
  ASSERT_TRUE(write_file_atomic(d.file("tx.ko"), "a module doctor never loads"));
  copy_to(kRun2 + ".plan.json", d.file("tx.plan.json"));
  auto r = harness({"doctor", "--module", d.file("tx.ko")});
  EXPECT_TRUE(has(check_line(r.out, "tracer"), "stap (prebuilt " + d.file("tx.ko") + ")")) << r.out;
  EXPECT_TRUE(has(check_line(r.out, "module"), d.file("tx.ko"))) << r.out;
  const std::string plan_id = read_json(kRun2 + ".plan.json")["plan_id"];
  EXPECT_TRUE(has(check_line(r.out, "plan"), "plan " + plan_id)) << r.out;
  EXPECT_FALSE(has(r.out, "another tracer")) << "the module decides the tracer: " << r.out;
  EXPECT_FALSE(has(r.out, "line map")) << "the plan gives the lines: " << r.out;
  // Without NAME.plan.json next to it, the plan check fails.
  fs::remove(d.file("tx.plan.json"));
  r = harness({"doctor", "--module", d.file("tx.ko")});
  EXPECT_TRUE(has(check_line(r.out, "plan"), "FAIL  plan")) << r.out;
  EXPECT_TRUE(has(r.out, "hint: give the module's NAME.plan.json with --plan")) << r.out;
}

// `kernel build` on a stand-in build directory whose Makefile writes the flags make got: -j N
// reaches make; a count out of range is refused before make runs, with a hint.
TEST(KernelOptions, BuildJobsReachMakeAndAreChecked) {
  if (!find_program("make"))
    GTEST_SKIP() << "make is not installed (scripts/install-deps installs it)";
  TempDir d;
  const std::string dir = d.file("build");
  ASSERT_TRUE(make_dirs(dir));
  ASSERT_TRUE(write_file_atomic(dir + "/.config", "# stand-in\n"));
  ASSERT_TRUE(write_file_atomic(dir + "/Makefile",
                                "bzImage modules:\n\t@echo '$(MAKEFLAGS)' > $@.flags\n"));
  auto r = harness({"kernel", "build", "--build", dir, "-j", "3"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, dir + "\n");
  EXPECT_TRUE(has(r.err, "harness: make -C " + dir + " -j3 bzImage modules")) << r.err;
  for (const char* target : {"bzImage", "modules"}) {
    const auto flags = read_file(dir + "/" + target + ".flags");
    ASSERT_TRUE(flags) << target;
    EXPECT_TRUE(has(" " + *flags, " -j3 ")) << target << ": " << *flags;
  }
  r = harness({"kernel", "build", "--build", dir, "--jobs", "5"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_TRUE(has(" " + *read_file(dir + "/bzImage.flags"), " -j5 ")) << r.err;

  for (const char* jobs : {"-1", "513"}) {
    fs::remove(dir + "/bzImage.flags");
    fs::remove(dir + "/harness-build.log");
    r = harness({"kernel", "build", "--build", dir, "-j", jobs});
    EXPECT_EQ(r.status.code, 2) << r.err;
    EXPECT_TRUE(has(r.err, "harness: --jobs " + std::string(jobs) + ": must be 0 to 512")) << r.err;
    EXPECT_TRUE(has(r.err, "\nhint: ")) << r.err;
    EXPECT_FALSE(fs::exists(dir + "/harness-build.log")) << "make ran for -j " << jobs;
    EXPECT_FALSE(fs::exists(dir + "/bzImage.flags")) << "make ran for -j " << jobs;
  }
  r = harness({"kernel", "build", "--build", dir, "-j", "many"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/harness-build.log"));
  // kernel ensure takes -j too, checked the same way before anything else. (The bad series as
  // well: were -j not checked first, that would be refused, not a kernel build started.)
  r = harness({"kernel", "ensure", "--cache", d.file("cache"), "--from-debian", "0.0", "-j", "-1"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "harness: --jobs -1: must be 0 to 512")) << r.err;
  EXPECT_FALSE(fs::exists(d.file("cache")));
}

// -m NAME names the files `build` writes. The kprobe tracer's definitions (perf probe -D on the
// test kernel's vmlinux) are cheap and cached without the name; that stap gets `-m NAME` is
// ModuleBuild.StapArguments (tests/stap).
// `kernel ensure --debian-kernel RELEASE` (a stock kernel fetched into the cache; scripts/test-all
// fetches the VM tests' kernels with it): a bad release, or options that choose a test kernel to
// build, are refused before the cache is made or anything downloaded.
TEST(KernelOptions, EnsureDebianKernelIsCheckedBeforeAnythingIsFetched) {
  harness::testing::TempDir tmp;
  const std::string cache = tmp.file("cache");
  for (const auto& [extra, said] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--debian-kernel", "6.1"}, "--debian-kernel 6.1: is not a Debian kernel release"},
           {{"--debian-kernel", "6.1.0-57-amd64", "--optimised"},
            "--optimised with --debian-kernel: they choose a test kernel to build"},
           {{"--debian-kernel", "6.1.0-57-amd64", "--from-debian", "6.12"},
            "--from-debian with --debian-kernel"},
           {{"--debian-kernel", "6.1.0-57-amd64", "-j", "2"}, "--jobs with --debian-kernel"}}) {
    std::vector<std::string> argv = {"kernel", "ensure", "--cache", cache};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = harness(argv);
    EXPECT_EQ(r.status.code, 2) << r.err;
    EXPECT_TRUE(has(r.err, said)) << r.err;
    EXPECT_FALSE(fs::exists(cache));
  }
}

// `vm run|exec --debian-kernel RELEASE`: one kernel, named in the packages' spelling; a bad one
// is refused before anything is made or downloaded (booting one: tests/e2e/stock_e2e_test.cpp).
TEST(VmOptions, DebianKernelIsCheckedBeforeAnythingIsMade) {
  harness::testing::TempDir tmp;
  const std::string out = tmp.file("vm"), cache = tmp.file("cache");
  for (const char* cmd : {"run", "exec"}) {
    SCOPED_TRACE(cmd);
    const auto bad = harness({"vm", cmd, "--debian-kernel", "6.1.0-57-amd64;id", "--out", out,
                              "--cache", cache, "--", "true"});
    EXPECT_EQ(bad.status.code, 2) << bad.err;
    EXPECT_TRUE(has(bad.err, "--debian-kernel 6.1.0-57-amd64;id: is not a Debian kernel release"))
        << bad.err;
    EXPECT_TRUE(has(bad.err, "hint: list them with `apt-cache search")) << bad.err;
    const auto both = harness({"vm", cmd, "--debian-kernel", "6.1.0-57-amd64", "--kernel-build",
                               tmp.path(), "--out", out, "--cache", cache, "--", "true"});
    EXPECT_EQ(both.status.code, 2) << both.err;
    EXPECT_TRUE(has(both.err, "--kernel-build: and --debian-kernel both given")) << both.err;
    const auto none = harness({"vm", cmd, "--out", out, "--cache", cache, "--", "true"});
    EXPECT_EQ(none.status.code, 2) << none.err;
    EXPECT_TRUE(has(none.err, "the kernel: is not given")) << none.err;
    EXPECT_TRUE(has(none.err, "--debian-kernel RELEASE")) << none.err;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(cache));
  }
}

TEST(DemoOptions, DebianKernelExcludesTheTestKernelsOptions) {
  harness::testing::TempDir tmp;
  const std::string cache = tmp.file("cache");
  for (const auto& [extra, said] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--debian-kernel", "6.1.0-57-amd64", "--optimised"},
            "--optimised with --debian-kernel: --debian-kernel names the kernel to boot already"},
           {{"--debian-kernel", "6.1.0-57-amd64", "--kernel", "6.12"},
            "--kernel with --debian-kernel"},
           {{"--debian-kernel", "6.1.0-57-amd64", "--test-kernel"},
            "--test-kernel with --debian-kernel"},
           {{"--kernel", "6.6"}, "--kernel 6.6: not a kernel series harness knows"},
           {{"--debian-kernel", "5.10.0-30-amd64"},
            "--debian-kernel 5.10.0-30-amd64: its source, linux-source-5.10, is not in Debian 12"},
           {{"--debian-kernel", "6.1"}, "--debian-kernel 6.1: is not a Debian kernel release"}}) {
    std::vector<std::string> argv = {"demo", "--no-install", "--cache", cache};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto r = harness(argv);
    EXPECT_EQ(r.status.code, 2) << r.err;
    EXPECT_TRUE(has(r.err, said)) << r.err;
    EXPECT_FALSE(fs::exists(cache));
  }
}

TEST(BuildOptions, NameNamesTheFilesWritten) {
  TempDir d;
  for (const std::vector<std::string>& bad : {std::vector<std::string>{"-m", "bad-name"},
                                              {"--name", "1abc"},
                                              {"-m", std::string(56, 'a')}}) {
    std::vector<std::string> args = {"build", "--kernel-build", d.path(), "-o", d.file("out")};
    args.insert(args.end(), bad.begin(), bad.end());
    auto r = harness(args);
    EXPECT_EQ(r.status.code, 2) << bad[1] << ": " << r.err;
    EXPECT_TRUE(has(r.err, "harness: --name " + bad[1].substr(0, 64) + ": not a valid name"))
        << r.err;
    EXPECT_TRUE(has(r.err, "hint: use letters, digits and _")) << r.err;
    EXPECT_FALSE(fs::exists(d.file("out")));
  }
  if (!find_program("perf"))
    GTEST_SKIP() << "perf is not installed (scripts/install-deps --tests installs it)";
  const std::string tree = test_kernel_build();
  ASSERT_FALSE(tree.empty());
  auto r = harness({"build", "--kernel-build", tree, "--backend", "kprobe", "-m", "hx_opts_name",
                    "-o", d.file("out")});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_EQ(r.out, d.file("out/hx_opts_name.kprobes") + "\n" +
                       d.file("out/hx_opts_name.plan.json") + "\n");
  std::set<std::string> written;
  for (const auto& e : fs::directory_iterator(d.file("out")))
    written.insert(e.path().filename().string());
  EXPECT_EQ(written, (std::set<std::string>{"hx_opts_name.kprobes", "hx_opts_name.plan.json"}));
  EXPECT_EQ(read_json(d.file("out/hx_opts_name.plan.json"))["schema"], "harness.plan/1");
  EXPECT_TRUE(has(r.err, "hx_opts_name.kprobes for 6.1.192")) << r.err;
  // The default name.
  r = harness({"build", "--kernel-build", tree, "--backend", "kprobe", "-o", d.file("default")});
  ASSERT_EQ(r.status.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(d.file("default/harness_probes.kprobes")));
}

// `run` on a veth pair with the fault-injecting stand-in for stap (FAULT_STAP, probes that never
// fire) behind a wrapper that writes the argv it was given to DIR/argv.
class RunOptions : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "a run on a veth pair needs root";
    const std::string wrapper = "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + dir_.file("argv") +
                                "'\nexec '" + FAULT_STAP + "' \"$@\"\n";
    ASSERT_TRUE(write_file_atomic(stand_in_, wrapper));
    ASSERT_EQ(::chmod(stand_in_.c_str(), 0755), 0);
  }
  Captured run(std::vector<std::string> more) {
    std::vector<std::string> args = {"run",
                                     "--veth",
                                     "--no-preflight",
                                     "--ring-frames",
                                     "8",
                                     "--out",
                                     dir_.file("run"),
                                     "--settle-timeout",
                                     "1",
                                     "--kernel",
                                     "6.1"};
    args.insert(args.end(), more.begin(), more.end());
    return harness(args); // the stand-in's default mode: silent
  }
  std::vector<std::string> argv_seen() {
    return lines_of(read_file(dir_.file("argv")).value_or(""));
  }

  TempDir dir_;
  const std::string stand_in_ = dir_.file("stap");
};

TEST_F(RunOptions, MaxRowsLimitsThePrintedTableNotReportTxt) {
  auto r = run({"--backend", "stap", "--stap", stand_in_, "--frames", "6", "--max-rows", "2"});
  EXPECT_EQ(r.status.code, 1) << "the stand-in's probes never fire: " << r.err;
  const auto rows = frame_rows(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_TRUE(rows[0].starts_with("       0     0 ")) << rows[0];
  EXPECT_TRUE(rows[1].starts_with("       1     1 ")) << rows[1];
  EXPECT_TRUE(has(r.out, "  ... 4 more frames (all of them: report.json)\n")) << r.out;
  // The run directory's report.txt is the whole report.
  const auto saved = read_file(dir_.file("run/report.txt"));
  ASSERT_TRUE(saved);
  EXPECT_EQ(frame_rows(*saved).size(), 6u) << *saved;
  EXPECT_EQ(read_json(dir_.file("run/report.json"))["frames"].size(), 6u);
  // Checked before the run: no directory for a bad count.
  fs::remove_all(dir_.file("run"));
  r = run({"--backend", "stap", "--stap", stand_in_, "--max-rows", "-3"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "harness: --max-rows -3: must be 0 or more")) << r.err;
  EXPECT_FALSE(fs::exists(dir_.file("run")));
}

TEST_F(RunOptions, StapArgReachesStapAndStaprunBeforeTheScriptOrModule) {
  auto r = run({"--backend", "stap", "--stap", stand_in_, "--frames", "2", "--stap-arg",
                "-DHX_OPTION=1", "--stap-arg=--suppress-time-limits"});
  EXPECT_EQ(r.status.code, 1) << r.err;
  auto argv = argv_seen();
  ASSERT_GE(argv.size(), 3u);
  EXPECT_EQ(argv.back(), dir_.file("run/probes.stp"));
  EXPECT_EQ(std::vector<std::string>(argv.end() - 3, argv.end() - 1),
            (std::vector<std::string>{"-DHX_OPTION=1", "--suppress-time-limits"}))
      << "in the order given, before the script";
  EXPECT_EQ(argv.front(), "-v");

  // A prebuilt module: staprun gets them, before the module.
  fs::remove_all(dir_.file("run"));
  fs::remove(dir_.file("argv"));
  ASSERT_TRUE(write_file_atomic(dir_.file("tx.ko"), "never loaded by the stand-in"));
  copy_to(kRun2 + ".plan.json", dir_.file("tx.plan.json"));
  r = run(
      {"--module", dir_.file("tx.ko"), "--staprun", stand_in_, "--frames", "2", "--stap-arg=-w"});
  EXPECT_EQ(r.status.code, 1) << r.err;
  argv = argv_seen();
  ASSERT_GE(argv.size(), 2u);
  EXPECT_EQ(argv.front(), "-b");
  EXPECT_EQ(std::vector<std::string>(argv.end() - 2, argv.end()),
            (std::vector<std::string>{"-w", dir_.file("tx.ko")}));

  // Without --stap-arg, nothing is added.
  fs::remove_all(dir_.file("run"));
  r = run({"--module", dir_.file("tx.ko"), "--staprun", stand_in_, "--frames", "2"});
  EXPECT_EQ(r.status.code, 1) << r.err;
  argv = argv_seen();
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[0], "-b");
  EXPECT_EQ(argv[2], dir_.file("tx.ko"));
}

} // namespace
} // namespace harness
