#pragma once

// A made-up machine for pre-flight tests: files, programs and command outputs are whatever the
// test says.

#include "base/files.hpp"
#include "harness/session/system_view.hpp"
#include "kernel/kernel_source.hpp"
#include "probes/anchors.hpp"
#include "synthetic_sources.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <map>
#include <set>

namespace harness::session::testing {

class FakeSystem : public SystemView {
public:
  unsigned uid = 0;
  std::string release = "6.1.192";
  std::map<std::string, std::string> files;
  std::set<std::string> programs = {"stap", "staprun"};
  std::map<std::string, CommandOutput> commands; // key: argv joined by ' '
  std::map<std::string, bool> dwarf;             // ELF files and whether they have DWARF
  // What the build-id search (kernel/kernel_source.hpp) finds for the running kernel; a -r
  // tree's own file comes from `files`, as the real search reads it.
  std::optional<kernel::FoundSource> running_source;
  // The DWARF check of --allow-nearest; unset: this made-up machine has no debuginfo.
  std::optional<stap::VerifyResult> verified;

  unsigned euid() const override { return uid; }
  std::string kernel_release() const override { return release; }
  std::optional<std::string> read(const std::string& p) const override {
    auto it = files.find(p);
    return it == files.end() ? std::nullopt : std::optional(it->second);
  }
  bool exists(const std::string& p) const override {
    if (files.count(p) || dwarf.count(p))
      return true;
    const std::string dir = p + "/";
    for (const auto& [k, v] : files)
      if (k.rfind(dir, 0) == 0)
        return true;
    return false;
  }
  std::optional<std::string> find_program(const std::string& n) const override {
    return programs.count(n) ? std::optional("/usr/bin/" + n) : std::nullopt;
  }
  CommandOutput run(const std::vector<std::string>& argv) const override {
    std::string key;
    for (const auto& a : argv)
      key += (key.empty() ? "" : " ") + a;
    auto it = commands.find(key);
    return it == commands.end() ? CommandOutput{} : it->second;
  }
  std::optional<bool> has_debug_info(const std::string& p) const override {
    auto it = dwarf.find(p);
    return it == dwarf.end() ? std::nullopt : std::optional(it->second);
  }

  kernel::SourceSearch find_kernel_source(const std::string& rel,
                                          const std::string& build_dir) const override {
    kernel::SourceSearch s;
    s.release = rel;
    if (!build_dir.empty()) {
      // The real search (kernel/kernel_source.cpp: its order, its plausibility check) over a
      // temporary copy of this made-up machine's files under the tree, its paths mapped back.
      harness::testing::TempDir copy("fake-tree");
      const std::string prefix = build_dir + "/";
      for (const auto& [path, text] : files)
        if (path.starts_with(prefix)) {
          const std::string to = copy.path() + "/" + path.substr(prefix.size());
          EXPECT_TRUE(make_dirs(to.substr(0, to.rfind('/'))));
          EXPECT_TRUE(write_file_atomic(to, text));
        }
      kernel::SourceQuery q;
      q.release = rel;
      q.build_dir = copy.path();
      s = kernel::find_kernel_source(q);
      s.release = rel;
      auto back = [&](std::string& text) {
        for (std::size_t at; (at = text.find(copy.path())) != std::string::npos;)
          text.replace(at, copy.path().size(), build_dir);
      };
      if (s.found) {
        back(s.found->source.path);
        back(s.found->provenance);
      }
      for (auto& t : s.tried)
        back(t);
      return s;
    }
    if (running_source)
      s.found = running_source;
    else
      s.tried.push_back("debuginfod: DEBUGINFOD_URLS is not set");
    return s;
  }
  Result<stap::VerifyResult> verify_anchors(const probes::LineMap&, probes::ProbeSet,
                                            const std::string&, const std::string&) const override {
    if (!verified)
      return fail(Exit::no_debuginfo, "stap -L", "no debuginfo on this made-up machine");
    return *verified;
  }

  // A machine where `harness run --kernel 6.1 eth0` can work.
  static FakeSystem ready() {
    FakeSystem s;
    s.files["/proc/modules"] = "";
    s.files["/sys/kernel/debug/kprobes/enabled"] = "1\n";
    s.files["/sys/kernel/security/lockdown"] = "[none] integrity confidentiality\n";
    s.files["/proc/self/mounts"] = "securityfs /sys/kernel/security securityfs rw 0 0\n";
    s.files["/lib/modules/6.1.192/build/Makefile"] = "";
    s.dwarf["/usr/lib/debug/boot/vmlinux-6.1.192"] = true;
    s.files["/sys/class/net/eth0/flags"] = "0x1003\n";
    s.files["/sys/class/net/eth0/operstate"] = "up\n";
    // The running kernel's own af_packet.c, as if debuginfod had served it.
    s.running_source =
        kernel::FoundSource{{"/cache/sources/0123abcd/af_packet.c",
                             probes::synth::synthetic_source(probes::synth::eras().at("6.1.158"))},
                            "debuginfod (fake), build id 0123abcd"};
    s.commands["/usr/bin/stap --version"] = {
        0, "", "Systemtap translator/driver (version 4.8/0.188, Debian version 4.8-2)\n"};
    return s;
  }
};

} // namespace harness::session::testing
