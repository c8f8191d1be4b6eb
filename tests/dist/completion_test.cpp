// dist/completion/harness completes the commands, subcommands and options harness's --help
// lists (it reads them from --help when completing; this runs it in a real bash).
#include "base/child_proc.hpp"
#include "help_options.hpp"

#include <gtest/gtest.h>
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

TEST(Completion, CommandsAreThoseOfHelp) {
  const auto commands = commands_in(help_of({}));
  EXPECT_EQ(complete({""}), std::set<std::string>(commands.begin(), commands.end()));
  EXPECT_EQ(complete({"ge"}), std::set<std::string>{"generate"});
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
