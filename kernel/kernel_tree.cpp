#include "kernel_tree.hpp"

#include "files.hpp"

#include <cctype>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace harness::kernel {
namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
    ++i;
  return s.substr(i);
}

bool pread_all(int fd, void* buf, size_t n, off_t off) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, off);
    if (got <= 0)
      return false;
    p += got;
    n -= static_cast<size_t>(got);
    off += got;
  }
  return true;
}

} // namespace

std::string last_optimisation_flag(std::string_view text) {
  std::string last;
  size_t pos = 0;
  while ((pos = text.find("-O", pos)) != std::string_view::npos) {
    const bool word_start = pos == 0 || std::isspace(static_cast<unsigned char>(text[pos - 1]));
    size_t end = pos + 2;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])))
      ++end;
    const std::string_view flag = text.substr(pos, end - pos);
    if (word_start &&
        (flag == "-O" || flag == "-O0" || flag == "-O1" || flag == "-O2" || flag == "-O3" ||
         flag == "-Os" || flag == "-Og" || flag == "-Oz" || flag == "-Ofast"))
      last = std::string(flag);
    pos = end;
  }
  return last;
}

bool makefile_sets_af_packet_O0(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos)
      nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    const auto hash = line.find('#');
    if (hash != std::string_view::npos)
      line = line.substr(0, hash);
    if (line.find("CFLAGS_af_packet.o") == std::string_view::npos)
      continue;
    const auto eq = line.find('=');
    if (eq != std::string_view::npos && last_optimisation_flag(line.substr(eq + 1)) == "-O0")
      return true;
  }
  return false;
}

bool header_has_task_work_cancel_func(std::string_view text) {
  return text.find("task_work_cancel_func(") != std::string_view::npos;
}

std::string gnu_build_id_from_notes(std::string_view notes) {
  size_t off = 0;
  auto align4 = [](size_t v) {
    return (v + 3) & ~size_t{3};
  };
  while (off + 12 <= notes.size()) {
    uint32_t namesz, descsz, type;
    std::memcpy(&namesz, notes.data() + off, 4);
    std::memcpy(&descsz, notes.data() + off + 4, 4);
    std::memcpy(&type, notes.data() + off + 8, 4);
    off += 12;
    if (namesz > notes.size() || descsz > notes.size())
      return {};
    const size_t name_off = off;
    off += align4(namesz);
    const size_t desc_off = off;
    off += align4(descsz);
    if (off > notes.size())
      return {};
    if (type == NT_GNU_BUILD_ID && namesz == 4 &&
        notes.substr(name_off, 4) == std::string_view("GNU\0", 4)) {
      static constexpr char hex[] = "0123456789abcdef";
      std::string id;
      for (size_t i = 0; i < descsz; ++i) {
        const auto b = static_cast<unsigned char>(notes[desc_off + i]);
        id += hex[b >> 4];
        id += hex[b & 15];
      }
      return id;
    }
  }
  return {};
}

Result<std::string> elf_build_id(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(Exit::no_debuginfo, path, errno_text(errno),
                "build the kernel first (`harness kernel build`)");
  auto bad = [&](const std::string& why) {
    ::close(fd);
    return fail(Exit::no_debuginfo, path, why, "is it a vmlinux of an x86_64 kernel build?");
  };
  Elf64_Ehdr eh{};
  if (!pread_all(fd, &eh, sizeof eh, 0) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    return bad("not a 64-bit ELF file");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shnum > 65000)
    return bad("unexpected section header table");
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  if (!pread_all(fd, sh.data(), sh.size() * sizeof(Elf64_Shdr), static_cast<off_t>(eh.e_shoff)))
    return bad("cannot read the section headers");
  for (const auto& s : sh) {
    if (s.sh_type != SHT_NOTE || s.sh_size == 0 || s.sh_size > (1u << 20))
      continue;
    std::string data(s.sh_size, '\0');
    if (!pread_all(fd, data.data(), data.size(), static_cast<off_t>(s.sh_offset)))
      continue;
    if (auto id = gnu_build_id_from_notes(data); !id.empty()) {
      ::close(fd);
      return id;
    }
  }
  return bad("has no GNU build id note");
}

KernelTree kernel_tree_facts(const std::string& dir_in) {
  KernelTree t;
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  t.build_dir = dir;
  t.source_dir = exists(dir + "/source/Makefile") ? dir + "/source" : dir;
  if (char buf[4096]; exists(dir + "/source")) {
    const ssize_t n = ::readlink((dir + "/source").c_str(), buf, sizeof buf - 1);
    if (n > 0 && buf[0] == '/')
      t.source_dir = std::string(buf, static_cast<size_t>(n));
  }
  if (auto release = read_file(dir + "/include/config/kernel.release"))
    t.release = trim(*release);
  if (auto cmd = read_file(dir + "/net/packet/.af_packet.o.cmd")) {
    const auto flag = last_optimisation_flag(cmd->substr(0, cmd->find('\n')));
    t.af_packet_O0 = flag == "-O0";
    t.af_packet_O0_evidence = "net/packet/.af_packet.o.cmd: last -O flag is " +
                              (flag.empty() ? std::string("(none)") : flag);
  } else if (auto mk = read_file(t.source_dir + "/net/packet/Makefile")) {
    t.af_packet_O0 = makefile_sets_af_packet_O0(*mk);
    t.af_packet_O0_evidence = std::string("net/packet/Makefile ") +
                              (t.af_packet_O0 ? "sets" : "does not set") +
                              " CFLAGS_af_packet.o = -O0";
  }
  if (auto hdr = read_file(t.source_dir + "/include/linux/task_work.h"))
    t.task_work_cancel_renamed = header_has_task_work_cancel_func(*hdr);
  return t;
}

Result<KernelTree> inspect_kernel_tree(const std::string& dir_in) {
  KernelTree t = kernel_tree_facts(dir_in);
  const std::string& dir = t.build_dir;
  if (!exists(dir + "/Makefile") || !exists(dir + "/.config"))
    return fail(Exit::usage, "--kernel-build " + dir_in,
                "not a configured kernel build tree (no Makefile or .config)",
                "pass the directory given as O= to make, or build one with `harness kernel "
                "prepare` + `harness kernel build`");
  if (t.release.empty())
    return fail(Exit::no_debuginfo, "--kernel-build " + dir_in,
                "has no include/config/kernel.release: the tree was never built",
                "run `harness kernel build --build " + dir_in + "`");
  auto id = elf_build_id(dir + "/vmlinux");
  if (!id)
    return std::unexpected(id.error());
  t.build_id = *id;
  return t;
}

} // namespace harness::kernel
