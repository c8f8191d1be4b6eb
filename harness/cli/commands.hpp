#pragma once

#include "base/result.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::cli {

using Args = std::vector<std::string>;

// A subcommand: parses its own options (argv after the command name) and calls the libraries.
// Returns the exit status to use, or the one user-facing error main prints.
struct Command {
  std::string_view name;
  std::string_view summary;
  Result<int> (*run)(const Args& args);
  bool hidden = false; // internal commands (the VM guest's init) are not listed in --help
};

std::span<const Command> commands();
const Command* find_command(std::string_view name);

// One function per subcommand, each in cmd_<name>.cpp.
Result<int> cmd_send(const Args& args);
Result<int> cmd_map(const Args& args);
Result<int> cmd_drift(const Args& args);
Result<int> cmd_generate(const Args& args);
Result<int> cmd_run(const Args& args);
Result<int> cmd_report(const Args& args);
Result<int> cmd_doctor(const Args& args);
Result<int> cmd_kernel(const Args& args);
Result<int> cmd_build(const Args& args);
Result<int> cmd_vm(const Args& args);
Result<int> cmd_verify(const Args& args);
Result<int> cmd_demo(const Args& args);
Result<int> cmd_vm_guest(const Args& args);

} // namespace harness::cli
