#include "tracer/tracer_choice.hpp"

#include <cctype>
#include <charconv>

namespace harness::tracer {
namespace {

constexpr std::string_view kVmHint = "run the probes in a VM (`harness vm run`)";

// A tracer asked for by name that can probe: itself; else why not, and another that can.
Result<BackendChoice> choose_named(const std::vector<const Tracer*>& tracers, const Tracer& asked,
                                   const BackendFacts& f) {
  const Obstacle no = asked.obstacle(f);
  if (no.why.empty())
    return BackendChoice{&asked, std::string(asked.name()) + " (asked for)"};
  std::string hint(kVmHint);
  for (const Tracer* t : tracers)
    if (t != &asked && t->obstacle(f).why.empty()) {
      hint = "use --backend " + std::string(t->name()) +
             (t->instead().empty() ? "" : " (" + std::string(t->instead()) + ")");
      break;
    }
  return fail(no.code, "--backend " + std::string(asked.name()), no.why, hint);
}

} // namespace

std::string BackendFacts::tool_version(std::string_view tracer) const {
  const auto it = tool_versions.find(tracer);
  return it == tool_versions.end() ? std::string() : it->second;
}

Result<BackendChoice> choose_backend(const std::vector<const Tracer*>& tracers,
                                     const Tracer* requested, const BackendFacts& f) {
  if (requested)
    return choose_named(tracers, *requested, f);
  std::string cannot; // why the ones before could not, "; "-joined
  Exit last = Exit::unsupported;
  for (std::size_t i = 0; i < tracers.size(); ++i) {
    const Obstacle no = tracers[i]->obstacle(f);
    if (no.why.empty())
      return BackendChoice{tracers[i], i == 0 ? tracers[i]->chosen_reason(f)
                                              : std::string(tracers[i]->name()) + ": " + cannot};
    cannot += (cannot.empty() ? "" : "; ") + no.why;
    last = no.code;
  }
  return fail(last, "tracer", cannot, std::string(kVmHint));
}

BackendFacts machine_facts(const Machine& m, std::string release) {
  BackendFacts f;
  f.kernel_release = std::move(release);
  if (auto text = m.read("/sys/kernel/security/lockdown"))
    f.lockdown = lockdown_mode(*text);
  auto disabled = m.read("/proc/sys/kernel/modules_disabled");
  f.modules_disabled = !m.exists("/proc/modules") || (disabled && trim(*disabled) == "1");
  auto sig = m.read("/sys/module/module/parameters/sig_enforce");
  f.module_signing_enforced = sig && (trim(*sig) == "Y" || trim(*sig) == "1");
  return f;
}

std::optional<std::pair<int, int>> kernel_major_minor(std::string_view s) {
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

bool valid_artifact_name(std::string_view name) {
  if (name.empty() || name.size() > 55)
    return false;
  if (!(std::isalpha(static_cast<unsigned char>(name.front())) || name.front() == '_'))
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

} // namespace harness::tracer
