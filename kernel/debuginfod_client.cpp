#include "kernel/debuginfod_client.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"

#include <cstdlib>

namespace harness::kernel {
namespace {

std::string last_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  const auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

Result<std::string> find(const DebuginfodConfig& cfg, std::vector<std::string> args,
                         const std::string& what) {
  if (cfg.urls.empty())
    return fail(Exit::no_debuginfo, what, "DEBUGINFOD_URLS is not set: no server to ask",
                "set DEBUGINFOD_URLS to your distribution's server (e.g. "
                "https://debuginfod.debian.net)");
  // The client creates its cache directory but not the parents.
  if (auto made = make_dirs(cfg.cache_dir); !made)
    return fail(Exit::io, what, "cannot create the debuginfod cache: " + made.error().why,
                "set HARNESS_CACHE to a writable directory");
  ChildSpec spec{.exe = cfg.program, .args = std::move(args)};
  spec.env = {{"DEBUGINFOD_URLS", cfg.urls}, {"DEBUGINFOD_CACHE_PATH", cfg.cache_dir}};
  auto r = run_captured(spec, cfg.timeout);
  if (!r)
    return fail(Exit::no_debuginfo, what, "cannot run " + cfg.program + ": " + r.error().why,
                "apt-get install debuginfod (it holds debuginfod-find)");
  const std::string path = last_line(r->out);
  if (r->timed_out || !r->status.success() || !path.starts_with('/')) {
    std::string why = r->timed_out ? "no answer in time" : last_line(r->err);
    if (why.empty())
      why = r->status.describe();
    return fail(Exit::no_debuginfo, what, "debuginfod (" + cfg.urls + "): " + why);
  }
  return path;
}

} // namespace

DebuginfodConfig debuginfod_config(const std::string& harness_cache_dir) {
  DebuginfodConfig cfg;
  if (const char* urls = std::getenv("DEBUGINFOD_URLS"))
    cfg.urls = urls;
  cfg.cache_dir = harness_cache_dir + "/debuginfod";
  return cfg;
}

Result<std::string> debuginfod_debuginfo(const DebuginfodConfig& cfg, const std::string& build_id) {
  return find(cfg, {"debuginfo", build_id}, "debuginfo of build id " + build_id);
}

Result<std::string> debuginfod_source(const DebuginfodConfig& cfg, const std::string& build_id,
                                      const std::string& dwarf_path) {
  return find(cfg, {"source", build_id, dwarf_path}, dwarf_path + " of build id " + build_id);
}

} // namespace harness::kernel
