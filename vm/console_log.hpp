#pragma once

// What the guest's serial console says about how far a VM run got. Pure: the host feeds the
// captured console text; the verdict decides the message and exit status of `harness vm run`.
//
// Markers the guest init prints (guest_init.cpp), one per line:
//   HXVM READY <uptime_ms>        mounts done, job read: the guest is usable
//   HXVM STEP <name> start|exit <code>|signal <sig>|timeout
//   HXVM ERROR <text>             a guest-side failure before or between steps
//   HXVM DONE <result>            results written and synced, about to power off

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::vm {

namespace marker {
inline constexpr std::string_view ready = "HXVM READY";
inline constexpr std::string_view step = "HXVM STEP";
inline constexpr std::string_view error = "HXVM ERROR";
inline constexpr std::string_view done = "HXVM DONE";
} // namespace marker

enum class ConsoleVerdict {
  ok,         // READY and DONE seen, no panic
  panic,      // the guest kernel panicked (before DONE)
  no_kernel,  // nothing from the kernel at all (firmware hang, wrong image, KVM stuck)
  no_init,    // the kernel booted but never started our init (root fs, init path)
  no_ready,   // init started but never printed the ready marker
  unfinished, // ready, but no DONE (timeout, or the guest died mid-run)
};
std::string_view to_string(ConsoleVerdict v);

struct ConsoleFindings {
  ConsoleVerdict verdict = ConsoleVerdict::no_kernel;
  bool kernel_started = false; // "Linux version" banner
  bool init_started = false;   // "Run <init> as init process"
  bool ready = false;
  bool done = false;
  std::optional<int> done_result;
  std::string panic_line;          // "Kernel panic - not syncing: ..." without the timestamp
  std::vector<std::string> errors; // HXVM ERROR texts
  std::string last_step;           // the last step that started
  std::vector<std::string> tail;   // the last lines before the end (for messages)
};

ConsoleFindings scan_console(std::string_view log, std::size_t tail_lines = 8);

// A one-line explanation for users: "the guest kernel panicked: Attempted to kill init!
// exitcode=0x00000100", "the kernel started but never ran the init program ...".
std::string explain(const ConsoleFindings& f);

} // namespace harness::vm
