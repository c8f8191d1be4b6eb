#include "base/json_reader.hpp"

#include <gtest/gtest.h>

using namespace harness;
using json = nlohmann::json;

namespace {

JsonReader reader() {
  return JsonReader([](const std::string& field, const std::string& why) {
    return Error{Exit::usage, "file.json", field + ": " + why, ""};
  });
}

TEST(JsonReader, IntegersAreRangeCheckedNeverWrapped) {
  auto rd = reader();
  EXPECT_EQ(rd.integer<std::uint8_t>(json(255), "a"), 255);
  EXPECT_EQ(rd.integer<std::int32_t>(json(-7), "a"), -7);
  EXPECT_TRUE(rd.ok());
  for (const json& bad : {json(256), json(-1), json(1e308), json(1.5), json("12"),
                          json(std::numeric_limits<std::uint64_t>::max())}) {
    auto r = reader();
    EXPECT_FALSE(r.integer<std::uint8_t>(bad, "frames[2].index")) << bad.dump();
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().why.rfind("frames[2].index: ", 0), 0u) << r.error().why;
  }
}

TEST(JsonReader, KeepsTheFirstProblemOnly) {
  auto rd = reader();
  const json j = {{"n", "x"}, {"b", 3}};
  EXPECT_FALSE(rd.integer<int>(j["n"], "n"));
  EXPECT_FALSE(rd.boolean(j["b"], "b"));
  EXPECT_EQ(rd.error().why, "n: not a number");
}

TEST(JsonReader, MembersMissingNullAndUnknown) {
  auto rd = reader();
  const json j = {{"a", nullptr}, {"o", json::object()}, {"extra", 1}};
  EXPECT_EQ(rd.member(j, "a", "run.", false), nullptr); // null reads as absent
  EXPECT_TRUE(rd.ok());
  EXPECT_NE(rd.object(j, "o", ""), nullptr);
  EXPECT_EQ(rd.member(j, "zz", "run.", true), nullptr);
  EXPECT_EQ(rd.error().why, "run.zz: missing");
  auto strict = reader();
  strict.only_keys(j, {"a", "o"}, "top.");
  EXPECT_EQ(strict.error().why, "top.extra: unknown field");
}

TEST(JsonReader, TextIsBoundedAndPrintable) {
  auto rd = reader();
  EXPECT_EQ(rd.text(json("a\x1b[2Jb"), "t"), "a?[2Jb");
  EXPECT_FALSE(rd.text(json(std::string(10, 'x')), "t", 9));
  EXPECT_EQ(rd.error().why, "t: 10 bytes long (at most 9)");
  auto raw = reader();
  EXPECT_EQ(raw.raw_text(json("a\x1b"), "t"), "a\x1b");
  EXPECT_FALSE(raw.raw_text(json(1), "t"));
}

} // namespace
