#pragma once

// A made-up machine for pre-flight tests: files, programs and command outputs are whatever the
// test says.

#include "system_view.hpp"

#include <map>
#include <set>

namespace harness::run::testing {

class FakeSystem : public SystemView {
public:
  unsigned uid = 0;
  std::string release = "6.1.192";
  std::map<std::string, std::string> files;
  std::set<std::string> programs = {"stap", "staprun"};
  std::map<std::string, CommandOutput> commands; // key: argv joined by ' '
  std::map<std::string, bool> dwarf;             // ELF files and whether they have DWARF

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

  // A machine where `harness run --kernel 6.1 eth0` can work.
  static FakeSystem ready() {
    FakeSystem s;
    s.files["/proc/modules"] = "";
    s.files["/sys/kernel/debug/kprobes/enabled"] = "1\n";
    s.files["/sys/kernel/security/lockdown"] = "[none] integrity confidentiality\n";
    s.files["/lib/modules/6.1.192/build/Makefile"] = "";
    s.dwarf["/usr/lib/debug/boot/vmlinux-6.1.192"] = true;
    s.files["/sys/class/net/eth0/flags"] = "0x1003\n";
    s.files["/sys/class/net/eth0/operstate"] = "up\n";
    s.commands["/usr/bin/stap --version"] = {
        0, "", "Systemtap translator/driver (version 4.8/0.188, Debian version 4.8-2)\n"};
    return s;
  }
};

} // namespace harness::run::testing
