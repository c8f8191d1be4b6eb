#include "sender/link_info.hpp"
#include "test_net.hpp"

#include <net/if.h>

using namespace harness;
using namespace harness::sender;
using namespace harness::sender::testing;

TEST(LinkInfo, ReadsTheInterfaceInsideTheNamespace) {
  HARNESS_NEEDS_ROOT();
  auto net = ScratchNet::create();
  ASSERT_TRUE(net) << format_error(net.error());
  // Outside the namespace the veth end does not exist.
  auto outside = query_link(net->tx_if());
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, Exit::interface);
  {
    auto g = NetnsGuard::enter(net->path());
    ASSERT_TRUE(g);
    auto l = query_link(net->tx_if());
    ASSERT_TRUE(l) << format_error(l.error());
    EXPECT_EQ(l->name, net->tx_if());
    EXPECT_EQ(static_cast<unsigned>(l->ifindex), ::if_nametoindex(net->tx_if().c_str()));
    EXPECT_TRUE(l->up());
    EXPECT_TRUE(l->carrier());
    EXPECT_EQ(l->mtu, 1500u);
    EXPECT_GT(l->max_mtu, 1500u);
    EXPECT_TRUE(l->counters.valid);
    EXPECT_NE(l->mac, (std::array<std::uint8_t, 6>{}));

    auto lo = query_link("lo");
    ASSERT_TRUE(lo);
    EXPECT_NE(lo->ifindex, l->ifindex);
  }
  EXPECT_TRUE(net->remove());
}

TEST(LinkInfo, UnknownInterfaceIsAnInterfaceError) {
  auto l = query_link("hxnosuch0");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, Exit::interface);
  EXPECT_EQ(l.error().what, "interface hxnosuch0");
  EXPECT_EQ(l.error().why, "no such interface");
  EXPECT_FALSE(query_link("this-name-is-far-too-long"));
}

TEST(LinkInfo, SetMtuNamesTheRangeWhenRefused) {
  HARNESS_NEEDS_ROOT();
  auto net = ScratchNet::create();
  ASSERT_TRUE(net) << format_error(net.error());
  auto g = NetnsGuard::enter(net->path());
  ASSERT_TRUE(g);
  auto l = query_link(net->tx_if());
  ASSERT_TRUE(l);
  ASSERT_TRUE(set_mtu(*l, 9000));
  EXPECT_EQ(query_link(net->tx_if())->mtu, 9000u);
  auto s = set_mtu(*l, l->max_mtu + 1);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::usage);
  EXPECT_NE(s.error().why.find("takes " + std::to_string(l->min_mtu) + " to"), std::string::npos)
      << s.error().why;
}
