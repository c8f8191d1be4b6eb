#include "sender/link_info.hpp"
#include "sender/tx_ring.hpp"
#include "test_net.hpp"

#include <cerrno>
#include <linux/if_packet.h>

using namespace harness;
using namespace harness::sender;
using namespace harness::sender::testing;

namespace {

RingSetup setup_for(const LinkInfo& l, TpacketVersion v) {
  RingSetup s;
  s.version = v;
  s.frame_size = 2048;
  s.block_size = 8192;
  s.frames = 16;
  s.ifindex = l.ifindex;
  s.iface = l.name;
  s.ethertype = 0x88b5;
  return s;
}

} // namespace

TEST(TxRing, SetupErrorsNameTheCause) {
  RingSetup s;
  s.frames = 1u << 24;
  s.frame_size = 4096;
  s.block_size = 4096;
  auto e = ring_setup_error(ENOMEM, s, 1024 * 1024);
  EXPECT_EQ(e.code, Exit::usage);
  EXPECT_EQ(e.what, "--ring-frames 16777216");
  EXPECT_NE(e.why.find("65536.0 MiB"), std::string::npos) << e.why;
  EXPECT_NE(e.why.find("MemAvailable is 1024.0 MiB"), std::string::npos) << e.why;

  // This host's kernel has V3 TX; kernels before 4.11 answer EINVAL.
  s.version = TpacketVersion::v3;
  e = ring_setup_error(EINVAL, s, 0);
  EXPECT_EQ(e.code, Exit::unsupported);
  EXPECT_EQ(e.what, "--tpacket v3");
  EXPECT_EQ(e.hint, "use --tpacket v2");

  s.version = TpacketVersion::v2;
  EXPECT_EQ(ring_setup_error(EINVAL, s, 0).code, Exit::usage);
  EXPECT_EQ(ring_setup_error(EPERM, s, 0).code, Exit::not_root);
}

TEST(TxRing, OpensMapsAndAddressesEverySlot) {
  HARNESS_NEEDS_ROOT();
  auto net = ScratchNet::create();
  ASSERT_TRUE(net) << format_error(net.error());
  auto g = NetnsGuard::enter(net->path());
  ASSERT_TRUE(g);
  auto l = query_link(net->tx_if());
  ASSERT_TRUE(l);
  for (auto v : {TpacketVersion::v1, TpacketVersion::v2, TpacketVersion::v3}) {
    auto ring = TxRing::open(setup_for(*l, v));
    ASSERT_TRUE(ring) << format_error(ring.error());
    EXPECT_EQ(ring->frames(), 16u);
    EXPECT_EQ(ring->frames_per_block(), 4u);
    EXPECT_EQ(ring->blocks(), 4u);
    for (std::uint32_t i = 0; i < ring->frames(); ++i)
      EXPECT_EQ(ring->status(i), TP_STATUS_AVAILABLE);
    // Slots are distinct and within their blocks: data of slot 5 = block 1, frame 1.
    EXPECT_EQ(ring->data(5) - ring->data(4), 2048);
    EXPECT_EQ(ring->data(4) - ring->data(3), 8192 - 3 * 2048);
    // Nothing requested: send() takes nothing.
    EXPECT_EQ(ring->send(true), 0);
    // -e 2: the kernel refuses to replace a mapped ring.
    EXPECT_EQ(ring->set_ring_again(), EBUSY);
    ring->close_socket();
    EXPECT_TRUE(ring->socket_closed());
    EXPECT_EQ(ring->send(true), -EBADF);
  }
}

TEST(TxRing, GeometryTheKernelRefusesIsAUsageError) {
  HARNESS_NEEDS_ROOT();
  auto net = ScratchNet::create();
  ASSERT_TRUE(net);
  auto g = NetnsGuard::enter(net->path());
  ASSERT_TRUE(g);
  auto l = query_link(net->tx_if());
  ASSERT_TRUE(l);
  auto s = setup_for(*l, TpacketVersion::v2);
  s.frame_size = 2008; // not a multiple of 16: validate() would catch it, the kernel does too
  s.block_size = 8192;
  s.frames = 16;
  auto ring = TxRing::open(s);
  ASSERT_FALSE(ring);
  EXPECT_EQ(ring.error().code, Exit::usage);
  EXPECT_NE(ring.error().why.find("EINVAL"), std::string::npos);
}

TEST(TxRing, RingTooLargeIsENOMEM) {
  HARNESS_NEEDS_ROOT();
  auto net = ScratchNet::create();
  ASSERT_TRUE(net);
  auto g = NetnsGuard::enter(net->path());
  ASSERT_TRUE(g);
  auto l = query_link(net->tx_if());
  ASSERT_TRUE(l);
  auto s = setup_for(*l, TpacketVersion::v2);
  // 2^24 blocks: the kernel's block table alone is too large for kmalloc, so it fails at once,
  // before allocating any block.
  s.frame_size = 4096;
  s.block_size = 4096;
  s.frames = 1u << 24;
  auto ring = TxRing::open(s);
  ASSERT_FALSE(ring);
  EXPECT_EQ(ring.error().code, Exit::usage);
  EXPECT_NE(ring.error().why.find("ENOMEM"), std::string::npos) << ring.error().why;
}
