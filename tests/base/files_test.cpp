#include "base/files.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace harness;

namespace {

using harness::testing::TempDir;

std::size_t entries(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir))
    ++n;
  return n;
}

} // namespace

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
  EXPECT_EQ(entries(std::string(dir) + "/a/b"), 1u);
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
  ASSERT_TRUE(make_dirs(prefix + "/share/harness/probes/maps"));
  EXPECT_EQ(data_dir_for_exe(prefix + "/bin/harness"), prefix + "/share/harness");
  std::filesystem::remove_all(prefix);
}

TEST(DataDir, InstalledBinaryWithoutItsDataNamesTheInstalledPathNotTheSourceTree) {
  EXPECT_EQ(data_dir_for_exe("/nonexistent-prefix/bin/harness"),
            "/nonexistent-prefix/share/harness");
}

TEST(DataDir, BuildTreeBinariesReadTheSourceTree) {
  EXPECT_EQ(data_dir_for_exe(std::string(HARNESS_BINARY_DIR) + "/bin/harness"), HARNESS_SOURCE_DIR);
  EXPECT_EQ(data_dir_for_exe(std::string(HARNESS_BINARY_DIR) + "/tests/base/util_test"),
            HARNESS_SOURCE_DIR);
}

TEST(DataDir, EnvironmentOverrides) {
  ::setenv("HARNESS_DATA_DIR", "/somewhere/else", 1);
  EXPECT_EQ(data_dir(), "/somewhere/else");
  ::unsetenv("HARNESS_DATA_DIR");
  EXPECT_EQ(data_dir(), HARNESS_SOURCE_DIR);
}

TEST(Files, RefusesToReplaceAFifo) {
  TempDir d;
  const std::string fifo = d.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto s = write_file_atomic(fifo, "x");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::usage);
  EXPECT_NE(s.error().why.find("a FIFO"), std::string::npos) << s.error().why;
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(entries(d.path()), 1u); // no temp file left
}

TEST(Files, RefusesToReplaceADevice) {
  // /dev/full: a character device that `send --records` used to turn into a regular file.
  struct stat before {};
  ASSERT_EQ(::stat("/dev/full", &before), 0);
  auto s = write_file_atomic("/dev/full", "x");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().why.find("a character device"), std::string::npos) << s.error().why;
  struct stat after {};
  ASSERT_EQ(::lstat("/dev/full", &after), 0);
  EXPECT_TRUE(S_ISCHR(after.st_mode));
}

TEST(Files, RefusesToReplaceASymlinkAndLeavesItsTargetAlone) {
  TempDir d;
  const std::string target = d.file("precious"), link = d.file("out.json");
  ASSERT_TRUE(write_file_atomic(target, "keep\n"));
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto s = write_file_atomic(link, "clobbered\n");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().why.find("symbolic link"), std::string::npos) << s.error().why;
  EXPECT_EQ(*read_file(target), "keep\n");
}

TEST(Files, PlantedTmpSymlinkIsNeverFollowed) {
  // The old code wrote through OUT.tmp; a symlink planted there must not redirect the write.
  TempDir d;
  const std::string target = d.file("victim"), out = d.file("out.json");
  ASSERT_TRUE(write_file_atomic(target, "keep\n"));
  ASSERT_EQ(::symlink(target.c_str(), (out + ".tmp").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(out, "new\n"));
  EXPECT_EQ(*read_file(out), "new\n");
  EXPECT_EQ(*read_file(target), "keep\n");
  EXPECT_EQ(entries(d.path()), 3u); // victim, the planted link, out.json: no temp file left
}

TEST(Files, ReplacesARegularFile) {
  TempDir d;
  const std::string f = d.file("f");
  ASSERT_TRUE(write_file_atomic(f, "one\n"));
  ASSERT_TRUE(write_file_atomic(f, "two\n"));
  EXPECT_EQ(*read_file(f), "two\n");
  EXPECT_EQ(entries(d.path()), 1u);
}

TEST(Files, MissingDirectoryIsNamed) {
  auto s = write_file_atomic("/nonexistent/harness/out.json", "x");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().why.find("/nonexistent/harness"), std::string::npos) << s.error().why;
}

TEST(Files, ReadRefusesFifoWithoutBlocking) {
  TempDir d;
  const std::string fifo = d.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = read_file(fifo); // would block forever without the regular-file check
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::usage);
  EXPECT_NE(r.error().why.find("not a regular file"), std::string::npos);
}

TEST(Files, DirectoryAndMissingInputGiveTheSameExitCode) {
  TempDir d;
  auto dir = read_file(d.path());
  auto missing = read_file(d.file("missing"));
  ASSERT_FALSE(dir);
  ASSERT_FALSE(missing);
  EXPECT_EQ(dir.error().code, Exit::usage);
  EXPECT_EQ(missing.error().code, Exit::usage);
  EXPECT_NE(dir.error().why.find("a directory"), std::string::npos);
  EXPECT_FALSE(read_file("/dev/null")); // a device is no input file either
}

TEST(Files, OutputEqualToAnInputIsRefused) {
  TempDir d;
  const std::string in = d.file("trace.txt"), hard = d.file("hardlink");
  ASSERT_TRUE(write_file_atomic(in, "data\n"));
  ASSERT_EQ(::link(in.c_str(), hard.c_str()), 0);
  auto s = check_output_not_input(hard, "--json", {"/nonexistent", in});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().why.find(in), std::string::npos);
  EXPECT_TRUE(check_output_not_input(d.file("new.json"), "--json", {in}));
}

// A file, FIFO or device where a directory should be (run --out, build -o, --cache) is the
// user's bad path (exit 2, named), not an I/O error found when the first file is written.
TEST(MakeDirs, AnExistingNonDirectoryIsBadInputNamedInTheError) {
  TempDir t;
  const std::string d = t.path();
  ASSERT_TRUE(write_file_atomic(d + "/file", "x"));
  ASSERT_EQ(::mkfifo((d + "/fifo").c_str(), 0600), 0);
  for (const std::string& path :
       {d + "/file", d + "/file/sub/dir", d + "/fifo", std::string("/dev/null/sub")}) {
    auto s = make_dirs(path);
    ASSERT_FALSE(s) << path;
    EXPECT_EQ(s.error().code, Exit::usage) << path << ": " << s.error().why;
    EXPECT_NE(s.error().why.find("not a directory"), std::string::npos) << s.error().why;
  }
  EXPECT_TRUE(make_dirs(d + "/new/sub"));
  EXPECT_TRUE(make_dirs(d + "/new/sub")); // an existing directory is fine
}

// fs::copy_file(..., overwrite_existing) writes through a symlink at the destination: `build -o`
// replaced the file a planted NAME.ko link pointed at with the module (issue 12).
TEST(CopyFileAtomic, NeverWritesThroughASymlinkOrIntoADevice) {
  TempDir t;
  ASSERT_TRUE(write_file_atomic(t.file("from"), "module bytes"));
  ASSERT_TRUE(write_file_atomic(t.file("victim"), "precious"));
  ASSERT_EQ(::symlink(t.file("victim").c_str(), t.file("link").c_str()), 0);
  auto s = copy_file_atomic(t.file("from"), t.file("link"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::usage);
  EXPECT_EQ(*read_file(t.file("victim")), "precious");
  EXPECT_FALSE(copy_file_atomic(t.file("from"), "/dev/null"));
  ASSERT_TRUE(copy_file_atomic(t.file("from"), t.file("to")));
  EXPECT_EQ(*read_file(t.file("to")), "module bytes");
  ASSERT_EQ(::mkfifo(t.file("fifo").c_str(), 0600), 0);
  EXPECT_FALSE(
      copy_file_atomic(t.file("fifo"), t.file("to2"))); // a FIFO as the source never blocks
}

// `run --out D --json D/x.json` with D not made yet was refused ("directory does not exist")
// although the run makes D before its probes; outside D, or once D exists, the checks hold.
TEST(CheckOutputs, AFileDirectlyInTheDirectoryTheCommandMakesIsFine) {
  TempDir t;
  const std::string made = t.file("run");
  EXPECT_TRUE(
      check_outputs({{"--json", made + "/x.json"}, {"--html", made + "/x.html"}}, {}, made));
  EXPECT_TRUE(check_outputs({{"--json", made + "/x.json"}}, {}, made + "/"));
  EXPECT_FALSE(check_outputs({{"--json", made + "/x.json"}}, {}));
  EXPECT_FALSE(check_outputs({{"--json", made + "/sub/x.json"}}, {}, made));
  EXPECT_FALSE(check_outputs({{"--json", t.file("elsewhere/x.json")}}, {}, made));
  // Two outputs on one file are refused there too.
  EXPECT_FALSE(check_outputs({{"--json", made + "/x"}, {"--html", made + "/../run/x"}}, {}, made));
  // Once D exists its files are checked as any other.
  ASSERT_TRUE(make_dirs(made + "/x.json"));
  EXPECT_FALSE(check_outputs({{"--json", made + "/x.json"}}, {}, made));
}

TEST(CheckOutputs, DirectlyInComparesNormalAbsolutePaths) {
  const std::string cwd = std::filesystem::current_path();
  EXPECT_TRUE(directly_in("/a/b/c", "/a/b"));
  EXPECT_TRUE(directly_in("/a/b/./c", "/a/x/../b/"));
  EXPECT_TRUE(directly_in("c", cwd));
  EXPECT_TRUE(directly_in(cwd + "/d/c", "d"));
  EXPECT_FALSE(directly_in("/a/b/c/d", "/a/b"));
  EXPECT_FALSE(directly_in("/a/b", "/a/b"));
  EXPECT_FALSE(directly_in("/a/b/", "/a"));
  EXPECT_FALSE(directly_in("/a/b/c", ""));
}
