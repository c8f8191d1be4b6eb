// The bug zoo (tests/e2e/zoo/README.md): each entry's af_packet.c edit is built as a kernel
// variant through ccache (`harness kernel ensure --variant`), its scenario runs in a qemu guest on
// the variant and on the clean kernel, and the report must name the entry's anomaly id on the
// variant, from the probes alone, and give no finding on the clean kernel.
#include "e2e_util.hpp"
#include "lost_records.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <vector>

namespace harness {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

const std::string kZoo = std::string(HARNESS_SOURCE_DIR) + "/tests/e2e/zoo";

// `harness kernel ensure [--variant FILE]`: the build directory (cached, or built now).
std::string ensure(const std::string& variant_file) {
  std::vector<std::string> extra;
  if (!variant_file.empty())
    extra = {"--variant", variant_file};
  return ensure_kernel(extra, std::chrono::minutes(50));
}

std::vector<std::string> ids_of(const json& report) {
  std::vector<std::string> ids;
  for (const auto& a : report["anomalies"])
    ids.push_back(a.value("id", ""));
  return ids;
}

// Loss forced on a run's own trace (issue 26; tests/support/lost_records.hpp): spans of its
// records removed as a tracer that fell behind loses them, the rest reanalysed by `harness
// report`. It must never name an anomaly the whole run did not (`whole`: its ids; none on the
// clean kernel): exit 1 keeping a finding, or 15 (incomplete). Returns how many placements of
// the loss still named `expect`.
int findings_with_loss_forced(const std::string& run_dir, const std::vector<std::string>& whole,
                              const std::string& expect) {
  auto text = read_file(run_dir + "/trace.txt");
  EXPECT_TRUE(text);
  if (!text)
    return 0;
  const auto lines = testing::split_trace(*text);
  const auto events = testing::event_lines(lines);
  int kept = 0;
  for (std::size_t span : {1, 8, 40}) {
    if (events.size() < span)
      continue;
    const std::size_t step = std::max<std::size_t>(1, (events.size() - span) / 6);
    for (std::size_t k = 0; k + span <= events.size(); k += step) {
      const std::size_t first = events[k], last = events[k + span - 1];
      SCOPED_TRACE(run_dir + ": records of trace lines " + std::to_string(first) + ".." +
                   std::to_string(last) + " lost");
      if (!write_file_atomic(run_dir + "/lossy.trace", testing::drop_records(lines, first, last)))
        return kept;
      const auto r = run_harness({"report", "--trace", run_dir + "/lossy.trace", "--sender",
                                  run_dir + "/sender.json", "--plan", run_dir + "/plan.json",
                                  "--json", run_dir + "/lossy.json", "--quiet"});
      auto j = read_file(run_dir + "/lossy.json");
      EXPECT_TRUE(j) << r.err;
      if (!j)
        continue;
      const json report = json::parse(*j);
      EXPECT_TRUE(report["loss"]["any"].get<bool>());
      bool named = false;
      for (const auto& a : report["anomalies"]) {
        EXPECT_NE(std::find(whole.begin(), whole.end(), a["id"]), whole.end()) << a.dump(2);
        EXPECT_TRUE(a["not_from_loss"].is_string()) << a.dump(2);
        named = named || a["id"] == expect;
      }
      EXPECT_EQ(r.status.code, report["anomalies"].empty() ? 15 : 1) << r.out << r.err;
      kept += named;
    }
  }
  return kept;
}

class Zoo : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (auto why = vm_skip_reason(); !why.empty())
      GTEST_SKIP() << why;
    out_ = cache_dir() + "/vm/zoo-" + GetParam() + "-" + std::to_string(::getpid());
  }
  void TearDown() override {
    std::error_code ec;
    if (!HasFailure() && !out_.empty())
      fs::remove_all(out_, ec); // keep a failed run's files for the log
  }

  // harness vm run on `build` with the scenario; the report JSON.
  json vm_run(const std::string& build, const std::vector<std::string>& run_args,
              const std::string& tag) {
    const std::string out = out_ + "/" + tag; // under out_: TearDown removes both runs
    std::vector<std::string> args = {"vm",      "run",       "--kernel-build", build, "--out", out,
                                     "--cache", cache_dir(), "--timeout",      "240", "--"};
    args.insert(args.end(), run_args.begin(), run_args.end());
    const auto r = run_harness(args, std::chrono::minutes(10));
    auto text = read_file(out + "/run/report.json");
    EXPECT_TRUE(text) << "no report.json (" << tag << "); stderr:\n" << r.err << r.out;
    if (!text)
      return json::object();
    auto j = json::parse(*text);
    j["harness_exit"] = r.status.code;
    return j;
  }

  std::string out_;
};

TEST_P(Zoo, VariantIsFlaggedByItsIdAndTheCleanKernelIsNot) {
  const std::string file = kZoo + "/" + GetParam() + ".json";
  auto text = read_file(file);
  ASSERT_TRUE(text);
  const json entry = json::parse(*text);
  const std::string expect = entry.at("expect");
  const auto run_args = entry.at("scenario").at("run_args").get<std::vector<std::string>>();

  const std::string variant = ensure(file);
  ASSERT_FALSE(variant.empty());
  const json bad = vm_run(variant, run_args, "variant");
  ASSERT_FALSE(bad.empty());
  const auto bad_ids = ids_of(bad);
  EXPECT_NE(std::find(bad_ids.begin(), bad_ids.end(), expect), bad_ids.end())
      << expect << " not named; anomalies: " << bad["anomalies"].dump(2);
  EXPECT_EQ(bad["verdict"], "anomalies");
  EXPECT_EQ(bad["harness_exit"], 1);
  for (const auto& a : bad["anomalies"]) {
    if (a["id"] == expect) {
      EXPECT_FALSE(a["evidence"].empty()) << "the finding names no evidence: " << a.dump(2);
    }
  }
  // With records lost somewhere, the entry is still named wherever the loss spares its evidence.
  EXPECT_GT(findings_with_loss_forced(out_ + "/variant/run", bad_ids, expect), 0);

  // Entries with the same scenario share one clean-kernel run (each VM run costs CI minutes).
  static std::map<std::vector<std::string>, json> clean_runs;
  auto [it, fresh] = clean_runs.try_emplace(run_args);
  if (fresh)
    it->second = vm_run(ensure(""), run_args, "clean");
  const json& good = it->second;
  ASSERT_FALSE(good.empty());
  EXPECT_TRUE(good["anomalies"].empty()) << good["anomalies"].dump(2);
  EXPECT_EQ(good["verdict"], "ok");
  EXPECT_EQ(good["harness_exit"], 0);
  if (fresh) // the clean run of this scenario lives under this entry's directory
    findings_with_loss_forced(out_ + "/clean/run", {}, "");
}

INSTANTIATE_TEST_SUITE_P(Entries, Zoo,
                         ::testing::Values("alloc-blocks-dontwait", "snd-spin", "sndtimeo-rearmed",
                                           "pending-leak", "destructor-no-available"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (auto& c : n)
                             if (c == '-')
                               c = '_';
                           return n;
                         });

} // namespace
} // namespace harness
