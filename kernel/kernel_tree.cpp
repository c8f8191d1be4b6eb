#include "kernel/kernel_tree.hpp"

#include "base/files.hpp"
#include "kernel/build_id.hpp"

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
  auto id = build_id_of_elf(dir + "/vmlinux");
  if (!id) {
    Error e = id.error();
    e.hint = "build the kernel first (`harness kernel build`)";
    return std::unexpected(e);
  }
  t.build_id = *id;
  t.vmlinux = dir + "/vmlinux";
  return t;
}

} // namespace harness::kernel
