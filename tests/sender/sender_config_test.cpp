#include "sender/sender_config.hpp"

#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <unistd.h>

using namespace harness;
using namespace harness::sender;

namespace {

SenderConfig base() {
  SenderConfig c;
  c.iface = "eth0";
  c.frame_size = 4096;
  return c;
}

// The error for `c`, which must be invalid.
Error error_of(const SenderConfig& c) {
  auto s = validate(c);
  EXPECT_FALSE(s) << "expected an error";
  return s ? Error{} : s.error();
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(SenderConfig, DefaultsWithAnInterfaceAreValid) {
  EXPECT_TRUE(validate(base()));
  SenderConfig v;
  v.veth = true;
  EXPECT_TRUE(validate(v));
}

TEST(SenderConfig, ZeroOrNegativeCountsAreUsageErrors) {
  for (std::int64_t n : {0, -1, -1000}) {
    auto c = base();
    c.count = n;
    const auto e = error_of(c);
    EXPECT_EQ(e.code, Exit::usage);
    EXPECT_EQ(e.what, "--count " + std::to_string(n));
    EXPECT_TRUE(mentions(e.why, "at least 1"));
  }
  auto c = base();
  c.ring_frames = 0;
  EXPECT_EQ(error_of(c).what, "--ring-frames 0");
  c = base();
  c.send_every = -3;
  EXPECT_EQ(error_of(c).code, Exit::usage);
}

TEST(SenderConfig, SizeAboveFrameMinusHeaderNamesValueAndLimit) {
  auto c = base();
  c.size = 4065; // V2: 4096 - 32 = 4064
  auto e = error_of(c);
  EXPECT_EQ(e.what, "--size 4065");
  EXPECT_TRUE(mentions(e.why, "4096")) << e.why;
  EXPECT_TRUE(mentions(e.why, "= 4064")) << e.why;
  EXPECT_FALSE(e.hint.empty());
  c.size = 4064;
  EXPECT_TRUE(validate(c));
  c.version = TpacketVersion::v3; // 48-byte header
  e = error_of(c);
  EXPECT_TRUE(mentions(e.why, "= 4048")) << e.why;
}

TEST(SenderConfig, SizeBelowHeadersIsRefused) {
  auto c = base();
  c.size = 29;
  EXPECT_TRUE(mentions(error_of(c).why, "30"));
  c.dgram = true;
  c.size = 16;
  EXPECT_TRUE(validate(c));
  c.size = 15;
  EXPECT_EQ(error_of(c).what, "--size 15");
}

TEST(SenderConfig, GeometryTheKernelRefusesIsNamed) {
  auto c = base();
  c.frame_size = 100; // not a multiple of 16
  auto e = error_of(c);
  EXPECT_EQ(e.what, "--frame-size 100");
  EXPECT_TRUE(mentions(e.why, "multiple of 16"));
  EXPECT_TRUE(mentions(e.hint, "112"));

  c = base();
  c.frame_size = 48; // below TPACKET2_HDRLEN (52)
  c.size = 16;
  c.dgram = true;
  EXPECT_TRUE(mentions(error_of(c).why, "52"));

  c = base();
  c.block_size = 5000;
  e = error_of(c);
  EXPECT_EQ(e.what, "--block-size 5000");
  EXPECT_TRUE(mentions(e.why, "page size"));

  c = base();
  c.frame_size = 8192;
  c.block_size = 4096;
  EXPECT_TRUE(mentions(error_of(c).why, "smaller than the frame size"));

  c = base();
  c.frame_size = 1024;
  c.block_size = 4096; // 4 frames per block
  c.ring_frames = 10;
  e = error_of(c);
  EXPECT_EQ(e.what, "--ring-frames 10");
  EXPECT_TRUE(mentions(e.hint, "12"));
  c.ring_frames = 12;
  EXPECT_TRUE(validate(c));
}

TEST(SenderConfig, DefaultBlockIsTheFrameRoundedUpToThePage) {
  auto c = base();
  c.frame_size = 2048;
  EXPECT_EQ(effective_block_size(c), 4096);
  EXPECT_TRUE(validate(c)); // 8192 ring frames, 2 per block
  c.frame_size = 5040;
  EXPECT_EQ(effective_block_size(c), 8192);
  EXPECT_TRUE(validate(c));
  c.frame_size = 4096;
  EXPECT_EQ(effective_block_size(c), 4096);
}

TEST(SenderConfig, OptionCombinations) {
  auto c = base();
  c.veth = true;
  EXPECT_EQ(error_of(c).what, "--veth");
  c = base();
  c.iface.clear();
  EXPECT_TRUE(mentions(error_of(c).hint, "--veth"));
  c = base();
  c.iface = "a-very-long-interface-name";
  EXPECT_TRUE(mentions(error_of(c).why, "15"));
  c = base();
  c.inject_error = 3;
  EXPECT_EQ(error_of(c).what, "--inject-error 3");
  c = base();
  c.sockets = 2;
  c.threaded = true;
  EXPECT_EQ(error_of(c).code, Exit::usage);
  c = base();
  c.mtu = 10;
  EXPECT_EQ(error_of(c).what, "--mtu 10");
  c = base();
  c.ethertype = 0x0100;
  EXPECT_TRUE(mentions(error_of(c).why, "802.3"));
  c = base();
  c.completion_timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(error_of(c).code, Exit::usage);
}

TEST(SenderConfig, VnetHeaderTakesRoomAndNeedsRaw) {
  auto c = base();
  c.vnet_hdr = true;
  c.size = 4055; // 4096 - 32 - 10 = 4054
  auto e = error_of(c);
  EXPECT_TRUE(mentions(e.why, "virtio-net header = 4054")) << e.why;
  c.size = 4054;
  EXPECT_TRUE(validate(c));
  c.dgram = true;
  c.size = 100;
  EXPECT_EQ(error_of(c).what, "--vnet-hdr with --dgram");
}

TEST(SenderConfig, HeaderSizesMatchTheKernelLayout) {
  EXPECT_EQ(tpacket_header_bytes(TpacketVersion::v1), 32);
  EXPECT_EQ(tpacket_header_bytes(TpacketVersion::v2), 32);
  EXPECT_EQ(tpacket_header_bytes(TpacketVersion::v3), 48);
  auto c = base();
  EXPECT_EQ(min_frame_bytes(c), 30);
  c.dgram = true;
  EXPECT_EQ(min_frame_bytes(c), 16);
  c.frame_size = 0;
  EXPECT_GT(effective_frame_size(c), 0);
  EXPECT_EQ(effective_block_size(c), effective_frame_size(c));
}

TEST(SenderConfig, ParsesVersionsAndMacs) {
  EXPECT_EQ(parse_tpacket_version("v1"), TpacketVersion::v1);
  EXPECT_EQ(parse_tpacket_version("3"), TpacketVersion::v3);
  EXPECT_FALSE(parse_tpacket_version("v4"));
  EXPECT_EQ(to_string(TpacketVersion::v2), "v2");
  EXPECT_EQ(parse_bit_rate("100kbit"), 100'000);
  EXPECT_EQ(parse_bit_rate("2mbit"), 2'000'000);
  EXPECT_EQ(parse_bit_rate("1gbit"), 1'000'000'000);
  EXPECT_EQ(parse_bit_rate("9600bit"), 9600);
  for (const char* bad :
       {"", "kbit", "0kbit", "100", "100kb", "-1kbit", "1.5mbit", "2000gbit", "1000000000000bit"})
    EXPECT_FALSE(parse_bit_rate(bad)) << bad;
  auto mac = parse_mac("02:00:0a:FF:00:01");
  ASSERT_TRUE(mac);
  EXPECT_EQ(format_mac(*mac), "02:00:0a:ff:00:01");
  EXPECT_FALSE(parse_mac("02:00:0a:ff:00"));
  EXPECT_FALSE(parse_mac("02:00:0a:ff:00:zz"));
  EXPECT_FALSE(parse_mac("02:00:0a:ff:00:011"));
}

namespace {

// The number after `marker` in `text` (e.g. the value a hint suggests).
std::int64_t number_after(const std::string& text, const std::string& marker) {
  const auto at = text.find(marker);
  if (at == std::string::npos)
    return -1;
  return std::stoll(text.substr(at + marker.size()));
}

} // namespace

TEST(SenderConfig, EverySuggestedValueIsAccepted) {
  // Following a hint must never lead to a refusal (issue 12: -s 100000 -> --frame-size 100032
  // -> --mtu 99986, which -m rejects).
  auto c = base();
  c.size = 100000;
  auto e = error_of(c);
  const auto size = number_after(e.hint, "--size ");
  ASSERT_GT(size, 0) << e.hint;
  c.size = size;
  c.frame_size = 0;
  c.frame_size = number_after(error_of(c).hint, "e.g. ");
  ASSERT_GT(c.frame_size, 0);
  c.block_size = 0;
  EXPECT_TRUE(validate(c)) << format_error(validate(c).error());
  c.mtu = size - kEthernetHeaderBytes; // what the MTU check would suggest
  EXPECT_TRUE(validate(c));

  // -b 1: the smallest frame size the hint names is accepted (it said 80 while 64 works).
  c = base();
  c.size = 30; // the smallest SOCK_RAW frame
  c.frame_size = 1;
  const auto smallest = number_after(error_of(c).hint, "at least ");
  ASSERT_GT(smallest, 0);
  c.frame_size = smallest;
  EXPECT_TRUE(validate(c)) << format_error(validate(c).error());
  c.frame_size = smallest - TPACKET_ALIGNMENT;
  EXPECT_FALSE(validate(c));
}

TEST(SenderConfig, ZeroMeaningsAreNotContradicted) {
  // "-j -1: must be at least 1 (0 means ...)" said 0 was both refused and meaningful.
  auto c = base();
  c.send_every = -1;
  EXPECT_FALSE(mentions(error_of(c).why, "at least 1")) << error_of(c).why;
  c = base();
  c.send_every = 0;
  EXPECT_TRUE(validate(c));
  c = base();
  c.frame_size = -1;
  EXPECT_TRUE(mentions(error_of(c).why, "must be 0")) << error_of(c).why;
}

// `harness send`'s defaults (with_fast_defaults): what the user did not give is filled in, what
// the user gave keeps its packet_mmap.c meaning, and the result is a geometry the kernel takes.
TEST(SenderFastDefaults, FillQdiscBypassVnetHeaderAndAFittedRing) {
  SenderConfig c;
  c.iface = "eth0";
  c.size = 60;
  const auto f = with_fast_defaults(c, {});
  EXPECT_TRUE(f.qdisc_bypass);
  EXPECT_TRUE(f.vnet_hdr);
  // 32-byte TPACKET_V2 header + 10-byte virtio-net header + 60 = 102: a 128-byte frame.
  EXPECT_EQ(f.frame_size, 128);
  EXPECT_EQ(f.ring_frames, kFastRingFrames);
  EXPECT_EQ(f.sockets, 1) << "one socket: frames stay in order on the wire";
  EXPECT_EQ(f.send_every, 0) << "send() when the ring is full, as packet_mmap.c";
  EXPECT_TRUE(validate(f));
  // The default size, 150 bytes: 192 -> 256.
  EXPECT_EQ(with_fast_defaults(SenderConfig{.iface = "eth0"}, {}).frame_size, 256);
}

TEST(SenderFastDefaults, OptionsGivenKeepTheirMeaning) {
  SenderConfig c;
  c.iface = "eth0";
  c.frame_size = 2048;
  c.ring_frames = 10;
  auto f = with_fast_defaults(c, {.frame_size = true, .ring_frames = true});
  EXPECT_EQ(f.frame_size, 2048);
  EXPECT_EQ(f.ring_frames, 10);
  EXPECT_TRUE(validate(f));
  // -n alone: N page-sized frames, as packet_mmap.c (any N is a whole number of blocks).
  c = SenderConfig{.iface = "eth0", .ring_frames = 100};
  f = with_fast_defaults(c, {.ring_frames = true});
  EXPECT_EQ(f.ring_frames, 100);
  EXPECT_EQ(effective_frame_size(f), ::sysconf(_SC_PAGESIZE));
  EXPECT_TRUE(validate(f));
  // -b alone: that frame size, a ring of whole blocks.
  c = SenderConfig{.iface = "eth0", .frame_size = 1024};
  f = with_fast_defaults(c, {.frame_size = true});
  EXPECT_EQ(f.frame_size, 1024);
  EXPECT_EQ(f.ring_frames, kFastRingFrames);
  EXPECT_TRUE(validate(f));
  // A large block: the ring is rounded up to whole blocks.
  c = SenderConfig{.iface = "eth0", .block_size = 1 << 20};
  f = with_fast_defaults(c, {.block_size = true});
  EXPECT_EQ(f.block_size, 1 << 20);
  EXPECT_EQ(f.ring_frames % ((1 << 20) / f.frame_size), 0);
  EXPECT_TRUE(validate(f));
  // Switches given stay on; with_fast_defaults never turns an option on that the user gave off
  // (there is no "off" spelling but --classic, which skips it).
  c = SenderConfig{.iface = "eth0", .qdisc_bypass = true, .vnet_hdr = true};
  f = with_fast_defaults(c, {.qdisc_bypass = true, .vnet_hdr = true});
  EXPECT_TRUE(f.qdisc_bypass);
  EXPECT_TRUE(f.vnet_hdr);
}

TEST(SenderFastDefaults, NoVirtioHeaderWhereItCannotBe) {
  // SOCK_DGRAM: the kernel takes a virtio-net header on SOCK_RAW only.
  SenderConfig c{.iface = "eth0", .dgram = true};
  auto f = with_fast_defaults(c, {});
  EXPECT_FALSE(f.vnet_hdr);
  EXPECT_TRUE(validate(f));
  // A frame given that holds the packet but not the header too: zero-copy, not an error.
  c = SenderConfig{.iface = "eth0", .size = 96, .frame_size = 128};
  f = with_fast_defaults(c, {.frame_size = true});
  EXPECT_FALSE(f.vnet_hdr);
  EXPECT_TRUE(validate(f));
  // A packet larger than any fitted frame: the error is the one without the defaults.
  c = SenderConfig{.iface = "eth0", .size = 5000};
  f = with_fast_defaults(c, {});
  EXPECT_FALSE(f.vnet_hdr);
  auto e = validate(f);
  ASSERT_FALSE(e);
  EXPECT_TRUE(mentions(e.error().why, "larger than a frame can hold")) << e.error().why;
  EXPECT_FALSE(mentions(e.error().why, "virtio-net")) << e.error().why;
}
