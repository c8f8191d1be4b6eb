#include "tracer/tracer_choice.hpp"

#include <array>
#include <charconv>

namespace harness::tracer {
namespace {

std::optional<std::pair<int, int>> two_numbers(std::string_view s) {
  int a = 0, b = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), a);
  if (ec != std::errc() || p == s.data() + s.size() || *p != '.')
    return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, s.data() + s.size(), b);
  if (ec2 != std::errc())
    return std::nullopt;
  (void)q;
  return std::pair{a, b};
}

std::string version_text(std::pair<int, int> v) {
  return std::to_string(v.first) + "." + std::to_string(v.second);
}

// SystemTap release -> newest kernel its runtime was tested with (CONTEXT-derived table, kept in
// docs/DESIGN.md "Tracers").
constexpr std::array<std::pair<std::pair<int, int>, std::pair<int, int>>, 8> kStapRange = {{
    {{4, 8}, {6, 1}},
    {{4, 9}, {6, 3}},
    {{5, 0}, {6, 6}},
    {{5, 1}, {6, 9}},
    {{5, 2}, {6, 12}},
    {{5, 3}, {6, 15}},
    {{5, 4}, {6, 18}},
    {{5, 5}, {7, 0}},
}};

// Why stap cannot probe with these facts, and the exit status that cause has; empty when it can.
struct Obstacle {
  std::string why;
  Exit code = Exit::ok;
};

Obstacle stap_obstacle(const BackendFacts& f) {
  if (f.stap_version.empty())
    return {"SystemTap is not installed", Exit::stap_missing};
  if (!f.in_vm && f.modules_disabled)
    return {"this kernel does not load modules", Exit::unsupported};
  if (!f.in_vm && !f.lockdown.empty() && f.lockdown != "none")
    return {"the kernel is locked down (" + f.lockdown + ") and refuses unsigned modules",
            Exit::lockdown};
  if (!f.in_vm && f.module_signing_enforced)
    return {"module.sig_enforce refuses unsigned modules such as stap's", Exit::lockdown};
  const auto newest = stap_newest_kernel(f.stap_version);
  const auto kernel = kernel_major_minor(f.kernel_release);
  if (newest && kernel && *kernel > *newest)
    return {"SystemTap " + f.stap_version.substr(0, f.stap_version.find('/')) +
                " builds modules for kernels up to " + version_text(*newest) + ", this kernel is " +
                f.kernel_release,
            Exit::unsupported};
  return {};
}

std::string kprobe_obstacle(const BackendFacts& f) {
  if (!f.in_vm && f.lockdown == "confidentiality")
    return "lockdown=confidentiality refuses kprobes too";
  return {};
}

} // namespace

Result<Backend> parse_backend(std::string_view text) {
  if (text == "auto")
    return Backend::automatic;
  if (text == "stap")
    return Backend::stap;
  if (text == "kprobe")
    return Backend::kprobe;
  return fail(Exit::usage, "--backend " + std::string(text.substr(0, 40)), "unknown tracer",
              "use auto, stap or kprobe");
}

std::string_view to_string(Backend b) {
  switch (b) {
  case Backend::automatic:
    return "auto";
  case Backend::stap:
    return "stap";
  case Backend::kprobe:
    return "kprobe";
  }
  return "auto";
}

std::optional<std::pair<int, int>> stap_newest_kernel(std::string_view stap_version) {
  const auto v = two_numbers(stap_version);
  if (!v)
    return std::nullopt;
  for (const auto& [stap, kernel] : kStapRange)
    if (stap == *v)
      return kernel;
  if (*v > kStapRange.back().first)
    return std::nullopt; // newer than the table: assume it knows its kernels
  return std::nullopt;
}

std::optional<std::pair<int, int>> kernel_major_minor(std::string_view release) {
  return two_numbers(release);
}

Result<BackendChoice> choose_backend(Backend requested, const BackendFacts& f) {
  const Obstacle stap = stap_obstacle(f);
  const std::string& stap_no = stap.why;
  const std::string kprobe_no = kprobe_obstacle(f);
  switch (requested) {
  case Backend::stap:
    if (!stap_no.empty())
      return fail(stap.code, "--backend stap", stap_no,
                  kprobe_no.empty() ? "use --backend kprobe (kprobe events need no module)"
                                    : "run the probes in a VM (`harness vm run`)");
    return BackendChoice{Backend::stap, "stap (asked for)"};
  case Backend::kprobe:
    if (!kprobe_no.empty())
      return fail(Exit::lockdown, "--backend kprobe", kprobe_no,
                  "run the probes in a VM (`harness vm run`)");
    return BackendChoice{Backend::kprobe, "kprobe (asked for)"};
  case Backend::automatic:
    break;
  }
  if (stap_no.empty())
    return BackendChoice{Backend::stap,
                         "stap: SystemTap " + f.stap_version.substr(0, f.stap_version.find('/')) +
                             " can build and load its module for " + f.kernel_release};
  if (kprobe_no.empty())
    return BackendChoice{Backend::kprobe, "kprobe: " + stap_no};
  return fail(Exit::lockdown, "tracer", stap_no + "; " + kprobe_no,
              "run the probes in a VM (`harness vm run`)");
}

} // namespace harness::tracer
