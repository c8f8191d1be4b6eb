#pragma once

// Which tracer probes a kernel (docs/DESIGN.md "Tracers"): `stap` (a SystemTap module) or
// `kprobe` (kprobe events in tracefs, definitions from `perf probe -D`). `auto` picks stap where
// its module can be built and loaded for that kernel, else kprobe, and says why. Pure: the facts
// are gathered by the caller (pre-flight, `vm run`, `doctor`).

#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace harness::tracer {

enum class Backend { automatic, stap, kprobe };

Result<Backend> parse_backend(std::string_view text); // auto | stap | kprobe
std::string_view to_string(Backend b);

struct BackendFacts {
  std::string kernel_release;    // the kernel to probe
  std::string stap_version;      // "4.8/0.188"; empty: stap not installed
  std::string lockdown;          // "none", "integrity", "confidentiality"; empty: no lockdown LSM
  bool modules_disabled = false; // no /proc/modules or kernel.modules_disabled=1
  bool module_signing_enforced = false;
  bool in_vm = false; // the probes load in harness's own guest (no lockdown, modules allowed)
};

struct BackendChoice {
  Backend backend = Backend::stap;
  std::string reason; // one sentence, for progress output and doctor
};

// Errors name why the requested tracer cannot probe that kernel and hint at the other one.
Result<BackendChoice> choose_backend(Backend requested, const BackendFacts& facts);

// The newest kernel a SystemTap release builds modules for (session.cxx kernel_version_range,
// docs/DESIGN.md "Tracers"): "4.8/0.188" -> {6, 1}; nullopt for an unknown version.
std::optional<std::pair<int, int>> stap_newest_kernel(std::string_view stap_version);
// "6.12.118-amd64" -> {6, 12}.
std::optional<std::pair<int, int>> kernel_major_minor(std::string_view release);

} // namespace harness::tracer
