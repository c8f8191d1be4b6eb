#include "harness/session/system_view.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "kernel/build_id.hpp"
#include "kernel/cache_dir.hpp"

#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <vector>

namespace harness::session {

kernel::SourceSearch RealSystem::find_kernel_source(const std::string& release,
                                                    const std::string& build_dir) const {
  return kernel::find_kernel_source(
      kernel::source_query(release, build_dir, "", kernel::resolve_cache_dir("")));
}

Result<stap::VerifyResult> RealSystem::verify_anchors(const probes::LineMap& map,
                                                      probes::ProbeSet set,
                                                      const std::string& release,
                                                      const std::string& build_dir) const {
  // stap -r takes a build tree or, for an installed kernel, its release.
  const std::string cache = kernel::resolve_cache_dir("");
  auto id = build_dir.empty() ? kernel::running_kernel_build_id()
                              : kernel::build_id_of_elf(build_dir + "/vmlinux");
  auto listings =
      stap::list_af_packet_probes(build_dir.empty() ? release : build_dir, cache, id ? *id : "");
  if (!listings)
    return std::unexpected(listings.error());
  return stap::check_anchors(map, set, listings->statements, listings->functions);
}

} // namespace harness::session
