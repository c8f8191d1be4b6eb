#include "base/child_proc.hpp"
#include "kernel_test_util.hpp"
#include "stap/stap_checks.hpp"
#include "stap/stap_env.hpp"
#include "tracer/machine.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace harness::stap {
namespace {

using TempDir = harness::testing::VarTmpDir;

TEST(StapEnv, ParsesVersion) {
  EXPECT_EQ(parse_stap_version("Systemtap translator/driver (version 4.8/0.188, Debian version "
                               "4.8-2)\nCopyright (C) 2005-2022 Red Hat, Inc. and others\n"),
            "4.8/0.188");
  EXPECT_EQ(parse_stap_version("something else"), "");
}

// A VM guest's root is the host's, read-only, with HOME=/: the installed stap then warns on
// stderr before its version ("failed to create systemtap data directory"), which once made the
// version "unknown" and skipped the kernel-range check.
TEST(StapEnv, VersionIsReadPastAWarningAboutAnUnwritableHome) {
  if (!find_program("stap"))
    GTEST_SKIP() << "stap is not installed (scripts/install-deps installs it)";
  const auto installed = stap_version();
  ASSERT_TRUE(installed) << installed.error().why;
  const char* home = std::getenv("HOME");
  const std::string saved_home = home ? home : "";
  const char* dir = std::getenv("SYSTEMTAP_DIR");
  const std::string saved_dir = dir ? dir : "";
  ::setenv("HOME", "/proc", 1); // no .systemtap can be made there
  ::unsetenv("SYSTEMTAP_DIR");
  const tracer::RealMachine m;
  const auto seen = m.run({"stap", "--version"});
  const std::string version = stap_version_on(m, "stap");
  home ? ::setenv("HOME", saved_home.c_str(), 1) : ::unsetenv("HOME");
  if (dir)
    ::setenv("SYSTEMTAP_DIR", saved_dir.c_str(), 1);
  EXPECT_NE(seen.err.find("failed to create systemtap data directory"), std::string::npos)
      << "the warning this test is about was not provoked:\n"
      << seen.err;
  EXPECT_EQ(version, *installed);
}

constexpr std::string_view kOldRuntime =
    "#if !defined(STAPCONF_TASK_WORK_CANCEL_EXPORTED)\n"
    "typedef typeof(&task_work_cancel) task_work_cancel_fn;\n"
    "#define task_work_cancel (* (task_work_cancel_fn)kallsyms_task_work_cancel)\n"
    "#endif\n"
    "  kallsyms_task_work_cancel = (void *)kallsyms_lookup_name(\"task_work_cancel\");\n"
    "  twork = task_work_cancel(task, func);\n"
    "  stp_task_work_cancel(x);\n";

TEST(StapEnv, PatchRenamesOnlyTheIdentifier) {
  EXPECT_TRUE(runtime_uses_old_task_work_cancel(kOldRuntime));
  const auto patched = patch_task_work_cancel(kOldRuntime);
  EXPECT_EQ(patched, "#if !defined(STAPCONF_TASK_WORK_CANCEL_EXPORTED)\n"
                     "typedef typeof(&task_work_cancel_func) task_work_cancel_fn;\n"
                     "#define task_work_cancel_func (* "
                     "(task_work_cancel_fn)kallsyms_task_work_cancel)\n"
                     "#endif\n"
                     "  kallsyms_task_work_cancel = (void "
                     "*)kallsyms_lookup_name(\"task_work_cancel_func\");\n"
                     "  twork = task_work_cancel_func(task, func);\n"
                     "  stp_task_work_cancel(x);\n");
  EXPECT_FALSE(runtime_uses_old_task_work_cancel(patched));
  EXPECT_EQ(patch_task_work_cancel(patched), patched.substr(0, patched.size())) << "stable";
}

constexpr std::string_view kRelayReserve =
    "\tif (buf->offset >= buf->chan->subbuf_size) {\n"
    "\t\tsize_request = __stp_relay_switch_subbuf(buf, size_request);\n"
    "\t\tif (!size_request)\n"
    "\t\t\treturn 0;\n"
    "\t} else if (buf->offset + size_request > buf->chan->subbuf_size) {\n";

TEST(StapEnv, RelayTailPatch) {
  EXPECT_TRUE(runtime_has_relay_tail_bug(kRelayReserve));
  const auto patched = patch_relay_tail(kRelayReserve);
  EXPECT_FALSE(runtime_has_relay_tail_bug(patched));
  EXPECT_NE(patched.find("buf->chan->subbuf_size - buf->offset < 64)) {\n"
                         "\t\tsize_request = __stp_relay_switch_subbuf(buf, size_request);"),
            std::string::npos);
  EXPECT_EQ(patch_relay_tail(patched), patched);
  EXPECT_EQ(patch_relay_tail("unrelated"), "unrelated");
}

TEST(StapEnv, PatchedRuntimeCopyOfTheInstalledRuntime) {
  const std::string runtime(default_stap_runtime);
  if (!std::filesystem::exists(runtime + "/stp_task_work.c"))
    GTEST_SKIP() << "systemtap runtime not installed at " << runtime;
  // stap 4.8 (Debian 12) needs both fixes for a 6.1.192 kernel.
  const auto fixes = needed_runtime_fixes(runtime, true);
  EXPECT_TRUE(fixes.task_work_cancel_func);
  EXPECT_TRUE(fixes.relay_tail);
  EXPECT_FALSE(needed_runtime_fixes(runtime, false).task_work_cancel_func);
  TempDir cache;
  auto dir = patched_runtime(cache.path(), runtime, "4.8/0.188", fixes);
  ASSERT_TRUE(dir) << dir.error().why;
  EXPECT_FALSE(runtime_uses_old_task_work_cancel(*read_file(*dir + "/stp_task_work.c")));
  EXPECT_FALSE(runtime_has_relay_tail_bug(*read_file(*dir + "/transport/relay_v2.c")));
  EXPECT_TRUE(std::filesystem::exists(*dir + "/runtime.h")); // the rest is copied
  EXPECT_FALSE(needed_runtime_fixes(*dir, true).any());
  auto again = patched_runtime(cache.path(), runtime, "4.8/0.188", fixes);
  EXPECT_EQ(*again, *dir);
  RuntimeFixes only_relay;
  only_relay.relay_tail = true;
  auto other = patched_runtime(cache.path(), runtime, "4.8/0.188", only_relay);
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *dir);
  EXPECT_TRUE(runtime_uses_old_task_work_cancel(*read_file(*other + "/stp_task_work.c")));
  auto missing = patched_runtime(cache.path(), cache.path() + "/nowhere", "x", fixes);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Exit::tool_missing);
}

TEST(StapEnv, LockdownMode) {
  EXPECT_EQ(lockdown_mode("none [integrity] confidentiality\n"), "integrity");
  EXPECT_EQ(lockdown_mode("[none] integrity confidentiality\n"), "none");
  EXPECT_EQ(lockdown_mode(""), "");
}

TEST(StapEnv, NoLockdownFileNothingToHide) {
  TempDir dir;
  auto r = hide_build_host_lockdown(dir.file("absent"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  ASSERT_TRUE(write_file_atomic(dir.file("lockdown"), "[none] integrity confidentiality\n"));
  EXPECT_FALSE(*hide_build_host_lockdown(dir.file("lockdown")));
}

// The workaround itself, on a stand-in lockdown file (this machine may have none): in a child
// process, which gets its own mount namespace, stap's children would read [none] while the
// rest of the system still reads the real mode.
TEST(StapEnv, HidesLockdownInAPrivateMountNamespace) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root (unshare + mount)";
  TempDir dir;
  const std::string file = dir.file("lockdown");
  ASSERT_TRUE(write_file_atomic(file, "none [integrity] confidentiality\n"));
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto r = hide_build_host_lockdown(file);
    if (!r || !*r)
      ::_exit(2);
    ChildSpec spec; // a child of the child, like stap
    spec.exe = "cat";
    spec.args = {file};
    auto out = run_captured(spec, std::chrono::seconds(10));
    ::_exit(out && out->out == "[none] integrity confidentiality\n" ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(*read_file(file), "none [integrity] confidentiality\n"); // unchanged out here
}

} // namespace
} // namespace harness::stap
