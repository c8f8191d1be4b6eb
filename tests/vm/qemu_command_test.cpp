#include "vm/qemu_command.hpp"

#include <algorithm>
#include <gtest/gtest.h>

namespace harness::vm {
namespace {

QemuConfig config() {
  QemuConfig c;
  c.kernel_image = "/cache/kernels/k/build/arch/x86/boot/bzImage";
  c.share_dir = "/var/tmp/vm-1";
  c.init = "/opt/harness/bin/harness";
  c.init_args = {"vm-guest", "--share", "/var/tmp/vm-1"};
  return c;
}

std::string after(const std::vector<std::string>& args, const std::string& opt, int nth = 0) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == opt && nth-- == 0)
      return args[i + 1];
  return {};
}

TEST(QemuCommand, KernelCommandLine) {
  auto c = config();
  EXPECT_EQ(kernel_command_line(c),
            "console=ttyS0 root=root rootfstype=9p "
            "rootflags=trans=virtio,version=9p2000.L,msize=262144 ro "
            "init=/opt/harness/bin/harness panic=-1 -- vm-guest --share /var/tmp/vm-1");
  c.tsc_khz = 2596138;
  EXPECT_NE(kernel_command_line(c).find(" tsc_early_khz=2596138 tsc=reliable --"),
            std::string::npos);
  c.accel = Accel::kvm; // KVM guests have kvm-clock
  EXPECT_EQ(kernel_command_line(c).find("tsc_early_khz"), std::string::npos);
}

// A stock kernel boots from harness's initramfs: its /init mounts the root, so the command line
// names neither root nor init, and qemu gets -initrd.
TEST(QemuCommand, WithAnInitramfs) {
  auto c = config();
  c.initrd = "/var/tmp/vm-1/initramfs.cpio";
  c.init = "/init";
  c.init_args.insert(c.init_args.begin(), "/opt/harness/bin/harness");
  EXPECT_EQ(kernel_command_line(c), "console=ttyS0 rdinit=/init panic=-1 -- "
                                    "/opt/harness/bin/harness vm-guest --share /var/tmp/vm-1");
  auto args = qemu_arguments(c);
  ASSERT_TRUE(args) << args.error().why;
  EXPECT_EQ(after(*args, "-initrd"), c.initrd);
  EXPECT_EQ(after(*args, "-device", 0), "virtio-9p-pci,fsdev=hxroot,mount_tag=root");
  EXPECT_TRUE(after(*qemu_arguments(config()), "-initrd").empty());
  c.initrd = "/var/tmp/a b.cpio";
  ASSERT_FALSE(qemu_arguments(c));
}

TEST(QemuCommand, Arguments) {
  auto args = qemu_arguments(config());
  ASSERT_TRUE(args) << args.error().why;
  EXPECT_EQ(after(*args, "-accel"), "tcg");
  EXPECT_EQ(after(*args, "-kernel"), config().kernel_image);
  EXPECT_EQ(after(*args, "-serial"), "stdio");
  EXPECT_NE(std::find(args->begin(), args->end(), "-no-reboot"), args->end());
  EXPECT_NE(std::find(args->begin(), args->end(), "-nodefaults"), args->end());
  EXPECT_EQ(after(*args, "-fsdev", 0),
            "local,id=hxroot,path=/,security_model=none,readonly=on,multidevs=remap");
  EXPECT_EQ(after(*args, "-device", 0), "virtio-9p-pci,fsdev=hxroot,mount_tag=root");
  EXPECT_EQ(after(*args, "-fsdev", 1),
            "local,id=hxshare,path=/var/tmp/vm-1,security_model=none,multidevs=remap");
  EXPECT_EQ(after(*args, "-device", 1), "virtio-9p-pci,fsdev=hxshare,mount_tag=hxshare");
  EXPECT_EQ(after(*args, "-append"), kernel_command_line(config()));
  auto c = config();
  c.accel = Accel::kvm;
  auto kvm = qemu_arguments(c);
  ASSERT_TRUE(kvm);
  EXPECT_EQ(after(*kvm, "-accel"), "kvm");
  EXPECT_EQ(std::find(kvm->begin(), kvm->end(), "-cpu"), kvm->end()); // qemu aborts with host/max
}

TEST(QemuCommand, RejectsWhatTheCommandLinesCannotCarry) {
  for (auto mutate : std::vector<void (*)(QemuConfig&)>{
           [](QemuConfig& c) { c.share_dir = "/var/tmp/a,b"; },
           [](QemuConfig& c) { c.share_dir = "/var/tmp/a b"; },
           [](QemuConfig& c) { c.share_dir = "relative/dir"; },
           [](QemuConfig& c) { c.init = "/opt/x\"y"; },
           [](QemuConfig& c) { c.kernel_image = ""; },
           [](QemuConfig& c) { c.init_args.push_back("two words"); },
           [](QemuConfig& c) { c.memory_mb = 64; },
           [](QemuConfig& c) { c.init_args.push_back(std::string(3000, 'x')); },
       }) {
    auto c = config();
    mutate(c);
    auto args = qemu_arguments(c);
    ASSERT_FALSE(args);
    EXPECT_EQ(args.error().code, Exit::usage);
  }
  EXPECT_TRUE(command_line_safe_path("/var/cache/harness/vm-1"));
  EXPECT_FALSE(command_line_safe_path("/var/cache/x\ty"));
}

} // namespace
} // namespace harness::vm
