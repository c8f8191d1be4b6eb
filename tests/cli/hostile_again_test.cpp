// `harness` tried again as a new and as a hostile user (issue 30): each test fails on the code
// before the fix of its defect (the number in the test's comment is the issue's).
#include "base/files.hpp"
#include "cli_test_util.hpp"

#include <fcntl.h>
#include <filesystem>
#include <gtest/gtest.h>
#include <regex>
#include <sys/wait.h>
#include <unistd.h>

using namespace harness;
using harness::cli_testing::copy_to;
using harness::cli_testing::has;
using harness::cli_testing::TempDir;
using namespace std::string_literals;

namespace {

const std::string kRun =
    std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/6.1.192-O0-v2-2frames-ring8-run";

// The fixture's sender records with `from` replaced by `to` (once).
std::string edited_sender(TempDir& d, const std::string& from, const std::string& to) {
  std::string text = *read_file(kRun + ".sender.json");
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  const std::string path = d.file("sender-" + std::to_string(text.size()) + ".json");
  EXPECT_TRUE(write_file_atomic(path, text));
  return path;
}

Captured report_with(const std::vector<std::string>& more) {
  std::vector<std::string> argv = {"report", "--trace", kRun + ".trace", "--plan",
                                   kRun + ".plan.json"};
  argv.insert(argv.end(), more.begin(), more.end());
  return cli_testing::harness(argv);
}

// 5: a number beyond a double's range was an "internal error" (exit 70); now bad input, named.
TEST(HostileAgain, ANumberOutOfRangeInAJsonInputIsBadInput) {
  TempDir d;
  auto r = report_with({"--sender", edited_sender(d, "\"pid\": 26", "\"pid\": 1e400")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "sender records")) << r.err;
  EXPECT_TRUE(has(r.err, "number overflow")) << r.err;
  EXPECT_FALSE(has(r.err, "internal error")) << r.err;
  // The baseline, read by the same parser.
  ASSERT_EQ(report_with({"--json", d.file("base.json")}).status.code, 0);
  std::string base = *read_file(d.file("base.json"));
  base.insert(base.rfind('}'), ", \"x\": -1e999");
  ASSERT_TRUE(write_file_atomic(d.file("base.json"), base));
  r = report_with({"--baseline", d.file("base.json")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "number overflow")) << r.err;
}

// 10: a 100 MB array under a key no reader knows took 2 GB (std::bad_alloc, exit 70, under a
// limit) before the missing-field error. The reader now keeps only its format's keys: the same
// file's 40 MB sibling is read past within a 400 MB address space, and the error is the one the
// file deserves. Every frame of a real record stays (its size is what the reader needs).
TEST(HostileAgain, JunkUnderAnUnknownKeyIsNotHeldInMemory) {
  TempDir d;
  const std::string junk = d.file("junk.json");
  {
    std::string text = "{\"x\":[";
    for (int i = 0; i < 20'000'000; ++i)
      text += "0,";
    text += "0]}";
    ASSERT_TRUE(write_file_atomic(junk, text));
  }
  auto r = report_with({"--sender", junk});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "sender record schema: missing")) << r.err;
#if !defined(__SANITIZE_ADDRESS__) // its shadow memory does not fit an address-space limit
  std::vector<std::string> argv = {
      "report", "--trace", kRun + ".trace", "--plan", kRun + ".plan.json", "--sender", junk};
  r = cli_testing::run(argv, {"prlimit", "--as=400000000"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "sender record schema: missing")) << r.err;
#endif
  // Junk beside a real record's keys: the record is read as it is.
  const std::string real = *read_file(kRun + ".sender.json");
  std::string text = real;
  text.insert(text.find('{') + 1, "\"junk\": [\"" + std::string(1000, 'j') + "\", [], {}],");
  ASSERT_TRUE(write_file_atomic(d.file("real.json"), text));
  r = report_with({"--sender", d.file("real.json")});
  EXPECT_EQ(r.status.code, 0) << r.err;
}

// 6: a key given twice changed the verdict (the last one won); bytes after a NUL were ignored.
TEST(HostileAgain, AKeyGivenTwiceOrANulByteIsRefused) {
  TempDir d;
  auto r = report_with({"--sender", edited_sender(d, "\"pid\": 26", "\"pid\": 26, \"pid\": 27")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "\"pid\" is given twice")) << r.err;
  const std::string text = *read_file(kRun + ".sender.json");
  ASSERT_TRUE(write_file_atomic(d.file("nul.json"), text + "\0{}"s));
  r = report_with({"--sender", d.file("nul.json")});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "NUL")) << r.err;
}

// 17: errors without the promised hint line.
TEST(HostileAgain, BadNumbersGetAHint) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"report", "--trace", kRun + ".trace", "--tolerance", "-1"},
        {"run", "--veth", "--no-preflight", "--ready-timeout", "-1"},
        {"run", "--veth", "--no-preflight", "--stop-grace", "1e300"}}) {
    auto r = cli_testing::harness(args);
    EXPECT_EQ(r.status.code, 2) << args[3] << ": " << r.err;
    EXPECT_TRUE(has(r.err, "harness: --")) << r.err;
    EXPECT_TRUE(has(r.err, "\nhint: ")) << r.err;
  }
}

// 11: a refusal worded as a choice ("using the nearest, 6.1.192 ...", then exit 8).
TEST(HostileAgain, ARefusalSaysItRefuses) {
  auto r = cli_testing::harness({"generate", "--kernel", "5.x"});
  EXPECT_EQ(r.status.code, 8) << r.err;
  EXPECT_TRUE(has(r.err, "is refused")) << r.err;
  EXPECT_FALSE(has(r.err, "using the nearest")) << r.err;
  EXPECT_TRUE(has(r.err, "--allow-nearest")) << r.err;
}

// 14: a --kernel that is no version and --veth with an interface were accepted silently.
TEST(HostileAgain, KernelSpecsAndInterfacesAreCheckedEverywhere) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"doctor", "--kernel", "garbage!!"},
        {"run", "--kernel", "garbage!!", "--veth"},
        {"generate", "--kernel", "garbage!!"}}) {
    auto r = cli_testing::harness(args);
    EXPECT_EQ(r.status.code, 2) << args[0] << ": " << r.err;
    EXPECT_TRUE(has(r.err, "harness: --kernel garbage!!: not a kernel version")) << r.err;
    EXPECT_TRUE(has(r.err, "\nhint: ")) << r.err;
  }
  auto r = cli_testing::harness({"doctor", "--veth", "eth0"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "harness: --veth: ")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// 13: `send --veth --records /sys/kernel/notes` passed the check (access(2) says yes to root),
// sent, then failed with exit 14 without naming --records. The check now makes a file there.
TEST(HostileAgain, AnOutputWhereNoFileCanBeMadeIsRefusedBeforeTheWork) {
  auto r = cli_testing::harness({"report", "--trace", kRun + ".trace", "--json", "/proc/x.json"});
  EXPECT_EQ(r.status.code, 14) << r.err;
  EXPECT_TRUE(has(r.err, "harness: --json /proc/x.json: a file cannot be created")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  if (::geteuid() != 0)
    GTEST_SKIP() << "the send case needs root";
  r = cli_testing::harness({"send", "--veth", "-c", "1", "--records", "/sys/kernel/notes"});
  EXPECT_EQ(r.status.code, 14) << r.err;
  EXPECT_TRUE(has(r.err, "harness: --records /sys/kernel/notes: a file cannot be created"))
      << r.err;
  EXPECT_TRUE(r.out.empty()) << "nothing is sent: " << r.out;
}

// 4: doctor mounted tracefs (a second doctor then said something else). It changes nothing: the
// mounts are the same after it, and so is its verdict the second time.
TEST(HostileAgain, DoctorChangesNothingAndSaysTheSameTwice) {
  const std::string mounts_before = read_file("/proc/self/mounts").value_or("");
  auto first = cli_testing::harness({"doctor", "--veth", "--backend", "kprobe"});
  auto second = cli_testing::harness({"doctor", "--veth", "--backend", "kprobe"});
  EXPECT_EQ(read_file("/proc/self/mounts").value_or(""), mounts_before);
  EXPECT_EQ(first.status.code, second.status.code) << first.out << second.out;
  EXPECT_EQ(first.out, second.out);
}

// The fixture's sender records with every timestamp moved by `shift_ns` (its clock ahead).
std::string shifted_sender(TempDir& d, std::int64_t shift_ns) {
  const std::string text = *read_file(kRun + ".sender.json");
  const std::regex stamp("(\"t_[a-z]+_ns\": )([0-9]+)");
  std::string out;
  auto at = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), stamp), end; it != end; ++it) {
    out.append(at, (*it)[0].first);
    const std::int64_t t = std::stoll((*it)[2].str());
    out += (*it)[1].str() + std::to_string(t == 0 ? 0 : t + shift_ns);
    at = (*it)[0].second;
  }
  out.append(at, text.cend());
  const std::string path = d.file("shifted.json");
  EXPECT_TRUE(write_file_atomic(path, out));
  return path;
}

// A baseline of another scenario (20 frames at -O0 against 2 at -O2) was compared without a word.
TEST(HostileAgain, ABaselineOfAnotherScenarioIsSaidToBeNotComparable) {
  TempDir d;
  const std::string fixtures = std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/";
  auto with = [&](const std::string& run, std::vector<std::string> more) {
    std::vector<std::string> args = {"report",
                                     "--trace",
                                     fixtures + run + ".trace",
                                     "--sender",
                                     fixtures + run + ".sender.json",
                                     "--plan",
                                     fixtures + run + ".plan.json"};
    args.insert(args.end(), more.begin(), more.end());
    return cli_testing::harness(args);
  };
  ASSERT_EQ(with("6.1.192-O0-v2-20frames-ring8-run", {"--json", d.file("b.json")}).status.code, 0);
  auto r = with("6.1.192-O2-v2-2frames-ring8-run", {"--baseline", d.file("b.json")});
  EXPECT_TRUE(has(r.out, "NOT COMPARABLE")) << r.out;
  EXPECT_TRUE(has(r.out, "frames requested 20 -> 2")) << r.out;
  EXPECT_TRUE(has(r.out, "the SENDING phase is observable in the baseline, not now")) << r.out;
  r = with("6.1.192-O0-v2-20frames-ring8-run", {"--baseline", d.file("b.json")});
  EXPECT_EQ(r.status.code, 0) << r.out;
  EXPECT_FALSE(has(r.out, "NOT COMPARABLE")) << r.out;
}

// The exit status of harness `args` run with its standard streams on these files (fork/exec
// here because ChildSpec's stdin is always /dev/null and its stdout is captured or inherited).
int with_streams(const std::vector<std::string>& args, const std::string& in,
                 const std::string& out, const std::string& err) {
  std::vector<std::string> argv = {cli_testing::kHarness};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_argv;
  for (auto& a : argv)
    c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fds[] = {::open(in.c_str(), O_RDONLY),
                       ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600),
                       ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600)};
    for (int i = 0; i < 3; ++i)
      if (fds[i] < 0 || ::dup2(fds[i], i) < 0)
        ::_exit(127);
    ::execv(c_argv[0], c_argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// 9: kernel records 20 ms before the sender's SEND_REQUEST printed "latency 11.92 ms" (the minus
// sign dropped) and verdict OK. Clocks that disagree are an anomaly, and no sign is dropped.
TEST(HostileAgain, ClocksThatDisagreeAreAnAnomalyAndKeepTheirSign) {
  TempDir d;
  const std::string sender = shifted_sender(d, 20'000'000);
  auto r = report_with({"--sender", sender, "--max-rows", "0"});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "the kernel's and the sender's clocks disagree: 2 frames have kernel "
                         "records before the sender began filling them"))
      << r.out;
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("AVAILABLE\\s.*\\n.*\\s-[0-9.]+ ms\\s+completed")))
      << r.out;
  // The same records on agreeing clocks: OK.
  r = report_with({"--sender", shifted_sender(d, 0)});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
}

// `report` on a raw kprobe capture said only "no HX1 record"; it names what it got and what to
// give. `--trace -` reads standard input.
TEST(HostileAgain, ReportNamesATracefsCaptureAndReadsStandardInput) {
  const std::string fixtures = std::string(HARNESS_SOURCE_DIR) + "/tests/fixtures/traces/";
  auto r = cli_testing::harness(
      {"report", "--trace", fixtures + "6.12.118-O0-v2-20frames-ring8-kprobe.tracefs"});
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "is tracefs text")) << r.err;
  EXPECT_TRUE(has(r.err, "hint: give trace.txt of the run directory")) << r.err;
  // Standard input: the trace given on fd 0.
  TempDir d;
  const int status = with_streams({"report", "--trace", "-", "--plan", kRun + ".plan.json", "-q"},
                                  kRun + ".trace", d.file("out"), d.file("out"));
  EXPECT_EQ(status, 0) << *read_file(d.file("out"));
  EXPECT_TRUE(has(*read_file(d.file("out")), "verdict: OK")) << *read_file(d.file("out"));
}

// The exit status of harness `args` run with its stdout on /dev/full (a disk that is full) and
// its stderr in `err`.
int on_a_full_disk(const std::vector<std::string>& args, const std::string& err) {
  if (std::filesystem::exists(err))
    std::filesystem::remove(err);
  return with_streams(args, "/dev/null", "/dev/full", err);
}

// 7: `map --source af_packet.c > /dev/full` exited 0 with an empty map; so did generate, drift
// --json, report and --version. Exit 14 and a line naming standard output.
TEST(HostileAgain, OutputThatCannotBeWrittenIsAnIoError) {
  if (!std::filesystem::exists(cli_testing::af_packet("6.1")))
    GTEST_SKIP() << "needs the extracted linux-source-6.1 (scripts/install-deps --tests)";
  TempDir d;
  const std::string src = cli_testing::af_packet("6.1");
  const std::vector<std::vector<std::string>> commands = {
      {"map", "--source", src},
      {"generate", "--source", src, "--kernel", "6.1"},
      {"drift", "--source", src, "--kernel", "6.1", "--json"},
      {"report", "--trace", kRun + ".trace", "--plan", kRun + ".plan.json"},
      {"--version"},
      {"run", "--help"}};
  for (const auto& args : commands) {
    const std::string err = d.file("err");
    EXPECT_EQ(on_a_full_disk(args, err), 14) << args[0] << ": " << *read_file(err);
    EXPECT_TRUE(has(*read_file(err), "harness: standard output: cannot be written"))
        << args[0] << ": " << *read_file(err);
    EXPECT_TRUE(has(*read_file(err), "hint: ")) << *read_file(err);
  }
}

} // namespace
