#pragma once

#include "files.hpp"
#include "temp_dir.hpp"

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

// Under /var/tmp, not /tmp: a VM guest mounts its own /tmp.
class TempDir : public harness::testing::TempDir {
public:
  TempDir() : harness::testing::TempDir("harness-kernel-test", "/var/tmp") {}
};

} // namespace harness::kernel::testing
