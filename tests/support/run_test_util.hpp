#pragma once

// Helpers for the run tests: a scratch directory, and checks that processes are gone.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <signal.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace harness::session::testing {

// Directories made by scratch_dir(), removed when the test binary exits (keep them with
// HARNESS_KEEP_TEST_DIRS=1 to look at a failed run).
struct ScratchDirs {
  std::vector<std::string> dirs;
  ~ScratchDirs() {
    if (const char* keep = std::getenv("HARNESS_KEEP_TEST_DIRS"); keep && *keep == '1')
      return;
    for (const auto& d : dirs) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }
};

inline std::string scratch_dir(const std::string& name) {
  static ScratchDirs made;
  static int n = 0;
  const std::string d = ::testing::TempDir() + "/harness-run-test-" + std::to_string(::getpid()) +
                        "-" + std::to_string(n++) + "-" + name;
  ::mkdir(d.c_str(), 0755);
  made.dirs.push_back(d);
  return d;
}

inline std::vector<pid_t> pids_in(const std::string& pidfile) {
  std::vector<pid_t> v;
  std::ifstream in(pidfile);
  for (int p; in >> p;)
    v.push_back(p);
  return v;
}

// A pid that is neither running nor a zombie (zombies of our own children would be reaped).
inline bool alive(pid_t pid) {
  if (::kill(pid, 0) != 0)
    return false;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(st, line);
  const auto rp = line.rfind(')');
  return rp == std::string::npos || rp + 2 >= line.size() || line[rp + 2] != 'Z';
}

// False when the file cannot be read; file_has(path, "") tells whether it exists.
inline bool file_has(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  if (!in)
    return false;
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.find(needle) != std::string::npos;
}

} // namespace harness::session::testing
