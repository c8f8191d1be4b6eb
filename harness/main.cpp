// harness: makes the AF_PACKET TX ring (tpacket_snd) observable, with SystemTap or kprobe events.
// main only picks the subcommand and prints the one user-facing error; the work is in libraries.
#include "base/build_info.hpp"
#include "base/files.hpp"
#include "base/signals.hpp"
#include "harness/cli/commands.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

namespace {

// What a command printed must reach its reader: a map, script or report lost to a full disk or a
// closed file is a failure (exit 14), not a silent success. Called before every return of a
// command that may have printed; `code` is kept when stdout was written.
int with_stdout_written(int code) {
  errno = 0;
  std::cout.flush();
  const bool lost = !std::cout || std::fflush(stdout) != 0 || std::ferror(stdout);
  if (!lost)
    return code;
  const int err = errno;
  if (err == EPIPE) // the reader stopped reading (`| head`): what the default SIGPIPE would give
    return 128 + SIGPIPE;
  std::cerr << harness::format_error(
                   {harness::Exit::io, "standard output",
                    std::string("cannot be written") +
                        (err ? std::string(": ") + std::strerror(err) : std::string()),
                    "free space on its file system, or send it to a file you can write"})
            << "\n";
  return static_cast<int>(harness::Exit::io);
}

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
    return with_stdout_written(0);
  }
  if (first == "--version" || first == "-V") {
    std::cout << "harness " << harness::build_info::version << "\ndata: " << harness::data_dir()
              << "\n";
    return with_stdout_written(0);
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
    return with_stdout_written(*result);
  } catch (const std::exception& e) {
    // Libraries report expected failures as Result; reaching this is a harness bug.
    std::cerr << "harness: internal error in '" << first << "': " << e.what()
              << "\nhint: please report this with the command line that caused it\n";
    return static_cast<int>(Exit::internal);
  }
}
