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

// Where shipped data lives (stap/maps, kernel/): $HARNESS_DATA_DIR, else the source tree the
// binary was built from.
std::string data_dir();

} // namespace harness
