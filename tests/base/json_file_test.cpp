#include "base/files.hpp"
#include "base/json_file.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

using namespace harness;
using harness::testing::TempDir;

namespace {

Result<std::string> echo(std::string_view text, std::string_view origin) {
  return std::string(origin) + ":" + std::string(text);
}

} // namespace

TEST(JsonFile, LoadHandsTheTextAndThePathToTheFormatsReader) {
  TempDir dir;
  const std::string path = dir.path() + "/f.json";
  ASSERT_TRUE(write_file_atomic(path, "{}"));
  auto r = load_json_file(path, echo);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, path + ":{}");
  // A file that cannot be read fails with read_file's own error.
  auto missing = load_json_file(dir.path() + "/none.json", echo);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().why, read_file(dir.path() + "/none.json").error().why);
  EXPECT_EQ(missing.error().what, read_file(dir.path() + "/none.json").error().what);
}

TEST(JsonFile, ADocumentsFaultsNameTheFormatAndTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/r.json";
  const JsonFileFaults faults{"report", "read hint", "syntax hint"};
  auto missing = load_json_document(path, {}, faults);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().what, "report " + path);
  EXPECT_EQ(missing.error().hint, "read hint");
  ASSERT_TRUE(write_file_atomic(path, "{\"a\": 1, \"b\": [2]"));
  auto bad = load_json_document(path, {}, faults);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Exit::usage);
  EXPECT_TRUE(bad.error().why.starts_with("not valid JSON: ")) << bad.error().why;
  EXPECT_EQ(bad.error().hint, "syntax hint");
  ASSERT_TRUE(write_file_atomic(path, "{\"a\": 1, \"b\": [2]}"));
  static constexpr std::string_view keys[] = {"a"};
  auto ok = load_json_document(path, keys, faults);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->dump(), "{\"a\":1}");
}
