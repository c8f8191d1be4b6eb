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
#include <cstddef>
#include <cstdlib>
#include <iostream>

namespace harness::cli {
namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The values of run's own options, where Boost.ProgramOptions stores them.
struct RunValues {
  std::string kernel = "auto", probes = "status", build_dir, plan, out, trace_buffer = "auto";
  std::string perf = env_or("HARNESS_PERF", "perf");
  std::string stap = env_or("HARNESS_STAP", "stap");
  std::string staprun = env_or("HARNESS_STAPRUN", "staprun");
  std::vector<std::string> stap_args;
  double ready_s = 300, settle_s = 5, grace_s = 3, duration_s = 0;
  std::int64_t attach_pid = 0; // signed: "-1" must not wrap to 4294967295
};

// run's options, with `v` holding their values.
void add_run_options(po::options_description& opts, RunValues& v) {
  opts.add_options()("help,h", "show this help")(
      "kernel", po::value(&v.kernel)->default_value("auto"),
      "the kernel probed (auto: uname -r); its lines come from its own af_packet.c, found by "
      "build id (-r tree, source package, DEBUGINFOD_URLS)")(
      "allow-nearest",
      "no exact source: probe the nearest shipped map once every anchor passed the DWARF "
      "check; the report says \"lines not proven\" and never OK")(
      "probes", po::value(&v.probes)->default_value("status"), "probe set: status|call-return|all")(
      "build-dir,r", po::value(&v.build_dir), "stap -r DIR: compile for this kernel build tree")(
      "plan", po::value(&v.plan),
      "the prebuilt probes' plan (default: NAME.plan.json next to NAME.ko / NAME.kprobes)")(
      "perf", po::value(&v.perf),
      "perf program for kprobe definitions (default $HARNESS_PERF or perf)")(
      "stap", po::value(&v.stap), "stap program (default $HARNESS_STAP or stap)")(
      "staprun", po::value(&v.staprun), "staprun program (default $HARNESS_STAPRUN or staprun)")(
      "stap-arg", po::value(&v.stap_args)->composing(),
      "extra argument for stap/staprun (repeat; e.g. --stap-arg=-DSTP_NO_OVERLOAD); stap runs "
      "in the run directory, so a path in it is absolute")(
      "out,o", po::value(&v.out), "run directory (default ./harness-run-<timestamp>)")(

      "ready-timeout", po::value(&v.ready_s)->default_value(300),
      "seconds to wait for stap's READY record (compiling included)")(
      "settle-timeout", po::value(&v.settle_s)->default_value(5),
      "seconds to wait for the kernel's last records after the sender finished")(
      "stop-grace", po::value(&v.grace_s)->default_value(3),
      "seconds stap gets after SIGINT (then SIGTERM, then SIGKILL)")(

      "trace-buffer", po::value(&v.trace_buffer)->default_value("auto"),
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
      "pid", po::value(&v.attach_pid),
      "attach to this running program instead of sending: its TX rings are probed until Ctrl-C, "
      "its end or --duration")(
      "duration", po::value(&v.duration_s),
      "seconds --pid stays attached, or --exec's program may run (then it is stopped)")(
      "iface", po::value<std::string>(), "interface to send on (positional)");
  add_backend_option(opts, "stap (a SystemTap module), kprobe (kprobe events, no module) or auto "
                           "(stap where its module can be built and loaded for the kernel, else "
                           "kprobe)");
  add_prebuilt_options(opts);
  add_report_output_options(opts);
  add_sender_options(opts, SenderDefaults::classic);
}

void print_run_exits() {
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
}

// The built-in sender's options given (long names, in the order they are declared): with --exec
// or --pid they would silently do nothing.
std::vector<std::string> given_sender_options(const po::variables_map& vm) {
  po::options_description sender_opts;
  add_sender_options(sender_opts, SenderDefaults::classic);
  std::vector<std::string> given;
  for (const auto& o : sender_opts.options())
    if (vm.count(o->long_name()) && !vm[o->long_name()].defaulted())
      given.push_back(o->long_name());
  return given;
}

session::RunOptions run_options(const po::variables_map& vm, const RunValues& v, bool dashes) {
  session::RunOptions o;
  o.exec = vm.count("exec") > 0;
  o.dashes = dashes;
  if (vm.count("pid"))
    o.pid = v.attach_pid;
  if (vm.count("duration"))
    o.duration_s = v.duration_s;
  o.sender_options = given_sender_options(vm);
  o.iface = vm.count("iface") > 0;
  o.ready_s = v.ready_s;
  o.settle_s = v.settle_s;
  o.grace_s = v.grace_s;
  return o;
}

struct RunCommand {
  session::RunRequest req;
  std::size_t max_rows = 64; // --max-rows: frame rows printed
};

// The options mapped onto a request, checked by the request's own checks (run_request.hpp) in
// between the parsing of the sender's, the tracer's and the report's options.
Result<RunCommand> run_command(const po::variables_map& vm, const RunValues& v,
                               std::vector<std::string> program, bool dashes) {
  const session::RunOptions o = run_options(vm, v, dashes);
  RunCommand cmd;
  session::RunRequest& req = cmd.req;
  req.exec = std::move(program);
  if (auto s = session::check_workload(req, o); !s)
    return std::unexpected(s.error());
  if (!o.pid) { // --pid: the program chose its interface and ring
    auto config = sender_config_from(vm, SenderDefaults::classic);
    if (!config)
      return std::unexpected(config.error());
    req.sender = std::move(*config);
  }
  if (auto s = session::set_workload(req, o); !s)
    return std::unexpected(s.error());
  if (auto s = probes::check_kernel_spec(v.kernel); !s)
    return std::unexpected(s.error());
  req.kernel_spec = v.kernel;
  req.allow_nearest = vm.count("allow-nearest") > 0;
  req.probes = v.probes;
  req.build_dir = v.build_dir;
  auto pick = tracer_pick(vm);
  if (!pick)
    return std::unexpected(pick.error());
  req.backend = pick->backend;
  req.artifact = pick->artifact;
  req.plan_path = v.plan;
  req.tools = {v.stap, v.staprun, v.perf, v.stap_args};
  req.out_dir = v.out;
  // A FILE directly in an --out DIR not made yet is fine: the run makes DIR before its probes.
  std::vector<std::string> inputs = prebuilt_values(vm);
  inputs.push_back(v.plan);
  auto outputs = report_outputs(vm, inputs, v.out);
  if (!outputs)
    return std::unexpected(outputs.error());
  req.json_path = outputs->json;
  req.html_path = outputs->html;
  req.baseline_path = outputs->baseline;
  req.baseline.tolerance = outputs->tolerance;
  cmd.max_rows = outputs->max_rows;
  if (auto s = session::check_plan(req); !s)
    return std::unexpected(s.error());
  req.preflight = vm.count("no-preflight") == 0;
  auto buffer_kb = trace_buffer_kb(v.trace_buffer);
  if (!buffer_kb)
    return std::unexpected(buffer_kb.error());
  req.trace_buffer_kb = *buffer_kb;
  req.pace = vm.count("no-pace") == 0;
  if (auto s = session::set_waits(req, o); !s)
    return std::unexpected(s.error());
  return cmd;
}

// The run, its report printed (--max-rows rows), its exit status.
Result<int> run(const RunCommand& cmd) {
  install_interrupt_handlers();
  session::RunHooks hooks;
  hooks.progress = [](std::string_view line) {
    std::cerr << "harness: " << line << std::endl;
  };
  auto outcome = session::run_session(cmd.req, hooks);
  if (!outcome)
    return std::unexpected(outcome.error());
  std::cout << (cmd.max_rows == 64 ? outcome->report_text
                                   : report::format_report_text(outcome->report, cmd.max_rows))
            << std::flush;
  std::cerr << "harness: run directory " << outcome->run_dir << std::endl;
  if (outcome->error)
    return std::unexpected(*outcome->error);
  return outcome->report.exit_code();
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
  RunValues v;
  add_run_options(opts, v);
  po::positional_options_description pos;
  pos.add("iface", 1);
  auto parsed = parse_options(args, "run", usage, opts, pos);
  if (!parsed)
    return std::unexpected(parsed.error());
  if (parsed->help) {
    print_run_exits();
    return 0;
  }
  auto cmd = run_command(parsed->vm, v, std::move(program), dashes != all_args.end());
  if (!cmd)
    return std::unexpected(cmd.error());
  return run(*cmd);
}

} // namespace harness::cli
