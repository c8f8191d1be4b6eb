#pragma once

// The path a source file had when a kernel (or module) was compiled, as its DWARF names it: the
// compile unit's DW_AT_name, joined to DW_AT_comp_dir when relative. debuginfod serves sources
// by exactly that path (`debuginfod-find source ID PATH`), docs/tracing-notes.md.

#include "base/result.hpp"

#include <string>
#include <string_view>

namespace harness::kernel {

// The first compile unit of `debuginfo` (an ELF file with DWARF) whose name ends with
// "/" + `suffix` (or is `suffix`). Errors: unreadable or no DWARF (Exit::no_debuginfo); no such
// unit (Exit::no_debuginfo, saying the file may be built as a module).
Result<std::string> dwarf_source_path(const std::string& debuginfo, std::string_view suffix);

} // namespace harness::kernel
