#pragma once

// Choosing qemu's accelerator. /dev/kvm existing is not enough: on nested hosts it opens fine
// but the guest hangs right after the firmware (docs/tracing-notes.md "The probe kernel and the
// VM"). So `auto` boots a probe VM under KVM with a short timeout and uses KVM only when the
// guest's init reports ready; the verdict is cached per (host kernel, qemu version) so the probe is
// paid once per machine.

#include "base/result.hpp"
#include "vm/qemu_command.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace harness::vm {

enum class AccelRequest { automatic, kvm, tcg };
Result<AccelRequest> parse_accel(std::string_view text); // "auto" | "kvm" | "tcg"

struct AccelChoice {
  Accel accel = Accel::tcg;
  std::string reason; // "kvm: probe boot reached the guest init in 0.9 s", "tcg: no /dev/kvm"
  bool from_cache = false;
};

// The system facts the choice depends on, behind an interface so tests can fake them.
class AccelProber {
public:
  virtual ~AccelProber() = default;
  // /dev/kvm can be opened and creates a VM; `why` says what failed.
  virtual bool kvm_device_usable(std::string& why) = 0;
  // A probe boot under KVM reaches the guest init; `why` says what happened either way.
  virtual bool kvm_boots(std::string& why) = 0;
  // A previously stored verdict for this host, and storing one.
  virtual std::optional<AccelChoice> cached() = 0;
  virtual void store(const AccelChoice& choice) = 0;
};

// Pure decision logic over the prober. An explicit `kvm` fails when the device is unusable
// (Exit::vm_failed) but is not probe-booted: the user asked for it.
Result<AccelChoice> choose_accel(AccelRequest request, AccelProber& prober);

// "kvm <reason>" / "tcg <reason>" one-line cache format.
std::string accel_cache_text(const AccelChoice& c);
std::optional<AccelChoice> accel_from_cache_text(std::string_view text);

// The real /dev/kvm check (open, KVM_GET_API_VERSION, KVM_CREATE_VM).
bool kvm_device_usable(std::string& why);

} // namespace harness::vm
