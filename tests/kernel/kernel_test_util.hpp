#pragma once

#include "files.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace harness::kernel::testing {

inline std::string data_file(const std::string& name) {
  auto text = read_file(std::string(HARNESS_SOURCE_DIR) + "/tests/kernel/data/" + name);
  EXPECT_TRUE(text.has_value()) << name;
  return text.value_or("");
}

// A fresh directory under /var/tmp (not /tmp: a VM guest mounts its own /tmp), removed at scope
// exit.
class TempDir {
public:
  TempDir() {
    char tmpl[] = "/var/tmp/harness-kernel-test-XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

} // namespace harness::kernel::testing
