#pragma once

#include "result.hpp"

#include <string>
#include <string_view>

namespace harness {

// Reads a whole file; the error names the path and says why.
Result<std::string> read_file(const std::string& path);

// Writes to PATH.tmp then renames, so a reader never sees a half-written file.
Status write_file_atomic(const std::string& path, std::string_view data);

// mkdir -p.
Status make_dirs(const std::string& path);

// Where shipped data lives (stap/maps, kernel/): $HARNESS_DATA_DIR, else data_dir_for_exe() of
// the running binary (/proc/self/exe).
std::string data_dir();
// For the binary at `exe`: <exe's dir>/../share/harness when it holds stap/maps (installed);
// else the source tree when `exe` is inside this build tree; else that installed path anyway,
// so that a missing installation is reported under its own name.
std::string data_dir_for_exe(const std::string& exe);

} // namespace harness
