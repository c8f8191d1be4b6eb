#include "base/files.hpp"
#include "harness/report/offline.hpp"
#include "harness/report/report_json.hpp"
#include "report_fixtures.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

using namespace harness;
using namespace harness::report;
using namespace harness::report::testing;

TEST(Offline, RebuildsAReportAndComparesWithABaseline) {
  constexpr const char* kV2 = "6.1.192-O0-v2-2frames-status";
  OfflineRequest req;
  req.trace_path = trace_fixture(kV2);
  req.sender_path = sender_fixture(kV2);
  auto r = rebuild_report(req);
  ASSERT_TRUE(r) << format_error(r.error());
  EXPECT_EQ(r->summary.completed, 2u);
  EXPECT_EQ(r->exit_code(), 0);

  const std::string base = ::testing::TempDir() + "/base." + std::to_string(::getpid()) + ".json";
  ASSERT_TRUE(write_report_json(*r, base));
  // The -O2 kernel compared with the -O0 baseline: phases went missing.
  OfflineRequest o2;
  o2.trace_path = trace_fixture("6.1.192-O2-v2-2frames-status");
  o2.baseline_path = base;
  auto cmp = rebuild_report(o2);
  ASSERT_TRUE(cmp) << format_error(cmp.error());
  ASSERT_TRUE(cmp->comparison);
  EXPECT_FALSE(cmp->comparison->regressions.empty());
  EXPECT_EQ(cmp->exit_code(), 1);
  ::unlink(base.c_str());
}

TEST(Offline, BadInputsAreErrorsNamingThem) {
  OfflineRequest req;
  req.trace_path = trace_fixture("6.1.192-O0-v2-2frames-status");
  req.sender_path = "/nonexistent/sender.json";
  auto r = rebuild_report(req);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("/nonexistent/sender.json"), std::string::npos);
  req.sender_path.reset();
  req.plan_path = "/nonexistent/plan.json";
  r = rebuild_report(req);
  ASSERT_FALSE(r);
  req.plan_path.reset();
  req.baseline_path = trace_fixture("6.1.192-O0-v2-2frames-status"); // not JSON
  r = rebuild_report(req);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().why.find("not valid JSON"), std::string::npos);
}

namespace {

std::string temp_file(const std::string& name, const std::string& content) {
  const std::string path =
      ::testing::TempDir() + "/offline-" + std::to_string(::getpid()) + "-" + name;
  EXPECT_TRUE(write_file_atomic(path, content));
  return path;
}

} // namespace

TEST(Offline, ATraceWithoutRecordsIsAnErrorNeverOk) {
  // /dev/null is no regular file; an empty file, a text file and random bytes hold no record.
  OfflineRequest req;
  req.trace_path = "/dev/null";
  auto r = rebuild_report(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  std::string noise;
  for (int i = 0; i < 4096; ++i)
    noise.push_back(static_cast<char>((i * 7919 + 13) % 256));
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"empty", ""},
           {"passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n"},
           {"noise", noise},
           {"almost", "HX1 nonsense\nHX1\n"}}) {
    req.trace_path = temp_file(name, text);
    r = rebuild_report(req);
    ASSERT_FALSE(r) << name << ": " << format_report_text(*r, 10);
    EXPECT_EQ(r.error().code, Exit::usage) << name;
    EXPECT_NE(r.error().why.find("no probe records"), std::string::npos) << r.error().why;
    ::unlink(req.trace_path.c_str());
  }
}
