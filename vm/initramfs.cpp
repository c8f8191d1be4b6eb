#include "vm/initramfs.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"

#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace harness::vm {
namespace {

template <class T> T read_le(std::string_view b, std::size_t at) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}

// The bytes of the ELF section named `want`, or an empty view when there is none.
Result<std::string_view> elf_section(std::string_view elf, std::string_view want) {
  auto bad = [](const std::string& why) {
    return fail(Exit::io, "module", why);
  };
  if (elf.size() < 64 ||
      elf.substr(0, 4) != "\x7f"
                          "ELF" ||
      elf[4] != 2 || elf[5] != 1)
    return bad("not a 64-bit little-endian ELF file");
  const auto shoff = read_le<std::uint64_t>(elf, 0x28);
  const auto shentsize = read_le<std::uint16_t>(elf, 0x3a);
  const auto shnum = read_le<std::uint16_t>(elf, 0x3c);
  const auto shstrndx = read_le<std::uint16_t>(elf, 0x3e);
  if (shentsize < 64 || shstrndx >= shnum || shoff > elf.size() ||
      static_cast<std::uint64_t>(shnum) * shentsize > elf.size() - shoff)
    return bad("its section headers lie outside the file");
  auto section = [&](std::size_t i) -> std::optional<std::string_view> {
    const std::size_t h = shoff + i * shentsize;
    const auto off = read_le<std::uint64_t>(elf, h + 24);
    const auto size = read_le<std::uint64_t>(elf, h + 32);
    if (off > elf.size() || size > elf.size() - off)
      return std::nullopt;
    return elf.substr(off, size);
  };
  const auto names = section(shstrndx);
  if (!names)
    return bad("its section name table lies outside the file");
  for (std::size_t i = 0; i < shnum; ++i) {
    const auto name_at = read_le<std::uint32_t>(elf, shoff + i * shentsize);
    if (name_at >= names->size())
      continue;
    const std::string_view name(names->data() + name_at,
                                strnlen(names->data() + name_at, names->size() - name_at));
    if (name == want) {
      auto s = section(i);
      if (!s)
        return bad(std::string(want) + " lies outside the file");
      return *s;
    }
  }
  return std::string_view();
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto at = s.find(sep);
    if (at != 0)
      out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos)
      break;
    s.remove_prefix(at + 1);
  }
  return out;
}

void append_hex8(std::string& out, std::uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", v);
  out.append(buf, 8);
}

void pad4(std::string& out) {
  while (out.size() % 4 != 0)
    out.push_back('\0');
}

void append_entry(std::string& out, const CpioEntry& e, std::uint32_t ino) {
  out += "070701";
  const auto name_size = static_cast<std::uint32_t>(e.name.size() + 1);
  for (std::uint32_t v : {ino, e.mode, 0u, 0u, S_ISDIR(e.mode) ? 2u : 1u, 0u,
                          static_cast<std::uint32_t>(e.data.size()), 0u, 0u, e.rdev_major,
                          e.rdev_minor, name_size, 0u})
    append_hex8(out, v);
  out += e.name;
  out.push_back('\0');
  pad4(out);
  out += e.data;
  pad4(out);
}

// A module file as the kernel loads it: Debian's 6.12 packages compress them (.ko.xz) while
// modules.order names the .ko; the initramfs holds them uncompressed.
Result<std::string> module_path(const std::string& modules_dir, const std::string& listed) {
  const std::string base = modules_dir + "/" + listed;
  for (const char* suffix : {"", ".xz", ".zst", ".gz"})
    if (::access((base + suffix).c_str(), R_OK) == 0)
      return base + suffix;
  return fail(Exit::io, base, "is not there (nor .xz, .zst or .gz)",
              "the kernel's module directory is incomplete: remove it from the cache");
}

} // namespace

Result<std::string> module_bytes(const std::string& path) {
  const std::pair<const char*, const char*> tools[] = {
      {".xz", "xz"}, {".zst", "zstd"}, {".gz", "gzip"}};
  for (const auto& [suffix, tool] : tools) {
    if (!path.ends_with(suffix))
      continue;
    auto r = run_captured({.exe = tool, .args = {"-dc", path}}, std::chrono::minutes(1));
    if (!r)
      return std::unexpected(r.error());
    if (!r->status.success())
      return fail(Exit::io, path,
                  std::string(tool) + " -dc: " + r->status.describe() + " " + r->err);
    return std::move(r->out);
  }
  return read_file(path);
}

std::string module_name(std::string_view path) {
  const auto slash = path.rfind('/');
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  if (const auto dot = name.find(".ko"); dot != std::string::npos)
    name.resize(dot);
  for (char& c : name)
    if (c == '-')
      c = '_';
  return name;
}

Result<std::vector<std::string>> modinfo_depends(std::string_view elf) {
  auto modinfo = elf_section(elf, ".modinfo");
  if (!modinfo)
    return std::unexpected(modinfo.error());
  if (modinfo->empty())
    return fail(Exit::io, "module", "has no .modinfo section (not a kernel module)");
  for (const auto& field : split(*modinfo, '\0'))
    if (field.starts_with("depends="))
      return split(std::string_view(field).substr(8), ',');
  return std::vector<std::string>{};
}

Result<std::vector<std::string>> load_order(const std::vector<std::string>& wanted,
                                            const DependsOf& depends,
                                            const std::vector<std::string>& builtin) {
  const std::set<std::string> built_in(builtin.begin(), builtin.end());
  std::vector<std::string> order;
  std::set<std::string> done, visiting;
  std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
    if (done.contains(name) || built_in.contains(name))
      return {};
    if (!visiting.insert(name).second)
      return fail(Exit::io, "module " + name, "depends on itself (a dependency cycle)");
    auto deps = depends(name);
    if (!deps)
      return std::unexpected(deps.error());
    for (const auto& d : *deps)
      if (auto s = visit(module_name(d)); !s)
        return s;
    visiting.erase(name);
    done.insert(name);
    order.push_back(name);
    return {};
  };
  for (const auto& w : wanted)
    if (auto s = visit(module_name(w)); !s)
      return std::unexpected(s.error());
  return order;
}

Result<std::vector<std::string>> guest_module_files(const std::string& modules_dir) {
  auto order_text = read_file(modules_dir + "/modules.order");
  if (!order_text)
    return std::unexpected(order_text.error());
  std::map<std::string, std::string> path_of;
  for (const auto& line : split(*order_text, '\n'))
    path_of.emplace(module_name(line), line);
  std::vector<std::string> builtin;
  if (auto text = read_file(modules_dir + "/modules.builtin"))
    for (const auto& line : split(*text, '\n'))
      builtin.push_back(module_name(line));
  auto depends = [&](const std::string& name) -> Result<std::vector<std::string>> {
    const auto it = path_of.find(name);
    if (it == path_of.end())
      return fail(Exit::io, "module " + name,
                  "is neither in " + modules_dir + "/modules.order nor built in",
                  "the guest needs it; use a kernel flavor that has it (e.g. amd64)");
    auto path = module_path(modules_dir, it->second);
    if (!path)
      return std::unexpected(path.error());
    auto elf = module_bytes(*path);
    if (!elf)
      return std::unexpected(elf.error());
    auto deps = modinfo_depends(*elf);
    if (!deps)
      return fail(Exit::io, *path, deps.error().why);
    return deps;
  };
  const std::vector<std::string> wanted(std::begin(kGuestModules), std::end(kGuestModules));
  auto names = load_order(wanted, depends, builtin);
  if (!names)
    return std::unexpected(names.error());
  std::vector<std::string> files;
  for (const auto& n : *names) {
    auto path = module_path(modules_dir, path_of.at(n));
    if (!path)
      return std::unexpected(path.error());
    files.push_back(std::move(*path));
  }
  return files;
}

std::string cpio_newc(const std::vector<CpioEntry>& entries) {
  std::string out;
  std::uint32_t ino = 1;
  for (const auto& e : entries)
    append_entry(out, e, ino++);
  append_entry(out, CpioEntry{.name = "TRAILER!!!"}, 0);
  return out;
}

Status write_guest_initramfs(const std::string& path, const std::string& preinit,
                             const std::vector<std::string>& module_files) {
  auto init = read_file(preinit);
  if (!init)
    return std::unexpected(init.error());
  std::vector<CpioEntry> entries = {
      {.name = "dev", .mode = S_IFDIR | 0755},
      {.name = "dev/console", .mode = S_IFCHR | 0600, .rdev_major = 5, .rdev_minor = 1},
      {.name = "newroot", .mode = S_IFDIR | 0755},
      {.name = "proc", .mode = S_IFDIR | 0755},
      {.name = "modules", .mode = S_IFDIR | 0755},
      {.name = std::string(kInitramfsMarker), .mode = S_IFREG | 0644},
      {.name = "init", .mode = S_IFREG | 0755, .data = std::move(*init)},
  };
  int n = 0;
  for (const auto& f : module_files) {
    auto data = module_bytes(f);
    if (!data)
      return std::unexpected(data.error());
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%02d-", n++);
    entries.push_back({.name = "modules/" + std::string(prefix) + module_name(f) + ".ko",
                       .mode = S_IFREG | 0644,
                       .data = std::move(*data)});
  }
  return write_file_atomic(path, cpio_newc(entries));
}

} // namespace harness::vm
