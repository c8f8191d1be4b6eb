#include "kernel_test_util.hpp"
#include "stap/stap_listing.hpp"

#include <gtest/gtest.h>

namespace harness::stap {
namespace {

TEST(StapListing, ParsesStatementsWithVariables) {
  const auto probes = parse_stap_listing(
      "kernel.statement(\"tpacket_snd@/work/linux/net/packet/af_packet.c:2989\") $po:struct "
      "packet_sock* $timeo:long int $vnet_hdr:struct virtio_net_hdr\n"
      "Tip: /usr/share/doc/systemtap/README.Debian should help you get started.\n"
      "kernel.function(\"__packet_get_status@net/packet/af_packet.c:432\")\n"
      "kernel.statement(\"broken\n"
      "kernel.statement(\"x@f.c:notanumber\")\n");
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_FALSE(probes[0].is_function);
  EXPECT_EQ(probes[0].function, "tpacket_snd");
  EXPECT_EQ(probes[0].file, "/work/linux/net/packet/af_packet.c");
  EXPECT_EQ(probes[0].line, 2989);
  ASSERT_EQ(probes[0].variables.size(), 3u);
  EXPECT_EQ(probes[0].variables[0].name, "po");
  EXPECT_EQ(probes[0].variables[0].type, "struct packet_sock*");
  EXPECT_EQ(probes[0].variables[1].type, "long int");
  EXPECT_TRUE(probes[0].has_variable("vnet_hdr"));
  EXPECT_FALSE(probes[0].has_variable("ph"));
  EXPECT_TRUE(probes[1].is_function);
  EXPECT_TRUE(probes[1].variables.empty());
}

TEST(StapListing, SuffixMatchesOnPathComponents) {
  EXPECT_TRUE(path_has_suffix("/src/linux/net/packet/af_packet.c", "net/packet/af_packet.c"));
  EXPECT_TRUE(path_has_suffix("net/packet/af_packet.c", "net/packet/af_packet.c"));
  EXPECT_FALSE(path_has_suffix("/src/linux/xnet/packet/af_packet.c", "net/packet/af_packet.c"));
  EXPECT_FALSE(path_has_suffix("af_packet.c", "net/packet/af_packet.c"));
}

TEST(StapListing, RealListingOfA61Build) {
  const auto probes = parse_stap_listing(testing::data_file("stap-L-6.1.192-O0-statements.txt"));
  int snd = 0;
  for (const auto& p : probes)
    snd += p.function == "tpacket_snd";
  EXPECT_EQ(snd, 140); // docs/tracing-notes.md: 140 probeable lines in tpacket_snd at -O0
}

} // namespace
} // namespace harness::stap
