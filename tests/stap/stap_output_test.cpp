#include "stap/stap_output.hpp"

#include <gtest/gtest.h>

using namespace harness;
using namespace harness::stap;

TEST(StapOutput, ParsesVerbosePasses) {
  auto p =
      parse_stap_progress("Pass 1: parsed user script and 482 library scripts using "
                          "112036virt/90512res/9684shr/80648data kb, in 180usr/40sys/226real ms.");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pass, 1);
  EXPECT_EQ(p->what, "parsed user script and 482 library scripts");
  EXPECT_EQ(p->real_ms, 226);
  EXPECT_EQ(format_stap_progress(*p), "stap pass 1/5 parse done in 0.23 s");

  p = parse_stap_progress(
      "Pass 4: compiled C into \"stap_1234.ko\" in 4480usr/870sys/5417real ms.");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->what, "compiled C into \"stap_1234.ko\"");
  EXPECT_EQ(p->real_ms, 5417);

  p = parse_stap_progress("Pass 3: using cached /root/.systemtap/cache/ab/stap_ab.c");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->cached);
  EXPECT_FALSE(p->real_ms);

  p = parse_stap_progress("Pass 5: starting run.");
  ASSERT_TRUE(p);
  EXPECT_EQ(format_stap_progress(*p), "stap pass 5/5 run: starting");

  EXPECT_FALSE(parse_stap_progress("Pass 9: nonsense"));
  EXPECT_FALSE(parse_stap_progress("Passing"));
  EXPECT_FALSE(parse_stap_progress("HX1 READY 1"));
}

TEST(StapOutput, RecognisesStapsFailureTexts) {
  struct Case {
    const char* text;
    Exit code;
    const char* cause_has;
  };
  const Case cases[] = {
      {"semantic error: missing x86_64 kernel/module debuginfo [man warning::debuginfo] under "
       "'/lib/modules/6.1.0/build'",
       Exit::no_debuginfo, "debuginfo"},
      {"semantic error: no match while resolving probe point kernel.statement(\"x@y.c:1\")",
       Exit::tracer_failed, "does not exist"},
      {"semantic error: not accessible at this address [man error::dwarf]", Exit::tracer_failed,
       "optimised out"},
      {"ERROR: module version mismatch (#1 SMP vs #2 SMP), release 6.1.192", Exit::tracer_failed,
       "stale"},
      {"ERROR: This host requires module signing.", Exit::lockdown, "signed"},
      {"ERROR: Couldn't insert module '/tmp/x.ko': Required key not available", Exit::lockdown,
       "refused"},
      {"ERROR: Failed to get list of machine owner keys (MOK) for module signing", Exit::lockdown,
       "MOK"},
      {"WARNING: Number of errors: 2, skipped probes: 3", Exit::tracer_failed, "skipped"},
      {"Pass 4: compilation failed.  [man error::pass4]", Exit::tracer_failed, "compile"},
  };
  for (const auto& c : cases) {
    auto d = diagnose_stap_output(std::string("Pass 1: parsed\n") + c.text + "\nmore\n");
    ASSERT_TRUE(d) << c.text;
    EXPECT_EQ(d->code, c.code) << c.text;
    EXPECT_NE(d->cause.find(c.cause_has), std::string::npos) << d->cause;
    EXPECT_EQ(d->evidence, c.text);
    EXPECT_FALSE(d->hint.empty());
  }
  EXPECT_FALSE(diagnose_stap_output("Pass 5: starting run.\n"));
}

TEST(StapOutput, CompileFailureQuotesTheCompilersError) {
  auto d = diagnose_stap_output(
      "Pass 3: translated to C\n"
      "/tmp/stapX/runtime/stp_task_work.c:12:9: error: initialization of 'int (*)(...)' from "
      "incompatible pointer type\n"
      "make[1]: *** [Makefile:1: all] Error 2\n"
      "Pass 4: compilation failed.  [man error::pass4]\n");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, Exit::tracer_failed);
  EXPECT_NE(d->evidence.find("stp_task_work.c:12:9: error:"), std::string::npos) << d->evidence;
}

// What a module says it did not deliver (issue 26), as stap 4.8's translator and runtime word it.
TEST(StapOutput, ReadsSkippedProbesAndTransportFailures) {
  StapLosses l;
  note_stap_losses("WARNING: Number of errors: 0, skipped probes: 12", l);
  note_stap_losses("WARNING: There were 345 transport failures. Try stap -s to increase the buffer "
                   "size from 16.",
                   l);
  note_stap_losses("Pass 5: starting run.", l);
  note_stap_losses("WARNING: There were no failures", l);
  EXPECT_EQ(l.skipped_probes, 12u);
  EXPECT_EQ(l.transport_failures, 345u);
  note_stap_losses("WARNING: Number of errors: 1, skipped probes: 0", l);
  EXPECT_EQ(l.skipped_probes, 0u) << "the last count wins";
}
