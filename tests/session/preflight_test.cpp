#include "fake_system.hpp"
#include "harness/session/preflight.hpp"
#include "synthetic_sources.hpp"
#include "tracers/tracers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

using namespace harness;
using namespace harness::session;
using namespace harness::session::testing;

namespace {

// The stap tracer's pre-flight (the kprobe tracer's checks have tests of their own below).
PreflightRequest eth0() {
  PreflightRequest r;
  r.backend = *tracers::parse("stap");
  r.kernel_spec = "6.1";
  r.iface = "eth0";
  return r;
}

// The failing check's exit status, or ok.
Exit first_failure(const FakeSystem& sys, const PreflightRequest& req) {
  const auto r = run_preflight(sys, req, shipped_map_selector());
  const Check* f = r.first_failure();
  return f ? f->error.code : Exit::ok;
}

const Check* check(const PreflightResult& r, const std::string& name) {
  for (const auto& c : r.checks)
    if (c.name == name)
      return &c;
  return nullptr;
}

} // namespace

TEST(Preflight, ReadyMachinePassesEveryCheck) {
  const auto r = run_preflight(FakeSystem::ready(), eth0(), shipped_map_selector());
  EXPECT_EQ(r.first_failure(), nullptr) << format_checks(r);
  EXPECT_EQ(r.target_release, "6.1.192");
  ASSERT_TRUE(r.map);
  EXPECT_TRUE(r.map->exact);
  EXPECT_NE(check(r, "stap")->detail.find("stap 4.8/0.188"), std::string::npos);
  EXPECT_NE(check(r, "line map")->detail.find("6.1.192"), std::string::npos);
}

TEST(Preflight, EachFailureHasItsOwnExitStatusAndAHint) {
  struct Case {
    std::string name;
    std::function<void(FakeSystem&, PreflightRequest&)> breaks;
    Exit expected;
  };
  const std::vector<Case> cases = {
      {"not root", [](FakeSystem& s, PreflightRequest&) { s.uid = 1000; }, Exit::not_root},
      {"stap missing", [](FakeSystem& s, PreflightRequest&) { s.programs.erase("stap"); },
       Exit::tool_missing},
      {"no modules", [](FakeSystem& s, PreflightRequest&) { s.files.erase("/proc/modules"); },
       Exit::unsupported},
      {"modules disabled",
       [](FakeSystem& s, PreflightRequest&) {
         s.files["/proc/sys/kernel/modules_disabled"] = "1\n";
       },
       Exit::unsupported},
      {"kprobes off",
       [](FakeSystem& s, PreflightRequest&) {
         s.files["/sys/kernel/debug/kprobes/enabled"] = "0\n";
       },
       Exit::unsupported},
      {"lockdown",
       [](FakeSystem& s, PreflightRequest&) {
         s.files["/sys/kernel/security/lockdown"] = "none [integrity] confidentiality\n";
       },
       Exit::lockdown},
      {"sig_enforce",
       [](FakeSystem& s, PreflightRequest&) {
         s.files["/sys/module/module/parameters/sig_enforce"] = "Y\n";
       },
       Exit::lockdown},
      {"no headers",
       [](FakeSystem& s, PreflightRequest&) {
         s.files.erase("/lib/modules/6.1.192/build/Makefile");
       },
       Exit::no_debuginfo},
      {"no debuginfo", [](FakeSystem& s, PreflightRequest&) { s.dwarf.clear(); },
       Exit::no_debuginfo},
      {"stripped vmlinux",
       [](FakeSystem& s, PreflightRequest&) {
         s.dwarf["/usr/lib/debug/boot/vmlinux-6.1.192"] = false;
       },
       Exit::no_debuginfo},
      {"no interface", [](FakeSystem&, PreflightRequest& r) { r.iface = "eth9"; }, Exit::interface},
      {"interface down",
       [](FakeSystem& s, PreflightRequest&) { s.files["/sys/class/net/eth0/flags"] = "0x1002\n"; },
       Exit::interface},
      {"no map", [](FakeSystem&, PreflightRequest& r) { r.kernel_spec = "not-a-version"; },
       Exit::no_map},
      {"bad build tree", [](FakeSystem&, PreflightRequest& r) { r.build_dir = "/nonexistent"; },
       Exit::no_debuginfo},
  };
  for (const auto& c : cases) {
    FakeSystem sys = FakeSystem::ready();
    PreflightRequest req = eth0();
    c.breaks(sys, req);
    const auto r = run_preflight(sys, req, shipped_map_selector());
    const Check* f = r.first_failure();
    ASSERT_NE(f, nullptr) << c.name;
    EXPECT_EQ(f->error.code, c.expected) << c.name << "\n" << format_checks(r);
    EXPECT_FALSE(f->error.why.empty()) << c.name;
    EXPECT_FALSE(f->error.hint.empty()) << c.name;
    EXPECT_EQ(f->error.why.find('\n'), std::string::npos) << "one line: " << c.name;
  }
}

TEST(Preflight, AbsentLockdownFileMeansNoLockdown) {
  FakeSystem sys = FakeSystem::ready();
  sys.files.erase("/sys/kernel/security/lockdown");
  auto r = run_preflight(sys, eth0(), shipped_map_selector());
  EXPECT_EQ(check(r, "lockdown")->state, CheckState::ok);
  EXPECT_EQ(check(r, "module signing")->state, CheckState::ok);
  // Issue 30, defect 4: without securityfs the file is absent too, and says nothing: doctor
  // said "ok lockdown" and "ok module signing" on a kernel locked down in integrity mode.
  sys.files.erase("/proc/self/mounts");
  r = run_preflight(sys, eth0(), shipped_map_selector());
  EXPECT_EQ(check(r, "lockdown")->state, CheckState::unknown);
  EXPECT_EQ(check(r, "module signing")->state, CheckState::unknown);
  EXPECT_EQ(r.first_failure(), nullptr);
  const std::string text = format_checks(r);
  EXPECT_NE(text.find("  unknown lockdown"), std::string::npos) << text;
  EXPECT_NE(text.find("hint: mount it to check"), std::string::npos) << text;
  EXPECT_EQ(tracer::lockdown_mode("none [integrity] confidentiality"), "integrity");
  EXPECT_EQ(tracer::lockdown_mode("[none] integrity"), "none");
  EXPECT_EQ(tracer::lockdown_mode("garbage"), "");
}

// The lines come from the running kernel's own af_packet.c (found by build id), and the check
// says where it was found. Replaces the nearest-map test: a map chosen by version alone no longer
// passes pre-flight (issue 16).
TEST(Preflight, LineMapComesFromTheKernelsOwnSource) {
  const auto r = run_preflight(FakeSystem::ready(), eth0(), shipped_map_selector());
  const Check* m = check(r, "line map");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->state, CheckState::ok);
  EXPECT_NE(m->detail.find("debuginfod (fake), build id 0123abcd"), std::string::npos) << m->detail;
  ASSERT_TRUE(r.map);
  EXPECT_TRUE(r.map->exact);
  EXPECT_EQ(r.map->provenance, "debuginfod (fake), build id 0123abcd");
  EXPECT_FALSE(r.lines_not_proven);
  const std::string source = FakeSystem::ready().running_source->source.text;
  EXPECT_EQ(r.map->entry.map.anchor("snd.len_sum")->line,
            probes::synth::expected_lines(source).at("snd.len_sum"));
}

// `--kernel 5.x` with no 5.x source anywhere stops at pre-flight, naming what was tried and how
// to get the source; a spec naming another kernel than the one probed stops too.
TEST(Preflight, NoExactSourceStopsWithInstructions) {
  FakeSystem sys = FakeSystem::ready();
  sys.running_source.reset();
  PreflightRequest req = eth0();
  req.kernel_spec = "5.x";
  const auto r = run_preflight(sys, req, shipped_map_selector());
  const Check* f = r.first_failure();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "line map");
  EXPECT_EQ(f->error.code, Exit::no_map);
  EXPECT_NE(f->error.what.find("--kernel 5.x"), std::string::npos) << f->error.what;
  EXPECT_NE(f->error.why.find("tried debuginfod"), std::string::npos) << f->error.why;
  for (const char* how : {"linux-source-", "-dbg", "DEBUGINFOD_URLS", "-r DIR", "--allow-nearest"})
    EXPECT_NE(f->error.hint.find(how), std::string::npos) << how << " in " << f->error.hint;
  EXPECT_FALSE(r.map);

  const auto other = run_preflight(FakeSystem::ready(), req, shipped_map_selector());
  ASSERT_NE(other.first_failure(), nullptr);
  EXPECT_EQ(other.first_failure()->name, "line map");
  EXPECT_NE(other.first_failure()->error.why.find("run on kernel 6.1.192"), std::string::npos)
      << other.first_failure()->error.why;
}

// --allow-nearest takes the nearest shipped map only once every anchor passed the DWARF check,
// and marks it not proven.
TEST(Preflight, AllowNearestNeedsTheDwarfCheck) {
  FakeSystem sys = FakeSystem::ready();
  sys.running_source.reset();
  PreflightRequest req = eth0();
  req.kernel_spec = "6.2.7";
  req.allow_nearest = true;
  auto r = run_preflight(sys, req, shipped_map_selector());
  ASSERT_NE(r.first_failure(), nullptr) << "no DWARF to check against";
  EXPECT_NE(r.first_failure()->error.why.find("could not be checked"), std::string::npos);

  stap::VerifyResult bad;
  stap::AnchorCheck row;
  row.anchor = "snd.len_sum";
  row.state = stap::AnchorState::not_probeable;
  row.in_set = true;
  bad.rows.push_back(row);
  sys.verified = bad;
  r = run_preflight(sys, req, shipped_map_selector());
  ASSERT_NE(r.first_failure(), nullptr);
  EXPECT_NE(r.first_failure()->error.why.find("snd.len_sum"), std::string::npos);

  bad.rows[0].state = stap::AnchorState::ok;
  sys.verified = bad;
  r = run_preflight(sys, req, shipped_map_selector());
  EXPECT_EQ(r.first_failure(), nullptr) << format_checks(r);
  const Check* m = check(r, "line map");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->state, CheckState::warn);
  EXPECT_NE(m->detail.find("lines not proven"), std::string::npos) << m->detail;
  ASSERT_TRUE(r.map);
  EXPECT_FALSE(r.map->exact);
  EXPECT_TRUE(r.map->provenance.empty());
  EXPECT_TRUE(r.lines_not_proven);
}

// A build tree that holds its af_packet.c gets that file's lines, not the nearest shipped map's;
// a tree whose anchors cannot be placed stops the run before anything is compiled.
TEST(Preflight, CrossBuildTreeWithItsOwnSourceLocatesTheAnchors) {
  FakeSystem sys = FakeSystem::ready();
  sys.files["/kb/include/config/kernel.release"] = "6.12.200\n";
  // A SystemTap that builds modules for 6.12 (4.8's range ends at 6.1: tracer_choice_test).
  sys.commands["/usr/bin/stap --version"] = {
      0, "", "Systemtap translator/driver (version 5.2/0.191, Debian version 5.2-1)\n"};
  sys.dwarf["/kb/vmlinux"] = true;
  const std::string source = "/* a rebuilt kernel */\n" +
                             probes::synth::synthetic_source(probes::synth::eras().at("6.12.117"));
  sys.files["/kb/source/net/packet/af_packet.c"] = source;
  PreflightRequest req = eth0();
  req.kernel_spec = "auto";
  req.build_dir = "/kb";
  auto r = run_preflight(sys, req, shipped_map_selector());
  EXPECT_EQ(r.first_failure(), nullptr) << format_checks(r);
  const Check* m = check(r, "line map");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->state, CheckState::ok);
  EXPECT_NE(m->detail.find("anchors located in /kb/source/net/packet/af_packet.c"),
            std::string::npos)
      << m->detail;
  ASSERT_TRUE(r.map);
  EXPECT_EQ(r.map->entry.map.release, "6.12.200");
  EXPECT_EQ(r.map->entry.map.anchor("snd.len_sum")->line,
            probes::synth::expected_lines(source).at("snd.len_sum"));

  std::string broken = source;
  broken.erase(broken.find("len_sum += tp_len;"), 18);
  sys.files["/kb/source/net/packet/af_packet.c"] = broken;
  r = run_preflight(sys, req, shipped_map_selector());
  ASSERT_NE(r.first_failure(), nullptr);
  EXPECT_EQ(r.first_failure()->name, "line map");
  EXPECT_EQ(r.first_failure()->error.code, Exit::no_map);
  EXPECT_NE(r.first_failure()->error.why.find("snd.len_sum"), std::string::npos);
}

// Which af_packet.c of a build tree gives the lines (the real search, kernel_source.cpp): the
// object tree's own copy before its source/ link (a bug-zoo variant edits the copy Kbuild
// compiles), and a file that cannot be an af_packet.c is passed over.
TEST(Preflight, BuildTreeOwnCopyWinsAndAnImplausibleFileIsPassedOver) {
  FakeSystem sys = FakeSystem::ready();
  sys.files["/kb/include/config/kernel.release"] = "6.12.200\n";
  sys.commands["/usr/bin/stap --version"] = {
      0, "", "Systemtap translator/driver (version 5.2/0.191, Debian version 5.2-1)\n"};
  sys.dwarf["/kb/vmlinux"] = true;
  sys.files["/kb/source/net/packet/af_packet.c"] =
      probes::synth::synthetic_source(probes::synth::eras().at("6.12.117"));
  sys.files["/kb/net/packet/af_packet.c"] =
      "/* the variant Kbuild compiled */\n" + sys.files["/kb/source/net/packet/af_packet.c"];
  PreflightRequest req = eth0();
  req.kernel_spec = "auto";
  req.build_dir = "/kb";
  auto line_map = [&] {
    const auto r = run_preflight(sys, req, shipped_map_selector());
    const Check* m = check(r, "line map");
    return m ? m->detail : "(no line map check)\n" + format_checks(r);
  };
  EXPECT_NE(line_map().find("anchors located in /kb/net/packet/af_packet.c"), std::string::npos)
      << line_map();
  sys.files["/kb/net/packet/af_packet.c"] = "/* empty: not an af_packet.c */\n";
  EXPECT_NE(line_map().find("anchors located in /kb/source/net/packet/af_packet.c"),
            std::string::npos)
      << line_map();
}

TEST(Preflight, CrossBuildTreeAndPrebuiltModule) {
  FakeSystem sys = FakeSystem::ready();
  sys.files["/kb/include/config/kernel.release"] = "6.1.192-harness\n";
  sys.dwarf["/kb/vmlinux"] = true;
  PreflightRequest req = eth0();
  req.build_dir = "/kb";
  // A tree without its own af_packet.c no longer gets the 6.1 map by version (issue 16).
  auto r = run_preflight(sys, req, shipped_map_selector());
  ASSERT_NE(r.first_failure(), nullptr);
  EXPECT_EQ(r.first_failure()->name, "line map");
  sys.files["/kb/source/net/packet/af_packet.c"] =
      probes::synth::synthetic_source(probes::synth::eras().at("6.1.158"));
  r = run_preflight(sys, req, shipped_map_selector());
  EXPECT_EQ(r.target_release, "6.1.192-harness");
  EXPECT_EQ(r.first_failure(), nullptr) << format_checks(r);

  sys.dwarf["/kb/vmlinux"] = false;
  EXPECT_EQ(first_failure(sys, req), Exit::no_debuginfo);

  // --module needs staprun and the plan, not stap or debuginfo.
  FakeSystem guest = FakeSystem::ready();
  guest.programs.erase("stap");
  guest.dwarf.clear();
  PreflightRequest mod;
  mod.backend = *tracers::parse("stap");
  mod.artifact = "/nonexistent/probes.ko";
  mod.plan = "/nonexistent/probes.plan.json";
  mod.veth = true;
  r = run_preflight(guest, mod, shipped_map_selector());
  ASSERT_NE(r.first_failure(), nullptr);
  EXPECT_EQ(r.first_failure()->name, "module");
  EXPECT_EQ(check(r, "debuginfo"), nullptr);
  guest.programs.erase("staprun");
  EXPECT_EQ(first_failure(guest, mod), Exit::tool_missing);
}

TEST(Preflight, FormatShowsEveryCheckWithHints) {
  FakeSystem sys = FakeSystem::ready();
  sys.uid = 1000;
  const std::string text = format_checks(run_preflight(sys, eth0(), shipped_map_selector()));
  EXPECT_NE(text.find("FAIL  root"), std::string::npos) << text;
  EXPECT_NE(text.find("hint: run with sudo"), std::string::npos) << text;
  EXPECT_NE(text.find("ok    interface"), std::string::npos) << text;
}

TEST(Preflight, ThisHostFailsCleanlyForRealStap) {
  // The development and CI machines cannot run probes (no module loading, no kprobes): the real
  // checks must say so with a cause and a hint, never pass.
  RealSystem sys;
  PreflightRequest req;
  req.veth = true;
  req.backend = *tracers::parse("stap");
  const auto r = run_preflight(sys, req, shipped_map_selector());
  const Check* f = r.first_failure();
  if (!f)
    GTEST_SKIP() << "this machine could run probes:\n" << format_checks(r);
  // What must stop it, read from the machine here rather than from the checks under test: not
  // root first, else stap missing (the tests install it), else a kernel without /proc/modules.
  if (::geteuid() != 0) {
    EXPECT_EQ(f->name, "root");
    EXPECT_EQ(f->error.code, Exit::not_root);
  } else if (::access("/proc/modules", F_OK) != 0) {
    // The tracer choice refuses stap before any stap-specific check runs.
    EXPECT_EQ(f->name, "tracer") << format_checks(r);
    EXPECT_EQ(f->error.code, Exit::unsupported);
    EXPECT_NE(f->error.why.find("does not load modules"), std::string::npos) << f->error.why;
    EXPECT_NE(f->error.hint.find("--backend kprobe"), std::string::npos) << f->error.hint;
  } else {
    // Root on a kernel that loads modules: what stops stap here (lockdown, headers, debuginfo,
    // its kernel range) is not one this test can read from the machine.
    EXPECT_FALSE(f->error.hint.empty());
    GTEST_SKIP() << "this machine loads modules; stap stops at \"" << f->name
                 << "\", which this test does not judge:\n"
                 << format_checks(r);
  }
  EXPECT_FALSE(f->error.hint.empty());
}

namespace harness::session {
namespace {

// The kprobe tracer's pre-flight on this host: no kprobe events here (the host kernel has no
// kprobes), so it must stop at that check with its own exit status and a hint.
TEST(Preflight, ThisHostFailsCleanlyForKprobes) {
  RealSystem sys;
  PreflightRequest req;
  req.veth = true;
  req.backend = *tracers::parse("kprobe");
  const auto r = run_preflight(sys, req, shipped_map_selector());
  const Check* f = r.first_failure();
  if (!f)
    GTEST_SKIP() << "this machine could run kprobe events:\n" << format_checks(r);
  if (::geteuid() != 0) {
    EXPECT_EQ(f->name, "root");
  } else if (::access("/sys/kernel/tracing/kprobe_events", F_OK) != 0 &&
             ::access("/sys/kernel/debug/tracing/kprobe_events", F_OK) != 0) {
    EXPECT_EQ(f->name, "kprobe events") << format_checks(r);
    EXPECT_EQ(f->error.code, Exit::unsupported);
  } else {
    // Root with kprobe events: what stops the kprobe tracer here (perf, debuginfo, the line
    // map) is not one this test can read from the machine.
    EXPECT_FALSE(f->error.hint.empty());
    GTEST_SKIP() << "this machine has kprobe events; the kprobe tracer stops at \"" << f->name
                 << "\", which this test does not judge:\n"
                 << format_checks(r);
  }
  EXPECT_FALSE(f->error.hint.empty());
}

// Issue 30, defect 4: with tracefs not mounted doctor said "ok kprobe events: tracefs not
// mounted yet" on a kernel without kprobes, then mounted it (a second doctor said FAIL). Now it
// reads the kernel's config, mounts nothing, and says "unknown" when it cannot tell.
TEST(Preflight, AnUnmountedTracefsIsReadFromTheConfigNeverMounted) {
  FakeSystem sys = FakeSystem::ready();
  sys.files["/sys/kernel/tracing/.placeholder"] = ""; // the directory, nothing mounted on it
  PreflightRequest req = eth0();
  req.backend = *tracers::parse("kprobe");
  auto events_check = [&]() {
    const auto r = run_preflight(sys, req, shipped_map_selector());
    for (const auto& c : r.checks)
      if (c.name == "kprobe events")
        return c;
    ADD_FAILURE() << format_checks(r);
    return Check{};
  };
  EXPECT_EQ(events_check().state, CheckState::unknown);
  EXPECT_NE(events_check().error.hint.find("mount it to check"), std::string::npos);
  sys.files["/boot/config-6.1.192"] = "CONFIG_KPROBES=y\n# CONFIG_KPROBE_EVENTS is not set\n";
  EXPECT_EQ(events_check().state, CheckState::fail);
  sys.files["/boot/config-6.1.192"] = "CONFIG_KPROBES=y\nCONFIG_KPROBE_EVENTS=y\n";
  EXPECT_EQ(events_check().state, CheckState::ok);
  sys.files["/sys/kernel/tracing/kprobe_events"] = "";
  EXPECT_EQ(events_check().detail, "/sys/kernel/tracing/kprobe_events");
}

// `auto` on a fake machine: stap within its range, kprobe beyond it or under lockdown, each
// tracer with its own checks (no kernel headers needed by kprobe, perf needed instead).
TEST(Preflight, AutoPicksTheTracerAndRunsItsChecks) {
  FakeSystem sys = FakeSystem::ready();
  PreflightRequest req = eth0();
  req.backend = nullptr;
  auto r = run_preflight(sys, req, shipped_map_selector());
  ASSERT_TRUE(r.tracer) << format_checks(r);
  EXPECT_EQ(r.tracer->tracer, *tracers::parse("stap"));
  sys.files["/sys/kernel/security/lockdown"] = "none [integrity] confidentiality\n";
  r = run_preflight(sys, req, shipped_map_selector());
  ASSERT_TRUE(r.tracer) << format_checks(r);
  EXPECT_EQ(r.tracer->tracer, *tracers::parse("kprobe"));
  const Check* events = nullptr;
  for (const auto& c : r.checks)
    if (c.name == "kprobe events")
      events = &c;
  ASSERT_NE(events, nullptr) << format_checks(r);
  for (const auto& c : r.checks)
    EXPECT_NE(c.name, "kernel headers") << "kprobe needs no kernel headers";
}

} // namespace
} // namespace harness::session
