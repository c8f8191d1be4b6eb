// dist/completion/harness completes the commands, subcommands and options harness's --help
// lists (it reads them from --help when completing; this runs it in a real bash).
#include "base/child_proc.hpp"
#include "harness/cli/commands.hpp"
#include "help_options.hpp"

#include <gtest/gtest.h>
#include <map>
#include <sstream>

namespace harness::dist_testing {
namespace {

// COMPREPLY of the completion function for the words typed so far (the last one is completed).
std::set<std::string> complete(const std::vector<std::string>& words) {
  std::string script = "source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); "
                       "_harness; printf '%s\\n' \"${COMPREPLY[@]}\"";
  ChildSpec spec{.exe = "bash",
                 .args = {"-c", script, "complete",
                          std::string(HARNESS_SOURCE_DIR) + "/dist/completion/harness"}};
  spec.args.push_back(harness_exe());
  spec.args.insert(spec.args.end(), words.begin(), words.end());
  auto r = run_captured(spec, std::chrono::seconds(60));
  EXPECT_TRUE(r && r->status.success()) << (r ? r->err : "");
  std::set<std::string> out;
  std::istringstream in(r ? r->out : "");
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.insert(line);
  return out;
}

std::set<std::string> long_only(const std::set<std::string>& opts) {
  std::set<std::string> out;
  for (const auto& o : opts)
    if (o.starts_with("--"))
      out.insert(o);
  return out;
}

// The commands of the real command table (harness/cli/commands.cpp), not of the --help the
// script itself reads: a --help whose format the script and the test both misread shows here.
TEST(Completion, CommandsAreThoseOfTheCommandTable) {
  std::set<std::string> table;
  for (const auto& c : cli::commands())
    if (!c.hidden)
      table.insert(std::string(c.name));
  ASSERT_GE(table.size(), 10u);
  EXPECT_EQ(complete({""}), table);
  const auto listed = commands_in(help_of({}));
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), table);
  EXPECT_EQ(complete({"ge"}), std::set<std::string>{"generate"});
  EXPECT_TRUE(complete({"vm-g"}).empty()) << "the guest's init is not a user command";
}

// A fixed list, one option of every shape a --help row takes (`-c [ --count ] arg`, `--kernel
// arg (=auto)`, a flag, a value named in the row such as `--frames N` or `--tpacket v1|v2|v3`)
// and the subcommands, written here rather than read from --help: a row shape the completion
// script (and help_options.cpp) stopped reading drops its options from both sides of the test
// above, and from this list's completions.
TEST(Completion, AFixedListOfSubcommandsAndOptionsOfEveryRowShape) {
  const std::map<std::vector<std::string>, std::set<std::string>> must = {
      {{"send"},
       {"--help", "--count", "--frames", "--records", "--tpacket", "--netns", "--veth", "--json",
        "--dgram", "--timeout-ms"}},
      {{"run"},
       {"--kernel", "--probes", "--build-dir", "--stap-arg", "--exec", "--pid", "--duration",
        "--backend", "--max-rows", "--html", "--no-pace", "--count", "--frames", "--tpacket"}},
      {{"report"}, {"--trace", "--sender", "--quiet", "--tpacket", "--max-rows", "--html"}},
      {{"doctor"}, {"--kernel", "--build-dir", "--veth", "--iface", "--module", "--backend"}},
      {{"map"}, {"--source", "--build-id", "--package", "--output"}},
      {{"generate"}, {"--kernel", "--allow-nearest", "--probes", "--output"}},
      {{"build"}, {"--kernel-build", "--name", "--no-cache", "--quiet"}},
      {{"verify"}, {"--kernel-build", "--probes", "--json"}},
      {{"demo"}, {"--kernel", "--backend", "--optimised", "--verbose", "--timeout"}},
      {{"kernel", "build"}, {"--build", "--jobs"}},
      {{"vm", "run"}, {"--kernel-build", "--accel", "--timeout", "--memory", "--verbose"}},
  };
  for (const auto& [words, options] : must) {
    std::vector<std::string> typed = words;
    typed.push_back("--");
    const auto got = complete(typed);
    for (const auto& o : options)
      EXPECT_TRUE(got.count(o)) << words.back() << " " << o;
  }
  EXPECT_EQ(complete({"kernel", ""}), (std::set<std::string>{"prepare", "build", "ensure"}));
  EXPECT_EQ(complete({"vm", ""}), (std::set<std::string>{"run", "exec"}));
}

TEST(Completion, OptionsOfEveryCommandAreThoseOfItsHelp) {
  for (const auto& cmd : commands_in(help_of({}))) {
    SCOPED_TRACE(cmd);
    const auto subs = subcommands_in(cmd, help_of({cmd}));
    if (subs.empty()) {
      EXPECT_EQ(complete({cmd, "--"}), long_only(options_in(help_of({cmd}))));
      continue;
    }
    EXPECT_EQ(complete({cmd, ""}), std::set<std::string>(subs.begin(), subs.end()));
    for (const auto& sub : subs)
      EXPECT_EQ(complete({cmd, sub, "--"}), long_only(options_in(help_of({cmd, sub})))) << sub;
  }
}

TEST(Completion, SkipsOptionValuesAndCompletesRunOptionsAfterVmRunDashes) {
  EXPECT_EQ(complete({"report", "--trace", "t.txt", "--ht"}), std::set<std::string>{"--html"});
  EXPECT_EQ(complete({"vm", "run", "--kernel-build", "k", "--", "--ready-t"}),
            std::set<std::string>{"--ready-timeout"});
}

TEST(Completion, ValuesAreTheChoicesTheOptionsHelpLineNames) {
  EXPECT_EQ(complete({"run", "--probes", ""}),
            (std::set<std::string>{"status", "call-return", "all"}));
  EXPECT_EQ(complete({"send", "--tpacket", "v"}), (std::set<std::string>{"v1", "v2", "v3"}));
  // A file or a name: left to bash's default completion.
  EXPECT_TRUE(complete({"report", "--trace", ""}).empty());
  EXPECT_TRUE(complete({"run", "--netns", ""}).empty());
}

} // namespace
} // namespace harness::dist_testing
