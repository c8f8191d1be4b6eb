#pragma once

#include "base/printable.hpp"
#include "harness/cli/commands.hpp"

#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace harness::cli {

namespace po = boost::program_options;

// Parses a subcommand's argv. Returns nullopt after printing help for --help; an error for
// unknown options, missing or malformed values (naming the option and the command's --help).
struct ParsedOptions {
  po::variables_map vm;
  bool help = false;
};

Result<ParsedOptions> parse_options(const Args& args, const std::string& command,
                                    const std::string& usage, po::options_description& opts,
                                    const po::positional_options_description& positional = {});

// Prints "usage: harness <usage>\n\n<summary>\n\n<options>".
void print_help(const std::string& command, const std::string& usage,
                const po::options_description& opts, const std::string& extra = {});

// --tolerance PCT of `run` and `report`: 0 to 10000 percent, as a fraction. NaN is refused: it
// compares false with every difference, so no baseline could ever regress.
Result<double> tolerance_fraction(double percent);

// --trace-buffer of `run`: "auto" (nullopt: sized for the run) or a size per CPU in KiB,
// written N, NK, NM or NG (binary units; N alone is KiB), from 4 KiB to 4 GiB.
Result<std::optional<std::uint64_t>> trace_buffer_kb(const std::string& text);

// How `build` and `verify` choose the line map of a kernel build tree (kernel/tree_map.hpp).
inline constexpr const char* kTreeMapText =
    "The line map: --map FILE, else --kernel VER's shipped map, else the tree's own: the shipped "
    "map holding the same af_packet.c (sha1), or the anchors located in the tree's af_packet.c "
    "(the note names the nearest shipped map and how many anchors moved from it).\n";

} // namespace harness::cli
