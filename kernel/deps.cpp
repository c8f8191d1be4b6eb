#include "kernel/deps.hpp"

#include <array>
#include <map>
#include <unistd.h>

namespace harness::kernel {
namespace {

constexpr std::array<std::string_view, 19> kDemoPackages = {"gcc",
                                                            "make",
                                                            "iproute2",
                                                            "systemtap",
                                                            "systemtap-runtime",
                                                            "linux-perf",
                                                            "qemu-system-x86",
                                                            "flex",
                                                            "bison",
                                                            "libelf-dev",
                                                            "libssl-dev",
                                                            "bc",
                                                            "cpio",
                                                            "xz-utils",
                                                            "zstd",
                                                            "kmod",
                                                            "libdw-dev",
                                                            "ccache",
                                                            "ca-certificates"};

} // namespace

std::vector<std::string_view> demo_packages(std::string_view series) {
  std::vector<std::string_view> out(kDemoPackages.begin(), kDemoPackages.end());
  // The source of the kernel the demo builds: what `demo --kernel 6.12` lacked on a fresh
  // machine (issue 30, defect 1). Literals, so the views outlive the call.
  out.push_back(series == "6.12" ? "linux-source-6.12" : "linux-source-6.1");
  return out;
}

std::vector<std::string> missing_from_dpkg_output(std::string_view output,
                                                  std::span<const std::string_view> wanted) {
  std::map<std::string, bool> installed;
  while (!output.empty()) {
    const auto nl = output.find('\n');
    const std::string_view line = output.substr(0, nl);
    output = nl == std::string_view::npos ? std::string_view{} : output.substr(nl + 1);
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos)
      continue;
    std::string name(line.substr(0, sp));
    if (const auto colon = name.find(':'); colon != std::string::npos)
      name.resize(colon); // "libssl-dev:amd64"
    if (line.substr(sp + 1) == "install ok installed")
      installed[name] = true;
  }
  std::vector<std::string> missing;
  for (auto p : wanted)
    if (!installed[std::string(p)])
      missing.emplace_back(p);
  return missing;
}

Result<std::vector<std::string>> missing_packages(std::span<const std::string_view> wanted) {
  ChildSpec spec;
  spec.exe = "dpkg-query";
  spec.args = {"-W", "-f=${Package} ${Status}\n"};
  for (auto p : wanted)
    spec.args.emplace_back(p);
  auto r = run_captured(spec, std::chrono::seconds(60));
  if (!r)
    return fail(Exit::io, "dpkg-query", r.error().why,
                "harness demo installs packages on Debian and its derivatives only");
  // dpkg-query exits 1 when some package is unknown; the output still lists the others.
  return missing_from_dpkg_output(r->out, wanted);
}

Status install_packages(const std::vector<std::string>& packages, const LineSink& on_progress) {
  if (packages.empty())
    return {};
  std::string list;
  for (const auto& p : packages)
    list += " " + p;
  if (::geteuid() != 0)
    return fail(Exit::not_root, "missing packages:" + list, "installing them needs root",
                "run `sudo harness demo`, or `sudo scripts/install-deps --kernel`");
  // Spawned directly (not run_captured) so that apt's progress reaches the user as it happens.
  auto apt = [&](std::vector<std::string> args) -> Result<Captured> {
    ChildSpec spec;
    spec.exe = "apt-get";
    spec.args = std::move(args);
    spec.env = {{"DEBIAN_FRONTEND", "noninteractive"}};
    Captured cap;
    spec.on_stdout = [&](std::string_view l) {
      if (on_progress && (l.starts_with("Setting up ") || l.starts_with("Get:")))
        on_progress(std::string(l));
    };
    spec.on_stderr = [&](std::string_view l) {
      cap.err.append(l).push_back('\n');
    };
    auto child = spawn(spec);
    if (!child)
      return std::unexpected(child.error());
    auto st = (*child)->wait(std::chrono::minutes(30));
    if (!st) {
      cap.timed_out = true;
      st = (*child)->terminate(std::chrono::seconds(5));
    }
    cap.status = *st;
    return cap;
  };
  std::vector<std::string> install = {"install", "-y", "--no-install-recommends"};
  install.insert(install.end(), packages.begin(), packages.end());
  if (on_progress)
    on_progress("apt-get install" + list);
  auto r = apt(install);
  if (r && r->status.success())
    return {};
  if (on_progress)
    on_progress("apt-get update (the package lists may be stale)");
  (void)apt({"update"});
  r = apt(install);
  if (!r)
    return fail(Exit::io, "apt-get", r.error().why);
  if (!r->status.success()) {
    std::string err = r->err.size() > 400 ? "..." + r->err.substr(r->err.size() - 400) : r->err;
    return fail(Exit::io, "apt-get install" + list, r->status.describe() + ": " + err,
                "check the machine's apt sources, or install the packages by hand");
  }
  return {};
}

} // namespace harness::kernel
