#pragma once

// The kernel's tracing file system, as the kprobe tracer uses it (docs/DESIGN.md "kprobe tracer"):
// kprobe_events (global: append `p:GROUP/EVENT ...`, remove with `-:GROUP/EVENT`) and a private
// instance (instances/NAME: its own ring buffer, clock and event enables), so other users'
// tracing is untouched. Every name harness creates is `harness_<pid>` (group and instance), which
// lets a later run or `harness doctor` find and remove what a killed run left behind.

#include "base/result.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace harness::kprobe {

inline constexpr std::string_view owned_prefix = "harness_";

// "harness_<pid>" for a process.
std::string owned_name(pid_t pid);
// The pid in an owned name, or -1 when `name` is not one.
pid_t owner_of(std::string_view name);

// Groups named in kprobe_events text ("p:GROUP/EVENT ...", "r:..."): (group, event) pairs.
std::vector<std::pair<std::string, std::string>> kprobe_events_entries(std::string_view text);

class Tracefs {
public:
  // Finds the mount (/sys/kernel/tracing, then /sys/kernel/debug/tracing); mounts tracefs on
  // /sys/kernel/tracing when neither is there. Errors say why kprobe events are unusable.
  static Result<Tracefs> open();
  // The mount only, never mounting (doctor reads what is there); nullopt when none.
  static std::optional<Tracefs> find();
  explicit Tracefs(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string path(std::string_view rel) const { return root_ + "/" + std::string(rel); }
  bool exists(std::string_view rel) const;

  Result<std::string> read(std::string_view rel) const;
  // Writes `value` (a newline is added) to a control file; errors name the file and add the
  // tail of tracefs's error_log when there is one.
  Status write(std::string_view rel, std::string_view value, bool append = false) const;

  Status make_instance(std::string_view name) const;
  Status remove_instance(std::string_view name) const; // absent: fine
  std::vector<std::string> instances() const;

private:
  std::string error_log_tail() const;
  std::string root_;
};

// Removes the instances and kprobe events of harness runs whose process is gone (or every
// harness one but `keep` when `all_dead` says so). `said` gets one line per thing removed.
// Returns how many were removed.
using IsAlive = std::function<bool(pid_t)>;
Result<int> remove_stale(const Tracefs& fs, const IsAlive& alive,
                         const std::function<void(const std::string&)>& said);
bool process_alive(pid_t pid);

// Events each CPU's ring buffer of `instance` lost, by CPU (none: absent): "overrun"
// (overwritten, the instance's default mode) plus "dropped events" (refused when full without
// overwrite), from per_cpu/cpuN/stats (kernel/trace/trace.c tracing_stats_read).
std::map<std::uint32_t, std::uint64_t> ring_buffer_losses(const Tracefs& fs,
                                                          const std::string& instance);

// kprobe_profile ("EVENT HITS MISSES" per kprobe event, by event name; misses are hits while
// another kprobe handler ran, never recorded): the sums over `events`, or nothing when a name is
// missing or appears twice (another group's event of the same name cannot be told apart).
struct ProbeProfile {
  std::uint64_t hits = 0, misses = 0;
};
std::optional<ProbeProfile> kprobe_profile(const Tracefs& fs,
                                           const std::vector<std::string>& events);

} // namespace harness::kprobe
