#include "files.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace harness;

TEST(Files, WriteAtomicThenRead) {
  char dir[] = "/tmp/harness-files-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/a/b/f.txt";
  ASSERT_TRUE(make_dirs(std::string(dir) + "/a/b"));
  ASSERT_TRUE(write_file_atomic(path, "hello\n"));
  auto r = read_file(path);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "hello\n");
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
  ::unlink(path.c_str());
  ::rmdir((std::string(dir) + "/a/b").c_str());
  ::rmdir((std::string(dir) + "/a").c_str());
  ::rmdir(dir);
}

TEST(Files, MissingFileNamesPath) {
  auto r = read_file("/nonexistent/harness/file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "/nonexistent/harness/file");
  EXPECT_EQ(r.error().why, "No such file or directory");
}

TEST(DataDir, InstalledBinaryReadsShareHarnessNextToItsBinDirectory) {
  const std::string prefix =
      std::filesystem::temp_directory_path().string() + "/data-dir-" + std::to_string(::getpid());
  ASSERT_TRUE(make_dirs(prefix + "/share/harness/stap/maps"));
  EXPECT_EQ(data_dir_for_exe(prefix + "/bin/harness"), prefix + "/share/harness");
  std::filesystem::remove_all(prefix);
}

TEST(DataDir, InstalledBinaryWithoutItsDataNamesTheInstalledPathNotTheSourceTree) {
  EXPECT_EQ(data_dir_for_exe("/nonexistent-prefix/bin/harness"),
            "/nonexistent-prefix/share/harness");
}

TEST(DataDir, BuildTreeBinariesReadTheSourceTree) {
  EXPECT_EQ(data_dir_for_exe(std::string(HARNESS_BINARY_DIR) + "/bin/harness"), HARNESS_SOURCE_DIR);
  EXPECT_EQ(data_dir_for_exe(std::string(HARNESS_BINARY_DIR) + "/tests/util/util_test"),
            HARNESS_SOURCE_DIR);
}

TEST(DataDir, EnvironmentOverrides) {
  ::setenv("HARNESS_DATA_DIR", "/somewhere/else", 1);
  EXPECT_EQ(data_dir(), "/somewhere/else");
  ::unsetenv("HARNESS_DATA_DIR");
  EXPECT_EQ(data_dir(), HARNESS_SOURCE_DIR);
}
