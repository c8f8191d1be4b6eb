#pragma once

// The tests' scratch directory: made fresh by mkdtemp, removed with everything in it when the
// object goes. Every test binary has tests/support on its include path (tests/CMakeLists.txt).

#include <cstdlib>
#include <filesystem>
#include <string>

namespace harness::testing {

class TempDir {
public:
  // Under PARENT: /tmp, or /var/tmp for a directory a VM guest must see (it mounts its own /tmp).
  explicit TempDir(const std::string& prefix = "harness-test", const std::string& parent = "/tmp") {
    std::string tmpl = parent + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr)
      path_ = tmpl;
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

} // namespace harness::testing
