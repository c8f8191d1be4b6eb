#include "vm/accel.hpp"

#include <cerrno>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness::vm {
namespace {

// A fake of the system facts: what the device check and a probe boot say, and a cache.
class FakeProber final : public AccelProber {
public:
  bool device = true, boots = false;
  std::optional<AccelChoice> stored;
  int device_checks = 0, boot_probes = 0;
  bool kvm_device_usable(std::string& why) override {
    ++device_checks;
    why = device ? "/dev/kvm usable" : "no /dev/kvm";
    return device;
  }
  bool kvm_boots(std::string& why) override {
    ++boot_probes;
    why = boots ? "a probe boot reached the guest init in 0.8 s"
                : "a probe boot under KVM timed out after 15 s";
    return boots;
  }
  std::optional<AccelChoice> cached() override { return stored; }
  void store(const AccelChoice& c) override { stored = c; }
};

TEST(Accel, ParsesRequests) {
  EXPECT_EQ(parse_accel("auto"), AccelRequest::automatic);
  EXPECT_EQ(parse_accel("kvm"), AccelRequest::kvm);
  EXPECT_EQ(parse_accel("tcg"), AccelRequest::tcg);
  EXPECT_EQ(parse_accel("hvf").error().code, Exit::usage);
}

TEST(Accel, AutoProbesOnceThenUsesTheCache) {
  FakeProber p; // /dev/kvm exists but hangs the guest, as on the development machines
  auto c = choose_accel(AccelRequest::automatic, p);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->accel, Accel::tcg);
  EXPECT_NE(c->reason.find("/dev/kvm is present but"), std::string::npos);
  EXPECT_EQ(p.boot_probes, 1);
  auto again = choose_accel(AccelRequest::automatic, p);
  EXPECT_EQ(again->accel, Accel::tcg);
  EXPECT_TRUE(again->from_cache);
  EXPECT_EQ(p.boot_probes, 1);
}

TEST(Accel, AutoUsesKvmWhenTheProbeBootWorks) {
  FakeProber p;
  p.boots = true;
  auto c = choose_accel(AccelRequest::automatic, p);
  EXPECT_EQ(c->accel, Accel::kvm);
  EXPECT_EQ(p.stored->accel, Accel::kvm);
}

TEST(Accel, NoDeviceMeansTcgWithoutProbing) {
  FakeProber p;
  p.device = false;
  auto c = choose_accel(AccelRequest::automatic, p);
  EXPECT_EQ(c->accel, Accel::tcg);
  EXPECT_EQ(c->reason, "tcg: no /dev/kvm");
  EXPECT_EQ(p.boot_probes, 0);
  EXPECT_FALSE(p.stored); // nothing to cache: the device may appear later
  auto kvm = choose_accel(AccelRequest::kvm, p);
  ASSERT_FALSE(kvm);
  EXPECT_EQ(kvm.error().code, Exit::vm_failed);
}

TEST(Accel, ExplicitRequestsSkipTheProbe) {
  FakeProber p;
  EXPECT_EQ(choose_accel(AccelRequest::kvm, p)->accel, Accel::kvm);
  EXPECT_EQ(choose_accel(AccelRequest::tcg, p)->accel, Accel::tcg);
  EXPECT_EQ(p.boot_probes, 0);
  EXPECT_EQ(p.device_checks, 1); // tcg does not even look at the device
}

TEST(Accel, CacheText) {
  const AccelChoice c{Accel::tcg, "tcg: /dev/kvm is present but the probe hung", false};
  auto back = accel_from_cache_text(accel_cache_text(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->accel, Accel::tcg);
  EXPECT_EQ(back->reason, c.reason);
  EXPECT_FALSE(accel_from_cache_text("garbage"));
  EXPECT_FALSE(accel_from_cache_text(""));
}

// The real /dev/kvm check against what this test reads from the machine itself: no device is
// "no /dev/kvm", a device this process cannot open is "cannot open /dev/kvm: <errno text>", and
// otherwise the answer is usable or names the ioctl that refused (API version, VM creation).
TEST(Accel, RealDeviceCheckAnswersWhatTheMachineShows) {
  std::string why;
  const bool usable = kvm_device_usable(why);
  struct stat st {};
  if (::stat("/dev/kvm", &st) != 0) {
    EXPECT_FALSE(usable);
    EXPECT_EQ(why, "no /dev/kvm");
    return;
  }
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    EXPECT_FALSE(usable);
    EXPECT_EQ(why, "cannot open /dev/kvm: " + errno_text(err));
    return;
  }
  const int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  ::close(fd);
  if (version != KVM_API_VERSION) {
    EXPECT_FALSE(usable);
    EXPECT_EQ(why, "/dev/kvm speaks API version " + std::to_string(version));
    return;
  }
  if (usable)
    EXPECT_EQ(why, "/dev/kvm usable");
  else
    EXPECT_EQ(why.rfind("/dev/kvm refuses to create a VM: ", 0), 0u) << why;
}

} // namespace
} // namespace harness::vm
