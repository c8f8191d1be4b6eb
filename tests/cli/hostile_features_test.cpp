// Issue 12's hostile but fair user on the features added after its sweep: the kprobe tracer's
// definitions, `run --exec` / `--pid`, the HTML report, baselines and `vm run` options. Bad input
// is an error before anything is made or run, and no file the user did not ask for is touched.
#include "cli_test_util.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace harness {
namespace {

using namespace cli_testing;
namespace fs = std::filesystem;

const std::string kTraces = std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/";
const std::string kRun2 = kTraces + "6.1.192-O0-v2-2frames-ring8-run";

// A directory `vm run` accepts as --kernel-build up to booting it (it only looks for bzImage).
std::string fake_kernel_build(const TempDir& d) {
  fs::create_directories(d.file("kb/arch/x86/boot"));
  EXPECT_TRUE(write_file_atomic(d.file("kb/arch/x86/boot/bzImage"), "not a kernel"));
  return d.file("kb");
}

TEST(HostileFeatures, HtmlOutputNeverReplacesAnInput) {
  TempDir d;
  const std::string trace = copy_to(kRun2 + ".trace", d.file("trace.txt"));
  const std::string sender = copy_to(kRun2 + ".sender.json", d.file("sender.json"));
  const std::string before = *read_file(trace);
  auto r = harness({"report", "--trace", trace, "--sender", sender, "--html", trace});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--html")) << r.err;
  EXPECT_TRUE(*read_file(trace) == before) << "the input was replaced";
  r = harness({"report", "--trace", trace, "--sender", sender, "--html", sender});
  EXPECT_EQ(r.status.code, 2) << r.err;
  // --json and --html on one file: the page would replace the JSON.
  r = harness({"report", "--trace", trace, "--json", d.file("out"), "--html", d.file("out")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_FALSE(fs::exists(d.file("out")));
}

TEST(HostileFeatures, HtmlOutputIsCheckedBeforeTheRun) {
  TempDir d;
  // A stand-in stap that fails at once, no pre-flight: before the fix the run made its
  // directory and ran "stap", and only its last step found /dev/full unwritable (exit 2 instead
  // of the tracer's failure).
  auto r = harness({"run", "--veth", "--no-preflight", "--backend", "stap", "--stap", "/bin/false",
                    "--out", d.file("run"), "--html", "/dev/full"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--html /dev/full")) << r.err;
  EXPECT_FALSE(fs::exists(d.file("run")))
      << "a run directory for a run that cannot write its report";
  // Nor onto the baseline it compares with.
  const std::string baseline = d.file("base.json");
  r = harness({"report", "--trace", kRun2 + ".trace", "--sender", kRun2 + ".sender.json", "--json",
               baseline});
  ASSERT_EQ(r.status.code, 0) << r.err;
  const std::string before = *read_file(baseline);
  r = harness({"run", "--veth", "--no-preflight", "--backend", "stap", "--stap", "/bin/false",
               "--out", d.file("run"), "--baseline", baseline, "--html", baseline});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(*read_file(baseline) == before) << "the baseline was replaced";
  EXPECT_FALSE(fs::exists(d.file("run")));
  // vm run: before any VM directory, module copy or boot.
  r = harness({"vm", "run", "--kernel-build", fake_kernel_build(d), "--out", d.file("vm"),
               "--module", d.file("missing.ko"), "--html", "/dev/full"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--html /dev/full")) << r.err;
  EXPECT_FALSE(fs::exists(d.file("vm")));
  struct stat st {};
  ASSERT_EQ(::lstat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(HostileFeatures, ANanToleranceNeverHidesARegression) {
  TempDir d;
  auto r = harness({"report", "--trace", kRun2 + ".trace", "--sender", kRun2 + ".sender.json",
                    "--json", d.file("now.json")});
  ASSERT_EQ(r.status.code, 0) << r.err;
  // A baseline 1000 times faster than now: every latency percentile regressed.
  auto text = *read_file(d.file("now.json"));
  auto j = nlohmann::json::parse(text);
  for (const char* k : {"min", "p50", "p90", "p99", "max"})
    j["summary"]["latency_ns"][k] = 1000;
  ASSERT_TRUE(write_file_atomic(d.file("fast.json"), j.dump()));
  const std::vector<std::string> compare = {
      "report",     "--trace",          kRun2 + ".trace", "--sender", kRun2 + ".sender.json",
      "--baseline", d.file("fast.json")};
  r = harness(compare);
  ASSERT_EQ(r.status.code, 1) << r.out;
  for (const char* bad : {"nan", "-nan", "inf", "1e308", "-1"}) {
    auto args = compare;
    args.insert(args.end(), {"--tolerance", bad});
    r = harness(args);
    EXPECT_EQ(r.status.code, 2) << bad << ": " << r.out;
    EXPECT_FALSE(has(r.out, "verdict: OK")) << bad << ": " << r.out;
    EXPECT_LT(r.err.size(), 300u) << r.err; // 1e308 is not printed with all its 309 digits
  }
  r = harness({"run", "--veth", "--no-preflight", "--tolerance", "nan", "--out", d.file("run")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--tolerance nan")) << r.err;
  EXPECT_FALSE(fs::exists(d.file("run")));
}

TEST(HostileFeatures, VmRunChecksWhatItIsGivenBeforeItMakesItsDirectory) {
  TempDir d;
  const std::string kb = fake_kernel_build(d);
  const std::string k612 = kTraces + "6.12.118-O0-v2-20frames-ring8-kprobe";
  const std::string defs = copy_to(k612 + ".kprobes", d.file("tx.kprobes"));
  copy_to(k612 + ".plan.json", d.file("tx.plan.json"));
  ASSERT_TRUE(write_file_atomic(d.file("junk.kprobes"), "\177ELF garbage"));
  fs::create_directory(d.file("dir.kprobes"));
  ASSERT_EQ(::mkfifo(d.file("fifo.kprobes").c_str(), 0600), 0);
  ASSERT_TRUE(write_file_atomic(d.file("mod.ko"), "a module"));
  int n = 0;
  for (const auto& given : std::vector<std::vector<std::string>>{
           {"--kprobes", d.file("missing.kprobes")},
           {"--kprobes", d.file("dir.kprobes")},
           {"--kprobes", d.file("fifo.kprobes")},
           {"--kprobes", d.file("junk.kprobes")}, // refused by the guest only, after a boot
           {"--kprobes", d.file("mod.ko")},       // a module given as kprobe definitions
           {"--module", defs},                    // and the other way round
           {"--module", d.file("mod.ko")},        // no NAME.plan.json next to it
           {"--kprobes", defs, "--memory", "0"},  // qemu refused it, after the copies
           {"--kprobes", defs, "--plan", kRun2 + ".plan.json"}}) { // another plan
    const std::string out = d.file("vm" + std::to_string(n++));
    std::vector<std::string> args = {"vm",        "run", "--kernel-build", kb, "--accel", "tcg",
                                     "--timeout", "5",   "--out",          out};
    args.insert(args.end(), given.begin(), given.end());
    auto r = harness(args);
    EXPECT_EQ(r.status.code, 2) << given[1] << ": " << r.err;
    EXPECT_TRUE(has(r.err, "harness: ")) << r.err;
    EXPECT_FALSE(fs::exists(out)) << given[1] << ": a VM directory was left behind";
  }
  auto r = harness({"vm", "exec", "--kernel-build", kb, "--out", d.file("vmx"), "--module",
                    d.file("fifo.kprobes"), "--", "/bin/true"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_FALSE(fs::exists(d.file("vmx")));
}

TEST(HostileFeatures, RunRefusesBadPrebuiltProbesBeforeItMakesItsDirectory) {
  TempDir d;
  const std::string k612 = kTraces + "6.12.118-O0-v2-20frames-ring8-kprobe";
  const std::string plan = copy_to(k612 + ".plan.json", d.file("tx.plan.json"));
  ASSERT_TRUE(write_file_atomic(d.file("junk.kprobes"), "{\"schema\": \"harness.kprobes/1\"}"));
  std::vector<std::vector<std::string>> cases = {
      {"--kprobes", d.file("junk.kprobes"), "--plan", plan},
      {"--kprobes", k612 + ".kprobes", "--plan", kRun2 + ".plan.json"}, // another plan
      {"--kprobes", k612 + ".kprobes", "--plan", d.file("missing.plan.json")}};
  // Definitions for the 6.12.118 test kernel are not this kernel's (when its build id is known).
  if (fs::exists("/sys/kernel/notes"))
    cases.push_back({"--kprobes", k612 + ".kprobes", "--plan", plan});
  int n = 0;
  for (const auto& given : cases) {
    const std::string out = d.file("run" + std::to_string(n++));
    // No pre-flight (this host may lack kprobe events): the run's own checks must hold.
    std::vector<std::string> args = {"run", "--veth", "--no-preflight", "--out", out};
    args.insert(args.end(), given.begin(), given.end());
    auto r = harness(args);
    EXPECT_EQ(r.status.code, 2) << given[1] << " " << given[3] << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << given[1] << " " << given[3] << ": run directory left behind";
  }
}

TEST(HostileFeatures, AnExecProgramThatCannotStartFailsBeforeTheProbes) {
  TempDir d;
  ASSERT_TRUE(write_file_atomic(d.file("not-executable"), "#!/bin/sh\n"));
  fs::create_directory(d.file("dir"));
  ASSERT_EQ(::mkfifo(d.file("fifo").c_str(), 0700), 0);
  int n = 0;
  for (const std::string& program : {d.file("missing"), d.file("not-executable"), d.file("dir"),
                                     d.file("fifo"), std::string("no-such-cmd-hx")}) {
    const std::string out = d.file("run" + std::to_string(n++));
    // Before the fix the probes were made and the tracer started (a stand-in that fails at
    // once: exit 9) before the program was looked for.
    auto r = harness({"run", "--veth", "--no-preflight", "--backend", "stap", "--stap",
                      "/bin/false", "--out", out, "--exec", "--", program, "{iface}"});
    EXPECT_EQ(r.status.code, 2) << program << ": " << r.err;
    EXPECT_TRUE(has(r.err, "harness: --exec " + program)) << r.err;
    EXPECT_FALSE(fs::exists(out)) << program;
  }
}

TEST(HostileFeatures, APidOutOfRangeIsRefusedAsGiven) {
  TempDir d;
  // Parsed as unsigned, "-1" became 4294967295 and "-4294967295" became 1: init.
  for (const std::string pid : {"-1", "-4294967295", "0", "4194305", "4294967295"}) {
    auto r = harness({"run", "--pid", pid, "--no-preflight", "--backend", "stap", "--stap",
                      "/bin/false", "--out", d.file("run")});
    EXPECT_EQ(r.status.code, 2) << pid << ": " << r.err;
    EXPECT_TRUE(has(r.err, "harness: --pid " + pid + ": is not a process id")) << r.err;
    EXPECT_FALSE(fs::exists(d.file("run"))) << pid;
  }
}

TEST(HostileFeatures, SecondsTooSmallToCountAreRefusedNotZero) {
  TempDir d;
  // 1e-9 s became a wait of 0 ms: "no READY record within 0 s" after the probes were made.
  for (const char* option : {"--ready-timeout", "--settle-timeout", "--stop-grace"}) {
    auto r = harness({"run", "--veth", "--no-preflight", "--backend", "stap", "--stap",
                      "/bin/false", "--out", d.file("run"), option, "1e-9"});
    EXPECT_EQ(r.status.code, 2) << option << ": " << r.err;
    EXPECT_TRUE(has(r.err, std::string(option) + " 1e-09")) << r.err;
    EXPECT_FALSE(fs::exists(d.file("run"))) << option;
  }
  auto r = harness({"run", "--pid", "1", "--duration", "1e-9", "--out", d.file("run")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--duration 1e-09")) << r.err;
}

// doctor "prints the same checks" as run: with the perf run would use missing, it must not say ok.
TEST(HostileFeatures, DoctorChecksThePerfRunWouldUse) {
  auto r = run({"doctor", "--backend", "kprobe", "--veth"},
               {"/usr/bin/env", "HARNESS_PERF=/nonexistent/perf"});
  EXPECT_TRUE(has(r.out, "FAIL  perf")) << r.out;
  r = harness({"doctor", "--backend", "kprobe", "--veth", "--perf", "/nonexistent/perf"});
  EXPECT_TRUE(has(r.out, "FAIL  perf")) << r.out;
}

// vm exec copies --module into its directory: a planted symlink there was written through.
// `vm run --out D --html D/report.html`: D does not exist yet, vm run makes it; the page in it
// is no reason to refuse (the check stops at the missing prebuilt probes instead).
TEST(HostileFeatures, HtmlInTheVmDirectoryItMakesIsAccepted) {
  TempDir d;
  const std::string kb = fake_kernel_build(d);
  for (const std::string& out : {d.file("vm"), d.file("vm/")}) {
    auto r =
        harness({"vm", "run", "--kernel-build", kb, "--accel", "tcg", "--timeout", "5", "--out",
                 out, "--html", d.file("vm/report.html"), "--kprobes", d.file("missing.kprobes")});
    EXPECT_EQ(r.status.code, 2) << r.err;
    EXPECT_FALSE(has(r.err, "--html")) << r.err;
    EXPECT_TRUE(has(r.err, "missing.kprobes")) << r.err;
  }
  // Elsewhere the directory must exist.
  auto r = harness({"vm", "run", "--kernel-build", kb, "--out", d.file("vm"), "--html",
                    d.file("nodir/report.html"), "--kprobes", d.file("missing.kprobes")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--html")) << r.err;
}

// `run --out D --json D/x.json --html D/x.html` with D not made yet: the run makes D before its
// probes, so the outputs are fine (issue 12's note left this refused while `vm run` took it).
// A bad --tolerance given with them stops the run after the output check: its error, not one
// about the outputs, shows they passed, and nothing is made.
TEST(HostileFeatures, RunOutputsInTheRunDirectoryItMakesAreAccepted) {
  TempDir d;
  auto r = harness({"run", "--veth", "--no-preflight", "--out", d.file("new"), "--json",
                    d.file("new/x.json"), "--html", d.file("new/x.html"), "--tolerance", "nan"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--tolerance")) << r.err;
  EXPECT_FALSE(has(r.err, "--json")) << r.err;
  EXPECT_FALSE(fs::exists(d.file("new")));
  // In a directory of it, or outside it, the directory must exist.
  r = harness({"run", "--veth", "--no-preflight", "--out", d.file("new"), "--json",
               d.file("new/sub/x.json"), "--tolerance", "nan"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--json")) << r.err;
}

// `vm run --out DIR` / `vm exec --out DIR` with the user's files in DIR: the VM's console log,
// job files and results would replace files of the same names, so DIR must be new or empty.
TEST(HostileFeatures, AVmDirectoryHoldingFilesIsRefused) {
  TempDir d;
  const std::string kb = fake_kernel_build(d);
  fs::create_directory(d.file("mine"));
  ASSERT_TRUE(write_file_atomic(d.file("mine/console.log"), "precious"));
  for (const char* cmd : {"run", "exec"}) {
    auto r = harness({"vm", cmd, "--kernel-build", kb, "--accel", "tcg", "--timeout", "5", "--out",
                      d.file("mine"), "--", "/bin/true"});
    EXPECT_EQ(r.status.code, 2) << cmd << ": " << r.err;
    EXPECT_TRUE(has(r.err, "is not empty")) << r.err;
    EXPECT_TRUE(*read_file(d.file("mine/console.log")) == "precious") << cmd;
    EXPECT_EQ(std::distance(fs::directory_iterator(d.file("mine")), fs::directory_iterator()), 1);
  }
  // The demo says so before its packages and kernel build, not once the VM is due.
  auto r = harness({"demo", "--no-install", "--cache", d.file("cache"), "--out", d.file("mine")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "is not empty")) << r.err;
  EXPECT_FALSE(fs::exists(d.file("cache/kernels")));
}

TEST(HostileFeatures, VmExecNeverCopiesTheModuleThroughASymlink) {
  TempDir d;
  ASSERT_TRUE(write_file_atomic(d.file("mod.ko"), "a module"));
  ASSERT_TRUE(write_file_atomic(d.file("victim"), "precious"));
  fs::create_directory(d.file("vm"));
  fs::create_symlink(d.file("victim"), d.file("vm/mod.ko"));
  auto r =
      harness({"vm", "exec", "--kernel-build", fake_kernel_build(d), "--accel", "tcg", "--timeout",
               "5", "--out", d.file("vm"), "--module", d.file("mod.ko"), "--", "/bin/true"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(*read_file(d.file("victim")) == "precious") << "written through the symlink";
}

} // namespace
} // namespace harness
