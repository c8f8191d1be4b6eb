#pragma once

// The pure parts of preparing a probe-friendly kernel: the Kconfig fragment (probe-kernel.config
// in this directory), merging it into a .config the way scripts/config does, checking that
// `make olddefconfig` kept it, and the idempotent net/packet/Makefile edit that compiles
// af_packet.c at -O0 (so tpacket_snd and the status helpers stay real, probeable functions).

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace harness::kernel {

inline constexpr std::string_view af_packet_O0_line = "CFLAGS_af_packet.o = -O0";

struct ConfigOption {
  std::string name; // without CONFIG_, e.g. "KPROBES"
  bool enabled = true;
  friend bool operator==(const ConfigOption&, const ConfigOption&) = default;
};

// Parses a fragment: `CONFIG_X=y` enables, `# CONFIG_X is not set` (or `CONFIG_X=n`) disables;
// other comments and blank lines are skipped. Only y/n values: a fragment with `=m`, a string
// or an unknown line is an error naming the line.
Result<std::vector<ConfigOption>> parse_config_fragment(std::string_view text,
                                                        std::string_view origin);

// Sets every option of the fragment in `config` (a .config text): replaces the existing line of
// each option (enabled or not), appends the missing ones at the end. Idempotent.
std::string merge_config(std::string_view config, const std::vector<ConfigOption>& fragment);

// Options of the fragment that `config` (after olddefconfig) does not honour: enabled but not
// =y, or disabled but =y/=m. Kconfig drops an option whose dependencies are missing.
std::vector<ConfigOption> unmet_options(std::string_view config,
                                        const std::vector<ConfigOption>& fragment);

struct MakefileEdit {
  std::string text;
  bool changed = false;
};
// Appends `CFLAGS_af_packet.o = -O0` to net/packet/Makefile unless it already sets -O0 for
// af_packet.o. Idempotent: a second call changes nothing.
MakefileEdit add_af_packet_O0(std::string_view makefile);

// The fragment shipped with harness: data_dir()/kernel/probe-kernel.config.
std::string fragment_path();

} // namespace harness::kernel
