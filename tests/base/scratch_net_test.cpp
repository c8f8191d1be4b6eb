#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "base/scratch_net.hpp"

#include <algorithm>
#include <csignal>
#include <gtest/gtest.h>
#include <net/if.h>
#include <regex>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace harness;

TEST(ScratchNet, CreatesVethPairInsideNamespaceAndRemovesIt) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces";
  std::string name;
  {
    auto net = ScratchNet::create();
    ASSERT_TRUE(net) << format_error(net.error());
    name = net->name();
    EXPECT_TRUE(netns_exists(name));
    // The veth ends exist only inside the namespace.
    EXPECT_EQ(::if_nametoindex(net->tx_if().c_str()), 0u);
    {
      auto g = NetnsGuard::enter(net->path());
      ASSERT_TRUE(g);
      EXPECT_NE(::if_nametoindex(net->tx_if().c_str()), 0u);
      EXPECT_NE(::if_nametoindex(net->rx_if().c_str()), 0u);
    }
    EXPECT_EQ(::if_nametoindex(net->tx_if().c_str()), 0u);
  }
  EXPECT_FALSE(netns_exists(name));
}

// Issue 30: the veth sent its own IPv6 packets (MLD, DAD, router solicitation), which the
// sender's interface counters then mixed with its frames ("+4 packets for 3 frames").
TEST(ScratchNet, TheVethPairCarriesNoIpv6OfItsOwn) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces";
  if (::access("/proc/sys/net/ipv6", F_OK) != 0)
    GTEST_SKIP() << "a kernel without IPv6";
  auto net = ScratchNet::create();
  ASSERT_TRUE(net) << format_error(net.error());
  auto g = NetnsGuard::enter(net->path());
  ASSERT_TRUE(g);
  for (const std::string& dev : {net->tx_if(), net->rx_if()}) {
    auto v = read_file("/proc/sys/net/ipv6/conf/" + dev + "/disable_ipv6");
    ASSERT_TRUE(v) << dev;
    EXPECT_EQ(*v, "1\n") << dev;
  }
}

TEST(ScratchNet, MoveKeepsOneOwner) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces";
  auto a = ScratchNet::create();
  ASSERT_TRUE(a);
  const std::string name = a->name();
  ScratchNet b = std::move(*a);
  EXPECT_TRUE(netns_exists(name));
  EXPECT_TRUE(b.remove());
  EXPECT_FALSE(netns_exists(name));
}

namespace {

bool ip_ok(const std::vector<std::string>& args) {
  auto r = run_captured(ChildSpec{.exe = "ip", .args = args}, std::chrono::seconds(10));
  return r && r->status.success();
}

// A forked child that creates a scratch namespace, reports its name and waits to be killed.
struct DoomedOwner {
  pid_t pid = -1;
  std::string name;
  DoomedOwner() {
    int fds[2];
    if (::pipe(fds) != 0)
      return;
    pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      auto net = ScratchNet::create();
      const std::string n = net ? net->name() : "";
      (void)!::write(fds[1], n.c_str(), n.size() + 1);
      for (;;)
        ::pause();
    }
    ::close(fds[1]);
    char buf[128] = {};
    (void)!::read(fds[0], buf, sizeof buf - 1);
    ::close(fds[0]);
    name = buf;
  }
  void kill() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

} // namespace

TEST(ScratchNet, NeverAdoptsOrDeletesAnExistingNamespace) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces";
  const std::string theirs = "hx-" + std::to_string(::getpid()) + "-0";
  ASSERT_TRUE(ip_ok({"netns", "add", theirs}));
  {
    auto clash = ScratchNet::create_named(theirs);
    ASSERT_FALSE(clash);
    EXPECT_NE(clash.error().why.find("exists"), std::string::npos) << clash.error().why;
    auto mine = ScratchNet::create(); // a fresh random name, whatever the pid
    ASSERT_TRUE(mine) << format_error(mine.error());
    EXPECT_NE(mine->name(), theirs);
    EXPECT_TRUE(remove_stale_scratch_nets()); // no lock file: not harness's to remove
  }
  EXPECT_TRUE(netns_exists(theirs));
  EXPECT_TRUE(ip_ok({"netns", "delete", theirs}));
}

TEST(ScratchNet, NamesAreUniqueWithinOnePid) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces";
  auto a = ScratchNet::create();
  auto b = ScratchNet::create();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->name(), b->name());
  EXPECT_TRUE(std::regex_match(a->name(), std::regex("hx-[0-9]+-[0-9a-f]{16}"))) << a->name();
  EXPECT_LE(a->tx_if().size(), 15u);
}

TEST(ScratchNet, StaleNamespaceOfAKilledOwnerIsRemovedALiveOneStays) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to create network namespaces";
  DoomedOwner dead, alive;
  ASSERT_FALSE(dead.name.empty());
  ASSERT_FALSE(alive.name.empty());
  dead.kill(); // SIGKILL: no destructor ran
  ASSERT_TRUE(netns_exists(dead.name));
  auto removed = remove_stale_scratch_nets();
  ASSERT_TRUE(removed) << format_error(removed.error());
  EXPECT_NE(std::find(removed->begin(), removed->end(), dead.name), removed->end());
  EXPECT_FALSE(netns_exists(dead.name));
  EXPECT_TRUE(netns_exists(alive.name)); // its owner still holds the lock
  EXPECT_EQ(::access((std::string(kScratchLockDir) + "/" + dead.name + ".lock").c_str(), F_OK), -1);
  alive.kill();
  auto later = ScratchNet::create(); // a later run cleans up too
  ASSERT_TRUE(later);
  EXPECT_FALSE(netns_exists(alive.name));
}
