#include "vm/accel.hpp"

#include <cerrno>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace harness::vm {

Result<AccelRequest> parse_accel(std::string_view text) {
  if (text == "auto")
    return AccelRequest::automatic;
  if (text == "kvm")
    return AccelRequest::kvm;
  if (text == "tcg")
    return AccelRequest::tcg;
  return fail(Exit::usage, "--accel " + std::string(text), "must be auto, kvm or tcg");
}

Result<AccelChoice> choose_accel(AccelRequest request, AccelProber& prober) {
  if (request == AccelRequest::tcg)
    return AccelChoice{Accel::tcg, "tcg: requested with --accel tcg", false};
  std::string why;
  const bool device = prober.kvm_device_usable(why);
  if (request == AccelRequest::kvm) {
    if (!device)
      return fail(Exit::vm_failed, "--accel kvm", why, "use --accel tcg (or auto)");
    return AccelChoice{Accel::kvm, "kvm: requested with --accel kvm", false};
  }
  if (!device)
    return AccelChoice{Accel::tcg, "tcg: " + why, false};
  if (auto c = prober.cached()) {
    c->from_cache = true;
    return *c;
  }
  AccelChoice choice;
  std::string boot_why;
  if (prober.kvm_boots(boot_why))
    choice = {Accel::kvm, "kvm: " + boot_why, false};
  else
    choice = {Accel::tcg, "tcg: /dev/kvm is present but " + boot_why, false};
  prober.store(choice);
  return choice;
}

std::string accel_cache_text(const AccelChoice& c) {
  return std::string(to_string(c.accel)) + " " + c.reason + "\n";
}

std::optional<AccelChoice> accel_from_cache_text(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  const auto sp = text.find(' ');
  const std::string_view word = text.substr(0, sp);
  const std::string reason(sp == std::string_view::npos ? "" : text.substr(sp + 1));
  if (word == "kvm")
    return AccelChoice{Accel::kvm, reason, true};
  if (word == "tcg")
    return AccelChoice{Accel::tcg, reason, true};
  return std::nullopt;
}

bool kvm_device_usable(std::string& why) {
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    why = errno == ENOENT ? "no /dev/kvm" : "cannot open /dev/kvm: " + errno_text(errno);
    return false;
  }
  const int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    ::close(fd);
    why = "/dev/kvm speaks API version " + std::to_string(version);
    return false;
  }
  const int vm = ::ioctl(fd, KVM_CREATE_VM, 0);
  if (vm < 0) {
    why = "/dev/kvm refuses to create a VM: " + errno_text(errno);
    ::close(fd);
    return false;
  }
  ::close(vm);
  ::close(fd);
  why = "/dev/kvm usable";
  return true;
}

} // namespace harness::vm
