#pragma once

#include "base/result.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness {

// Reads a whole regular file; the error names the path and says why. Anything else (a FIFO
// that would block forever, a directory, a device) is refused as bad input (exit 2).
Result<std::string> read_file(const std::string& path);

// read_file for a file the user gave with OPTION: the error names the option with the path
// ("--source x.c: No such file or directory") and its hint says what the option wants.
Result<std::string> read_input(std::string_view option, const std::string& path,
                               std::string_view wants);

// The error about a file the user gave with OPTION, as read_input words it: the option with the
// path, the loader's reason, and a hint that says what the option wants.
Error input_error(Error e, std::string_view option, const std::string& path,
                  std::string_view wants);

// A loader (line map, plan) run on a file the user gave with OPTION; errors as input_error.
template <class T>
Result<T> load_input(Result<T> (*load)(const std::string&), std::string_view option,
                     const std::string& path, std::string_view wants) {
  auto r = load(path);
  if (!r)
    return std::unexpected(input_error(std::move(r.error()), option, path, wants));
  return r;
}

// Opens a regular file for reading without blocking on a FIFO; the caller closes the fd.
Result<int> open_regular_file(const std::string& path);

// Writes to a fresh temp file in PATH's directory (O_EXCL|O_NOFOLLOW, unpredictable name) then
// renames it over PATH, so a reader never sees a half-written file and a planted temp name or
// symlink cannot redirect the write. PATH must be absent or a regular file: devices, FIFOs,
// directories and symlinks are refused, never replaced.
Status write_file_atomic(const std::string& path, std::string_view data);

// Copies the regular file FROM to TO as write_file_atomic writes: TO must be absent or a regular
// file, never a symlink (fs::copy_file writes through one) or a device.
Status copy_file_atomic(const std::string& from, const std::string& to);

// The checks write_file_atomic makes before writing, for commands that want to fail before a
// long run: PATH is absent or a regular file, and its directory exists.
Status check_output_path(const std::string& path, std::string_view what);

// Refuses an output that is (the same inode as) one of the inputs of the same command.
Status check_output_not_input(const std::string& output, std::string_view what,
                              const std::vector<std::string>& inputs);

// The files a command writes besides its run directory (option name, path; an empty path is an
// option not given), checked before any work: each as check_output_path, none one of INPUTS, and
// no two of them the same file (the second write would replace the first). A file directly in
// MADE_DIR, the directory the command makes before its work (`run --out`, `vm run --out`), is
// fine while MADE_DIR does not exist: nothing there can be overwritten, and a MADE_DIR that
// cannot be made fails before the work too.
Status check_outputs(const std::vector<std::pair<std::string, std::string>>& outputs,
                     const std::vector<std::string>& inputs, const std::string& made_dir = "");

// FILE's directory is DIR (both made absolute and normal; "D/" is D).
bool directly_in(const std::string& file, const std::string& dir);

// mkdir -p.
Status make_dirs(const std::string& path);

// Where shipped data lives (probes/maps, kernel/): $HARNESS_DATA_DIR, else data_dir_for_exe() of
// the running binary (/proc/self/exe).
std::string data_dir();
// For the binary at `exe`: <exe's dir>/../share/harness when it holds probes/maps (installed);
// else the source tree when `exe` is inside this build tree; else that installed path anyway,
// so that a missing installation is reported under its own name.
std::string data_dir_for_exe(const std::string& exe);

} // namespace harness
