#include "kernel/dwarf_source.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace harness::kernel {
namespace {

bool names_file(std::string_view name, std::string_view suffix) {
  if (name == suffix)
    return true;
  return name.size() > suffix.size() && name.ends_with(suffix) &&
         name[name.size() - suffix.size() - 1] == '/';
}

std::string attr_string(Dwarf_Die* die, unsigned name) {
  Dwarf_Attribute a;
  const char* s = dwarf_formstring(dwarf_attr(die, name, &a));
  return s ? s : "";
}

} // namespace

Result<std::string> dwarf_source_path(const std::string& debuginfo, std::string_view suffix) {
  const int fd = ::open(debuginfo.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(Exit::no_debuginfo, debuginfo, "cannot open: " + errno_text(errno));
  Dwarf* dw = dwarf_begin(fd, DWARF_C_READ);
  if (!dw) {
    ::close(fd);
    return fail(Exit::no_debuginfo, debuginfo,
                std::string("no DWARF debug info: ") + dwarf_errmsg(-1));
  }
  std::string found;
  Dwarf_CU* cu = nullptr;
  Dwarf_Die cudie;
  Dwarf_Half version = 0;
  std::uint8_t unit_type = 0;
  while (found.empty() &&
         dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie, nullptr) == 0) {
    const std::string name = attr_string(&cudie, DW_AT_name);
    if (!names_file(name, suffix))
      continue;
    found = name;
    if (!found.starts_with('/')) {
      const std::string dir = attr_string(&cudie, DW_AT_comp_dir);
      found = dir.empty() ? "" : dir + "/" + name;
    }
    // debuginfod and the file system both take "a/b/../c" as "a/c"; a path that reaches a
    // command line carries no "..".
    found = std::filesystem::path(found).lexically_normal().string();
  }
  dwarf_end(dw);
  ::close(fd);
  if (found.empty())
    return fail(Exit::no_debuginfo, debuginfo,
                "its DWARF has no compile unit for " + std::string(suffix) +
                    " (with an absolute path)",
                "when the file is built as a module (CONFIG_PACKET=m), use the module's build id "
                "(`readelf -n af_packet.ko`)");
  return found;
}

} // namespace harness::kernel
