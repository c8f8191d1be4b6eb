#include "kernel/line_map_select.hpp"

#include <sys/utsname.h>

namespace harness::kernel {
namespace {

std::string running_release() {
  struct utsname u {};
  return ::uname(&u) == 0 ? std::string(u.release) : std::string();
}

} // namespace

Result<probes::MapSelection> select_line_map(const MapQuery& q) {
  auto maps = probes::load_shipped_maps();
  if (!maps)
    return std::unexpected(maps.error());
  if (q.running_kernel) // --kernel SPEC as given, "auto" being the running kernel
    return probes::select_map(*maps, q.kernel_spec,
                              q.kernel_spec == "auto" ? running_release() : std::string());
  return probes::select_map_for_source(*maps, q.kernel_spec, q.release, q.source);
}

} // namespace harness::kernel
