#include "line_map.hpp"
#include "probe_filter.hpp"

#include <gtest/gtest.h>

namespace harness::kernel {
namespace {

stap::GeneratedScript script61() {
  auto m = stap::load_line_map(std::string(HARNESS_SOURCE_DIR) + "/stap/maps/6.1.192-debian.json");
  EXPECT_TRUE(m);
  auto s = stap::generate_script(*m, stap::ProbeSet::status, std::nullopt);
  EXPECT_TRUE(s) << (s ? "" : s.error().why);
  return *s;
}

TEST(ProbeFilter, DropsProbesAndRecordsThemAsAbsent) {
  const auto in = script61();
  const std::vector<std::string> drop = {"set_status.v1_break", "snd.wait_continue"};
  auto out = drop_probes(in, drop);
  ASSERT_TRUE(out) << out.error().why;
  EXPECT_EQ(out->plan.anchors.size(), in.plan.anchors.size() - 2);
  EXPECT_FALSE(out->plan.find("set_status.v1_break"));
  EXPECT_NE(std::find(out->plan.absent.begin(), out->plan.absent.end(), "snd.wait_continue"),
            out->plan.absent.end());
  EXPECT_EQ(out->text.find("af_packet.c:415"), std::string::npos);
  EXPECT_EQ(out->text.find("\"snd.wait_continue\""), std::string::npos); // HITS line too
  EXPECT_NE(out->text.find("af_packet.c:419"), std::string::npos);       // v2 stays
  EXPECT_NE(out->text.find("// dropped, not probeable in this kernel build"), std::string::npos);
  EXPECT_NE(out->plan.plan_id, in.plan.plan_id);
  EXPECT_NE(out->text.find("\"" + out->plan.plan_id + "\""), std::string::npos);
  EXPECT_EQ(out->text.find("\"" + in.plan.plan_id + "\""), std::string::npos);
  // Braces of the code (comments quote source lines holding braces) stay balanced.
  long open = 0, close = 0;
  size_t start = 0;
  while (start < out->text.size()) {
    const size_t nl = out->text.find('\n', start);
    const std::string line = out->text.substr(start, nl - start);
    start = nl + 1;
    if (line.starts_with("//"))
      continue;
    open += std::count(line.begin(), line.end(), '{');
    close += std::count(line.begin(), line.end(), '}');
  }
  EXPECT_EQ(open, close);
}

TEST(ProbeFilter, UnknownAnchorIsAnError) {
  const std::vector<std::string> drop = {"snd.no_such_anchor"};
  auto out = drop_probes(script61(), drop);
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().what.find("snd.no_such_anchor"), std::string::npos);
  const std::vector<std::string> none;
  auto same = drop_probes(script61(), none);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->text, script61().text);
}

} // namespace
} // namespace harness::kernel

#include "child_proc.hpp"
#include "files.hpp"
#include "kernel_test_util.hpp"

namespace harness::kernel {
namespace {

TEST(ProbeFilter, FilteredScriptStillParses) {
  if (!find_program("stap"))
    GTEST_SKIP() << "stap not installed (scripts/install-deps installs systemtap)";
  const std::vector<std::string> drop = {
      "set_status.v1_break",  "set_status.v2_break",  "set_status.v3_break", "get_status.v1_return",
      "get_status.v2_return", "get_status.v3_return", "snd.wait_continue"};
  auto out = drop_probes(script61(), drop);
  ASSERT_TRUE(out);
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("s.stp"), out->text));
  // stap 4.8 checks for a kernel build tree before pass 1 although parsing never reads it: a
  // three-file skeleton satisfies the check; the parse itself is real.
  ASSERT_TRUE(make_dirs(dir.file("tree/include/config")));
  ASSERT_TRUE(write_file_atomic(dir.file("tree/.config"), "# skeleton for stap -p1\n"));
  ASSERT_TRUE(write_file_atomic(dir.file("tree/Module.symvers"), ""));
  ASSERT_TRUE(write_file_atomic(dir.file("tree/include/config/kernel.release"), "6.1.192\n"));
  ChildSpec spec;
  spec.exe = "stap";
  spec.args = {"-p1", "-r", dir.file("tree"), dir.file("s.stp")};
  spec.env.emplace_back("SYSTEMTAP_DIR", dir.path());
  auto r = run_captured(spec, std::chrono::seconds(60));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->status.success()) << r->err;
}

} // namespace
} // namespace harness::kernel
