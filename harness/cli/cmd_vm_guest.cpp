// `harness vm-guest`: the init process of a harness VM (hidden). The host puts
// `init=<harness> -- vm-guest --share DIR` on the guest kernel's command line.
#include "harness/cli/commands.hpp"
#include "harness/cli/options.hpp"
#include "vm/console_log.hpp"
#include "vm/guest_init.hpp"

#include <string>
#include <unistd.h>

namespace harness::cli {
namespace {

void console_line(std::string_view line) {
  std::string buf(line);
  buf += '\n';
  size_t off = 0;
  while (off < buf.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, buf.data() + off, buf.size() - off);
    if (n <= 0)
      return;
    off += static_cast<size_t>(n);
  }
}

} // namespace

Result<int> cmd_vm_guest(const Args& args) {
  const std::string usage = "vm-guest --share DIR [--not-init]";
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")(
      "share", po::value<std::string>()->required(),
      "the writable share holding job.json (same path as on the host)")(
      "not-init", "run the job without being PID 1: no mounts, no veth, no power off (tests)");
  auto parsed = parse_options(args, "vm-guest", usage, opts);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help)
    return 0;
  vm::GuestOptions g;
  g.share = parsed->vm["share"].as<std::string>();
  g.not_init = parsed->vm.count("not-init") > 0;
  if (!g.not_init && ::getpid() != 1)
    return fail(Exit::usage, "vm-guest",
                "is the init process of a harness VM and only runs as PID 1 (it mounts file "
                "systems and powers the machine off)",
                "use `harness vm run`; tests may pass --not-init");
  if (g.not_init) {
    auto st = vm::run_guest_job(g, console_line);
    if (!st)
      return std::unexpected(st.error());
    console_line(std::string(vm::marker::done) + " " + std::to_string(st->result));
    return 0;
  }

  // PID 1: every failure ends in a marker on the console and a power off, never an exit
  // (init exiting panics the kernel).
  if (auto m = vm::mount_guest_filesystems(g.share); !m) {
    console_line(std::string(vm::marker::error) + " " + m.error().what + ": " + m.error().why);
    vm::power_off_guest();
  }
  console_line(std::string(vm::marker::ready) + " " + std::to_string(vm::uptime_ms()));
  auto st = vm::run_guest_job(g, console_line);
  if (!st)
    console_line(std::string(vm::marker::error) + " " + st.error().what + ": " + st.error().why);
  else
    console_line(std::string(vm::marker::done) + " " + std::to_string(st->result));
  vm::power_off_guest();
}

} // namespace harness::cli
