// harness: makes the AF_PACKET TX ring (tpacket_snd) observable with SystemTap.
// main only picks the subcommand and prints the one user-facing error; the work is in libraries.
#include "base/build_info.hpp"
#include "base/files.hpp"
#include "base/signals.hpp"
#include "harness/cli/commands.hpp"

#include <cstring>
#include <exception>
#include <iostream>

namespace {

void print_usage(std::ostream& os) {
  os << "usage: harness [--help] [--version] <command> [options]\n\ncommands:\n";
  for (const auto& c : harness::cli::commands())
    if (!c.hidden)
      os << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary << "\n";
  os << "\n`harness <command> --help` describes a command's options.\n"
        "Exit codes are listed in README.md (0 ok, 1 anomaly found, 2 bad input, >2 could not "
        "run).\n";
}

} // namespace

int main(int argc, char** argv) {
  using harness::Exit;
  if (argc < 2) {
    print_usage(std::cerr);
    return static_cast<int>(Exit::usage);
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "harness " << harness::build_info::version << "\ndata: " << harness::data_dir()
              << "\n";
    return 0;
  }
  const auto* cmd = harness::cli::find_command(first);
  if (!cmd) {
    std::cerr << harness::format_error({Exit::usage, "unknown command '" + first + "'", "",
                                        "run `harness --help` for the list of commands"})
              << "\n";
    return static_cast<int>(Exit::usage);
  }
  try {
    auto result = cmd->run(harness::cli::Args(argv + 2, argv + argc));
    if (!result) {
      std::cerr << harness::format_error(result.error()) << "\n";
      // A step an interrupt cut short fails in its own way (a killed child, a closed pipe);
      // the cause is the interrupt, and its exit status says so (README "Exit codes").
      if (harness::interrupt_requested())
        return static_cast<int>(Exit::interrupted);
      return static_cast<int>(result.error().code);
    }
    return *result;
  } catch (const std::exception& e) {
    // Libraries report expected failures as Result; reaching this is a harness bug.
    std::cerr << "harness: internal error in '" << first << "': " << e.what()
              << "\nhint: please report this with the command line that caused it\n";
    return static_cast<int>(Exit::internal);
  }
}
