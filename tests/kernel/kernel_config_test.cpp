#include "base/files.hpp"
#include "kernel/kernel_config.hpp"

#include <gtest/gtest.h>

namespace harness::kernel {
namespace {

TEST(KernelConfig, ParsesTheShippedFragment) {
  auto text = read_file(std::string(HARNESS_SOURCE_DIR) + "/kernel/probe-kernel.config");
  ASSERT_TRUE(text);
  auto frag = parse_config_fragment(*text, "probe-kernel.config");
  ASSERT_TRUE(frag) << frag.error().why;
  auto has = [&](const std::string& name, bool on) {
    for (const auto& o : *frag)
      if (o.name == name)
        return o.enabled == on;
    return false;
  };
  // What SystemTap in the guest cannot do without:
  for (auto n : {"KPROBES", "MODULES", "DEBUG_INFO", "DEBUG_FS", "RELAY", "KALLSYMS", "PACKET",
                 "VETH", "NET_NS", "9P_FS", "NET_9P_VIRTIO", "VIRTIO_PCI", "SERIAL_8250_CONSOLE"})
    EXPECT_TRUE(has(n, true)) << n;
  for (auto n : {"MODULE_SIG", "MODVERSIONS", "DEBUG_INFO_REDUCED", "DEBUG_INFO_BTF"})
    EXPECT_TRUE(has(n, false)) << n;
}

TEST(KernelConfig, RejectsWhatItCannotMerge) {
  EXPECT_FALSE(parse_config_fragment("CONFIG_X=m\n", "f"));
  EXPECT_FALSE(parse_config_fragment("CONFIG_X=\"str\"\n", "f"));
  EXPECT_FALSE(parse_config_fragment("CONFIG_lower=y\n", "f"));
  auto e = parse_config_fragment("CONFIG_A=y\nrandom words\n", "frag.config");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().what, "frag.config:2");
  auto ok =
      parse_config_fragment("# comment\n\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=n\n", "f");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (std::vector<ConfigOption>{{"A", true}, {"B", false}, {"C", false}}));
}

TEST(KernelConfig, MergeReplacesAppendsAndIsIdempotent) {
  const std::vector<ConfigOption> frag = {{"KPROBES", true}, {"MODULE_SIG", false}, {"VETH", true}};
  const std::string config = "# header\nCONFIG_64BIT=y\n# CONFIG_KPROBES is not set\n"
                             "CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG=y\nCONFIG_NAME=\"x\"\n";
  const auto merged = merge_config(config, frag);
  EXPECT_EQ(merged, "# header\nCONFIG_64BIT=y\nCONFIG_KPROBES=y\n# CONFIG_MODULE_SIG is not "
                    "set\nCONFIG_NAME=\"x\"\nCONFIG_VETH=y\n");
  EXPECT_EQ(merge_config(merged, frag), merged);
}

TEST(KernelConfig, UnmetOptions) {
  const std::vector<ConfigOption> frag = {{"A", true}, {"B", true}, {"C", false}, {"D", false}};
  const auto unmet = unmet_options("CONFIG_A=y\nCONFIG_B=m\nCONFIG_C=y\n", frag);
  EXPECT_EQ(unmet, (std::vector<ConfigOption>{{"B", true}, {"C", false}}));
}

TEST(KernelConfig, MakefileEditIsIdempotent) {
  const std::string mk = "obj-$(CONFIG_PACKET) += af_packet.o\naf_packet_diag-y += diag.o";
  const auto once = add_af_packet_O0(mk);
  EXPECT_TRUE(once.changed);
  EXPECT_TRUE(once.text.ends_with("\nCFLAGS_af_packet.o = -O0\n"));
  EXPECT_TRUE(once.text.starts_with(mk + "\n"));
  const auto twice = add_af_packet_O0(once.text);
  EXPECT_FALSE(twice.changed);
  EXPECT_EQ(twice.text, once.text);
  // The lead's hand edit (no comment, other spacing) counts as done too.
  EXPECT_FALSE(add_af_packet_O0(mk + "\nCFLAGS_af_packet.o=-O0\n").changed);
  // A commented-out line or another object does not.
  EXPECT_TRUE(add_af_packet_O0(mk + "\n# CFLAGS_af_packet.o = -O0\n").changed);
  EXPECT_TRUE(add_af_packet_O0(mk + "\nCFLAGS_diag.o = -O0\n").changed);
}

} // namespace
} // namespace harness::kernel
