#include "kernel_test_util.hpp"
#include "stap/module_build.hpp"

#include <algorithm>
#include <gtest/gtest.h>

namespace harness::stap {
namespace {

using namespace harness::kernel;

using namespace harness::probes;

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ModuleBuild, ModuleNames) {
  EXPECT_TRUE(valid_module_name("harness_probes"));
  EXPECT_TRUE(valid_module_name("_x1"));
  EXPECT_FALSE(valid_module_name("1abc"));
  EXPECT_FALSE(valid_module_name("has-dash"));
  EXPECT_FALSE(valid_module_name(std::string(56, 'a')));
  EXPECT_FALSE(valid_module_name(""));
}

TEST(ModuleBuild, StapArguments) {
  KernelTree t;
  t.build_dir = "/k/build";
  t.af_packet_O0 = true;
  auto args = stap_build_args(t, "/cache/runtime/abc", "harness_probes", "/out/s.stp");
  EXPECT_EQ(args, (std::vector<std::string>{"-r", "/k/build", "-R", "/cache/runtime/abc", "-P",
                                            "-DSTP_NO_OVERLOAD", "-p4", "-v", "-m",
                                            "harness_probes", "/out/s.stp"}));
  t.af_packet_O0 = false;
  args = stap_build_args(t, "", "m", "s.stp");
  EXPECT_FALSE(contains(args, "-P"));
  EXPECT_FALSE(contains(args, "-R"));
  EXPECT_TRUE(contains(args, "-p4"));
}

TEST(ModuleBuild, ClassifiesStapFailures) {
  auto e = classify_stap_failure(
      "semantic error: while resolving probe point: identifier 'kernel' at s.stp:12:7\n"
      "semantic error: no line records for /src/net/packet/af_packet.c:415 [man error::dwarf] "
      "(try :414 or :417)\nPass 2: analysis failed.\n",
      "/out/m.stap.log");
  EXPECT_EQ(e.code, Exit::tracer_failed);
  EXPECT_NE(e.why.find("semantic error"), std::string::npos);
  EXPECT_NE(e.hint.find("/out/m.stap.log"), std::string::npos);
  EXPECT_EQ(classify_stap_failure("ERROR: missing x86_64 kernel/module debuginfo [man "
                                  "warning::debuginfo] under '/k/build'\n",
                                  "l")
                .code,
            Exit::no_debuginfo);
  EXPECT_EQ(classify_stap_failure("ERROR: Failed to get list of machine owner keys (MOK) for "
                                  "module signing\n",
                                  "l")
                .code,
            Exit::lockdown);
  auto cc = classify_stap_failure("/tmp/x/stp_task_work.c:12:9: error: incompatible pointer "
                                  "types\n",
                                  "l");
  EXPECT_EQ(cc.code, Exit::tracer_failed);
  EXPECT_NE(cc.why.find("incompatible pointer"), std::string::npos);
  EXPECT_EQ(classify_stap_failure("", "l").why, "failed without a recognised message");
}

TEST(ModuleBuild, RejectsBadInputBeforeRunningStap) {
  testing::TempDir dir;
  ModuleBuildRequest req;
  req.kernel_build = dir.path();
  req.module_name = "bad-name";
  req.out_dir = dir.file("out");
  req.cache_dir = dir.file("cache");
  auto r = build_module(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  req.module_name = "ok_name";
  r = build_module(req); // not a kernel tree
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  EXPECT_NE(r.error().why.find("not a configured kernel build tree"), std::string::npos);
}

} // namespace
} // namespace harness::stap
