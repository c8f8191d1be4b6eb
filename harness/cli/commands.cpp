#include "harness/cli/commands.hpp"

#include <array>

namespace harness::cli {
namespace {

constexpr std::array kCommands = {
    Command{"send", "send frames through a PACKET_TX_RING and audit every slot", cmd_send},
    Command{"map", "compute the line map of an af_packet.c", cmd_map},
    Command{"drift", "compare a source with a shipped line map", cmd_drift},
    Command{"generate", "write a SystemTap probe script for a kernel", cmd_generate},
    Command{"run", "probe the kernel while sending, correlate, report", cmd_run},
    Command{"report", "rebuild a report from saved probe output and sender records", cmd_report},
    Command{"doctor", "check this machine for what `run` needs, run nothing", cmd_doctor},
    Command{"kernel", "prepare and build a probe-friendly kernel", cmd_kernel},
    Command{"build", "cross-compile the probe module for a kernel build tree", cmd_build},
    Command{"vm",
            "boot a kernel build or a stock Debian kernel under qemu and run harness inside it",
            cmd_vm},
    Command{"verify", "check every anchor against a kernel's DWARF", cmd_verify},
    Command{"demo",
            "boot a kernel (stock Debian, or a test kernel) and run the whole chain in a VM",
            cmd_demo},
    Command{"vm-guest", "init process of a harness VM (internal)", cmd_vm_guest, true},
};

} // namespace

std::span<const Command> commands() {
  return kCommands;
}

const Command* find_command(std::string_view name) {
  for (const auto& c : kCommands)
    if (c.name == name)
      return &c;
  return nullptr;
}

} // namespace harness::cli
