#include "kernel/kernel_builder.hpp"

#include "base/files.hpp"
#include "base/json_text.hpp"
#include "base/signals.hpp"
#include "kernel/build_id.hpp"
#include "kernel/cache_dir.hpp"
#include "probes/anchors.hpp"

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace harness::kernel {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A minimal 6.1 test kernel compiles about this many files (measured: 953).
constexpr int minimal_objects = 960;
// Seconds for a cold minimal build on 2 CPUs: 4m41s measured on the development machine,
// 10m35s on a CI machine of the same kind (2026-12-02). Both ends are quoted to the user.
constexpr int minimal_seconds_2cpu_low = 281;
constexpr int minimal_seconds_2cpu_high = 635;

long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

int cpus() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

// Runs a short command (tar, make tinyconfig) to completion; Exit::kernel_build on failure.
Status run_step(const std::string& exe, const std::vector<std::string>& args,
                std::chrono::seconds timeout, const std::string& what) {
  ChildSpec spec;
  spec.exe = exe;
  spec.args = args;
  auto r = run_captured(spec, timeout);
  if (!r)
    return fail(Exit::kernel_build, what, r.error().why, r.error().hint);
  if (r->timed_out)
    return fail(Exit::kernel_build, what,
                "did not finish within " + std::to_string(timeout.count()) + " s");
  if (!r->status.success()) {
    std::string err = r->err.empty() ? r->out : r->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
      err.pop_back();
    if (err.size() > 600)
      err = "..." + err.substr(err.size() - 600);
    return fail(Exit::kernel_build, what, r->status.describe() + ": " + err);
  }
  return {};
}

std::string first_line_of_command(const std::string& exe, const std::vector<std::string>& args) {
  ChildSpec spec;
  spec.exe = exe;
  spec.args = args;
  auto r = run_captured(spec, std::chrono::seconds(30));
  if (!r || !r->status.success())
    return {};
  const std::string& text = r->out.empty() ? r->err : r->out;
  return text.substr(0, text.find('\n'));
}

// An exclusive lock on a file, waiting (and saying so) while another harness holds it.
class FileLock {
public:
  static Result<FileLock> acquire(const std::string& path, const LineSink& note) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      return fail(Exit::io, path, errno_text(errno));
    bool told = false;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) {
        const int e = errno;
        ::close(fd);
        return fail(Exit::io, path, "flock: " + errno_text(e));
      }
      if (!told && note)
        note("waiting for another harness that is preparing the same kernel (" + path + ")");
      told = true;
      if (interrupt_requested()) {
        ::close(fd);
        return fail(Exit::interrupted, path, "interrupted while waiting for the lock");
      }
      std::this_thread::sleep_for(milliseconds(500));
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0)
      ::close(fd_); // releases the lock
  }

private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

Result<nlohmann::json> read_marker(const std::string& build_dir) {
  auto text = read_file(build_dir + "/" + std::string(build_marker_name));
  if (!text)
    return nlohmann::json::object();
  auto j = parse_json(*text);
  if (!j || !j->is_object())
    return fail(Exit::kernel_build, build_dir + "/" + std::string(build_marker_name),
                "is not a JSON object" + (j ? std::string() : ": " + j.error()),
                "delete it and run `harness kernel prepare` again");
  return std::move(*j);
}

} // namespace

std::string build_progress_line(int done, int estimate, std::string_view what, long elapsed_ms) {
  char buf[96];
  const long s = elapsed_ms / 1000;
  if (estimate > 0)
    std::snprintf(buf, sizeof buf, "[%4d/~%d] ", done, std::max(estimate, done));
  else
    std::snprintf(buf, sizeof buf, "[%4d] ", done);
  std::string line = buf;
  line += what;
  std::snprintf(buf, sizeof buf, "  %ldm%02lds", s / 60, s % 60);
  return line + buf;
}

std::string compiled_object(std::string_view line) {
  // Kbuild's quiet output: two spaces, the tool padded to 8 columns, the target.
  if (!line.starts_with("  CC ") && !line.starts_with("  AS "))
    return {};
  auto rest = line.substr(5);
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  return std::string(rest);
}

std::string cold_build_estimate(int n) {
  auto minutes = [&](int secs_2cpu) {
    return (secs_2cpu * 2 / std::max(1, std::min(n, 16)) + 30 + 59) / 60;
  };
  return "about " + std::to_string(minutes(minimal_seconds_2cpu_low)) + "-" +
         std::to_string(minutes(minimal_seconds_2cpu_high)) + " minutes on " + std::to_string(n) +
         " CPU" + (n == 1 ? "" : "s");
}

std::string cached_kernel_problem(const std::string& kdir, std::string_view package_version,
                                  bool optimised, std::string_view variant_name) {
  auto text = read_file(kdir + "/complete");
  if (!text)
    return "its record " + kdir + "/complete cannot be read";
  auto rec = parse_json(*text);
  if (!rec || !rec->is_object())
    return "its record is not JSON: " + (rec ? std::string("not an object") : rec.error());
  auto field = [&](const char* k) {
    const auto it = rec->find(k);
    return it != rec->end() && it->is_string() ? it->get<std::string>() : std::string("(none)");
  };
  if (field("version") != package_version)
    return "built from version " + field("version") + ", not " + std::string(package_version);
  if (field("variant") != (optimised ? "O2" : "O0"))
    return "built at " + field("variant") + ", not " + (optimised ? "O2" : "O0");
  if (field("zoo_variant") != variant_name)
    return "built as zoo variant '" + field("zoo_variant") + "', not '" +
           std::string(variant_name) + "'";
  for (const char* out : {"vmlinux", "arch/x86/boot/bzImage"}) {
    std::error_code ec;
    const std::string path = kdir + "/build/" + out;
    if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) == 0)
      return path + " is missing or empty";
  }
  if (rec->contains("build_id")) {
    auto id = build_id_of_elf(kdir + "/build/vmlinux");
    if (!id)
      return id.error().why;
    if (*id != field("build_id"))
      return "vmlinux has build id " + *id + ", the record says " + field("build_id");
  }
  return {};
}

std::string kernel_cache_key(std::string_view series, std::string_view package_version,
                             bool optimised, std::string_view fragment_text,
                             std::string_view compiler_version, std::string_view stap_version) {
  return cache_key({"linux-source", series, package_version, optimised ? "O2" : "O0", fragment_text,
                    compiler_version, stap_version});
}

Result<PrepareResult> prepare_kernel(const PrepareRequest& req) {
  PrepareResult res;
  auto note = [&](const std::string& s) {
    if (req.on_progress)
      req.on_progress(s);
  };
  res.source_dir = req.source_dir;
  res.build_dir = req.build_dir.empty() ? req.source_dir + "/build-harness" : req.build_dir;
  auto fragment = parse_config_fragment(req.fragment_text, req.fragment_origin);
  if (!fragment)
    return std::unexpected(fragment.error());

  if (!req.from_debian.empty()) {
    if (req.from_debian != "6.1" && req.from_debian != "6.12")
      return fail(Exit::usage, "--from-debian " + req.from_debian, "must be 6.1 or 6.12");
    const std::string tarball = "/usr/src/linux-source-" + req.from_debian + ".tar.xz";
    if (!fs::exists(tarball))
      return fail(Exit::kernel_build, tarball, "not found",
                  "apt-get install linux-source-" + req.from_debian);
    if (!fs::exists(req.source_dir + "/Makefile")) {
      if (auto s = make_dirs(req.source_dir); !s)
        return std::unexpected(s.error());
      note("unpacking " + tarball + " into " + req.source_dir + " (about 10 s)");
      if (auto s = run_step("tar", {"-xf", tarball, "--strip-components=1", "-C", req.source_dir},
                            std::chrono::seconds(900), "unpacking " + tarball);
          !s)
        return std::unexpected(s.error());
      res.unpacked = true;
    }
  }
  const std::string makefile = req.source_dir + "/net/packet/Makefile";
  auto mk = read_file(makefile);
  if (!mk)
    return fail(Exit::usage, "--source " + req.source_dir,
                "is not a kernel source tree (no net/packet/Makefile)",
                "pass the top directory of a Linux source tree, or use --from-debian 6.1");
  const auto edit = add_af_packet_O0(*mk);
  if (edit.changed) {
    if (auto s = write_file_atomic(makefile, edit.text); !s)
      return std::unexpected(s.error());
    note("net/packet/Makefile: added `" + std::string(af_packet_O0_line) + "`");
  }
  res.makefile_changed = edit.changed;

  if (auto s = make_dirs(res.build_dir); !s)
    return std::unexpected(s.error());
  const std::string config = res.build_dir + "/.config";
  const std::vector<std::string> make_base = {"-C", req.source_dir, "O=" + res.build_dir};
  if (req.minimal) {
    note("make tinyconfig");
    auto args = make_base;
    args.push_back("tinyconfig");
    if (auto s = run_step("make", args, std::chrono::seconds(600), "make tinyconfig"); !s)
      return std::unexpected(s.error());
    res.config_base = "tinyconfig";
  } else if (fs::exists(config)) {
    res.config_base = config;
  } else if (fs::exists(req.source_dir + "/.config")) {
    std::error_code ec;
    fs::copy_file(req.source_dir + "/.config", config, ec);
    if (ec)
      return fail(Exit::io, config, ec.message());
    res.config_base = req.source_dir + "/.config";
  } else {
    return fail(Exit::usage, "kernel prepare",
                "no .config to merge the fragment into in " + res.build_dir + " or " +
                    req.source_dir,
                "use --minimal (tinyconfig), or copy a config there first (e.g. /boot/config-*)");
  }
  auto text = read_file(config);
  if (!text)
    return std::unexpected(text.error());
  if (auto s = write_file_atomic(config, merge_config(*text, *fragment)); !s)
    return std::unexpected(s.error());
  auto args = make_base;
  args.push_back("olddefconfig");
  note("merged " + std::to_string(fragment->size()) + " options of " + req.fragment_origin +
       " into " + res.config_base + "; make olddefconfig");
  if (auto s = run_step("make", args, std::chrono::seconds(600), "make olddefconfig"); !s)
    return std::unexpected(s.error());
  auto final_text = read_file(config);
  if (!final_text)
    return std::unexpected(final_text.error());
  if (auto unmet = unmet_options(*final_text, *fragment); !unmet.empty()) {
    std::string list;
    for (const auto& o : unmet)
      list += " CONFIG_" + o.name + (o.enabled ? "=y" : "=n");
    return fail(Exit::kernel_build, config, "make olddefconfig did not keep:" + list,
                "these options have unmet dependencies in this tree; enable what they depend "
                "on (make O=" +
                    res.build_dir + " menuconfig) or use --minimal");
  }
  nlohmann::json marker{{"schema", "harness.kernel/1"},
                        {"source", req.source_dir},
                        {"variant", req.optimised ? "O2" : "O0"},
                        {"make_args", req.optimised ? nlohmann::json::array({"CFLAGS_af_packet.o="})
                                                    : nlohmann::json::array()},
                        {"config_base", res.config_base}};
  if (auto s = write_file_atomic(res.build_dir + "/" + std::string(build_marker_name),
                                 marker.dump(2) + "\n");
      !s)
    return std::unexpected(s.error());
  return res;
}

Result<BuildResult> build_kernel(const BuildRequest& req) {
  BuildResult res;
  if (!fs::exists(req.build_dir + "/.config") || !fs::exists(req.build_dir + "/Makefile"))
    return fail(Exit::usage, "--build " + req.build_dir, "is not a prepared build directory",
                "run `harness kernel prepare --source SRC --build " + req.build_dir + "` first");
  auto marker = read_marker(req.build_dir);
  if (!marker)
    return std::unexpected(marker.error());
  const int jobs = req.jobs > 0 ? req.jobs : cpus();
  ChildSpec spec;
  spec.exe = "make";
  spec.args = {"-C", req.build_dir, "-j" + std::to_string(jobs), "bzImage", "modules"};
  for (const auto& a : marker->value("make_args", nlohmann::json::array()))
    if (a.is_string())
      spec.args.push_back(a.get<std::string>());
  std::string ccache_note;
  if (!req.ccache_dir.empty()) {
    if (find_program("ccache")) {
      // One argv element: make reads it as the assignment CC="ccache gcc" (no shell involved).
      spec.args.push_back("CC=ccache gcc");
      // Without the directory in the hash, the two variants' build trees share objects.
      spec.env = {
          {"CCACHE_DIR", req.ccache_dir}, {"CCACHE_NOHASHDIR", "1"}, {"CCACHE_MAXSIZE", "5G"}};
      ccache_note = "; compiling through ccache (" + req.ccache_dir + ")";
    } else {
      ccache_note = "; ccache is not installed (apt-get install ccache), so a second variant "
                    "compiles everything again";
    }
  }
  const int estimate = marker->value("objects", minimal_objects);
  res.log_path = req.build_dir + "/harness-build.log";
  std::FILE* log = std::fopen(res.log_path.c_str(), "w");
  if (!log)
    return fail(Exit::io, res.log_path, errno_text(errno));
  auto closer = std::unique_ptr<std::FILE, int (*)(std::FILE*)>(log, &std::fclose);
  const auto start = Clock::now();
  auto last_report = start;
  std::string last_error;
  auto sink = [&](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), log);
    std::fputc('\n', log);
    if (line.find("error:") != std::string_view::npos || line.starts_with("make") ||
        line.find("Error ") != std::string_view::npos)
      if (last_error.empty() || line.find("error:") != std::string_view::npos)
        last_error = std::string(line);
    std::string obj = compiled_object(line);
    if (obj.empty())
      return;
    if (obj.starts_with(req.build_dir + "/"))
      obj.erase(0, req.build_dir.size() + 1);
    ++res.compiled;
    if (req.on_progress && ms_since(last_report) >= 5000) {
      last_report = Clock::now();
      req.on_progress(build_progress_line(res.compiled, estimate, obj, ms_since(start)));
    }
  };
  spec.on_stdout = sink;
  spec.on_stderr = sink;
  if (req.on_progress)
    req.on_progress("make " + describe_command(spec).substr(5) + " (log: " + res.log_path + ")" +
                    ccache_note);
  auto child = spawn(spec);
  if (!child)
    return fail(Exit::kernel_build, "make", child.error().why,
                "apt-get install make gcc flex bison bc libelf-dev libssl-dev");
  std::optional<ExitStatus> st;
  while (!st && ms_since(start) < std::chrono::duration_cast<milliseconds>(req.timeout).count() &&
         !interrupt_requested())
    st = (*child)->wait(milliseconds(500));
  if (!st) {
    (*child)->terminate(milliseconds(3000));
    std::fflush(log);
    if (interrupt_requested())
      return fail(Exit::interrupted, "kernel build", "interrupted; the next build resumes",
                  "the log is " + res.log_path);
    return fail(Exit::kernel_build, "kernel build", "did not finish within the time limit",
                "the log is " + res.log_path);
  }
  std::fflush(log);
  res.elapsed_ms = ms_since(start);
  if (!st->success())
    return fail(Exit::kernel_build, "make",
                st->describe() + (last_error.empty() ? "" : ": " + last_error),
                "the full output is in " + res.log_path);
  // Remember the size of this build for the next progress estimate.
  (*marker)["objects"] = std::max(res.compiled, marker->value("objects", 0));
  (*marker)["last_build_ms"] = res.elapsed_ms;
  (void)write_file_atomic(req.build_dir + "/" + std::string(build_marker_name),
                          marker->dump(2) + "\n");
  return res;
}

namespace {

// The variant's af_packet.c in the object tree, where Kbuild looks before srctree (VPATH); the
// shared source stays clean. Rewritten on every ensure so an interrupted build resumes right.
Status write_variant_source(const std::string& src, const std::string& build_dir,
                            const KernelVariant& variant, const LineSink& on_progress) {
  const std::string rel = std::string(probes::af_packet_path);
  auto clean = read_file(src + "/" + rel);
  if (!clean)
    return std::unexpected(clean.error());
  auto edited = apply_edits(*clean, variant, src + "/" + rel);
  if (!edited)
    return std::unexpected(edited.error());
  if (auto s = make_dirs(build_dir + "/net/packet"); !s)
    return s;
  if (on_progress)
    on_progress("variant " + variant.name + ": " + std::to_string(variant.edits.size()) +
                " edit(s) of " + rel + " written to " + build_dir + "/" + rel);
  return write_file_atomic(build_dir + "/" + rel, *edited);
}

} // namespace

Result<EnsureResult> ensure_debian_kernel(const EnsureRequest& req) {
  const auto start = Clock::now();
  auto note = [&](const std::string& s) {
    if (req.on_progress)
      req.on_progress(s);
  };
  const std::string package = "linux-source-" + req.series;
  const std::string version = first_line_of_command("dpkg-query", {"-W", "-f=${Version}", package});
  if (version.empty())
    return fail(Exit::kernel_build, package, "is not installed",
                "apt-get install " + package + " (or run `harness demo`, which installs it)");
  auto fragment = read_file(fragment_path());
  if (!fragment)
    return std::unexpected(fragment.error());
  const std::string gcc = first_line_of_command("gcc", {"--version"});
  if (gcc.empty())
    return fail(Exit::kernel_build, "gcc", "not installed", "apt-get install gcc make");
  if (req.stap_version.empty())
    return fail(Exit::tool_missing, "stap", "its version is not known",
                "apt-get install systemtap (the test kernels are cached per SystemTap version)");

  EnsureResult res;
  res.key = kernel_cache_key(req.series, version, req.optimised, *fragment, gcc, req.stap_version);
  if (req.variant)
    res.key = cache_key({res.key, variant_key_text(*req.variant)});
  const std::string kdir = req.cache_dir + "/kernels/" + res.key;
  res.build_dir = kdir + "/build";
  if (auto s = make_dirs(req.cache_dir + "/kernels"); !s)
    return std::unexpected(s.error());
  auto lock = FileLock::acquire(kdir + ".lock", req.on_progress);
  if (!lock)
    return std::unexpected(lock.error());
  const std::string variant_name = req.variant ? req.variant->name : "";
  if (fs::exists(kdir + "/complete")) {
    const std::string problem = cached_kernel_problem(kdir, version, req.optimised, variant_name);
    if (problem.empty()) {
      res.cached = true;
      res.elapsed_ms = ms_since(start);
      return res;
    }
    // make redoes only what is missing or out of date; the record is written again at the end.
    note("the cached kernel in " + kdir + " cannot be used (" + problem + "): building it again");
    std::error_code ec;
    fs::remove(kdir + "/complete", ec);
  }

  // One unpacked source per package version, shared by the variants (1.5 GB each).
  const std::string src = req.cache_dir + "/sources/" + package + "-" + version;
  if (auto s = make_dirs(req.cache_dir + "/sources"); !s)
    return std::unexpected(s.error());
  {
    auto src_lock = FileLock::acquire(src + ".lock", req.on_progress);
    if (!src_lock)
      return std::unexpected(src_lock.error());
    if (!fs::exists(src + "/.harness-unpacked")) {
      std::error_code ec;
      fs::remove_all(src, ec); // a half-unpacked tree from an interrupted run
      if (auto s = make_dirs(src); !s)
        return std::unexpected(s.error());
      const std::string tarball = "/usr/src/" + package + ".tar.xz";
      note("unpacking " + tarball + " (about 10 s)");
      if (auto s = run_step("tar", {"-xf", tarball, "--strip-components=1", "-C", src},
                            std::chrono::seconds(900), "unpacking " + tarball);
          !s)
        return std::unexpected(s.error());
      if (auto s = write_file_atomic(src + "/.harness-unpacked", version + "\n"); !s)
        return std::unexpected(s.error());
    }
  }
  note("building the " + std::string(req.optimised ? "-O2 (default optimisation)" : "-O0") +
       " test kernel" + (req.variant ? " variant " + req.variant->name : std::string()) + " from " +
       package + " " + version + " into " + kdir + ": " +
       cold_build_estimate(req.jobs > 0 ? req.jobs : cpus()) +
       " (only the first time; later runs reuse it)");
  PrepareRequest prep;
  prep.source_dir = src;
  prep.build_dir = res.build_dir;
  prep.minimal = true;
  prep.optimised = req.optimised;
  prep.fragment_text = *fragment;
  prep.fragment_origin = fragment_path();
  prep.on_progress = req.on_progress;
  // An interrupted build resumes: prepare is idempotent and make only redoes what is missing.
  if (!fs::exists(res.build_dir + "/" + std::string(build_marker_name)))
    if (auto p = prepare_kernel(prep); !p)
      return std::unexpected(p.error());
  if (req.variant)
    if (auto s = write_variant_source(src, res.build_dir, *req.variant, req.on_progress); !s)
      return std::unexpected(s.error());
  BuildRequest build;
  build.build_dir = res.build_dir;
  build.jobs = req.jobs;
  build.ccache_dir = req.cache_dir + "/ccache";
  build.on_progress = req.on_progress;
  auto b = build_kernel(build);
  if (!b)
    return std::unexpected(b.error());
  auto id = build_id_of_elf(res.build_dir + "/vmlinux");
  if (!id)
    return std::unexpected(id.error());
  nlohmann::json done{{"package", package},
                      {"version", version},
                      {"variant", req.optimised ? "O2" : "O0"},
                      {"zoo_variant", variant_name},
                      {"build_id", *id},
                      {"compiler", gcc},
                      {"stap", req.stap_version},
                      {"build_ms", b->elapsed_ms}};
  if (auto s = write_file_atomic(kdir + "/complete", done.dump(2) + "\n"); !s)
    return std::unexpected(s.error());
  res.elapsed_ms = ms_since(start);
  return res;
}

} // namespace harness::kernel
