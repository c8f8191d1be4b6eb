#include "baseline.hpp"
#include "report_fixtures.hpp"
#include "report_json.hpp"

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
                              "anomalies[]", "baseline"})
    ASSERT_FALSE(doc.contains(section) ? doc.at(section).empty() : true) << section;
  Report base = analyze_text(read_text(trace_fixture(kWrap)), sender_records(kWrap));
  // A stalled sender: one anomaly, so that anomalies[] has an entry to check.
  auto stalled = sender_records(kWrap);
  stalled.stalled = true;
  Report r = analyze_text(read_text(trace_fixture(kWrap)), stalled);
  r.comparison = compare_with_baseline(base, r, {}, "old.json");
  const auto j = report_to_json(r);
  expect_keys(j, doc.at("top"), "report");
  for (const char* obj : {"run", "trace", "summary", "baseline"})
    expect_keys(j[obj], doc.at(obj), obj);
  for (const char* arr : {"phases", "probes", "frames", "anomalies"}) {
    ASSERT_FALSE(j[arr].empty()) << arr;
    for (const auto& e : j[arr])
      expect_keys(e, doc.at(std::string(arr) + "[]"), arr);
  }
}
