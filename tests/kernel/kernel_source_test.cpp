#include "base/child_proc.hpp"
#include "kernel/build_id.hpp"
#include "kernel/dwarf_source.hpp"
#include "kernel/kernel_source.hpp"
#include "kernel/tree_map.hpp"
#include "kernel_test_util.hpp"
#include "local_debuginfod.hpp"
#include "probes/anchors.hpp"
#include "probes/line_map.hpp"
#include "probes/map_store.hpp"
#include "probes/probe_plan.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>

using namespace harness;
using namespace harness::kernel;
using namespace harness::testing;
using namespace std::chrono_literals;

namespace {

const std::string kHarness = std::string(HARNESS_BINARY_DIR) + "/bin/harness";

// What `readelf -n FILE` prints as "Build ID: ...".
std::string readelf_build_id(const std::string& path) {
  auto r = run_captured({.exe = "readelf", .args = {"-n", path}}, 60s);
  if (!r || !r->status.success())
    return {};
  const auto at = r->out.find("Build ID: ");
  return at == std::string::npos ? "" : r->out.substr(at + 10, r->out.find('\n', at) - at - 10);
}

} // namespace

// The same id readelf shows, for an ELF file (this test binary) and for the running kernel.
TEST(BuildId, MatchesReadelf) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  auto id = build_id_of_elf(self);
  ASSERT_TRUE(id) << format_error(id.error());
  EXPECT_EQ(*id, readelf_build_id(self));
  if (auto running = running_kernel_build_id()) {
    EXPECT_EQ(running->size() % 2, 0u);
  }
  EXPECT_FALSE(build_id_of_elf(std::string(HARNESS_SOURCE_DIR) + "/README.md"));
}

TEST(BuildId, ParseAcceptsOnlyHex) {
  EXPECT_EQ(parse_build_id("E1A8fd6f725cf3c0e42c9fceb7e277af747f5317"),
            "e1a8fd6f725cf3c0e42c9fceb7e277af747f5317");
  for (const char* bad : {"", "abc", "12345678g", "../../etc/passwd", "1234567"})
    EXPECT_FALSE(parse_build_id(bad)) << bad;
}

TEST(KernelSource, DwarfPathsThatMayReachACommandLine) {
  EXPECT_TRUE(acceptable_dwarf_path("/build/linux-6.1/net/packet/af_packet.c"));
  for (const char* bad : {"net/packet/af_packet.c", "/x/../net/packet/af_packet.c",
                          "/x/net/packet/af_packet.c\n", "/x/net/packet/af_packet.h"})
    EXPECT_FALSE(acceptable_dwarf_path(bad)) << bad;
}

// This test file's own compile unit, found in this binary's DWARF (built with -g).
TEST(KernelSource, DwarfNamesTheCompileUnit) {
  auto p = dwarf_source_path("/proc/self/exe", "kernel/kernel_source_test.cpp");
  ASSERT_TRUE(p) << format_error(p.error());
  // Joined to the compile directory and made lexically normal ("a/b/../c" -> "a/c").
  EXPECT_EQ(*p, std::filesystem::path(std::string(HARNESS_SOURCE_DIR) +
                                      "/tests/kernel/kernel_source_test.cpp")
                    .lexically_normal()
                    .string());
  auto none = dwarf_source_path("/proc/self/exe", std::string(probes::af_packet_path));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().hint.find("module"), std::string::npos);
}

// The -r tree comes first, and a tree without the file says so.
TEST(KernelSource, BuildTreeFirst) {
  TempDir tmp;
  const std::string tree = tmp.file("tree");
  ASSERT_TRUE(make_dirs(tree + "/source/net/packet"));
  auto text = read_file(std::string(HARNESS_BINARY_DIR) +
                        "/tests/kernel-sources/linux-source-6.1/net/packet/af_packet.c");
  if (!text)
    GTEST_SKIP() << "the extracted linux-source-6.1 af_packet.c is not built";
  SourceQuery q;
  q.release = "6.1.192";
  q.build_dir = tree;
  q.cache_dir = tmp.file("cache");
  auto none = find_kernel_source(q);
  EXPECT_FALSE(none.found);
  ASSERT_FALSE(none.tried.empty());
  EXPECT_NE(none.not_found_error().why.find("tried -r " + tree), std::string::npos);
  ASSERT_TRUE(write_file_atomic(tree + "/source/net/packet/af_packet.c", *text));
  auto s = find_kernel_source(q);
  ASSERT_TRUE(s.found);
  EXPECT_NE(s.found->provenance.find("build tree"), std::string::npos);
  auto sel = exact_map_for(*s.found, "");
  ASSERT_TRUE(sel) << format_error(sel.error());
  EXPECT_EQ(sel->entry.map.release, "6.1.192");
  EXPECT_TRUE(sel->exact);
}

namespace {

struct HarnessRun {
  int code = -1;
  std::string out, err;
  double seconds = 0;
};

HarnessRun harness_cmd(std::vector<std::string> args, const std::string& cache,
                       const std::string& urls) {
  ChildSpec spec{.exe = kHarness, .args = std::move(args)};
  spec.env = {{"HARNESS_CACHE", cache}, {"DEBUGINFOD_URLS", urls}};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_captured(spec, 600s);
  HarnessRun h;
  h.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r) {
    h.code = r->status.signal ? -1 : r->status.code;
    h.out = r->out;
    h.err = r->err;
  }
  return h;
}

} // namespace

// A local debuginfod indexing the 6.1 -O0 test kernel's build tree: `generate --build-id`
// fetches the kernel's debuginfo and the af_packet.c its DWARF names, and writes exactly the
// lines of the shipped 6.1.192 map; later calls work from the harness cache with the server
// gone; an empty cache without a server fails with the instructions.
TEST(KernelSourceDebuginfod, GenerateByBuildIdFetchesTheKernelsOwnSource) {
  const char* build = std::getenv("HARNESS_TEST_KERNEL_BUILD");
  if (!build || !*build)
    GTEST_SKIP() << "HARNESS_TEST_KERNEL_BUILD is not set (scripts/test-all sets it to the cached "
                    "6.1 -O0 test kernel)";
  if (!find_program("debuginfod"))
    GTEST_SKIP() << "debuginfod is not installed (scripts/install-deps --tests installs it)";
  auto id = build_id_of_elf(std::string(build) + "/vmlinux");
  ASSERT_TRUE(id) << format_error(id.error());
  EXPECT_EQ(*id, readelf_build_id(std::string(build) + "/vmlinux"));
  auto maps = probes::load_shipped_maps();
  ASSERT_TRUE(maps);
  auto shipped = probes::select_map(*maps, "6.1.192", "6.1.192");
  ASSERT_TRUE(shipped && shipped->exact);

  TempDir tmp;
  harness::testing::LocalDebuginfod server(build, tmp.file("db.sqlite"));
  ASSERT_EQ(server.error(), "");
  const std::string urls = server.urls();
  std::cout << "[ measure  ] indexing " << build << ": " << server.index_seconds() << " s\n";

  const std::string cache = tmp.file("cache");
  const std::string script = tmp.file("probes.stp");
  auto first =
      harness_cmd({"generate", "--build-id", *id, "--probes", "all", "-o", script}, cache, urls);
  ASSERT_EQ(first.code, 0) << first.err << "\nserver:\n" << server.log();
  EXPECT_NE(first.err.find("debuginfod (" + urls + ")"), std::string::npos) << first.err;
  std::cout << "[ measure  ] fetch (debuginfo + source): " << first.seconds << " s\n";
  auto plan = probes::load_plan(probes::script_plan_path(script));
  ASSERT_TRUE(plan) << format_error(plan.error());
  EXPECT_EQ(plan->source_sha1, shipped->entry.map.source_sha1);
  ASSERT_FALSE(plan->anchors.empty());
  for (const auto& p : plan->anchors) {
    if (p.line == 0)
      continue; // a kernel event anchor (alloc.enter, sched.sleep): no af_packet.c line
    const auto* a = shipped->entry.map.anchor(p.anchor);
    ASSERT_NE(a, nullptr) << p.anchor;
    if (p.statement.empty())
      continue; // an entry probe sits on the function's start line
    EXPECT_EQ(p.line, a->line) << p.anchor;
  }
  auto map = harness_cmd({"map", "--build-id", *id}, cache, urls);
  ASSERT_EQ(map.code, 0) << map.err;
  auto located = probes::line_map_from_json(map.out, "map --build-id");
  ASSERT_TRUE(located) << format_error(located.error());
  ASSERT_EQ(located->anchors.size(), shipped->entry.map.anchors.size());
  for (std::size_t i = 0; i < located->anchors.size(); ++i)
    EXPECT_EQ(located->anchors[i].line, shipped->entry.map.anchors[i].line)
        << located->anchors[i].name;

  server.stop();
  auto offline =
      harness_cmd({"generate", "--build-id", *id, "-o", tmp.file("again.stp")}, cache, urls);
  EXPECT_EQ(offline.code, 0) << offline.err;
  EXPECT_NE(offline.err.find("the harness cache"), std::string::npos) << offline.err;
  std::cout << "[ measure  ] cache hit, server stopped: " << offline.seconds << " s\n";

  auto empty = harness_cmd({"generate", "--build-id", *id, "-o", tmp.file("never.stp")},
                           tmp.file("empty-cache"), urls);
  EXPECT_EQ(empty.code, static_cast<int>(Exit::no_map)) << empty.err;
  for (const char* what : {"tried debuginfod", "DEBUGINFOD_URLS", "-dbg", "-r DIR"})
    EXPECT_NE(empty.err.find(what), std::string::npos) << what << " in " << empty.err;
  EXPECT_FALSE(read_file(tmp.file("never.stp"))) << "nothing written";
}

// A build tree without its sources gets the same file by its build id (here from the harness
// cache, where a debuginfod fetch leaves it), and the map says where it came from.
TEST(KernelSource, TreeWithoutSourcesUsesTheBuildIdPath) {
  auto text = read_file(std::string(HARNESS_BINARY_DIR) +
                        "/tests/kernel-sources/linux-source-6.1/net/packet/af_packet.c");
  if (!text)
    GTEST_SKIP() << "the extracted linux-source-6.1 af_packet.c is not built";
  TempDir tmp;
  KernelTree tree;
  tree.build_dir = tree.source_dir = tmp.file("tree");
  tree.release = "6.1.192";
  tree.build_id = "0123456789abcdef0123456789abcdef01234567";
  const std::string cache = tmp.file("cache");
  auto none = map_for_tree(tree, "", std::nullopt, cache);
  ASSERT_TRUE(none) << format_error(none.error());
  EXPECT_TRUE(none->provenance.empty());
  EXPECT_FALSE(none->source);

  const std::string kept = cache + "/by-build-id/" + tree.build_id;
  ASSERT_TRUE(make_dirs(kept));
  ASSERT_TRUE(write_file_atomic(kept + "/af_packet.c", *text));
  ASSERT_TRUE(write_file_atomic(kept + "/origin.txt", "debuginfod (test)\n"));
  auto found = map_for_tree(tree, "", std::nullopt, cache);
  ASSERT_TRUE(found) << format_error(found.error());
  EXPECT_NE(found->provenance.find("the harness cache"), std::string::npos) << found->provenance;
  EXPECT_NE(found->provenance.find("debuginfod (test)"), std::string::npos) << found->provenance;
  ASSERT_TRUE(found->source);
  EXPECT_EQ(found->map.release, "6.1.192");
  EXPECT_TRUE(found->note.empty()) << found->note;
}

// Step 5: no file anywhere, but a shipped map lists the kernel's build id (`harness map
// --build-id` recorded it when debuginfod served that kernel's own file): its lines are proven.
TEST(KernelSource, ShippedMapListingTheBuildIdIsProven) {
  TempDir tmp;
  const std::string id = "0123456789abcdef0123456789abcdef01234567";
  auto shipped =
      probes::load_line_map(std::string(HARNESS_SOURCE_DIR) + "/probes/maps/6.1.192-debian.json");
  ASSERT_TRUE(shipped) << format_error(shipped.error());
  ASSERT_TRUE(make_dirs(tmp.file("data/probes/maps")));
  SourceQuery q;
  q.release = "6.1.0-99-amd64";
  q.build_id = id;
  q.cache_dir = tmp.file("cache");
  ::setenv("HARNESS_DATA_DIR", tmp.file("data").c_str(), 1);
  ASSERT_TRUE(probes::save_line_map(tmp.file("data/probes/maps/6.1.192-debian.json"), *shipped));
  auto unproven = find_kernel_source(q);
  EXPECT_FALSE(unproven.exact());
  shipped->build_ids = {id};
  ASSERT_TRUE(probes::save_line_map(tmp.file("data/probes/maps/6.1.192-debian.json"), *shipped));
  auto s = find_kernel_source(q);
  ::unsetenv("HARNESS_DATA_DIR");
  ASSERT_TRUE(s.proven_map);
  EXPECT_FALSE(s.found);
  const auto sel = proven_selection(*s.proven_map, id, q.release);
  EXPECT_TRUE(sel.exact);
  EXPECT_EQ(sel.entry.map.anchor("snd.len_sum")->line, shipped->anchor("snd.len_sum")->line);
  EXPECT_NE(sel.provenance.find("lists build id " + id), std::string::npos) << sel.provenance;
}

namespace {

// A file step 1 accepts as an af_packet.c (long enough, defines tpacket_snd), told apart by
// `mark`.
std::string plausible_source(const std::string& mark) {
  return "// " + mark + "\n" + std::string(2000, ' ') + "\nstatic int tpacket_snd(void);\n";
}

void put(const std::string& path, const std::string& text) {
  ASSERT_TRUE(make_dirs(std::filesystem::path(path).parent_path().string()));
  ASSERT_TRUE(write_file_atomic(path, text));
}

} // namespace

// Step 1, as coded: the object tree's own copy wins over the one in its source directory (a
// bug-zoo variant's edited file), which is the query's source_dir when given.
TEST(KernelSourceOrder, BuildDirCopyBeforeSourceDirCopy) {
  TempDir tmp;
  SourceQuery q;
  q.build_dir = tmp.file("obj");
  q.source_dir = tmp.file("src");
  q.cache_dir = tmp.file("cache");
  put(q.source_dir + "/net/packet/af_packet.c", plausible_source("source dir"));
  auto s = find_kernel_source(q);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.found->provenance,
            "the build tree's own file " + q.source_dir + "/net/packet/af_packet.c");
  put(q.build_dir + "/net/packet/af_packet.c", plausible_source("object tree"));
  s = find_kernel_source(q);
  ASSERT_TRUE(s.found);
  EXPECT_NE(s.found->source.text.find("object tree"), std::string::npos);
  EXPECT_EQ(s.found->source.path, q.build_dir + "/net/packet/af_packet.c");
}

// Step 1 without a source_dir: the O= tree's source/ link.
TEST(KernelSourceOrder, SourceLinkWhenNoSourceDirIsGiven) {
  TempDir tmp;
  SourceQuery q;
  q.build_dir = tmp.file("obj");
  put(q.build_dir + "/source/net/packet/af_packet.c", plausible_source("link"));
  auto s = find_kernel_source(q);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.found->source.path, q.build_dir + "/source/net/packet/af_packet.c");
}

// Step 1 checks the file looks like an af_packet.c unless the caller takes any tree file (as
// `build`/`verify` do: kernel/tree_map.hpp).
TEST(KernelSourceOrder, TreeFileMustBePlausibleUnlessAnyIsTaken) {
  TempDir tmp;
  SourceQuery q;
  q.build_dir = tmp.file("obj");
  put(q.build_dir + "/net/packet/af_packet.c", "not a kernel file\n");
  EXPECT_FALSE(find_kernel_source(q).found);
  q.any_tree_file = true;
  auto s = find_kernel_source(q);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.found->source.text, "not a kernel file\n");
}

// Step 1 before step 2: with the tree's file and a kept file for the build id, the tree wins;
// without the tree's file, the cache.
TEST(KernelSourceOrder, TreeBeforeCache) {
  TempDir tmp;
  SourceQuery q;
  q.build_dir = tmp.file("obj");
  q.build_id = "0123456789abcdef0123456789abcdef01234567";
  q.cache_dir = tmp.file("cache");
  put(q.cache_dir + "/by-build-id/" + q.build_id + "/af_packet.c", plausible_source("cache"));
  auto cached = find_kernel_source(q);
  ASSERT_TRUE(cached.found);
  EXPECT_NE(cached.found->provenance.find("the harness cache"), std::string::npos);
  put(q.build_dir + "/net/packet/af_packet.c", plausible_source("tree"));
  auto s = find_kernel_source(q);
  ASSERT_TRUE(s.found);
  EXPECT_NE(s.found->provenance.find("the build tree's own file"), std::string::npos);
}
