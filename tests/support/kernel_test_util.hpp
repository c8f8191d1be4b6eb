#pragma once

#include "base/files.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <string>
#include <unistd.h>

namespace harness::testing {

inline std::string data_file(const std::string& name) {
  auto text = read_file(std::string(HARNESS_SOURCE_DIR) + "/tests/kernel/data/" + name);
  EXPECT_TRUE(text.has_value()) << name;
  return text.value_or("");
}

// Under /var/tmp, not /tmp: a VM guest mounts its own /tmp.
class VarTmpDir : public TempDir {
public:
  VarTmpDir() : TempDir("harness-kernel-test", "/var/tmp") {}
};

} // namespace harness::testing
