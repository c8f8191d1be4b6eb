#include "files.hpp"

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
