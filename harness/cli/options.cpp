#include "harness/cli/options.hpp"

#include <cstdio>
#include <iostream>

namespace harness::cli {

void print_help(const std::string& command, const std::string& usage,
                const po::options_description& opts, const std::string& extra) {
  std::cout << "usage: harness " << usage << "\n\n";
  if (const auto* c = find_command(command))
    std::cout << c->summary << "\n\n";
  std::cout << opts;
  if (!extra.empty())
    std::cout << "\n" << extra;
  if (extra.empty() || extra.back() != '\n')
    std::cout << "\n";
}

Result<double> tolerance_fraction(double percent) {
  if (!(percent >= 0 && percent <= 10000))
    return fail(Exit::usage, "--tolerance " + number_text(percent),
                "must be between 0 and 10000 (percent)",
                "the latency growth allowed against the baseline, e.g. --tolerance 25");
  return percent / 100.0;
}

Result<ParsedOptions> parse_options(const Args& args, const std::string& command,
                                    const std::string& usage, po::options_description& opts,
                                    const po::positional_options_description& positional) {
  ParsedOptions out;
  const std::string hint = "see `harness " + command + " --help`";
  try {
    auto parser = po::command_line_parser(args).options(opts).positional(positional);
    po::store(parser.run(), out.vm);
    if (out.vm.count("help")) {
      out.help = true;
      print_help(command, usage, opts);
      return out;
    }
    po::notify(out.vm);
  } catch (const po::error& e) {
    return fail(Exit::usage, command, e.what(), hint);
  }
  return out;
}

Result<std::optional<std::uint64_t>> trace_buffer_kb(const std::string& text) {
  if (text == "auto")
    return std::nullopt;
  auto bad = [&] {
    return fail(Exit::usage, "--trace-buffer " + text, "is not a size from 4K to 4G (or auto)",
                "give the tracer's buffer per CPU, e.g. --trace-buffer 64M, --trace-buffer 8K");
  };
  std::size_t digits = 0;
  while (digits < text.size() && digits < 10 && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  if (digits == 0)
    return bad();
  std::uint64_t n = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit == "M" || unit == "m")
    n <<= 10;
  else if (unit == "G" || unit == "g")
    n <<= 20;
  else if (!unit.empty() && unit != "K" && unit != "k")
    return bad();
  if (n < 4 || n > (std::uint64_t{4} << 20))
    return bad();
  return n;
}

} // namespace harness::cli
