// Bug-zoo variants (kernel/kernel_variant.hpp, tests/e2e/zoo): the format's errors, and every
// shipped zoo entry applied to the real af_packet.c of Debian's linux-source-6.1, where the
// locator must still find every anchor (the variant is probed with its own line map).
#include "base/files.hpp"
#include "kernel/kernel_variant.hpp"
#include "probes/locator.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace harness::kernel {
namespace {

const std::string kZoo = std::string(HARNESS_SOURCE_DIR) + "/tests/e2e/zoo";

std::optional<std::string> real_61_source() {
  auto t = read_file(std::string(KERNEL_SOURCES_DIR) + "/linux-source-6.1/net/packet/af_packet.c");
  return t ? std::optional(*t) : std::nullopt;
}

TEST(KernelVariant, BadFilesAreErrorsNamingTheKey) {
  struct Case {
    std::string text, key, why;
  };
  for (const Case& c : std::vector<Case>{
           {"nope", "(file)", "not JSON"},
           {R"({"name":"Bad Name","rationale":"r","edits":[{"old":"a","new":"b"}]})",
            "variant.name", "[a-z0-9-]"},
           {R"({"name":"x","edits":[{"old":"a","new":"b"}]})", "variant.rationale", "missing"},
           {R"({"name":"x","rationale":"r","edits":[]})", "variant.edits", "missing or empty"},
           {R"({"name":"x","rationale":"r","edits":[{"old":"a"}]})", "variant.edits[0]",
            "expected"},
           {R"({"name":"x","rationale":"r","edits":[{"old":"a","new":"a"}]})", "variant.edits[0]",
            "equal"},
           {R"({"name":"x","rationale":"r","edits":[{"old":"a","new":"b"}],"extra":1})",
            "variant.extra", "unknown key"}}) {
    auto v = parse_variant(c.text, "f.json");
    ASSERT_FALSE(v) << c.text;
    EXPECT_EQ(v.error().what, "f.json: " + c.key) << c.text;
    EXPECT_NE(v.error().why.find(c.why), std::string::npos) << v.error().why;
    EXPECT_NE(v.error().hint.find("tests/e2e/zoo/README.md"), std::string::npos);
  }
}

TEST(KernelVariant, EditsMustMatchExactlyOnce) {
  auto v = parse_variant(R"({"variant":{"name":"x","rationale":"r",
                              "edits":[{"old":"b;","new":"c;"},{"old":"c; d","new":"e"}]}})",
                         "f.json");
  ASSERT_TRUE(v) << v.error().why;
  auto out = apply_edits("a; b; d;", *v, "src.c");
  ASSERT_TRUE(out) << out.error().why;
  EXPECT_EQ(*out, "a; e;"); // in order: the second edit sees the first's result
  auto none = apply_edits("a;", *v, "src.c");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().what, "variant x edit 0");
  EXPECT_NE(none.error().why.find("occurs 0 times in src.c"), std::string::npos);
  auto twice = apply_edits("b; b; d;", *v, "src.c");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().why.find("occurs 2 times"), std::string::npos);
  // The cache key changes with any edit.
  auto w = *v;
  w.edits[1].new_text = "f";
  EXPECT_NE(variant_key_text(*v), variant_key_text(w));
}

TEST(KernelVariant, EveryZooEntryAppliesToTheRealSourceAndKeepsItsAnchors) {
  const auto src = real_61_source();
  if (!src)
    GTEST_SKIP() << "linux-source-6.1 was not installed when the build was configured";
  int entries = 0;
  for (const auto& f : std::filesystem::directory_iterator(kZoo)) {
    if (f.path().extension() != ".json")
      continue;
    ++entries;
    SCOPED_TRACE(f.path().string());
    auto v = load_variant(f.path().string());
    ASSERT_TRUE(v) << v.error().what << ": " << v.error().why;
    EXPECT_TRUE(v->name.starts_with("zoo-"));
    auto edited = apply_edits(*src, *v, "linux-source-6.1 af_packet.c");
    ASSERT_TRUE(edited) << edited.error().why;
    EXPECT_NE(*edited, *src);
    auto clean = probes::locate(*src, "6.1.192");
    auto buggy = probes::locate(*edited, "6.1.192");
    ASSERT_TRUE(clean);
    ASSERT_TRUE(buggy) << buggy.error().why;
    // Edits stay on their statements: no anchor appears or disappears, except the stand-in of a
    // status store the edit guards (docs/DESIGN.md "Stand-in anchors": the line after a guarded
    // store shows nothing).
    const bool guards_available = f.path().stem() == "destructor-no-available";
    for (const auto& a : clean->anchors) {
      const bool gone = guards_available && a.name == "destruct.after_available";
      EXPECT_EQ(buggy->anchor(a.name)->present(), a.present() && !gone) << a.name;
    }
    // The entry names an anomaly id of docs/report-schema.md.
    auto j = nlohmann::json::parse(*read_file(f.path().string()));
    const std::string expect = j.at("expect").get<std::string>();
    auto schema = read_file(std::string(HARNESS_SOURCE_DIR) + "/docs/report-schema.md");
    ASSERT_TRUE(schema);
    EXPECT_NE(schema->find("`" + expect + "`"), std::string::npos) << expect;
    EXPECT_FALSE(j.at("scenario").at("run_args").empty());
  }
  EXPECT_GE(entries, 2);
}

} // namespace
} // namespace harness::kernel
