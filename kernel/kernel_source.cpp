#include "kernel/kernel_source.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "base/sha1.hpp"
#include "kernel/build_id.hpp"
#include "kernel/debuginfod_client.hpp"
#include "kernel/dwarf_source.hpp"
#include "probes/anchors.hpp"
#include "probes/map_store.hpp"

#include <sys/stat.h>

namespace harness::kernel {
namespace {

using namespace std::chrono_literals;

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string short_sha(const std::string& text) {
  return sha1_hex(text).substr(0, 12);
}

// A file that can be an af_packet.c: not empty, text, and it defines tpacket_snd.
bool plausible(const std::string& text) {
  return text.size() > 1000 && text.find('\0') == std::string::npos &&
         text.find("tpacket_snd") != std::string::npos;
}

std::optional<FoundSource> from_tree(const SourceQuery& q, std::vector<std::string>& tried) {
  if (q.build_dir.empty())
    return std::nullopt;
  // The object tree's own copy first, as Kbuild compiles it (a bug-zoo variant's edited file).
  const std::string source_dir = q.source_dir.empty() ? q.build_dir + "/source" : q.source_dir;
  for (const std::string& dir : {q.build_dir, source_dir}) {
    const std::string path = dir + "/" + std::string(probes::af_packet_path);
    if (auto text = read_file(path); text && (q.any_tree_file || plausible(*text)))
      return FoundSource{{path, std::move(*text)}, "the build tree's own file " + path};
  }
  tried.push_back("-r " + q.build_dir + ": no " + std::string(probes::af_packet_path) +
                  " in the tree or its source/ link");
  return std::nullopt;
}

std::string cache_dir_for(const SourceQuery& q) {
  return q.cache_dir + "/by-build-id/" + q.build_id;
}

std::optional<FoundSource> from_cache(const SourceQuery& q, std::vector<std::string>& tried) {
  if (q.build_id.empty())
    return std::nullopt;
  const std::string dir = cache_dir_for(q);
  auto text = read_file(dir + "/af_packet.c");
  if (!text || !plausible(*text)) {
    tried.push_back("the harness cache: nothing kept for build id " + q.build_id + " in " + dir);
    return std::nullopt;
  }
  std::string origin = "fetched earlier";
  if (auto o = read_file(dir + "/origin.txt")) {
    origin = *o;
    while (!origin.empty() && origin.back() == '\n')
      origin.pop_back();
  }
  return FoundSource{{dir + "/af_packet.c", std::move(*text)},
                     "the harness cache, " + dir + "/af_packet.c (" + origin + ")"};
}

// Keeps a found file under its build id, so later runs (and an offline machine) need no
// server. Best effort: a read-only cache only costs the next run a fetch.
void keep(const SourceQuery& q, const FoundSource& f, std::vector<std::string>& tried) {
  if (q.build_id.empty())
    return;
  const std::string dir = cache_dir_for(q);
  auto s = make_dirs(dir);
  if (s)
    s = write_file_atomic(dir + "/origin.txt", f.provenance + "\n");
  if (s)
    s = write_file_atomic(dir + "/af_packet.c", f.source.text);
  if (!s)
    tried.push_back("could not keep it in the harness cache: " + s.error().why);
}

// "... #1 SMP PREEMPT_DYNAMIC Debian 6.1.140-1 (2025-05-22)" -> "6.1.140-1".
std::string debian_version(const std::string& proc_version) {
  const auto at = proc_version.find(" Debian ");
  if (at == std::string::npos)
    return {};
  std::string v;
  for (std::size_t i = at + 8; i < proc_version.size(); ++i) {
    const char c = proc_version[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
          c == '~'))
      break;
    v += c;
  }
  return v;
}

// The kernel's Debian version: known (a fetched package's), else the running kernel's.
std::string target_debian_version(const SourceQuery& q, std::string& from) {
  if (!q.debian_version.empty()) {
    from = "the kernel package's version";
    return q.debian_version;
  }
  if (!q.running)
    return {};
  from = "the version /proc/version names";
  auto proc = read_file("/proc/version");
  return proc ? debian_version(*proc) : "";
}

std::optional<FoundSource> from_package(const SourceQuery& q, std::vector<std::string>& tried) {
  if (!q.running && q.debian_version.empty())
    return std::nullopt;
  std::string from;
  const std::string version = target_debian_version(q, from);
  const auto dot = version.find('.');
  const auto dot2 = version.find_first_of(".-", dot == std::string::npos ? 0 : dot + 1);
  if (version.empty() || dot == std::string::npos || dot2 == std::string::npos) {
    tried.push_back("a local source package: /proc/version names no Debian kernel version");
    return std::nullopt;
  }
  const std::string series = version.substr(0, dot2);
  const std::string package = "linux-source-" + series;
  auto installed =
      run_captured({.exe = "dpkg-query", .args = {"-W", "-f=${Version}", package}}, 30s);
  if (!installed || !installed->status.success() || installed->out != version + "\n") {
    tried.push_back("a local source package: the kernel is Debian " + version + "; " + package +
                    " " + version + " is not installed");
    return std::nullopt;
  }
  const std::string tarball = "/usr/src/" + package + ".tar.xz";
  const std::string member = package + "/" + std::string(probes::af_packet_path);
  auto out = run_captured({.exe = "tar", .args = {"-xJf", tarball, "-O", member}}, 5min);
  if (!out || !out->status.success() || !plausible(out->out)) {
    tried.push_back("a local source package: " + member + " could not be read from " + tarball);
    return std::nullopt;
  }
  return FoundSource{{tarball + ":" + member, std::move(out->out)},
                     package + " " + version + " (" + from + ")"};
}

// The kernel's DWARF: a local file carrying the build id, else debuginfod.
Result<std::string> debuginfo_for(const SourceQuery& q, const DebuginfodConfig& cfg) {
  std::vector<std::string> local = {"/usr/lib/debug/.build-id/" + q.build_id.substr(0, 2) + "/" +
                                        q.build_id.substr(2) + ".debug",
                                    "/usr/lib/debug/boot/vmlinux-" + q.release,
                                    "/usr/lib/debug/lib/modules/" + q.release + "/vmlinux"};
  if (!q.build_dir.empty())
    local.insert(local.begin(), q.build_dir + "/vmlinux");
  for (const auto& p : local)
    if (is_file(p))
      if (auto id = build_id_of_elf(p); id && *id == q.build_id)
        return p;
  return debuginfod_debuginfo(cfg, q.build_id);
}

std::optional<FoundSource> from_debuginfod(const SourceQuery& q, std::vector<std::string>& tried) {
  if (q.build_id.empty())
    return std::nullopt;
  DebuginfodConfig cfg;
  cfg.urls = q.debuginfod_urls;
  cfg.cache_dir = q.cache_dir + "/debuginfod";
  auto debuginfo = debuginfo_for(q, cfg);
  if (!debuginfo) {
    tried.push_back("debuginfod, the debuginfo of build id " + q.build_id + ": " +
                    debuginfo.error().why);
    return std::nullopt;
  }
  auto dwarf_path = dwarf_source_path(*debuginfo, probes::af_packet_path);
  if (!dwarf_path) {
    tried.push_back("the DWARF of " + *debuginfo + ": " + dwarf_path.error().why);
    return std::nullopt;
  }
  if (!acceptable_dwarf_path(*dwarf_path)) {
    tried.push_back("the DWARF of " + *debuginfo + " names an unusable source path");
    return std::nullopt;
  }
  auto file = debuginfod_source(cfg, q.build_id, *dwarf_path);
  if (!file) {
    tried.push_back("debuginfod, " + *dwarf_path + ": " + file.error().why);
    return std::nullopt;
  }
  auto text = read_file(*file);
  if (!text || !plausible(*text)) {
    tried.push_back("debuginfod gave " + *file + ", which is not an af_packet.c");
    return std::nullopt;
  }
  return FoundSource{{*file, std::move(*text)},
                     "debuginfod (" + q.debuginfod_urls + "), build id " + q.build_id + ", " +
                         *dwarf_path};
}

std::optional<probes::MapEntry> from_proven_map(const SourceQuery& q,
                                                std::vector<std::string>& tried) {
  if (q.build_id.empty())
    return std::nullopt;
  auto maps = probes::load_shipped_maps();
  if (maps)
    for (const auto& e : *maps)
      for (const auto& id : e.map.build_ids)
        if (id == q.build_id)
          return e;
  tried.push_back("the shipped maps: none lists build id " + q.build_id);
  return std::nullopt;
}

} // namespace

bool acceptable_dwarf_path(const std::string& path) {
  if (path.size() > 4000 || !path.starts_with('/') ||
      !path.ends_with("/" + std::string(probes::af_packet_path)) ||
      path.find("/../") != std::string::npos)
    return false;
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f)
      return false;
  return true;
}

SourceQuery source_query(const std::string& release, const std::string& build_dir,
                         const std::string& build_id, const std::string& cache_dir) {
  SourceQuery q;
  q.release = release;
  q.build_dir = build_dir;
  q.cache_dir = cache_dir;
  q.running = build_dir.empty() && build_id.empty();
  q.build_id = build_id;
  if (q.build_id.empty()) {
    auto id =
        build_dir.empty() ? running_kernel_build_id() : build_id_of_elf(build_dir + "/vmlinux");
    if (id)
      q.build_id = *id;
  }
  if (const char* urls = std::getenv("DEBUGINFOD_URLS"))
    q.debuginfod_urls = urls;
  return q;
}

SourceSearch find_kernel_source(const SourceQuery& q) {
  SourceSearch s;
  s.release = q.release;
  s.build_id = q.build_id;
  if (q.build_id.empty())
    s.tried.push_back("the kernel's build id: unknown (no /sys/kernel/notes or vmlinux note)");
  if ((s.found = from_tree(q, s.tried)))
    return s;
  if ((s.found = from_cache(q, s.tried)))
    return s;
  if ((s.found = from_package(q, s.tried)) || (s.found = from_debuginfod(q, s.tried)))
    keep(q, *s.found, s.tried);
  else
    s.proven_map = from_proven_map(q, s.tried);
  return s;
}

Error SourceSearch::not_found_error() const {
  std::string why = "no source proven to be this kernel's af_packet.c, so no exact probe lines";
  for (const auto& t : tried)
    why += "; tried " + t;
  const std::string dbg = release.starts_with("of build id") ? "linux-image-RELEASE-dbg"
                                                             : "linux-image-" + release + "-dbg";
  return Error{Exit::no_map, "kernel " + release, why,
               "get the kernel's own source: install the distribution's kernel source "
               "(Debian: linux-source-X.Y of the running version) or its debug symbols (" +
                   dbg +
                   ", Ubuntu: -dbgsym) and set DEBUGINFOD_URLS (e.g. "
                   "https://debuginfod.debian.net), or give the kernel's build tree with -r "
                   "DIR; --allow-nearest probes the nearest shipped map after checking every "
                   "anchor against the kernel's DWARF (the report then says \"lines not "
                   "proven\")"};
}

probes::MapSelection proven_selection(const probes::MapEntry& entry, const std::string& build_id,
                                      const std::string& release) {
  probes::MapSelection sel;
  sel.entry = entry;
  sel.requested = release.empty() ? entry.map.release : release;
  sel.exact = true;
  sel.provenance = "the shipped map " + entry.file + ": it lists build id " + build_id +
                   " as compiled from its source (sha1 " + entry.map.source_sha1.substr(0, 12) +
                   ")";
  return sel;
}

Result<ExactMap> exact_map_by_build_id(const std::string& build_id, const std::string& release,
                                       const std::string& cache_dir) {
  SourceQuery q;
  q.build_id = build_id;
  q.cache_dir = cache_dir;
  q.release = "of build id " + build_id;
  if (const char* urls = std::getenv("DEBUGINFOD_URLS"))
    q.debuginfod_urls = urls;
  auto s = find_kernel_source(q);
  if (s.proven_map)
    return ExactMap{proven_selection(*s.proven_map, build_id, release), std::nullopt};
  if (!s.found) {
    Error e = s.not_found_error();
    e.what = "build id " + build_id;
    return std::unexpected(e);
  }
  auto sel = exact_map_for(*s.found, release);
  if (!sel)
    return std::unexpected(sel.error());
  return ExactMap{std::move(*sel), std::move(s.found)};
}

Result<probes::MapSelection> exact_map_for(const FoundSource& found, const std::string& release) {
  auto maps = probes::load_shipped_maps();
  if (!maps)
    return std::unexpected(maps.error());
  const std::string sha = sha1_hex(found.source.text);
  std::string rel = release;
  for (const auto& e : *maps)
    if (rel.empty() && e.map.source_sha1 == sha)
      rel = e.map.release;
  if (rel.empty())
    return fail(Exit::usage, found.source.path,
                "no shipped map holds this af_packet.c (sha1 " + sha.substr(0, 12) +
                    "), so its kernel release is unknown",
                "give the kernel's release with --kernel RELEASE (`uname -r` on that machine)");
  auto sel = probes::select_map_for_source(*maps, rel, rel, &found.source);
  if (!sel)
    return sel;
  sel->provenance = found.provenance + " (sha1 " + short_sha(found.source.text) + ")";
  return sel;
}

} // namespace harness::kernel
