#include "scratch_net.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/socket.h>
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
