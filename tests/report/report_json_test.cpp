#include "base/json_text.hpp"
#include "harness/report/baseline.hpp"
#include "harness/report/report_json.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>
#include <map>
#include <regex>
#include <set>
#include <sstream>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

namespace {
constexpr const char* kWrap = "6.1.192-O0-v2-20frames-ring8-status";
}

TEST(ReportJson, RoundTrip) {
  Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  r.partial = true;
  r.partial_reason = "test";
  const auto j = report_to_json(r);
  EXPECT_EQ(j["schema"], "harness.report/1");
  EXPECT_EQ(j["frames"].size(), 20u);
  EXPECT_TRUE(j["frames"][0]["kernel"]["addr"].is_string());
  EXPECT_EQ(j["exit_code"], 0);
  auto back = report_from_json(j, "test");
  ASSERT_TRUE(back) << format_error(back.error());
  EXPECT_EQ(back->partial, true);
  EXPECT_EQ(back->partial_reason, "test");
  EXPECT_EQ(back->run.kernel, r.run.kernel);
  EXPECT_EQ(back->run.ring_frames, 8u);
  EXPECT_EQ(back->summary.completed, 20u);
  EXPECT_EQ(back->summary.latency.p99, r.summary.latency.p99);
  EXPECT_EQ(back->frames.size(), 20u);
  EXPECT_EQ(back->frames[9].sender.seq, 9u);
  EXPECT_EQ(back->frames[9].addr, r.frames[9].addr);
  EXPECT_EQ(back->frames[9].t, r.frames[9].t);
  EXPECT_EQ(back->probes.size(), r.probes.size());
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    EXPECT_EQ(back->phases[p].observed, r.phases[p].observed);
  EXPECT_EQ(report_to_json(*back)["summary"], j["summary"]);
}

TEST(ReportJson, BadInputsAreNamed) {
  auto wrong = report_from_json(nlohmann::json{{"schema", "harness.report/9"}}, "old.json");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().what.find("old.json"), std::string::npos);
  EXPECT_NE(wrong.error().why.find("harness.report/9"), std::string::npos);

  auto j = report_to_json(Report{});
  j["summary"]["completed"] = "many";
  auto bad = report_from_json(j, "x.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().why.find("summary.completed"), std::string::npos);

  j = report_to_json(Report{});
  j.erase("phases");
  bad = report_from_json(j, "x.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().why.find("phases"), std::string::npos);

  auto missing = load_report("/nonexistent/report.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Exit::usage);
}

namespace {

// docs/report-schema.md, read as a reader of the schema would: section -> documented keys (every
// `name` in the first cell of its table rows).
std::map<std::string, std::set<std::string>> documented_keys() {
  auto doc = read_file(std::string(HARNESS_SOURCE_DIR) + "/docs/report-schema.md");
  EXPECT_TRUE(doc);
  std::map<std::string, std::set<std::string>> out;
  std::string section;
  const std::regex heading(R"(^## (?:Top level|`([a-z_]+(?:\[\])?)`))");
  const std::regex key("`([a-z_0-9]+)`");
  std::istringstream in(doc ? *doc : "");
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, heading)) {
      section = m[1].matched ? m[1].str() : "top";
      continue;
    }
    if (section.empty() || l.rfind("| `", 0) != 0)
      continue;
    const std::string cell = l.substr(1, l.find('|', 1) - 1);
    for (auto it = std::sregex_iterator(cell.begin(), cell.end(), key);
         it != std::sregex_iterator(); ++it)
      out[section].insert((*it)[1].str());
  }
  return out;
}

void expect_keys(const nlohmann::json& obj, const std::set<std::string>& keys,
                 const std::string& where) {
  ASSERT_TRUE(obj.is_object()) << where;
  for (const auto& k : keys)
    EXPECT_TRUE(obj.contains(k)) << where << "." << k << " is documented but not written";
  for (const auto& [k, v] : obj.items())
    EXPECT_TRUE(keys.contains(k)) << where << "." << k << " is written but not documented";
}

} // namespace

// Every key docs/report-schema.md lists is written (and nothing it does not list), for a real
// capture with a baseline: a key missing from both writer and reader fails here, where the
// round trip above would pass.
TEST(ReportJson, WritesExactlyTheDocumentedKeys) {
  const auto doc = documented_keys();
  for (const char* section : {"top", "run", "trace", "phases[]", "probes[]", "summary", "frames[]",
                              "anomalies[]", "loss", "baseline"})
    ASSERT_FALSE(doc.contains(section) ? doc.at(section).empty() : true) << section;
  Report base = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  // A stalled sender: one anomaly, so that anomalies[] has an entry to check.
  auto stalled = sender_records(kWrap);
  stalled.stalled = true;
  Report r = analyze_text(read_text(trace_fixture(kWrap)), stalled);
  r.comparison = compare_with_baseline(base, r, {}, "old.json");
  const auto j = report_to_json(r);
  expect_keys(j, doc.at("top"), "report");
  for (const char* obj : {"run", "trace", "summary", "loss", "baseline"})
    expect_keys(j[obj], doc.at(obj), obj);
  for (const char* arr : {"phases", "probes", "frames", "anomalies"}) {
    ASSERT_FALSE(j[arr].empty()) << arr;
    for (const auto& e : j[arr])
      expect_keys(e, doc.at(std::string(arr) + "[]"), arr);
  }
}

// report_keys is what load_report keeps of a file (parse_json): exactly the keys written, so a
// report read through it is the report written, and junk under another key is read past.
TEST(ReportJson, TheKeysALoaderKeepsAreEveryKeyWritten) {
  Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  const auto j = report_to_json(r);
  const auto keys = report_keys();
  std::set<std::string> written, kept(keys.begin(), keys.end());
  for (const auto& [key, value] : j.items())
    written.insert(key);
  EXPECT_EQ(written, kept);
  auto text = j.dump();
  text.insert(1, R"("junk": [0, {"frames": []}], )");
  auto parsed = parse_json(text, keys);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(*parsed, j);
}

TEST(ReportJson, NumbersAreRangeCheckedNamingTheKey) {
  const Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  const auto good = report_to_json(r);
  ASSERT_TRUE(report_from_json(good, "base.json"));
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"/summary/latency_ns/p50", -1},    // printed "improved: 18446744073.71 s"
      {"/summary/latency_ns/p50", 1e308}, // read as 0
      {"/summary/latency_ns/p90", 1},     // p90 below p50
      {"/run/ring/frames", std::uint64_t{1} << 62},
      {"/run/tpacket", 7},
      {"/frames/0/index", 999}, // an 8-slot ring
      {"/summary/completed", std::uint64_t{1} << 63},
      {"/probes/0/line", -3},
      {"/probes/0/hits", -3},
  };
  for (const auto& [at, value] : cases) {
    auto j = good;
    j[nlohmann::json::json_pointer(at)] = value;
    auto back = report_from_json(j, "base.json");
    ASSERT_FALSE(back) << at << " = " << value.dump();
    EXPECT_EQ(back.error().code, Exit::usage);
    EXPECT_NE(back.error().what.find("base.json"), std::string::npos);
    // The key is named: "/summary/latency_ns/p50" -> "summary.latency_ns".
    const std::string key = at.substr(1, at.find('/', 1) - 1);
    EXPECT_NE(back.error().why.find(key), std::string::npos) << back.error().why;
  }
}

TEST(ReportJson, StringsAreBoundedAndCannotDriveTheTerminal) {
  const Report r = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  auto j = report_to_json(r);
  j["run"]["kernel"] = "6.1\x1b]2;owned\x07\x1b[2J";
  j["notes"] = {"note \x1b[31mred\x9b"};
  auto back = report_from_json(j, "x.json");
  ASSERT_TRUE(back) << format_error(back.error());
  Report cur = r;
  cur.comparison = compare_with_baseline(*back, cur, BaselineOptions{}, "x.json");
  const std::string text = format_report_text(cur, 8);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  j = report_to_json(r);
  j["run"]["iface"] = std::string(10 << 20, 'i'); // a 10 MB interface name
  auto big = report_from_json(j, "x.json");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().why.find("run.iface"), std::string::npos) << big.error().why;
}

TEST(ReportJson, InvalidUtf8FromATraceIsReplacedNotThrown) {
  // Found by fuzz_trace: a malformed record holding byte 0xB6 made the JSON writer throw
  // (`harness report --json` ended as an internal error).
  std::string trace = read_text(trace_fixture(kWrap));
  trace += "HX1 EV 1 0 71 71 snd.start po=\xb6\xb6 head=\xff\n";
  Report r = analyze_text(trace, sender_records(kWrap));
  ASSERT_GT(r.trace.malformed, 0u);
  std::string text;
  ASSERT_NO_THROW(text = report_json_text(r));
  const auto j = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_TRUE(report_from_json(j, "utf8.json")) << text.substr(0, 200);
}
