// harness run: probe the kernel while sending, correlate, report.
#include "base/files.hpp"
#include "base/signals.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/exit_help.hpp"
#include "harness/cli/options.hpp"
#include "harness/cli/report_options.hpp"
#include "harness/cli/sender_options.hpp"
#include "harness/cli/tracer_options.hpp"
#include "harness/session/run_session.hpp"
#include "probes/map_store.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>

namespace harness::cli {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Result<std::chrono::milliseconds> seconds_option(double v, const std::string& name) {
  // Waits are counted in milliseconds: 1e-9 would become a wait of 0 ("within 0 s").
  if (!(v >= 0.001) || v > 86400)
    return fail(Exit::usage, "--" + name + " " + number_text(v),
                "must be a number of seconds from 0.001 to 86400", "e.g. --" + name + " 5");
  return std::chrono::milliseconds(std::lround(v * 1000));
}

// With --exec or --pid the built-in sender does not run: its options would silently do nothing.
// --exec keeps those that say where the program runs; --pid none (the program chose).
Status check_no_sender_options(const po::variables_map& vm, bool attach) {
  po::options_description sender_opts;
  add_sender_options(sender_opts, SenderDefaults::classic);
  for (const auto& o : sender_opts.options()) {
    const std::string& name = o->long_name();
    if ((!attach && (name == "veth" || name == "netns")) || !vm.count(name) || vm[name].defaulted())
      continue;
    if (attach)
      return fail(Exit::usage, "--pid and --" + name, "exclude each other",
                  "--pid attaches to a running program, which chose its own interface and ring");
    return fail(Exit::usage, "--" + name, "is an option of the built-in sender, not of --exec",
                "pass the program its own options after `--`; with --exec only IFACE, --veth "
                "and --netns say where it runs");
  }
  if (attach && vm.count("iface"))
    return fail(Exit::usage, "--pid and IFACE", "exclude each other",
                "--pid attaches to a running program, which chose its own interface");
  return {};
}

} // namespace

Result<int> cmd_run(const Args& all_args) {
  const std::string usage =
      "run [options] (IFACE | --veth) [--exec -- PROGRAM [ARGS...]], or run [options] --pid PID";
  // Everything after the first `--` is the program's argv, never harness's options.
  const auto dashes = std::find(all_args.begin(), all_args.end(), "--");
  const Args args(all_args.begin(), dashes);
  std::vector<std::string> program;
  if (dashes != all_args.end())
    program.assign(dashes + 1, all_args.end());
  po::options_description opts("run options");
  std::string kernel = "auto", probes = "status", build_dir, plan, out, trace_buffer = "auto";
  std::string perf = env_or("HARNESS_PERF", "perf");
  std::string stap = env_or("HARNESS_STAP", "stap");
  std::string staprun = env_or("HARNESS_STAPRUN", "staprun");
  std::vector<std::string> stap_args;
  double ready_s = 300, settle_s = 5, grace_s = 3, duration_s = 0;
  std::int64_t attach_pid = 0; // signed: "-1" must not wrap to 4294967295
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value(&kernel)->default_value("auto"),
      "the kernel probed (auto: uname -r); its lines come from its own af_packet.c, found by "
      "build id (-r tree, source package, DEBUGINFOD_URLS)")(
      "allow-nearest",
      "no exact source: probe the nearest shipped map once every anchor passed the DWARF "
      "check; the report says \"lines not proven\" and never OK")(
      "probes", po::value(&probes)->default_value("status"), "probe set: status|call-return|all")(
      "build-dir,r", po::value(&build_dir), "stap -r DIR: compile for this kernel build tree")(
      "plan", po::value(&plan),
      "the prebuilt probes' plan (default: NAME.plan.json next to NAME.ko / NAME.kprobes)")(
      "perf", po::value(&perf),
      "perf program for kprobe definitions (default $HARNESS_PERF or perf)")(
      "stap", po::value(&stap), "stap program (default $HARNESS_STAP or stap)")(
      "staprun", po::value(&staprun), "staprun program (default $HARNESS_STAPRUN or staprun)")(
      "stap-arg", po::value(&stap_args)->composing(),
      "extra argument for stap/staprun (repeat; e.g. --stap-arg=-DSTP_NO_OVERLOAD); stap runs "
      "in the run directory, so a path in it is absolute")(
      "out,o", po::value(&out), "run directory (default ./harness-run-<timestamp>)")(

      "ready-timeout", po::value(&ready_s)->default_value(300),
      "seconds to wait for stap's READY record (compiling included)")(
      "settle-timeout", po::value(&settle_s)->default_value(5),
      "seconds to wait for the kernel's last records after the sender finished")(
      "stop-grace", po::value(&grace_s)->default_value(3),
      "seconds stap gets after SIGINT (then SIGTERM, then SIGKILL)")(

      "trace-buffer", po::value(&trace_buffer)->default_value("auto"),
      "the tracer's buffer per CPU (8K, 64M, ...; stap rounds up to whole MiB); auto: room for "
      "every record of the run within a quarter of free memory")(
      "no-pace",
      "let the built-in sender run ahead of the tracer (by default it waits before a send() "
      "while the tracer is more than its buffer's worth behind)")(
      "no-preflight", "skip the pre-flight checks (for a stand-in stap in tests)")(
      "exec",
      "run the program after `--` (argv, no shell) as the workload instead of the built-in "
      "sender, in the --veth namespace or on IFACE; {iface} in its arguments becomes the "
      "interface's name; its output and exit status go to the run directory and the report")(
      "pid", po::value(&attach_pid),
      "attach to this running program instead of sending: its TX rings are probed until Ctrl-C, "
      "its end or --duration")(
      "duration", po::value(&duration_s),
      "seconds --pid stays attached, or --exec's program may run (then it is stopped)")(
      "iface", po::value<std::string>(), "interface to send on (positional)");
  add_backend_option(opts, "stap (a SystemTap module), kprobe (kprobe events, no module) or auto "
                           "(stap where its module can be built and loaded for the kernel, else "
                           "kprobe)");
  add_prebuilt_options(opts);
  add_report_output_options(opts);
  add_sender_options(opts, SenderDefaults::classic);
  po::positional_options_description pos;
  pos.add("iface", 1);
  auto parsed = parse_options(args, "run", usage, opts, pos);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    std::cout << exit_help({{Exit::ok, "every frame accounted for"},
                            {Exit::anomaly, "anomalies or regression"},
                            {Exit::usage},
                            {Exit::not_root},
                            {Exit::interface},
                            {Exit::tool_missing},
                            {Exit::no_debuginfo},
                            {Exit::lockdown},
                            {Exit::no_map},
                            {Exit::tracer_failed},
                            {Exit::tracer_timeout},
                            {Exit::unsupported},
                            {Exit::io},
                            {Exit::incomplete},
                            {Exit::interrupted, "interrupted (partial report kept)"}});
    return 0;
  }
  const bool exec = parsed->vm.count("exec") > 0;
  if (exec && program.empty())
    return fail(Exit::usage, "--exec", "needs the program after `--`",
                "harness run --veth --exec -- PROGRAM [ARGS...] ({iface} in ARGS becomes the "
                "interface's name)");
  if (!exec && dashes != all_args.end())
    return fail(Exit::usage, "--", "only goes with --exec",
                "harness run --veth --exec -- PROGRAM [ARGS...]");
  const bool attach = parsed->vm.count("pid") > 0;
  if (attach && exec)
    return fail(Exit::usage, "--pid and --exec", "exclude each other",
                "--exec starts the program, --pid attaches to one already running");
  if (parsed->vm.count("duration") && !attach && !exec)
    return fail(Exit::usage, "--duration", "only goes with --pid or --exec",
                "the built-in sender ends after --count frames");
  if (exec || attach)
    if (auto s = check_no_sender_options(parsed->vm, attach); !s)
      return std::unexpected(s.error());
  sender::SenderConfig sender_config;
  if (!attach) { // --pid: the program chose its interface and ring
    auto config = sender_config_from(parsed->vm, SenderDefaults::classic);
    if (!config)
      return std::unexpected(config.error());
    sender_config = std::move(*config);
  }

  session::RunRequest req;
  req.sender = std::move(sender_config);
  req.exec = std::move(program);
  // PID_MAX_LIMIT (include/linux/threads.h): no pid is larger on any kernel.
  constexpr std::int64_t kPidMaxLimit = 4194304;
  if (attach && (attach_pid < 1 || attach_pid > kPidMaxLimit))
    return fail(Exit::usage, "--pid " + std::to_string(attach_pid), "is not a process id",
                "give the program's pid (1 to " + std::to_string(kPidMaxLimit) +
                    ", e.g. from "
                    "`pgrep NAME`)");
  req.attach_pid = static_cast<std::uint32_t>(attach_pid);
  if (parsed->vm.count("duration")) {
    auto ms = seconds_option(duration_s, "duration");
    if (!ms)
      return std::unexpected(ms.error());
    req.duration = *ms;
  }
  if (auto s = probes::check_kernel_spec(kernel); !s)
    return std::unexpected(s.error());
  req.kernel_spec = kernel;
  req.allow_nearest = parsed->vm.count("allow-nearest") > 0;
  req.probes = probes;
  req.build_dir = build_dir;
  auto pick = tracer_pick(parsed->vm);
  if (!pick)
    return std::unexpected(pick.error());
  req.backend = pick->backend;
  req.artifact = pick->artifact;
  req.plan_path = plan;
  req.tools = {stap, staprun, perf, stap_args};
  req.out_dir = out;
  // A FILE directly in an --out DIR not made yet is fine: the run makes DIR before its probes.
  std::vector<std::string> inputs = prebuilt_values(parsed->vm);
  inputs.push_back(plan);
  auto outputs = report_outputs(parsed->vm, inputs, out);
  if (!outputs)
    return std::unexpected(outputs.error());
  req.json_path = outputs->json;
  req.html_path = outputs->html;
  req.baseline_path = outputs->baseline;
  req.baseline.tolerance = outputs->tolerance;
  if (!plan.empty() && req.artifact.empty())
    return fail(Exit::usage, "--plan", "only goes with prebuilt probes (--module, --kprobes)",
                "generated probes write their own plan");
  req.preflight = parsed->vm.count("no-preflight") == 0;
  auto buffer_kb = trace_buffer_kb(trace_buffer);
  if (!buffer_kb)
    return std::unexpected(buffer_kb.error());
  req.trace_buffer_kb = *buffer_kb;
  req.pace = parsed->vm.count("no-pace") == 0;
  if (!req.pace && (exec || attach))
    return fail(Exit::usage, "--no-pace", "only goes with the built-in sender",
                "a program of your own (--exec, --pid) is never paced");
  for (auto [value, name, field] : {std::tuple{ready_s, "ready-timeout", &req.ready_timeout},
                                    std::tuple{settle_s, "settle-timeout", &req.settle_timeout},
                                    std::tuple{grace_s, "stop-grace", &req.stop_grace}}) {
    auto ms = seconds_option(value, name);
    if (!ms)
      return std::unexpected(ms.error());
    *field = *ms;
  }

  install_interrupt_handlers();
  session::RunHooks hooks;
  hooks.progress = [](std::string_view line) {
    std::cerr << "harness: " << line << std::endl;
  };
  auto outcome = session::run_session(req, hooks);
  if (!outcome)
    return std::unexpected(outcome.error());
  std::cout << (outputs->max_rows == 64
                    ? outcome->report_text
                    : report::format_report_text(outcome->report, outputs->max_rows))
            << std::flush;
  std::cerr << "harness: run directory " << outcome->run_dir << std::endl;
  if (outcome->error)
    return std::unexpected(*outcome->error);
  return outcome->report.exit_code();
}

} // namespace harness::cli
