#include "stap/stap_output.hpp"

#include <array>
#include <cctype>
#include <cstdio>

namespace harness::stap {
namespace {

struct Pattern {
  std::string_view needle;
  Exit code;
  std::string_view cause;
  std::string_view hint;
  // A line that says more than the needle's, when present (the compiler's first error).
  std::string_view evidence_from = {};
};

// Most specific first: the first needle found (in this order) wins.
constexpr std::array<Pattern, 17> kPatterns = {{
    {"This host requires module signing", Exit::lockdown,
     "the kernel only loads signed modules and stap's module is unsigned",
     "disable Secure Boot / module.sig_enforce, or run the probes in a VM (`harness vm run`)"},
    {"Required key not available", Exit::lockdown,
     "the kernel refused the unsigned probe module (Secure Boot / lockdown)",
     "disable Secure Boot, or run the probes in a VM (`harness vm run`)"},
    {"machine owner keys", Exit::lockdown,
     "stap wants to sign its module for a locked-down kernel (MOK) and cannot",
     "cross-build the module (`harness build`) and load it where lockdown is off (`harness vm "
     "run`)"},
    {"Lockdown", Exit::lockdown, "the kernel is in lockdown and refuses the probe module",
     "disable Secure Boot, or run the probes in a VM (`harness vm run`)"},
    {"kernel/module debuginfo", Exit::no_debuginfo, "stap found no debuginfo for the target kernel",
     "apt-get install linux-image-$(uname -r)-dbg, or give -r BUILD_DIR of a kernel built with "
     "CONFIG_DEBUG_INFO"},
    {"debuginfo", Exit::no_debuginfo, "stap found no debuginfo for the target kernel",
     "apt-get install linux-image-$(uname -r)-dbg, or give -r BUILD_DIR"},
    {"ERROR: module version mismatch", Exit::tracer_failed,
     "a stale probe module from stap's cache does not match this kernel",
     "remove the cache (~/.systemtap/cache, or $SYSTEMTAP_DIR/cache) and run again"},
    {"semantic error: no match", Exit::tracer_failed,
     "a probe point does not exist in this kernel (semantic error: no match)",
     "the line map does not fit this kernel: check it with `harness drift` and `harness verify`"},
    {"not accessible at this address", Exit::tracer_failed,
     "a variable a probe reads is optimised out at its line",
     "build af_packet.c at -O0 (`harness kernel prepare`), or probe a line where it is live"},
    {"Number of errors:", Exit::tracer_failed, "stap reported errors and skipped probes",
     "see the log; probes that failed were not placed"},
    {"parse error", Exit::tracer_failed, "the generated script does not parse (a harness bug)",
     "report it with the script from the run directory"},
    {"semantic error", Exit::tracer_failed, "stap rejected the script (semantic error)",
     "see the log; `harness verify` checks every anchor against the kernel"},
    {"compilation failed", Exit::tracer_failed, "the probe module failed to compile",
     "see the log; 6.1.y kernels need a patched runtime (`harness build` applies it)", "error:"},
    {"Couldn't insert module", Exit::tracer_failed, "the kernel refused to load the probe module",
     "see the log and dmesg"},
    {"You are trying to run systemtap as a normal user", Exit::not_root,
     "stap needs root (or the stapdev group)", "run with sudo"},
    {"Permission denied", Exit::not_root, "permission denied", "run with sudo"},
    {"Checking \"", Exit::no_debuginfo, "no kernel build tree for the target kernel",
     "apt-get install linux-headers-$(uname -r), or give -r BUILD_DIR"},
}};

std::string line_at(std::string_view text, std::size_t pos) {
  const auto b = text.rfind('\n', pos);
  const auto e = text.find('\n', pos);
  auto l = text.substr(b == std::string_view::npos ? 0 : b + 1,
                       e == std::string_view::npos ? std::string_view::npos
                                                   : e - (b == std::string_view::npos ? 0 : b + 1));
  if (l.size() > 300)
    l = l.substr(0, 300);
  return std::string(l);
}

} // namespace

std::optional<StapProgress> parse_stap_progress(std::string_view line) {
  // "Pass 1: parsed user script and 482 library scripts using 1virt/...kb, in 180usr/40sys/226real
  // ms."
  if (line.size() < 8 || line.substr(0, 5) != "Pass " ||
      !std::isdigit(static_cast<unsigned char>(line[5])) || line[6] != ':')
    return std::nullopt;
  StapProgress p;
  p.pass = line[5] - '0';
  if (p.pass < 1 || p.pass > 5)
    return std::nullopt;
  std::string_view rest = line.substr(7);
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  std::string_view what = rest;
  // Cut the statistics: " using 1234virt/...kb" and " in 180usr/40sys/226real ms".
  for (std::string_view marker : {std::string_view(" using "), std::string_view(" in ")}) {
    for (std::size_t pos = what.find(marker); pos != std::string_view::npos;
         pos = what.find(marker, pos + 1)) {
      const std::size_t next = pos + marker.size();
      if (next < what.size() && std::isdigit(static_cast<unsigned char>(what[next]))) {
        what = what.substr(0, pos);
        break;
      }
    }
  }
  while (!what.empty() && (what.back() == '.' || what.back() == ','))
    what.remove_suffix(1);
  p.what = std::string(what);
  p.cached = rest.find("cached") != std::string_view::npos;
  if (auto r = rest.rfind("real ms"); r != std::string_view::npos) {
    auto b = r;
    while (b > 0 && std::isdigit(static_cast<unsigned char>(rest[b - 1])))
      --b;
    if (b < r)
      p.real_ms = std::stol(std::string(rest.substr(b, r - b)));
  }
  return p;
}

std::string format_stap_progress(const StapProgress& p) {
  static constexpr std::array<std::string_view, 5> kNames = {"parse", "elaborate", "translate",
                                                             "compile", "run"};
  std::string s = "stap pass " + std::to_string(p.pass) + "/5 " +
                  std::string(kNames[static_cast<std::size_t>(p.pass - 1)]);
  if (p.cached)
    s += " (cached)";
  if (p.real_ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " done in %.2f s", static_cast<double>(*p.real_ms) / 1000.0);
    s += buf;
  } else if (p.pass == 5) {
    s += ": starting";
  }
  return s;
}

std::optional<StapDiagnosis> diagnose_stap_output(std::string_view output) {
  for (const auto& p : kPatterns) {
    const auto pos = output.find(p.needle);
    if (pos == std::string_view::npos)
      continue;
    StapDiagnosis d;
    d.code = p.code;
    d.cause = std::string(p.cause);
    d.hint = std::string(p.hint);
    const auto better =
        p.evidence_from.empty() ? std::string_view::npos : output.find(p.evidence_from);
    d.evidence = line_at(output, better != std::string_view::npos ? better : pos);
    return d;
  }
  return std::nullopt;
}

namespace {

// The number right after `label` in `line`, if it is there.
std::optional<std::uint64_t> number_after(std::string_view line, std::string_view label) {
  const auto at = line.find(label);
  if (at == std::string_view::npos)
    return std::nullopt;
  std::uint64_t v = 0;
  std::size_t i = at + label.size(), digits = 0;
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9' && digits < 19; ++i, ++digits)
    v = v * 10 + static_cast<std::uint64_t>(line[i] - '0');
  if (digits == 0)
    return std::nullopt;
  return v;
}

} // namespace

void note_stap_losses(std::string_view line, StapLosses& losses) {
  // translate.cxx's end of a module, and runtime/transport/transport.c _stp_cleanup_and_exit.
  if (auto n = number_after(line, "skipped probes: "))
    losses.skipped_probes = *n;
  if (line.find("transport failures") != std::string_view::npos)
    if (auto n = number_after(line, "There were "))
      losses.transport_failures = *n;
}

} // namespace harness::stap
