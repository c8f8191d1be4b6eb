// The tracers harness has and which one probes which kernel (tracers/tracers.hpp): the real stap
// and kprobe tracers' answers to the facts of a machine.
#include "kprobe/kprobe_tracer.hpp"
#include "stap/stap_tracer.hpp"
#include "tracers/tracers.hpp"

#include <gtest/gtest.h>

namespace harness::tracers {
namespace {

using tracer::BackendFacts;

const tracer::Tracer* stap_t() {
  return &stap::stap_tracer();
}
const tracer::Tracer* kprobe_t() {
  return &kprobe::kprobe_tracer();
}

BackendFacts facts(std::string release, std::string stap = "4.8/0.188") {
  BackendFacts f;
  f.kernel_release = std::move(release);
  f.tool_versions["stap"] = std::move(stap);
  f.lockdown = "none";
  return f;
}

TEST(Tracers, TheListAndItsNames) {
  ASSERT_EQ(all().size(), 2u);
  EXPECT_EQ(all().front(), stap_t()) << "auto prefers stap";
  EXPECT_EQ(choices(), "auto|stap|kprobe");
  EXPECT_EQ(*parse("auto"), nullptr);
  EXPECT_EQ(*parse("kprobe"), kprobe_t());
  auto bad = parse("ebpf");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Exit::usage);
  EXPECT_EQ(bad.error().hint, "use auto, stap or kprobe");
  EXPECT_EQ(for_artifact("/x/harness_probes.ko"), stap_t());
  EXPECT_EQ(for_artifact("p.kprobes"), kprobe_t());
  EXPECT_EQ(for_artifact("p.plan.json"), nullptr);
  EXPECT_EQ(name_of(nullptr), "auto");
  for (const auto* t : all()) {
    EXPECT_EQ(for_artifact("x" + std::string(t->artifact_suffix())), t);
    EXPECT_TRUE(t->artifact_option().starts_with("--")) << t->name();
    EXPECT_GT(t->buffer().record_bytes, 0u) << t->name();
  }
}

TEST(Tracers, AutoPicksStapWithinItsRangeAndKprobeBeyond) {
  auto a = choose(nullptr, facts("6.1.192"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tracer, stap_t());
  EXPECT_EQ(a->reason, "stap: SystemTap 4.8 can build and load its module for 6.1.192");
  auto b = choose(nullptr, facts("6.12.118"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->tracer, kprobe_t());
  EXPECT_NE(b->reason.find("up to 6.1"), std::string::npos) << b->reason;
  auto c = choose(nullptr, facts("6.12.118", "5.2/0.191"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tracer, stap_t());
}

TEST(Tracers, LockdownAndMissingStap) {
  auto f = facts("6.1.192");
  f.lockdown = "integrity";
  auto a = choose(nullptr, f);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->tracer, kprobe_t());
  auto s = choose(stap_t(), f);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::lockdown);
  EXPECT_EQ(s.error().hint, "use --backend kprobe (kprobe events need no module)");
  f.in_vm = true; // harness's own guest has no lockdown
  EXPECT_EQ(choose(stap_t(), f)->tracer, stap_t());

  f = facts("6.1.192");
  f.lockdown = "confidentiality";
  EXPECT_FALSE(choose(nullptr, f));
  auto k = choose(kprobe_t(), f);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, Exit::lockdown);
  EXPECT_NE(k.error().hint.find("harness vm run"), std::string::npos);

  auto none = choose(nullptr, facts("6.1.192", ""));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->tracer, kprobe_t());
  EXPECT_EQ(none->reason, "kprobe: SystemTap is not installed");
  EXPECT_EQ(choose(stap_t(), facts("6.1.192", "")).error().code, Exit::tool_missing);
}

TEST(Tracers, StapBeyondItsRangeStopsBeforeCompiling) {
  auto r = choose(stap_t(), facts("6.12.118"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::unsupported);
  EXPECT_NE(r.error().why.find("6.12.118"), std::string::npos);
  // What `vm run --backend stap` on a 6.12 kernel says before anything compiles (this was an e2e
  // test on the 6.12 -O0 test kernel, which CI no longer builds; every VM run chooses here).
  EXPECT_NE(r.error().why.find("builds modules for kernels up to 6.1"), std::string::npos)
      << r.error().why;
  EXPECT_NE(r.error().hint.find("--backend kprobe"), std::string::npos) << r.error().hint;
  EXPECT_EQ(stap::stap_newest_kernel("4.8/0.188"), (std::pair{6, 1}));
  EXPECT_EQ(stap::stap_newest_kernel("5.5/0.193"), (std::pair{7, 0}));
  EXPECT_FALSE(stap::stap_newest_kernel("garbage"));
  EXPECT_FALSE(stap::stap_newest_kernel("9.9/1.0")) << "newer than the table: no limit known";
}

TEST(Tracers, FactsOfAGuestAreFreeOfTheHostsLockdown) {
  const tracer::RealMachine here;
  const auto f = gather_facts(here, tracer::Tools{}, "6.1.192", true);
  EXPECT_TRUE(f.in_vm);
  EXPECT_EQ(f.kernel_release, "6.1.192");
  EXPECT_TRUE(f.lockdown.empty());
  EXPECT_FALSE(f.modules_disabled);
  EXPECT_EQ(f.tool_versions.count("stap"), 1u);
}

} // namespace
} // namespace harness::tracers
