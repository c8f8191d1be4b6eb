#include "tracer/machine.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"

#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace harness::tracer {

unsigned RealMachine::euid() const {
  return static_cast<unsigned>(::geteuid());
}

std::string RealMachine::kernel_release() const {
  struct utsname u {};
  if (::uname(&u) != 0)
    return {};
  return u.release;
}

std::optional<std::string> RealMachine::read(const std::string& path) const {
  auto r = read_file(path);
  if (!r)
    return std::nullopt;
  return *r;
}

bool RealMachine::exists(const std::string& path) const {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::optional<std::string> RealMachine::find_program(const std::string& name) const {
  return harness::find_program(name);
}

CommandOutput RealMachine::run(const std::vector<std::string>& argv) const {
  CommandOutput out;
  if (argv.empty())
    return out;
  ChildSpec spec{.exe = argv.front(), .args = {argv.begin() + 1, argv.end()}};
  // A guard against a hung tool, not a budget: under qemu TCG `stap --version` alone takes over
  // 10 s, and a version that did not arrive in time read as "unknown" and skipped the
  // kernel-range check.
  auto r = run_captured(spec, std::chrono::seconds(60));
  if (!r)
    return out;
  out.code = r->status.signal == 0 && !r->timed_out ? r->status.code : -1;
  out.out = std::move(r->out);
  out.err = std::move(r->err);
  return out;
}

std::optional<bool> RealMachine::has_debug_info(const std::string& path) const {
  return elf_has_debug_info(path);
}

std::string_view check_state_name(CheckState s) {
  switch (s) {
  case CheckState::ok:
    return "ok";
  case CheckState::warn:
    return "warn";
  case CheckState::fail:
    return "FAIL";
  case CheckState::skip:
    return "skip";
  case CheckState::unknown:
    return "unknown";
  }
  return "?";
}

void Checker::ok(std::string name, std::string detail) {
  out.push_back({std::move(name), CheckState::ok, std::move(detail), {}});
}

void Checker::skip(std::string name, std::string detail) {
  out.push_back({std::move(name), CheckState::skip, std::move(detail), {}});
}

void Checker::warn(std::string name, std::string detail, std::string why, std::string hint) {
  Check c{std::move(name), CheckState::warn, std::move(detail), {}};
  c.error = Error{Exit::ok, c.name, std::move(why), std::move(hint)};
  out.push_back(std::move(c));
}

void Checker::unknown(std::string name, std::string detail, std::string hint) {
  Check c{std::move(name), CheckState::unknown, std::move(detail), {}};
  c.error = Error{Exit::ok, c.name, c.detail, std::move(hint)};
  out.push_back(std::move(c));
}

void Checker::failed(std::string name, Exit code, std::string what, std::string why,
                     std::string hint) {
  Check c{std::move(name), CheckState::fail, {}, {}};
  c.detail = why;
  c.error = Error{code, std::move(what), std::move(why), std::move(hint)};
  out.push_back(std::move(c));
}

bool fs_mounted(const Machine& m, std::string_view type, std::string_view dir) {
  const auto mounts = m.read("/proc/self/mounts");
  if (!mounts)
    return false;
  std::istringstream in(*mounts);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string source, target, fstype;
    if (f >> source >> target >> fstype && target == dir && fstype == type)
      return true;
  }
  return false;
}

std::string lockdown_mode(std::string_view text) {
  const auto l = text.find('[');
  const auto r = text.find(']', l == std::string_view::npos ? 0 : l);
  if (l == std::string_view::npos || r == std::string_view::npos)
    return {};
  return std::string(text.substr(l + 1, r - l - 1));
}

std::optional<std::string> find_debug_vmlinux(const Machine& m, const std::string& release) {
  for (const std::string& p :
       {"/usr/lib/debug/boot/vmlinux-" + release,
        "/usr/lib/debug/lib/modules/" + release + "/vmlinux", "/boot/vmlinux-" + release})
    if (auto dbg = m.has_debug_info(p); dbg && *dbg)
      return p;
  return std::nullopt;
}

std::string kernel_config(const Machine& m, const std::string& release,
                          const std::string& build_dir, const std::string& option) {
  std::optional<std::string> text;
  if (!build_dir.empty())
    text = m.read(build_dir + "/.config");
  if (!text)
    text = m.read("/boot/config-" + release);
  if (!text && build_dir.empty() && m.exists("/proc/config.gz")) {
    auto r = m.run({"gzip", "-dc", "/proc/config.gz"});
    if (r.code == 0)
      text = std::move(r.out);
  }
  if (!text)
    return {};
  const std::string key = option + "=";
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0)
      return line.substr(key.size());
    if (line == "# " + option + " is not set")
      return "n";
  }
  return "n";
}

std::string first_line(std::string_view s) {
  auto nl = s.find('\n');
  std::string l(s.substr(0, nl));
  while (!l.empty() && (l.back() == '\r' || l.back() == ' '))
    l.pop_back();
  return l;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  size_t b = 0;
  while (b < s.size() && s[b] == ' ')
    ++b;
  return s.substr(b);
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

} // namespace harness::tracer
