// The machine as the tracers read it (tracer/machine.hpp), and the choice among tracers
// (tracer/tracer_choice.hpp) with made-up tracers: it depends on nothing but their answers.
#include "tracer/machine.hpp"
#include "tracer/tracer_choice.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

namespace harness::tracer {
namespace {

TEST(Machine, ElfDebugInfoOfRealFiles) {
  // machine_test.cpp is always compiled with -g (tests/tracer/CMakeLists.txt).
  auto self = elf_has_debug_info("/proc/self/exe");
  ASSERT_TRUE(self);
  EXPECT_TRUE(*self);
  const std::string text = ::testing::TempDir() + "/not-elf." + std::to_string(::getpid());
  std::ofstream(text) << "hello";
  EXPECT_FALSE(elf_has_debug_info(text));
  ::unlink(text.c_str());
  EXPECT_FALSE(elf_has_debug_info("/nonexistent/vmlinux"));
}

TEST(Machine, RealMachineBasics) {
  RealMachine m;
  EXPECT_FALSE(m.kernel_release().empty());
  EXPECT_TRUE(m.exists("/proc/self"));
  EXPECT_FALSE(m.exists("/nonexistent"));
  EXPECT_TRUE(m.read("/proc/self/stat"));
  EXPECT_TRUE(m.find_program("sh"));
  auto out = m.run({"printf", "x"});
  EXPECT_EQ(out.code, 0);
  EXPECT_EQ(out.out, "x\n"); // captured line by line
  EXPECT_EQ(m.run({"/nonexistent/prog"}).code, -1);
  EXPECT_EQ(lockdown_mode("none [integrity] confidentiality"), "integrity");
  EXPECT_EQ(lockdown_mode("garbage"), "");
}

// A tracer that can probe unless the facts' lockdown names it.
class Toy final : public Tracer {
public:
  Toy(std::string name, std::string instead)
      : name_(std::move(name)), instead_(std::move(instead)) {}
  std::string_view name() const override { return name_; }
  std::string_view title() const override { return name_; }
  std::string_view artifact_option() const override { return "--toy"; }
  std::string_view artifact_suffix() const override { return ".toy"; }
  std::string_view artifact_hint() const override { return "give a toy"; }
  std::string_view artifact_help() const override { return "a toy"; }
  std::string_view log_name() const override { return "toy.log"; }
  std::string_view stop_text() const override { return "stopped"; }
  BufferTraits buffer() const override { return {1, 1, false}; }
  std::string tool_version(const Machine&, const Tools&) const override { return "1"; }
  Obstacle obstacle(const BackendFacts& f) const override {
    if (f.lockdown.find(name_) != std::string::npos)
      return {name_ + " is blocked", Exit::lockdown};
    return {};
  }
  std::string chosen_reason(const BackendFacts&) const override { return name_ + " is first"; }
  std::string_view instead() const override { return instead_; }
  bool takes_script() const override { return false; }
  void check(const Machine&, const CheckRequest&, Checker&) const override {}
  Result<TreeProbes> build_for_tree(const TreeRequest&) const override {
    return fail(Exit::usage, "toy", "no");
  }
  Result<RunProbes> prepare_here(const HereRequest&) const override {
    return fail(Exit::usage, "toy", "no");
  }
  Status check_artifact(const std::string&, const probes::ProbePlan&,
                        const std::string&) const override {
    return {};
  }
  Result<std::unique_ptr<TracerSession>> start(const StartRequest&) const override {
    return fail(Exit::usage, "toy", "no");
  }
  void remove_leftovers(const LineSink&) const override {}

private:
  std::string name_, instead_;
};

TEST(TracerChoice, AutoTakesTheFirstThatCanAndSaysWhyNotTheOthers) {
  const Toy a("alpha", ""), b("beta", "beta needs less"), c("gamma", "");
  const std::vector<const Tracer*> list = {&a, &b, &c};
  BackendFacts f;
  auto first = choose_backend(list, nullptr, f);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->tracer, &a);
  EXPECT_EQ(first->reason, "alpha is first");
  f.lockdown = "alpha beta";
  auto third = choose_backend(list, nullptr, f);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->tracer, &c);
  EXPECT_EQ(third->reason, "gamma: alpha is blocked; beta is blocked");
  f.lockdown = "alpha beta gamma";
  auto none = choose_backend(list, nullptr, f);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Exit::lockdown);
  EXPECT_EQ(none.error().why, "alpha is blocked; beta is blocked; gamma is blocked");
  EXPECT_NE(none.error().hint.find("VM"), std::string::npos);
}

TEST(TracerChoice, ANamedTracerThatCannotPointsToOneThatCan) {
  const Toy a("alpha", ""), b("beta", "beta needs less");
  const std::vector<const Tracer*> list = {&a, &b};
  BackendFacts f;
  f.lockdown = "alpha";
  auto asked = choose_backend(list, &a, f);
  ASSERT_FALSE(asked);
  EXPECT_EQ(asked.error().what, "--backend alpha");
  EXPECT_EQ(asked.error().hint, "use --backend beta (beta needs less)");
  auto other = choose_backend(list, &b, f);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->reason, "beta (asked for)");
  f.lockdown = "alpha beta";
  EXPECT_NE(choose_backend(list, &a, f).error().hint.find("VM"), std::string::npos);
}

TEST(TracerChoice, ArtifactNamesAndVersions) {
  EXPECT_TRUE(valid_artifact_name("harness_probes"));
  EXPECT_TRUE(valid_artifact_name("_x1"));
  EXPECT_FALSE(valid_artifact_name("1abc"));
  EXPECT_FALSE(valid_artifact_name("has-dash"));
  EXPECT_FALSE(valid_artifact_name(std::string(56, 'a')));
  EXPECT_FALSE(valid_artifact_name(""));
  EXPECT_EQ(kernel_major_minor("6.12.118-amd64"), (std::pair{6, 12}));
  EXPECT_FALSE(kernel_major_minor("garbage"));
}

} // namespace
} // namespace harness::tracer
