// `cmake --install` into a temporary DESTDIR, then the installed binary run from another
// directory with the source tree (and the build tree inside it) hidden under an empty tmpfs in a
// private mount namespace: it must find its data under its own prefix, not in the checkout.
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "help_options.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace harness::dist_testing {
namespace {

namespace fs = std::filesystem;

struct Ran {
  int status = -1;
  std::string out;
};

// Runs `exe args` in `cwd` with HARNESS_DATA_DIR unset and HARNESS_SOURCE_DIR masked by tmpfs.
Ran run_without_source_tree(const std::string& exe, const std::vector<std::string>& args,
                            const std::string& cwd) {
  int fds[2];
  if (::pipe(fds) != 0)
    return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", HARNESS_SOURCE_DIR, "tmpfs", 0, "size=1m") != 0 || ::chdir(cwd.c_str()))
      ::_exit(121);
    ::unsetenv("HARNESS_DATA_DIR");
    std::vector<char*> argv{const_cast<char*>(exe.c_str())};
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  Ran r;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    r.out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class Installed : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dest_ = new std::string(fs::temp_directory_path() /
                            ("harness-install-" + std::to_string(::getpid())));
    ChildSpec spec{.exe = HARNESS_CMAKE,
                   .args = {"--install", HARNESS_BINARY_DIR, "--prefix", "/usr/local"},
                   .env = {{"DESTDIR", *dest_}}};
    auto r = run_captured(spec, std::chrono::minutes(5));
    ASSERT_TRUE(r && r->status.success()) << (r ? r->out + r->err : format_error(r.error()));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dest_, ec);
    delete dest_;
  }
  static std::string prefix() { return *dest_ + "/usr/local"; }
  static std::string exe() { return prefix() + "/bin/harness"; }
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "needs root (a private mount namespace hides the source tree)";
  }
  static std::string* dest_;
};
std::string* Installed::dest_ = nullptr;

TEST_F(Installed, LaysOutBinaryDataManPagesAndCompletion) {
  for (const auto* f :
       {"bin/harness", "bin/harness-vm-preinit", "share/harness/probes/maps/6.1.192-debian.json",
        "share/harness/probes/maps/6.12.117-debian.json",
        "share/harness/kernel/probe-kernel.config", "share/man/man1/harness.1",
        "share/man/man1/harness-run.1", "share/bash-completion/completions/harness"})
    EXPECT_TRUE(fs::exists(prefix() + "/" + f)) << f;
  for (const auto& cmd : commands_in(help_of({})))
    EXPECT_TRUE(fs::exists(prefix() + "/share/man/man1/harness-" + cmd + ".1")) << cmd;
}

TEST_F(Installed, RunsFromElsewhereWithTheSourceTreeHidden) {
  const std::string cwd = fs::temp_directory_path();
  auto v = run_without_source_tree(exe(), {"--version"}, cwd);
  ASSERT_EQ(v.status, 0) << v.out;
  EXPECT_NE(v.out.find("data: " + prefix() + "/share/harness\n"), std::string::npos) << v.out;

  auto gen = run_without_source_tree(exe(), {"generate", "--kernel", "6.1"}, cwd);
  ASSERT_EQ(gen.status, 0) << gen.out;
  EXPECT_NE(gen.out.find("kernel.statement(\"tpacket_snd@net/packet/af_packet.c:"),
            std::string::npos);

  // The source tree really is hidden: its own af_packet.c maps cannot be read from there.
  auto hidden = run_without_source_tree("/bin/ls", {HARNESS_SOURCE_DIR "/probes/maps"}, cwd);
  EXPECT_NE(hidden.status, 0) << hidden.out;

  auto help = run_without_source_tree(exe(), {"--help"}, cwd);
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("commands:"), std::string::npos);
}

TEST_F(Installed, MapsAnAfPacketSourceFromElsewhere) {
  // A real af_packet.c: the 6.1 test kernel's, copied out of the tree before hiding it.
  const std::string tmp = fs::temp_directory_path() / ("harness-map-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  const std::string src = std::string(HARNESS_BINARY_DIR) +
                          "/tests/kernel-sources/linux-source-6.1/net/packet/af_packet.c";
  if (!fs::exists(src))
    GTEST_SKIP() << src << " not extracted (linux-source-6.1 missing)";
  fs::copy_file(src, tmp + "/af_packet.c", fs::copy_options::overwrite_existing);
  auto map = run_without_source_tree(
      exe(), {"map", "--source", tmp + "/af_packet.c", "--kernel", "6.1.192"}, tmp);
  fs::remove_all(tmp);
  ASSERT_EQ(map.status, 0) << map.out;
  EXPECT_NE(map.out.find("\"harness.map/1\""), std::string::npos) << map.out;
}

TEST_F(Installed, MissingDataIsReportedUnderTheInstalledPathNotTakenFromTheCheckout) {
  const std::string maps = prefix() + "/share/harness/probes/maps";
  const std::string moved = prefix() + "/share/harness/probes/maps.away";
  fs::rename(maps, moved);
  auto gen = run_without_source_tree(exe(), {"generate", "--kernel", "6.1"}, "/");
  fs::rename(moved, maps);
  EXPECT_EQ(gen.status, 8) << gen.out;
  EXPECT_NE(gen.out.find(maps), std::string::npos) << gen.out;
}

} // namespace
} // namespace harness::dist_testing
