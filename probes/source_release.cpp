#include "probes/source_release.hpp"

#include "base/files.hpp"
#include "probes/line_map.hpp"
#include "probes/locator.hpp"

namespace harness::probes {

Result<std::string> release_for_source(const std::string& source_path, const std::string& given) {
  if (!given.empty()) {
    if (!valid_release(given))
      return fail(Exit::usage, "--kernel " + given.substr(0, 64),
                  "not a kernel release (digits, letters and . - + _ ~, starting with a digit)");
    return given;
  }
  const std::string suffix = "net/packet/af_packet.c";
  std::string makefile;
  if (source_path.ends_with(suffix))
    makefile = source_path.substr(0, source_path.size() - suffix.size()) + "Makefile";
  if (!makefile.empty()) {
    if (auto text = read_file(makefile)) {
      const std::string r = release_from_makefile(*text);
      if (valid_release(r))
        return r;
    }
  }
  return fail(Exit::usage, source_path,
              "cannot tell which kernel release this source belongs to (no kernel Makefile "
              "next to it)",
              "give it with --kernel RELEASE, e.g. --kernel 6.1.192");
}

} // namespace harness::probes
