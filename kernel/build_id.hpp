#pragma once

// GNU build ids (NT_GNU_BUILD_ID notes): what identifies one kernel build exactly, the key
// debuginfod and the harness cache use (docs/DESIGN.md "Kernel source by build id"). Read from a
// raw note stream (/sys/kernel/notes, /sys/module/NAME/notes/.note.gnu.build-id) or from the
// note sections of an ELF file (vmlinux, a module), as `readelf -n` shows them.

#include "base/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace harness::kernel {

// The first NT_GNU_BUILD_ID note ("GNU" owner, type 3) of a note stream, as lowercase hex;
// nullopt when there is none or the stream is malformed. Pure.
std::optional<std::string> build_id_from_notes(std::string_view notes);

// The build id of an ELF file (64-bit, either byte order): its SHT_NOTE sections, else its
// PT_NOTE segments. Errors (Exit::no_debuginfo) name the file: unreadable, not ELF, no build
// id.
Result<std::string> build_id_of_elf(const std::string& path);

// The running kernel's, from /sys/kernel/notes.
Result<std::string> running_kernel_build_id();

// 8 to 128 hex digits, even length (after lowercasing): what --build-id accepts. Values go into
// paths and URLs, so nothing else passes.
Result<std::string> parse_build_id(std::string_view text);

} // namespace harness::kernel
