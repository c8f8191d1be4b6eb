#include "vm/qemu_command.hpp"

#include "vm/vm_job.hpp"

namespace harness::vm {
namespace {

constexpr std::string_view root_tag = "root";

} // namespace

std::string_view to_string(Accel a) {
  return a == Accel::kvm ? "kvm" : "tcg";
}

bool command_line_safe_path(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 512)
    return false;
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7f || c == ',' || c == '"' || c == '\'' || c == '\\')
      return false;
  }
  return true;
}

Status check_vm_settings(const std::string& share_dir, int memory_mb) {
  if (!command_line_safe_path(share_dir))
    return fail(Exit::usage, "share directory " + share_dir,
                "must be an absolute path without spaces, commas or quotes (it goes on the qemu "
                "and kernel command lines)",
                "move it to a plain path such as /var/tmp/harness");
  if (memory_mb < kMinGuestMemoryMb)
    return fail(Exit::usage, "--memory " + std::to_string(memory_mb),
                "too small for the guest (stap's module and relay buffers need >= " +
                    std::to_string(kMinGuestMemoryMb) + " MiB)");
  return {};
}

std::string kernel_command_line(const QemuConfig& cfg) {
  std::string cmd = cfg.initrd.empty()
                        ? "console=ttyS0 root=" + std::string(root_tag) +
                              " rootfstype=9p rootflags=trans=virtio,version=9p2000.L,"
                              "msize=262144 ro init=" +
                              cfg.init + " panic=-1"
                        : "console=ttyS0 rdinit=" + cfg.init + " panic=-1";
  if (cfg.tsc_khz > 0 && cfg.accel == Accel::tcg)
    cmd += " tsc_early_khz=" + std::to_string(cfg.tsc_khz) + " tsc=reliable";
  if (!cfg.init_args.empty()) {
    cmd += " --";
    for (const auto& a : cfg.init_args)
      cmd += " " + a;
  }
  return cmd;
}

Result<std::vector<std::string>> qemu_arguments(const QemuConfig& cfg) {
  if (auto s = check_vm_settings(cfg.share_dir, cfg.memory_mb); !s)
    return std::unexpected(s.error());
  for (const auto& [what, path] :
       {std::pair{"kernel image", &cfg.kernel_image}, std::pair{"guest init", &cfg.init},
        std::pair{"initramfs", &cfg.initrd}})
    if (!(path == &cfg.initrd && path->empty()) && !command_line_safe_path(*path))
      return fail(Exit::usage, std::string(what) + " " + *path,
                  "must be an absolute path without spaces, commas or quotes (it goes on the qemu "
                  "and kernel command lines)",
                  "move it to a plain path such as /var/tmp/harness");
  for (const auto& a : cfg.init_args)
    for (char c : a)
      if (static_cast<unsigned char>(c) <= ' ' || c == '"')
        return fail(Exit::usage, "guest argument '" + a + "'",
                    "contains whitespace or quotes, which the kernel command line cannot carry");

  const std::string cmdline = kernel_command_line(cfg);
  if (cmdline.size() >= 2048)
    return fail(Exit::usage, "guest command line", "longer than the kernel's 2048-byte limit",
                "use shorter paths");
  std::vector<std::string> args = {
      "-accel",
      std::string(to_string(cfg.accel)),
      "-m",
      std::to_string(cfg.memory_mb),
      "-smp",
      "1",
      // No default devices (VGA, NIC, floppy...): faster boot, and nothing in the guest we did
      // not ask for. The serial console goes to qemu's stdout.
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-serial",
      "stdio",
      "-no-reboot",
      "-kernel",
      cfg.kernel_image,
      "-append",
      cmdline,
      "-fsdev",
      "local,id=hxroot,path=/,security_model=none,readonly=on,multidevs=remap",
      "-device",
      "virtio-9p-pci,fsdev=hxroot,mount_tag=" + std::string(root_tag),
      "-fsdev",
      "local,id=hxshare,path=" + cfg.share_dir + ",security_model=none,multidevs=remap",
      "-device",
      "virtio-9p-pci,fsdev=hxshare,mount_tag=" + std::string(share_tag),
  };
  if (!cfg.initrd.empty()) {
    args.emplace_back("-initrd");
    args.push_back(cfg.initrd);
  }
  // No `-cpu max/host` under KVM: on nested hosts qemu aborts setting an MSR the host lacks.
  return args;
}

} // namespace harness::vm
