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

unsigned RealSystem::euid() const {
  return static_cast<unsigned>(::geteuid());
}

std::string RealSystem::kernel_release() const {
  struct utsname u {};
  if (::uname(&u) != 0)
    return {};
  return u.release;
}

std::optional<std::string> RealSystem::read(const std::string& path) const {
  auto r = read_file(path);
  if (!r)
    return std::nullopt;
  return *r;
}

bool RealSystem::exists(const std::string& path) const {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::optional<std::string> RealSystem::find_program(const std::string& name) const {
  return harness::find_program(name);
}

CommandOutput RealSystem::run(const std::vector<std::string>& argv) const {
  CommandOutput out;
  if (argv.empty())
    return out;
  ChildSpec spec{.exe = argv.front(), .args = {argv.begin() + 1, argv.end()}};
  auto r = run_captured(spec, std::chrono::seconds(10));
  if (!r)
    return out;
  out.code = r->status.signal == 0 && !r->timed_out ? r->status.code : -1;
  out.out = std::move(r->out);
  out.err = std::move(r->err);
  return out;
}

std::optional<bool> RealSystem::has_debug_info(const std::string& path) const {
  return elf_has_debug_info(path);
}

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

std::optional<bool> elf_has_debug_info(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  auto pread_all = [fd](void* buf, std::size_t n, off_t off) {
    return ::pread(fd, buf, n, off) == static_cast<ssize_t>(n);
  };
  std::optional<bool> result;
  Elf64_Ehdr eh{};
  if (pread_all(&eh, sizeof eh, 0) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_shentsize == sizeof(Elf64_Shdr) &&
      eh.e_shnum > 0 && eh.e_shnum < 65000 && eh.e_shstrndx < eh.e_shnum) {
    std::vector<Elf64_Shdr> sh(eh.e_shnum);
    if (pread_all(sh.data(), sh.size() * sizeof(Elf64_Shdr), static_cast<off_t>(eh.e_shoff))) {
      const Elf64_Shdr& strtab = sh[eh.e_shstrndx];
      if (strtab.sh_size > 0 && strtab.sh_size < (1u << 24)) {
        std::string names(strtab.sh_size, '\0');
        if (pread_all(names.data(), names.size(), static_cast<off_t>(strtab.sh_offset))) {
          result = false;
          for (const auto& s : sh)
            if (s.sh_name < names.size() &&
                std::strcmp(names.c_str() + s.sh_name, ".debug_info") == 0)
              result = true;
        }
      }
    }
  }
  ::close(fd);
  return result;
}

} // namespace harness::session
