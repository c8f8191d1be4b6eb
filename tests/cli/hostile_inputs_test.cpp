// `harness` as a hostile but fair user runs it (issue 12): bad inputs are errors with a
// consistent exit status, and no file the user did not ask for is written or clobbered.
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "cli_test_util.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using harness::cli_testing::copy_to;
using harness::cli_testing::has;
using harness::cli_testing::TempDir;

namespace {

const std::string kHarness = std::string(HARNESS_BINARY_DIR) + "/bin/harness";
const std::string kMap61 = std::string(HARNESS_SOURCE_DIR) + "/probes/maps/6.1.192-debian.json";
const std::string kTraces = std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/";

std::string source_of(const std::string& series) {
  return std::string(KERNEL_SOURCES_DIR) + "/linux-source-" + series + "/net/packet/af_packet.c";
}

Captured harness_cmd(const std::vector<std::string>& args) {
  auto r = run_captured(ChildSpec{.exe = kHarness, .args = args}, 120s);
  EXPECT_TRUE(r) << format_error(r.error());
  return r ? *r : Captured{};
}

#define NEED_SOURCES()                                                                             \
  if (!fs::exists(source_of("6.1")) || !fs::exists(source_of("6.12")))                             \
  GTEST_SKIP() << "needs the extracted linux-source-6.1 and -6.12 (scripts/install-deps --tests)"

} // namespace

TEST(HostileInputs, DriftUpdateNeverWritesAnotherKernelsLinesIntoAMap) {
  NEED_SOURCES();
  TempDir d;
  const std::string map = copy_to(kMap61, d.file("6.1.json"));
  const std::string before = *read_file(map);
  // The 6.12 source inside its tree: its release is known and differs.
  auto r = harness_cmd({"drift", "--source", source_of("6.12"), "--map", map, "--update"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "6.12")) << r.err;
  EXPECT_EQ(*read_file(map), before);
  // The same file alone: its release is unknown, its sha1 differs; the header must not call it
  // a 6.1.192 source.
  const std::string loose = copy_to(source_of("6.12"), d.file("af_packet.c"));
  r = harness_cmd({"drift", "--source", loose, "--map", map, "--update"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_EQ(*read_file(map), before);
  const auto src_line = r.out.substr(
      r.out.find("source:"), r.out.find('\n', r.out.find("source:")) - r.out.find("source:"));
  EXPECT_FALSE(has(src_line, "6.1.192")) << src_line;
  // The very source of the map is still accepted (nothing drifted: exit 0).
  r = harness_cmd({"drift", "--source", source_of("6.1"), "--map", map, "--update"});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
}

TEST(HostileInputs, DriftOnSomethingElseIsAnErrorNotDrift) {
  auto r = harness_cmd({"drift", "--source", "/etc/passwd", "--kernel", "6.1"});
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_TRUE(has(r.err, "not net/packet/af_packet.c")) << r.err;
  EXPECT_FALSE(has(r.out, "drifted")) << r.out;
}

TEST(HostileInputs, GenerateRefusesASourceOfAnotherKernel) {
  NEED_SOURCES();
  TempDir d;
  auto r = harness_cmd(
      {"generate", "--kernel", "6.1", "--source", source_of("6.12"), "-o", d.file("tx.stp")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "6.12")) << r.err;
  EXPECT_FALSE(fs::exists(d.file("tx.stp")));
}

TEST(HostileInputs, GenerateWritesNoScriptWhenItsPlanCannotBeWritten) {
  TempDir d;
  fs::create_directory(d.file("tx.stp.plan.json")); // the plan's path is taken by a directory
  auto r = harness_cmd({"generate", "--kernel", "6.1", "-o", d.file("tx.stp")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_FALSE(fs::exists(d.file("tx.stp"))) << "script written without its plan";
}

TEST(HostileInputs, ReportNeverOverwritesItsInput) {
  TempDir d;
  const std::string trace =
      copy_to(kTraces + "6.1.192-O0-v2-2frames-status.trace", d.file("t.txt"));
  const std::string before = *read_file(trace);
  auto r = harness_cmd({"report", "--trace", trace, "--json", trace});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "input")) << r.err;
  EXPECT_EQ(*read_file(trace), before);
  ASSERT_EQ(::link(trace.c_str(), d.file("hard").c_str()), 0); // the same inode, another name
  r = harness_cmd({"report", "--trace", trace, "--json", d.file("hard")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_EQ(*read_file(trace), before);
}

TEST(HostileInputs, ATraceWithoutRecordsIsNeverOk) {
  TempDir d;
  std::string noise;
  for (int i = 0; i < 65536; ++i)
    noise.push_back(static_cast<char>((i * 2654435761u) >> 13));
  ASSERT_TRUE(write_file_atomic(d.file("noise"), noise));
  for (const std::string& t :
       {std::string("/dev/null"), std::string("/etc/passwd"), d.file("noise")}) {
    auto r = harness_cmd({"report", "--trace", t});
    EXPECT_EQ(r.status.code, 2) << t << ": " << r.out;
    EXPECT_FALSE(has(r.out, "verdict: OK")) << t << ": " << r.out;
  }
}

TEST(HostileInputs, InputsMustBeRegularFilesWithOneExitStatus) {
  TempDir d;
  const std::string fifo = d.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string trace = kTraces + "6.1.192-O0-v2-2frames-status.trace";
  // A FIFO used to block forever; a directory gave 14 and a missing file 2.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"map", "--source", fifo},
           {"map", "--source", d.path()},
           {"map", "--source", d.file("missing.c")},
           {"report", "--trace", trace, "--plan", fifo},
           {"report", "--trace", fifo},
           {"report", "--trace", d.path()},
           {"report", "--trace", d.file("missing")},
           {"report", "--trace", trace, "--sender", d.path()},
           {"report", "--trace", trace, "--baseline", fifo},
           {"drift", "--source", fifo, "--kernel", "6.1"},
           {"generate", "--kernel", "6.1", "--source", d.path()}}) {
    auto r = harness_cmd(args);
    std::string line;
    for (const auto& a : args)
      line += a + " ";
    EXPECT_EQ(r.status.code, 2) << line << ": " << r.err;
    EXPECT_TRUE(has(r.err, "harness: ")) << line << ": " << r.err;
  }
}

// A file named by an option that cannot be read: the error names the option with the path and
// the hint says what the option wants ("harness: /x: No such file or directory" said neither).
TEST(HostileInputs, AnUnreadableInputNamesItsOptionAndWhatItWants) {
  TempDir d;
  const std::string missing = d.file("missing");
  const std::string af_packet = "hint: give the path of a kernel tree's net/packet/af_packet.c";
  const std::string plan = "hint: give the plan.json of a run directory, or the NAME.plan.json";
  const std::string map = "hint: give a line map: probes/maps/NAME.json";
  const std::string trace = kTraces + "6.1.192-O0-v2-2frames-status.trace";
  struct Case {
    std::vector<std::string> args;
    std::string what; // the error's first line
    std::string hint;
  };
  for (const auto& c : std::vector<Case>{
           {{"map", "--source", missing},
            "harness: --source " + missing + ": No such file",
            af_packet},
           {{"drift", "--source", missing, "--kernel", "6.1"},
            "harness: --source " + missing + ": No such file",
            af_packet},
           {{"generate", "--kernel", "6.1", "--source", d.path()},
            "harness: --source " + d.path() + ": is a directory, not a regular file",
            af_packet},
           {{"kernel", "prepare", "--source", d.path(), "--fragment", missing},
            "harness: --fragment " + missing + ": No such file",
            "hint: give a kernel config fragment"},
           // The loaders of harness's own files: missing, or not one of them.
           {{"report", "--trace", trace, "--plan", missing},
            "harness: --plan " + missing + ": No such file",
            plan},
           {{"report", "--trace", trace, "--plan", "/etc/passwd"},
            "harness: --plan /etc/passwd: not valid JSON",
            plan},
           {{"build", "--kernel-build", d.path(), "--script", trace, "--plan", d.path()},
            "harness: --plan " + d.path() + ": is a directory",
            plan},
           {{"drift", "--map", missing, "--source", trace},
            "harness: --map " + missing + ": No such file",
            map},
           {{"drift", "--map", trace, "--source", trace},
            "harness: --map " + trace + ": not valid JSON",
            map}}) {
    auto r = harness_cmd(c.args);
    EXPECT_EQ(r.status.code, 2) << c.args[0] << ": " << r.err;
    EXPECT_TRUE(has(r.err, c.what)) << c.args[0] << ": " << r.err;
    EXPECT_TRUE(has(r.err, c.hint)) << c.args[0] << ": " << r.err;
  }
}

TEST(HostileInputs, OutputsAreCheckedBeforeAnyWork) {
  TempDir d;
  // `run --json` into a missing directory fails before the run, naming --json.
  auto r = harness_cmd({"run", "--json", d.file("no/such/dir/report.json"), "--veth"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "--json")) << r.err;
  // `vm run` with a wrong --kernel-build leaves no run directory behind.
  r = harness_cmd({"vm", "run", "--kernel-build", "/nonexistent", "--out", d.file("vm-out")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_FALSE(fs::exists(d.file("vm-out")));
  // `report --json` onto a device or a FIFO is refused before the trace is read.
  const std::string trace = kTraces + "6.1.192-O0-v2-2frames-status.trace";
  r = harness_cmd({"report", "--trace", trace, "--json", "/dev/full"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  struct stat st {};
  ASSERT_EQ(::lstat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(HostileInputs, MapAndGenerateNeverOverwriteTheirSource) {
  NEED_SOURCES();
  TempDir d;
  const std::string src = copy_to(source_of("6.1"), d.file("af_packet.c"));
  const std::string before = *read_file(src);
  auto r = harness_cmd({"map", "--source", src, "--kernel", "6.1.192", "-o", src});
  EXPECT_EQ(r.status.code, 2) << r.err;
  r = harness_cmd({"generate", "--kernel", "6.1.192", "--source", src, "-o", src});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_EQ(*read_file(src), before);
}

TEST(HostileInputs, GenerateSaysWhenOnlyKernelLabelsALooseSource) {
  NEED_SOURCES();
  TempDir d;
  const std::string loose = copy_to(source_of("6.12"), d.file("af_packet.c"));
  auto r = harness_cmd({"generate", "--kernel", "6.1", "--source", loose, "-o", d.file("tx.stp")});
  EXPECT_TRUE(has(r.err, "no kernel tree around")) << r.err; // never silently
}
