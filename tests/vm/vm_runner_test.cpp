#include "kernel_test_util.hpp"
#include "vm/vm_runner.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace harness::vm {
namespace {

using std::chrono::milliseconds;
using TempDir = harness::testing::VarTmpDir;

VmRunOutcome outcome(std::string_view console) {
  VmRunOutcome o;
  o.console = scan_console(console);
  o.console_log = "/var/tmp/vm/console.log";
  return o;
}

constexpr std::string_view kOk = "[ 0.0] Linux version 6.1.192\nHXVM READY 1500\nHXVM DONE 0\n";

TEST(VmRunner, JudgesAFinishedRun) {
  auto o = outcome(kOk);
  GuestStatus st;
  st.result = 1;
  o.status = st;
  auto r = judge_vm_run(o, milliseconds(60000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result, 1); // the guest command's own status passes through
}

TEST(VmRunner, JudgesFailures) {
  auto expect = [](const VmRunOutcome& o, Exit code, std::string_view why_part) {
    auto r = judge_vm_run(o, milliseconds(30000));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code);
    EXPECT_NE(r.error().why.find(why_part), std::string::npos) << r.error().why;
    EXPECT_NE(r.error().hint.find("/var/tmp/vm/console.log"), std::string::npos);
  };
  expect(outcome("[ 0.0] Linux version 6.1\n[ 2.0] Kernel panic - not syncing: VFS: Unable to "
                 "mount root fs\n"),
         Exit::vm_failed, "panicked: Kernel panic - not syncing: VFS");
  auto hung = outcome("SeaBIOS\nBooting from ROM...\n");
  hung.timed_out = true;
  expect(hung, Exit::vm_failed, "timed out after 30.0 s: the guest printed nothing");
  expect(outcome("[ 0.0] Linux version 6.1\n[ 1.0] Run /h as init process\n"), Exit::vm_failed,
         "never printed its ready marker");
  auto no_status = outcome("HXVM READY 1\nHXVM ERROR job.json: No such file\n");
  no_status.status_error = "the guest wrote no status.json";
  expect(no_status, Exit::vm_failed, "guest error: job.json: No such file");
  auto stopped = outcome(kOk);
  stopped.interrupted = true;
  expect(stopped, Exit::interrupted, "interrupted");
}

// Fault injection: stand-ins for qemu-system-x86_64 (named as such) that hang or panic, found
// through PATH, so the real boot_vm's timeout and classification run.
class FakeQemu {
public:
  FakeQemu(const TempDir& dir, const std::string& body) : saved_(std::getenv("PATH")) {
    const std::string path = dir.file("qemu-system-x86_64");
    EXPECT_TRUE(
        write_file_atomic(path, "#!/bin/sh\n# stand-in for qemu: fault injection\n" + body + "\n"));
    ::chmod(path.c_str(), 0755);
    ::setenv("PATH", (dir.path() + ":" + saved_).c_str(), 1);
  }
  ~FakeQemu() { ::setenv("PATH", saved_.c_str(), 1); }
  FakeQemu(const FakeQemu&) = delete;
  FakeQemu& operator=(const FakeQemu&) = delete;

private:
  std::string saved_;
};

VmRunRequest request(const TempDir& dir) {
  VmRunRequest req;
  req.kernel_image = dir.file("bzImage");
  req.share_dir = dir.file("share");
  // Never started by the stand-ins; in sanitizer builds harness-vm-preinit must sit next to it.
  req.init_exe = std::string(HARNESS_BINARY_DIR) + "/bin/harness";
  // The stand-ins that exit end the boot themselves, however slow the machine: no budget here
  // (a stand-in that hung would be reported by CTest's timeout).
  req.timeout = std::chrono::hours(24);
  return req;
}

TEST(VmRunner, HangingQemuIsStoppedAtTheTimeout) {
  TempDir dir;
  // Sleeps a day: only boot_vm's timeout ends it (else CTest's timeout reports the hang). The
  // timeout is what this tests, not a budget for the machine: its 1.5 s only have to outlast the
  // stand-in's one echo.
  FakeQemu qemu(dir, "echo 'SeaBIOS (version 1.16.2)'\nexec sleep 86400");
  auto req = request(dir);
  req.timeout = milliseconds(1500);
  auto out = boot_vm(req);
  ASSERT_TRUE(out) << out.error().why;
  EXPECT_TRUE(out->timed_out);
  EXPECT_EQ(out->console.verdict, ConsoleVerdict::no_kernel);
  EXPECT_EQ(*read_file(out->console_log), "SeaBIOS (version 1.16.2)\n");
  EXPECT_TRUE(read_file(dir.file("share/job.json"))); // the job was written for the guest
  auto judged = judge_vm_run(*out, milliseconds(1500));
  ASSERT_FALSE(judged);
  EXPECT_NE(judged.error().why.find("timed out"), std::string::npos);
}

TEST(VmRunner, PanickingGuestIsReportedAsSuch) {
  TempDir dir;
  FakeQemu qemu(dir, "echo '[    0.000000] Linux version 6.1.192'\n"
                     "echo '[    1.500000] Kernel panic - not syncing: Attempted to kill init! "
                     "exitcode=0x00000100'\nexit 0");
  auto out = boot_vm(request(dir));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->timed_out);
  auto judged = judge_vm_run(*out, milliseconds(1500));
  ASSERT_FALSE(judged);
  EXPECT_EQ(judged.error().code, Exit::vm_failed);
  EXPECT_NE(judged.error().why.find("Attempted to kill init"), std::string::npos);
}

TEST(VmRunner, GivesTheGuestItsInitAndShare) {
  TempDir dir;
  FakeQemu qemu(dir, "printf '%s\\n' \"$@\" > " + dir.file("args.txt") + "\nexit 0");
  auto req = request(dir);
  auto out = boot_vm(req);
  ASSERT_TRUE(out) << out.error().why;
  auto args = read_file(dir.file("args.txt"));
  ASSERT_TRUE(args);
  const std::string bin = std::string(HARNESS_BINARY_DIR) + "/bin/";
  const std::string init =
      "init=" + bin + (sanitized_build() ? "harness-vm-preinit" : "harness") + " panic=-1";
  EXPECT_NE(args->find(init), std::string::npos) << *args;
  const std::string tail = (sanitized_build() ? " -- " + bin + "harness" : std::string(" --")) +
                           " vm-guest --share " + dir.file("share") + "\n";
  EXPECT_NE(args->find(tail), std::string::npos) << *args;
  EXPECT_NE(args->find("path=" + dir.file("share") + ",security_model=none"), std::string::npos);
  EXPECT_TRUE(args->starts_with("-accel\ntcg\n")) << *args;
  // The guest wrote no status: that is how a guest that died is recognised.
  EXPECT_FALSE(out->status);
  EXPECT_NE(out->status_error.find("status.json"), std::string::npos);
}

TEST(VmRunner, RefusesSharesTheGuestMountsOver) {
  TempDir dir;
  FakeQemu qemu(dir, "exit 0");
  auto req = request(dir);
  req.share_dir = "/run/harness-share";
  auto out = boot_vm(req);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, Exit::usage);
}

TEST(VmRunner, HostFacts) {
  auto exe = self_exe();
  ASSERT_TRUE(exe);
  EXPECT_EQ(exe->front(), '/');
  const long khz = host_tsc_khz();
  EXPECT_TRUE(khz == 0 || (khz > 100000 && khz < 10000000)) << khz;
  TempDir dir;
  auto img = kernel_image_of(dir.path());
  ASSERT_FALSE(img);
  EXPECT_NE(img.error().why.find("bzImage"), std::string::npos);
}

} // namespace
} // namespace harness::vm
