// Which tracer probes which kernel (tracer/tracer_choice.hpp).
#include "tracer/tracer_choice.hpp"

#include <gtest/gtest.h>

namespace harness::tracer {
namespace {

BackendFacts facts(std::string release, std::string stap = "4.8/0.188") {
  BackendFacts f;
  f.kernel_release = std::move(release);
  f.stap_version = std::move(stap);
  f.lockdown = "none";
  return f;
}

TEST(TracerChoice, AutoPicksStapWithinItsRangeAndKprobeBeyond) {
  auto a = choose_backend(Backend::automatic, facts("6.1.192"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->backend, Backend::stap);
  auto b = choose_backend(Backend::automatic, facts("6.12.118"));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->backend, Backend::kprobe);
  EXPECT_NE(b->reason.find("up to 6.1"), std::string::npos) << b->reason;
  auto c = choose_backend(Backend::automatic, facts("6.12.118", "5.2/0.191"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->backend, Backend::stap);
}

TEST(TracerChoice, LockdownAndMissingStap) {
  auto f = facts("6.1.192");
  f.lockdown = "integrity";
  auto a = choose_backend(Backend::automatic, f);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->backend, Backend::kprobe);
  auto s = choose_backend(Backend::stap, f);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Exit::lockdown);
  EXPECT_NE(s.error().hint.find("--backend kprobe"), std::string::npos);
  f.in_vm = true; // harness's own guest has no lockdown
  EXPECT_EQ(choose_backend(Backend::stap, f)->backend, Backend::stap);

  f = facts("6.1.192");
  f.lockdown = "confidentiality";
  EXPECT_FALSE(choose_backend(Backend::automatic, f));
  EXPECT_FALSE(choose_backend(Backend::kprobe, f));

  auto none = choose_backend(Backend::automatic, facts("6.1.192", ""));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->backend, Backend::kprobe);
  EXPECT_EQ(choose_backend(Backend::stap, facts("6.1.192", "")).error().code, Exit::stap_missing);
}

TEST(TracerChoice, StapBeyondItsRangeStopsBeforeCompiling) {
  auto r = choose_backend(Backend::stap, facts("6.12.118"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Exit::unsupported);
  EXPECT_NE(r.error().why.find("6.12.118"), std::string::npos);
}

TEST(TracerChoice, Versions) {
  EXPECT_EQ(stap_newest_kernel("4.8/0.188"), (std::pair{6, 1}));
  EXPECT_EQ(stap_newest_kernel("5.5/0.193"), (std::pair{7, 0}));
  EXPECT_FALSE(stap_newest_kernel("garbage"));
  EXPECT_EQ(kernel_major_minor("6.12.118-amd64"), (std::pair{6, 12}));
  EXPECT_FALSE(parse_backend("ebpf"));
}

} // namespace
} // namespace harness::tracer
