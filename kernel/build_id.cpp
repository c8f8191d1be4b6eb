#include "kernel/build_id.hpp"

#include "base/files.hpp"

#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace harness::kernel {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

std::uint32_t word(std::string_view s, std::size_t at, bool swap) {
  std::uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return swap ? __builtin_bswap32(v) : v;
}

constexpr std::size_t align4(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

std::optional<std::string> notes_build_id(std::string_view notes, bool swap) {
  std::size_t at = 0;
  while (at + 12 <= notes.size()) {
    const std::uint32_t namesz = word(notes, at, swap), descsz = word(notes, at + 4, swap),
                        type = word(notes, at + 8, swap);
    const std::size_t name_at = at + 12, desc_at = name_at + align4(namesz);
    if (namesz > notes.size() || descsz > notes.size() || desc_at + descsz > notes.size())
      return std::nullopt;
    if (type == NT_GNU_BUILD_ID && namesz == 4 &&
        notes.substr(name_at, 4) == std::string_view("GNU\0", 4) && descsz > 0)
      return hex(notes.substr(desc_at, descsz));
    at = desc_at + align4(descsz);
  }
  return std::nullopt;
}

// Reads [off, off+n) of an open file.
std::optional<std::string> read_at(int fd, std::uint64_t off, std::uint64_t n) {
  if (n > (1u << 20))
    return std::nullopt; // a note section is small; anything else is a corrupt header
  std::string buf(n, '\0');
  if (::pread(fd, buf.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n))
    return std::nullopt;
  return buf;
}

template <class T> T fix(T v, bool swap) {
  if (!swap)
    return v;
  if constexpr (sizeof(T) == 2)
    return static_cast<T>(__builtin_bswap16(v));
  else if constexpr (sizeof(T) == 4)
    return static_cast<T>(__builtin_bswap32(v));
  else
    return static_cast<T>(__builtin_bswap64(v));
}

std::optional<std::string> elf_build_id(int fd, bool& is_elf) {
  Elf64_Ehdr eh{};
  is_elf = ::pread(fd, &eh, sizeof eh, 0) == sizeof eh &&
           std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64;
  if (!is_elf)
    return std::nullopt;
  const bool swap =
      (eh.e_ident[EI_DATA] == ELFDATA2MSB) != (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
  const std::uint16_t shnum = fix(eh.e_shnum, swap), phnum = fix(eh.e_phnum, swap);
  for (std::uint16_t i = 0; i < shnum && i < 65000; ++i) {
    Elf64_Shdr sh{};
    const auto at = fix(eh.e_shoff, swap) + std::uint64_t{i} * sizeof sh;
    if (::pread(fd, &sh, sizeof sh, static_cast<off_t>(at)) != sizeof sh)
      break;
    if (fix(sh.sh_type, swap) != SHT_NOTE)
      continue;
    if (auto n = read_at(fd, fix(sh.sh_offset, swap), fix(sh.sh_size, swap)))
      if (auto id = notes_build_id(*n, swap))
        return id;
  }
  for (std::uint16_t i = 0; i < phnum && i < 65000; ++i) {
    Elf64_Phdr ph{};
    const auto at = fix(eh.e_phoff, swap) + std::uint64_t{i} * sizeof ph;
    if (::pread(fd, &ph, sizeof ph, static_cast<off_t>(at)) != sizeof ph)
      break;
    if (fix(ph.p_type, swap) != PT_NOTE)
      continue;
    if (auto n = read_at(fd, fix(ph.p_offset, swap), fix(ph.p_filesz, swap)))
      if (auto id = notes_build_id(*n, swap))
        return id;
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> build_id_from_notes(std::string_view notes) {
  return notes_build_id(notes, false);
}

Result<std::string> build_id_of_elf(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(Exit::no_debuginfo, path, "cannot open: " + errno_text(errno));
  bool is_elf = false;
  auto id = elf_build_id(fd, is_elf);
  ::close(fd);
  if (!is_elf)
    return fail(Exit::no_debuginfo, path, "not a 64-bit ELF file");
  if (!id)
    return fail(Exit::no_debuginfo, path, "has no GNU build id note",
                "build with a linker that writes one (ld --build-id, the kernel's default)");
  return *id;
}

Result<std::string> running_kernel_build_id() {
  const std::string path = "/sys/kernel/notes";
  auto notes = read_file(path);
  if (!notes)
    return std::unexpected(notes.error());
  auto id = build_id_from_notes(*notes);
  if (!id)
    return fail(Exit::no_debuginfo, path, "holds no GNU build id note",
                "give the kernel's build id with --build-id (`readelf -n vmlinux`)");
  return *id;
}

Result<std::string> parse_build_id(std::string_view text) {
  std::string id;
  for (char ch : text) {
    const char c = static_cast<char>(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return fail(Exit::usage, "--build-id " + std::string(text.substr(0, 140)),
                  "not a build id: only hex digits are allowed",
                  "copy it from `readelf -n vmlinux` (\"Build ID: ...\") or /sys/kernel/notes");
    id += c;
  }
  if (id.size() < 8 || id.size() > 128 || id.size() % 2)
    return fail(Exit::usage, "--build-id " + std::string(text.substr(0, 140)),
                "a build id has an even number of hex digits, 8 to 128 (usually 40)",
                "copy it from `readelf -n vmlinux` (\"Build ID: ...\")");
  return id;
}

} // namespace harness::kernel
