#include "kprobe/tracefs.hpp"

#include "base/files.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness::kprobe {
namespace {

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

std::string owned_name(pid_t pid) {
  return std::string(owned_prefix) + std::to_string(pid);
}

pid_t owner_of(std::string_view name) {
  if (!name.starts_with(owned_prefix))
    return -1;
  name.remove_prefix(owned_prefix.size());
  int pid = -1;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || p != name.data() + name.size() || pid <= 0)
    return -1;
  return pid;
}

std::vector<std::pair<std::string, std::string>> kprobe_events_entries(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos)
      nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    const auto colon = line.find(':');
    const auto slash = line.find('/');
    const auto space = line.find(' ');
    if (colon == std::string_view::npos || slash == std::string_view::npos || slash < colon)
      continue;
    out.emplace_back(
        std::string(line.substr(colon + 1, slash - colon - 1)),
        std::string(line.substr(slash + 1, space == std::string_view::npos ? std::string_view::npos
                                                                           : space - slash - 1)));
  }
  return out;
}

std::optional<Tracefs> Tracefs::find() {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (::access((std::string(root) + "/kprobe_events").c_str(), F_OK) == 0)
      return Tracefs(root);
  return std::nullopt;
}

Result<Tracefs> Tracefs::open() {
  if (auto found = find())
    return *found;
  if (is_dir("/sys/kernel/tracing") &&
      ::mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0 &&
      ::access("/sys/kernel/tracing/kprobe_events", F_OK) == 0)
    return Tracefs("/sys/kernel/tracing");
  const bool any =
      is_dir("/sys/kernel/tracing/instances") || is_dir("/sys/kernel/debug/tracing/instances");
  return fail(Exit::unsupported, "kprobe events",
              any ? "tracefs is mounted but has no kprobe_events (kernel built without "
                    "CONFIG_KPROBE_EVENTS)"
                  : "no tracefs with kprobe_events at /sys/kernel/tracing or "
                    "/sys/kernel/debug/tracing (and mounting it failed: " +
                        errno_text(errno) + ")",
              "the kernel needs CONFIG_KPROBES and CONFIG_KPROBE_EVENTS (harness's test kernels "
              "have both); with lockdown=confidentiality kprobes are refused: use `harness vm`");
}

bool Tracefs::exists(std::string_view rel) const {
  return ::access(path(rel).c_str(), F_OK) == 0;
}

Result<std::string> Tracefs::read(std::string_view rel) const {
  return read_file(path(rel));
}

std::string Tracefs::error_log_tail() const {
  auto log = read_file(path("error_log"));
  if (!log || log->empty())
    return {};
  std::string_view s = *log;
  while (!s.empty() && s.back() == '\n')
    s.remove_suffix(1);
  // The last entry: its two or three lines ("[ts] trace_kprobe: error: ...", "Command: ...", "^").
  std::size_t from = s.size();
  for (int lines = 0; lines < 3 && from > 0; ++lines)
    from = s.rfind('\n', from - 1) == std::string_view::npos ? 0 : s.rfind('\n', from - 1);
  std::string out(s.substr(from));
  for (char& c : out)
    if (c == '\n')
      c = ' ';
  return out.substr(0, 400);
}

Status Tracefs::write(std::string_view rel, std::string_view value, bool append) const {
  const std::string p = path(rel);
  const int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC | (append ? O_APPEND : O_TRUNC));
  if (fd < 0)
    return fail(Exit::io, p, "cannot open: " + errno_text(errno),
                "run as root; tracefs must be writable");
  std::string data(value);
  data.push_back('\n');
  const ssize_t n = ::write(fd, data.data(), data.size());
  const int err = errno;
  ::close(fd);
  if (n == static_cast<ssize_t>(data.size()))
    return {};
  const std::string log = error_log_tail();
  return fail(Exit::tracer_failed, p,
              "writing \"" + std::string(value.substr(0, 200)) +
                  "\" failed: " + (n < 0 ? errno_text(err) : "short write") +
                  (log.empty() ? "" : " (tracefs error_log: " + log + ")"),
              "the kernel refused the probe; `harness doctor` checks kprobe support");
}

Status Tracefs::make_instance(std::string_view name) const {
  const std::string p = path("instances/" + std::string(name));
  if (::mkdir(p.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(Exit::io, p, "cannot create the tracing instance: " + errno_text(errno),
                "run as root on a kernel with tracefs instances");
  return {};
}

Status Tracefs::remove_instance(std::string_view name) const {
  const std::string p = path("instances/" + std::string(name));
  if (::rmdir(p.c_str()) != 0 && errno != ENOENT)
    return fail(Exit::io, p, "cannot remove the tracing instance: " + errno_text(errno),
                "remove it by hand: rmdir " + p);
  return {};
}

std::vector<std::string> Tracefs::instances() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(path("instances").c_str());
  if (!d)
    return out;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.')
      out.emplace_back(e->d_name);
  ::closedir(d);
  return out;
}

// A zombie is gone for this purpose: it holds its pid until reaped (an orphan under a guest init
// that reaps only its own children keeps it forever) but runs nothing and owns no events.
bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM)
    return false;
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat)
    return true;
  const auto close = stat->rfind(')'); // comm may hold spaces and parentheses
  const char state =
      close != std::string::npos && close + 2 < stat->size() ? (*stat)[close + 2] : 'R';
  return state != 'Z' && state != 'X';
}

Result<int> remove_stale(const Tracefs& fs, const IsAlive& alive,
                         const std::function<void(const std::string&)>& said) {
  int removed = 0;
  // Instances first: an event enabled in an instance cannot be removed.
  for (const auto& inst : fs.instances()) {
    const pid_t owner = owner_of(inst);
    if (owner < 0 || alive(owner))
      continue;
    if (auto s = fs.remove_instance(inst); !s)
      return std::unexpected(s.error());
    said("removed tracing instance " + inst + " of a harness run that is gone (pid " +
         std::to_string(owner) + ")");
    ++removed;
  }
  auto events = fs.read("kprobe_events");
  if (!events)
    return std::unexpected(events.error());
  std::set<std::string> groups;
  for (const auto& [group, event] : kprobe_events_entries(*events)) {
    const pid_t owner = owner_of(group);
    if (owner < 0 || alive(owner))
      continue;
    // Disable it everywhere it could be enabled (the top instance, should a user have done so).
    (void)fs.write("events/" + group + "/" + event + "/enable", "0");
    if (auto s = fs.write("kprobe_events", "-:" + group + "/" + event, true); !s)
      return std::unexpected(s.error());
    groups.insert(group);
    ++removed;
  }
  for (const auto& g : groups)
    said("removed the kprobe events of group " + g + " of a harness run that is gone");
  return removed;
}

namespace {

// The value of "NAME: N" in a per-CPU stats file (0 when absent).
std::uint64_t stat_value(const std::string& stats, std::string_view name) {
  for (std::size_t at = 0; (at = stats.find(name, at)) != std::string::npos; at += name.size())
    if ((at == 0 || stats[at - 1] == '\n') && stats.compare(at + name.size(), 1, ":") == 0)
      return std::strtoull(stats.c_str() + at + name.size() + 1, nullptr, 10);
  return 0;
}

} // namespace

std::map<std::uint32_t, std::uint64_t> ring_buffer_losses(const Tracefs& fs,
                                                          const std::string& instance) {
  std::map<std::uint32_t, std::uint64_t> lost;
  for (std::uint32_t cpu = 0; cpu < 1024; ++cpu) {
    auto stats = fs.read("instances/" + instance + "/per_cpu/cpu" + std::to_string(cpu) + "/stats");
    if (!stats)
      break;
    if (const auto n = stat_value(*stats, "overrun") + stat_value(*stats, "dropped events"); n > 0)
      lost[cpu] = n;
  }
  return lost;
}

std::optional<ProbeProfile> kprobe_profile(const Tracefs& fs,
                                           const std::vector<std::string>& events) {
  auto text = fs.read("kprobe_profile");
  if (!text)
    return std::nullopt;
  std::map<std::string, int> seen;
  ProbeProfile p;
  std::size_t start = 0;
  while (start < text->size()) {
    std::size_t end = text->find('\n', start);
    if (end == std::string::npos)
      end = text->size();
    char name[256];
    unsigned long long hits = 0, misses = 0;
    const std::string line = text->substr(start, end - start);
    start = end + 1;
    if (std::sscanf(line.c_str(), " %255s %llu %llu", name, &hits, &misses) != 3)
      continue;
    if (std::find(events.begin(), events.end(), name) == events.end())
      continue;
    if (++seen[name] > 1)
      return std::nullopt;
    p.hits += hits;
    p.misses += misses;
  }
  if (seen.size() != events.size())
    return std::nullopt;
  return p;
}

} // namespace harness::kprobe
