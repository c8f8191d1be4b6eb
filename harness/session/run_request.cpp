#include "harness/session/run_request.hpp"

#include "base/printable.hpp"

#include <cmath>
#include <cstdio>
#include <tuple>

namespace harness::session {
namespace {

Result<std::chrono::milliseconds> seconds_option(double v, const std::string& name) {
  // Waits are counted in milliseconds: 1e-9 would become a wait of 0 ("within 0 s").
  if (!(v >= 0.001) || v > 86400)
    return fail(Exit::usage, "--" + name + " " + number_text(v),
                "must be a number of seconds from 0.001 to 86400", "e.g. --" + name + " 5");
  return std::chrono::milliseconds(std::lround(v * 1000));
}

// With --exec or --pid the built-in sender does not run: its options would silently do nothing.
// --exec keeps those that say where the program runs; --pid none (the program chose).
Status check_no_sender_options(const RunOptions& o) {
  const bool attach = o.pid.has_value();
  for (const std::string& name : o.sender_options) {
    if (!attach && (name == "veth" || name == "netns"))
      continue;
    if (attach)
      return fail(Exit::usage, "--pid and --" + name, "exclude each other",
                  "--pid attaches to a running program, which chose its own interface and ring");
    return fail(Exit::usage, "--" + name, "is an option of the built-in sender, not of --exec",
                "pass the program its own options after `--`; with --exec only IFACE, --veth "
                "and --netns say where it runs");
  }
  if (attach && o.iface)
    return fail(Exit::usage, "--pid and IFACE", "exclude each other",
                "--pid attaches to a running program, which chose its own interface");
  return {};
}

} // namespace

Status check_workload(const RunRequest& req, const RunOptions& o) {
  if (o.exec && req.exec.empty())
    return fail(Exit::usage, "--exec", "needs the program after `--`",
                "harness run --veth --exec -- PROGRAM [ARGS...] ({iface} in ARGS becomes the "
                "interface's name)");
  if (!o.exec && o.dashes)
    return fail(Exit::usage, "--", "only goes with --exec",
                "harness run --veth --exec -- PROGRAM [ARGS...]");
  const bool attach = o.pid.has_value();
  if (attach && o.exec)
    return fail(Exit::usage, "--pid and --exec", "exclude each other",
                "--exec starts the program, --pid attaches to one already running");
  if (o.duration_s && !attach && !o.exec)
    return fail(Exit::usage, "--duration", "only goes with --pid or --exec",
                "the built-in sender ends after --count frames");
  if (o.exec || attach)
    return check_no_sender_options(o);
  return {};
}

Status set_workload(RunRequest& req, const RunOptions& o) {
  // PID_MAX_LIMIT (include/linux/threads.h): no pid is larger on any kernel.
  constexpr std::int64_t kPidMaxLimit = 4194304;
  const std::int64_t pid = o.pid.value_or(0);
  if (o.pid && (pid < 1 || pid > kPidMaxLimit))
    return fail(Exit::usage, "--pid " + std::to_string(pid), "is not a process id",
                "give the program's pid (1 to " + std::to_string(kPidMaxLimit) +
                    ", e.g. from "
                    "`pgrep NAME`)");
  req.attach_pid = static_cast<std::uint32_t>(pid);
  if (o.duration_s) {
    auto ms = seconds_option(*o.duration_s, "duration");
    if (!ms)
      return std::unexpected(ms.error());
    req.duration = *ms;
  }
  return {};
}

Status check_plan(const RunRequest& req) {
  if (!req.plan_path.empty() && req.artifact.empty())
    return fail(Exit::usage, "--plan", "only goes with prebuilt probes (--module, --kprobes)",
                "generated probes write their own plan");
  return {};
}

Status set_waits(RunRequest& req, const RunOptions& o) {
  if (!req.pace && (o.exec || o.pid))
    return fail(Exit::usage, "--no-pace", "only goes with the built-in sender",
                "a program of your own (--exec, --pid) is never paced");
  for (auto [value, name, field] : {std::tuple{o.ready_s, "ready-timeout", &req.ready_timeout},
                                    std::tuple{o.settle_s, "settle-timeout", &req.settle_timeout},
                                    std::tuple{o.grace_s, "stop-grace", &req.stop_grace}}) {
    auto ms = seconds_option(value, name);
    if (!ms)
      return std::unexpected(ms.error());
    *field = *ms;
  }
  return {};
}

} // namespace harness::session
