#include "stap/stap_env.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "kernel/cache_dir.hpp"

#include <cctype>
#include <filesystem>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

namespace harness::stap {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view task_work_file = "stp_task_work.c";
constexpr std::string_view relay_file = "transport/relay_v2.c";
constexpr std::string_view relay_buggy = "\tif (buf->offset >= buf->chan->subbuf_size) {\n"
                                         "\t\tsize_request = __stp_relay_switch_subbuf(buf, "
                                         "size_request);";
constexpr std::string_view relay_fixed =
    "\t/* harness: never reserve a tail too short for a record header (the reader would lose\n"
    "\t * the framing): switch sub-buffers, the tail becomes padding. */\n"
    "\tif (buf->offset >= buf->chan->subbuf_size ||\n"
    "\t    (buf->offset + size_request > buf->chan->subbuf_size &&\n"
    "\t     buf->chan->subbuf_size - buf->offset < 64)) {\n"
    "\t\tsize_request = __stp_relay_switch_subbuf(buf, size_request);";

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

} // namespace

std::string parse_stap_version(std::string_view text) {
  const auto pos = text.find("(version ");
  if (pos == std::string_view::npos)
    return {};
  const auto start = pos + 9;
  size_t end = start;
  while (end < text.size() && text[end] != ',' && text[end] != ')' && text[end] != ' ')
    ++end;
  return std::string(text.substr(start, end - start));
}

Result<std::string> stap_version() {
  ChildSpec spec;
  spec.exe = "stap";
  spec.args = {"-V"};
  auto r = run_captured(spec, std::chrono::seconds(30));
  if (!r)
    return fail(Exit::tool_missing, "stap", r.error().why,
                "apt-get install systemtap (or run `harness demo`, which installs it)");
  auto v = parse_stap_version(r->err + r->out);
  if (v.empty())
    return fail(Exit::tool_missing, "stap -V", "printed no version", "is `stap` SystemTap?");
  return v;
}

bool runtime_uses_old_task_work_cancel(std::string_view src) {
  return src.find("typeof(&task_work_cancel)") != std::string_view::npos ||
         src.find("\"task_work_cancel\"") != std::string_view::npos;
}

std::string patch_task_work_cancel(std::string_view src) {
  constexpr std::string_view id = "task_work_cancel";
  std::string out;
  out.reserve(src.size() + 64);
  size_t i = 0;
  while (i < src.size()) {
    if (src.compare(i, id.size(), id) == 0 && (i == 0 || !ident_char(src[i - 1])) &&
        (i + id.size() == src.size() || !ident_char(src[i + id.size()]))) {
      out += "task_work_cancel_func";
      i += id.size();
    } else {
      out += src[i++];
    }
  }
  return out;
}

bool runtime_has_relay_tail_bug(std::string_view src) {
  return src.find(relay_buggy) != std::string_view::npos;
}

std::string patch_relay_tail(std::string_view src) {
  std::string out(src);
  if (const auto pos = out.find(relay_buggy); pos != std::string::npos)
    out.replace(pos, relay_buggy.size(), relay_fixed);
  return out;
}

RuntimeFixes needed_runtime_fixes(const std::string& runtime, bool kernel_renamed_task_work) {
  RuntimeFixes f;
  if (kernel_renamed_task_work)
    if (auto src = read_file(runtime + "/" + std::string(task_work_file)))
      f.task_work_cancel_func = runtime_uses_old_task_work_cancel(*src);
  if (auto src = read_file(runtime + "/" + std::string(relay_file)))
    f.relay_tail = runtime_has_relay_tail_bug(*src);
  return f;
}

Result<std::string> patched_runtime(const std::string& cache_dir, const std::string& runtime,
                                    const std::string& version, RuntimeFixes fixes) {
  const std::string dir =
      cache_dir + "/runtime/" +
      kernel::cache_key({runtime, version,
                         fixes.task_work_cancel_func ? "task_work_cancel_func" : "",
                         fixes.relay_tail ? "relay_tail" : ""});
  if (fs::exists(dir + "/runtime.h"))
    return dir;
  if (!fs::exists(runtime + "/runtime.h"))
    return fail(Exit::tool_missing, runtime, "is not a SystemTap runtime (no runtime.h)",
                "is systemtap-runtime installed?");
  const std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (auto s = make_dirs(tmp); !s)
    return std::unexpected(s.error());
  fs::copy(runtime, tmp, fs::copy_options::recursive, ec);
  if (ec)
    return fail(Exit::io, "copying " + runtime + " to " + tmp, ec.message());
  auto patch = [&](std::string_view file, auto fn) -> Status {
    auto src = read_file(tmp + "/" + std::string(file));
    if (!src)
      return std::unexpected(src.error());
    return write_file_atomic(tmp + "/" + std::string(file), fn(*src));
  };
  if (fixes.task_work_cancel_func)
    if (auto s = patch(task_work_file, patch_task_work_cancel); !s)
      return std::unexpected(s.error());
  if (fixes.relay_tail)
    if (auto s = patch(relay_file, patch_relay_tail); !s)
      return std::unexpected(s.error());
  fs::rename(tmp, dir, ec);
  if (ec && !fs::exists(dir + "/runtime.h")) // a concurrent run may have won the rename
    return fail(Exit::io, "renaming " + tmp + " to " + dir, ec.message());
  fs::remove_all(tmp, ec);
  return dir;
}

std::string stap_data_dir(const std::string& cache_dir) {
  return cache_dir.empty() ? std::string() : cache_dir + "/stap";
}

Result<RuntimeChoice> runtime_for_kernel(bool kernel_renamed_task_work,
                                         const std::string& cache_dir,
                                         const std::string& stap_version) {
  RuntimeChoice choice;
  const std::string installed(default_stap_runtime);
  const auto fixes = needed_runtime_fixes(installed, kernel_renamed_task_work);
  if (!fixes.any())
    return choice;
  auto r = patched_runtime(cache_dir, installed, stap_version, fixes);
  if (!r)
    return std::unexpected(r.error());
  choice.path = *r;
  std::string what;
  if (fixes.task_work_cancel_func)
    what += " task_work_cancel rename (this kernel);";
  if (fixes.relay_tail)
    what += " relay sub-buffer tail (stap's transport);";
  what.pop_back();
  choice.note = "patched SystemTap runtime" + what + ": " + choice.path;
  return choice;
}

std::string lockdown_mode(std::string_view text) {
  const auto open = text.find('[');
  const auto close = text.find(']', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos)
    return {};
  return std::string(text.substr(open + 1, close - open - 1));
}

Result<bool> hide_build_host_lockdown(const std::string& path) {
  static bool done = false;
  if (done)
    return true;
  auto text = read_file(path);
  if (!text)
    return false; // no lockdown file: nothing to hide
  if (const auto mode = lockdown_mode(*text); mode.empty() || mode == "none")
    return false;
  char tmpl[] = "/tmp/harness-lockdown-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0)
    return fail(Exit::lockdown, "lockdown workaround", "mkstemp: " + errno_text(errno));
  ::close(fd);
  if (auto s = write_file_atomic(tmpl, "[none] integrity confidentiality\n"); !s)
    return std::unexpected(s.error());
  const auto give_up = [&](const std::string& step) {
    const int e = errno;
    ::unlink(tmpl);
    return fail(Exit::lockdown, "build host lockdown (" + lockdown_mode(*text) + ")",
                step + ": " + errno_text(e) + "; stap refuses to build modules under lockdown",
                "build as root, or on a machine without lockdown (Secure Boot off)");
  };
  if (::unshare(CLONE_NEWNS) != 0)
    return give_up("unshare(CLONE_NEWNS)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return give_up("making / private");
  if (::mount(tmpl, path.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return give_up("bind-mounting over " + path);
  ::unlink(tmpl); // the bind mount keeps the inode
  done = true;
  return true;
}

} // namespace harness::stap
