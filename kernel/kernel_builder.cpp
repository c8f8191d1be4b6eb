// Preparing a kernel tree for probing (af_packet.c at -O0, the config fragment merged) and
// building it with progress; the cache of Debian-source test kernels built this way is
// test_kernel_cache.cpp.
#include "kernel/kernel_builder.hpp"

#include "base/files.hpp"
#include "base/json_text.hpp"
#include "base/signals.hpp"
#include "kernel/build_step.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

namespace harness::kernel {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A minimal 6.1 test kernel compiles about this many files (measured: 953).
constexpr int minimal_objects = 960;

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

// ---- prepare_kernel's steps ----

// --from-debian: the Debian linux-source tarball unpacked into the source directory, once.
Status unpack_debian_source(const PrepareRequest& req, PrepareResult& res) {
  if (req.from_debian != "6.1" && req.from_debian != "6.12")
    return fail(Exit::usage, "--from-debian " + req.from_debian, "must be 6.1 or 6.12");
  const std::string tarball = "/usr/src/linux-source-" + req.from_debian + ".tar.xz";
  if (!fs::exists(tarball))
    return fail(Exit::kernel_build, tarball, "not found",
                "apt-get install linux-source-" + req.from_debian);
  if (fs::exists(req.source_dir + "/Makefile"))
    return {};
  if (auto s = make_dirs(req.source_dir); !s)
    return s;
  tell(req.on_progress, "unpacking " + tarball + " into " + req.source_dir + " (about 10 s)");
  if (auto s = run_step("tar", {"-xf", tarball, "--strip-components=1", "-C", req.source_dir},
                        std::chrono::seconds(900), "unpacking " + tarball);
      !s)
    return s;
  res.unpacked = true;
  return {};
}

// net/packet/Makefile compiles af_packet.c at -O0 (add_af_packet_O0); the tree must have one.
Status add_O0_to_makefile(const PrepareRequest& req, PrepareResult& res) {
  const std::string makefile = req.source_dir + "/net/packet/Makefile";
  auto mk = read_file(makefile);
  if (!mk)
    return fail(Exit::usage, "--source " + req.source_dir,
                "is not a kernel source tree (no net/packet/Makefile)",
                "pass the top directory of a Linux source tree, or use --from-debian 6.1");
  const auto edit = add_af_packet_O0(*mk);
  if (edit.changed) {
    if (auto s = write_file_atomic(makefile, edit.text); !s)
      return s;
    tell(req.on_progress, "net/packet/Makefile: added `" + std::string(af_packet_O0_line) + "`");
  }
  res.makefile_changed = edit.changed;
  return {};
}

// The config the fragment is merged into, in BUILD/.config: tinyconfig (--minimal), the one
// already there, or the source tree's copied.
Status choose_config_base(const PrepareRequest& req, const std::vector<std::string>& make_base,
                          const std::string& config, PrepareResult& res) {
  if (req.minimal) {
    tell(req.on_progress, "make tinyconfig");
    auto args = make_base;
    args.push_back("tinyconfig");
    if (auto s = run_step("make", args, std::chrono::seconds(600), "make tinyconfig"); !s)
      return s;
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
  return {};
}

// The fragment merged into the config, make olddefconfig, and every fragment option kept.
Status merge_fragment(const PrepareRequest& req, const std::vector<ConfigOption>& fragment,
                      const std::vector<std::string>& make_base, const std::string& config,
                      const PrepareResult& res) {
  auto text = read_file(config);
  if (!text)
    return std::unexpected(text.error());
  if (auto s = write_file_atomic(config, merge_config(*text, fragment)); !s)
    return s;
  auto args = make_base;
  args.push_back("olddefconfig");
  tell(req.on_progress, "merged " + std::to_string(fragment.size()) + " options of " +
                            req.fragment_origin + " into " + res.config_base +
                            "; make olddefconfig");
  if (auto s = run_step("make", args, std::chrono::seconds(600), "make olddefconfig"); !s)
    return s;
  auto final_text = read_file(config);
  if (!final_text)
    return std::unexpected(final_text.error());
  if (auto unmet = unmet_options(*final_text, fragment); !unmet.empty()) {
    std::string list;
    for (const auto& o : unmet)
      list += " CONFIG_" + o.name + (o.enabled ? "=y" : "=n");
    return fail(Exit::kernel_build, config, "make olddefconfig did not keep:" + list,
                "these options have unmet dependencies in this tree; enable what they depend "
                "on (make O=" +
                    res.build_dir + " menuconfig) or use --minimal");
  }
  return {};
}

// The build directory's marker: how build_kernel makes it.
Status write_build_marker(const PrepareRequest& req, const PrepareResult& res) {
  nlohmann::json marker{{"schema", "harness.kernel/1"},
                        {"source", req.source_dir},
                        {"variant", req.optimised ? "O2" : "O0"},
                        {"make_args", req.optimised ? nlohmann::json::array({"CFLAGS_af_packet.o="})
                                                    : nlohmann::json::array()},
                        {"config_base", res.config_base}};
  return write_file_atomic(res.build_dir + "/" + std::string(build_marker_name),
                           marker.dump(2) + "\n");
}

// ---- build_kernel's steps ----

// make's command line for the marker's tree; through ccache when asked and installed (what it
// says about ccache goes into `ccache_note`).
ChildSpec make_command(const BuildRequest& req, const nlohmann::json& marker,
                       std::string& ccache_note) {
  const int jobs = req.jobs > 0 ? req.jobs : online_cpus();
  ChildSpec spec;
  spec.exe = "make";
  spec.args = {"-C", req.build_dir, "-j" + std::to_string(jobs), "bzImage", "modules"};
  for (const auto& a : marker.value("make_args", nlohmann::json::array()))
    if (a.is_string())
      spec.args.push_back(a.get<std::string>());
  if (req.ccache_dir.empty())
    return spec;
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
  return spec;
}

// make's output: every line into the log, the last error line kept, compiled objects counted
// and reported every 5 s.
class MakeOutput {
public:
  MakeOutput(const BuildRequest& req, std::FILE* log, int estimate, BuildResult& res)
      : req_(req), log_(log), estimate_(estimate), res_(res) {}

  void line(std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), log_);
    std::fputc('\n', log_);
    if (line.find("error:") != std::string_view::npos || line.starts_with("make") ||
        line.find("Error ") != std::string_view::npos)
      if (last_error.empty() || line.find("error:") != std::string_view::npos)
        last_error = std::string(line);
    std::string obj = compiled_object(line);
    if (obj.empty())
      return;
    if (obj.starts_with(req_.build_dir + "/"))
      obj.erase(0, req_.build_dir.size() + 1);
    ++res_.compiled;
    if (req_.on_progress && ms_since(last_report_) >= 5000) {
      last_report_ = Clock::now();
      req_.on_progress(build_progress_line(res_.compiled, estimate_, obj, ms_since(start)));
    }
  }

  const Clock::time_point start = Clock::now();
  std::string last_error;

private:
  const BuildRequest& req_;
  std::FILE* log_;
  int estimate_;
  BuildResult& res_;
  Clock::time_point last_report_ = start;
};

// Waits for make until it ends, the time limit passes or the user interrupts; stops it then
// (the error says which, and where the log is).
Result<ExitStatus> wait_for_make(ChildProc& child, const BuildRequest& req, Clock::time_point start,
                                 std::FILE* log, const std::string& log_path) {
  std::optional<ExitStatus> st;
  while (!st && ms_since(start) < std::chrono::duration_cast<milliseconds>(req.timeout).count() &&
         !interrupt_requested())
    st = child.wait(milliseconds(500));
  if (!st) {
    child.terminate(milliseconds(3000));
    std::fflush(log);
    if (interrupt_requested())
      return fail(Exit::interrupted, "kernel build", "interrupted; the next build resumes",
                  "the log is " + log_path);
    return fail(Exit::kernel_build, "kernel build", "did not finish within the time limit",
                "the log is " + log_path);
  }
  std::fflush(log);
  return *st;
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

Result<PrepareResult> prepare_kernel(const PrepareRequest& req) {
  PrepareResult res;
  res.source_dir = req.source_dir;
  res.build_dir = req.build_dir.empty() ? req.source_dir + "/build-harness" : req.build_dir;
  auto fragment = parse_config_fragment(req.fragment_text, req.fragment_origin);
  if (!fragment)
    return std::unexpected(fragment.error());
  if (!req.from_debian.empty())
    if (auto s = unpack_debian_source(req, res); !s)
      return std::unexpected(s.error());
  if (auto s = add_O0_to_makefile(req, res); !s)
    return std::unexpected(s.error());
  if (auto s = make_dirs(res.build_dir); !s)
    return std::unexpected(s.error());
  const std::string config = res.build_dir + "/.config";
  const std::vector<std::string> make_base = {"-C", req.source_dir, "O=" + res.build_dir};
  if (auto s = choose_config_base(req, make_base, config, res); !s)
    return std::unexpected(s.error());
  if (auto s = merge_fragment(req, *fragment, make_base, config, res); !s)
    return std::unexpected(s.error());
  if (auto s = write_build_marker(req, res); !s)
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
  std::string ccache_note;
  ChildSpec spec = make_command(req, *marker, ccache_note);
  const int estimate = marker->value("objects", minimal_objects);
  res.log_path = req.build_dir + "/harness-build.log";
  std::FILE* log = std::fopen(res.log_path.c_str(), "w");
  if (!log)
    return fail(Exit::io, res.log_path, errno_text(errno));
  auto closer = std::unique_ptr<std::FILE, int (*)(std::FILE*)>(log, &std::fclose);
  MakeOutput output(req, log, estimate, res);
  spec.on_stdout = [&](std::string_view line) {
    output.line(line);
  };
  spec.on_stderr = spec.on_stdout;
  if (req.on_progress)
    req.on_progress("make " + describe_command(spec).substr(5) + " (log: " + res.log_path + ")" +
                    ccache_note);
  auto child = spawn(spec);
  if (!child)
    return fail(Exit::kernel_build, "make", child.error().why,
                "apt-get install make gcc flex bison bc libelf-dev libssl-dev");
  auto st = wait_for_make(**child, req, output.start, log, res.log_path);
  if (!st)
    return std::unexpected(st.error());
  res.elapsed_ms = ms_since(output.start);
  if (!st->success())
    return fail(Exit::kernel_build, "make",
                st->describe() + (output.last_error.empty() ? "" : ": " + output.last_error),
                "the full output is in " + res.log_path);
  // Remember the size of this build for the next progress estimate.
  (*marker)["objects"] = std::max(res.compiled, marker->value("objects", 0));
  (*marker)["last_build_ms"] = res.elapsed_ms;
  (void)write_file_atomic(req.build_dir + "/" + std::string(build_marker_name),
                          marker->dump(2) + "\n");
  return res;
}

} // namespace harness::kernel
