#pragma once

// One tracer as the rest of harness sees it (docs/DESIGN.md "Tracers"): whether it can probe a
// kernel and what it needs on the machine, its probes for a kernel build tree (`harness build`,
// `vm run`), its probes for the kernel a run probes (made in the run directory, or prebuilt and
// loaded), and its session while the workload runs. Each tracer folder implements it once
// (stap/stap_tracer.hpp, kprobe/kprobe_tracer.hpp) and tracers/tracers.cpp lists them: nothing
// else branches on which tracer it has.

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "kernel/kernel_tree.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"
#include "tracer/machine.hpp"
#include "tracer/tracer_session.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harness::tracer {

// The programs a tracer may run, as the user named them (--stap, --staprun, --perf, --stap-arg).
struct Tools {
  std::string stap = "stap";
  std::string staprun = "staprun";
  std::string perf = "perf";
  std::vector<std::string> stap_args; // passed before the script or module
};

// What decides whether a tracer can probe a kernel (gathered by tracers::gather_facts).
struct BackendFacts {
  std::string kernel_release;    // the kernel to probe
  std::string lockdown;          // "none", "integrity", "confidentiality"; empty: no lockdown LSM
  bool modules_disabled = false; // no /proc/modules or kernel.modules_disabled=1
  bool module_signing_enforced = false;
  bool in_vm = false; // the probes load in harness's own guest (no lockdown, modules allowed)
  // Each tracer's tool version by tracer name ("stap" -> "4.8/0.188"); absent or empty: the tool
  // is not installed; "unknown": installed but silent about its version.
  std::map<std::string, std::string, std::less<>> tool_versions;
  std::string tool_version(std::string_view tracer) const;
};

// Why a tracer cannot probe a kernel, and the exit status of that cause; empty `why`: it can.
struct Obstacle {
  std::string why;
  Exit code = Exit::ok;
};

// What pre-flight asks a tracer to check on the machine the probes run on.
struct CheckRequest {
  std::string release;   // the kernel the probes are for
  std::string build_dir; // -r: a kernel build tree
  std::string artifact;  // prebuilt probes (--module, --kprobes); empty: made for the run
  Tools tools;
};

// `harness build`, `vm run`: the probes for a kernel build tree, made on the build host.
struct TreeRequest {
  std::string kernel_build;
  std::optional<kernel::KernelTree> tree; // already inspected (else inspected here)
  probes::ProbeSet probes = probes::ProbeSet::status;
  std::optional<probes::LineMap> map; // --map
  std::string kernel_spec;            // --kernel: that release's shipped map
  // --script: a tracer's own probe source instead of one made from the map (with its plan).
  std::optional<std::string> script;
  std::optional<probes::ProbePlan> script_plan;
  std::string name = "harness_probes"; // the artifact is NAME + artifact_suffix()
  std::string out_dir = ".";
  std::string cache_dir;
  bool use_cache = true;
  LineSink on_progress;
};

struct TreeProbes {
  std::string artifact;  // the file a guest's or another host's `run` loads
  std::string plan_path; // NAME.plan.json next to it (empty: a --script without a plan)
  bool from_cache = false;
  std::vector<std::string> dropped; // anchors the tree cannot place (their phases go missing)
  std::string map_provenance;       // where the tree's af_packet.c came from
  std::string map_note;             // a map that is not the tree's exact one
  kernel::KernelTree tree;
  std::string what;    // "probe module", "kprobe definitions"
  std::string how;     // "built", "from the cache", "made with perf probe"
  std::string summary; // one line for `harness build`'s progress output
};

// `harness run` without prebuilt probes: made for the kernel the run probes, in its directory.
struct HereRequest {
  const Machine* machine = nullptr;
  probes::LineMap map; // the kernel's lines (preflight's selection)
  probes::ProbeSet probes = probes::ProbeSet::status;
  std::string build_dir; // -r
  std::string dir;       // the run directory
  Tools tools;
  LineSink say;
};

// The probes a run starts: made for it, or prebuilt and loaded.
struct RunProbes {
  probes::ProbePlan plan;
  std::string artifact; // the file the tracer starts from (a script, a module, definitions)
  bool prebuilt = false;
};

struct StartRequest {
  RunProbes probes;
  std::string dir;             // the run directory
  std::string trace_path;      // the HX1 records (probes/trace_format.hpp)
  std::string log_path;        // its own output
  std::uint64_t buffer_kb = 0; // its buffer per CPU (harness/session/trace_buffer.hpp)
  // The names (comm) of the workload's tasks (whose sleeps a tracer records); empty: harness's.
  std::vector<std::string> sleep_comms;
  std::string build_dir; // -r
  Tools tools;
  Launcher launcher; // empty: harness::spawn
  LineSink say;
};

// How a tracer's buffer is sized (harness/session/trace_buffer.hpp).
struct BufferTraits {
  std::uint64_t record_bytes = 0; // one record in it
  std::uint64_t default_kb = 0;   // what it has without harness sizing it
  bool whole_mib = false;         // it takes whole MiB (stap -s) rather than KiB
};

class Tracer {
public:
  virtual ~Tracer() = default;

  virtual std::string_view name() const = 0;            // --backend NAME: "stap"
  virtual std::string_view title() const = 0;           // in progress lines: "stap"
  virtual std::string_view artifact_option() const = 0; // run's option for prebuilt probes
  virtual std::string_view artifact_suffix() const = 0; // ".ko"
  virtual std::string_view artifact_hint() const = 0;   // what that option wants
  virtual std::string_view artifact_help() const = 0;   // that option's help text
  virtual std::string_view log_name() const = 0;        // its log in the run directory
  virtual std::string_view stop_text() const = 0;       // how a run stops it, for progress
  virtual BufferTraits buffer() const = 0;

  // Its tool's version on the machine ("" when not installed): a fact for obstacle().
  virtual std::string tool_version(const Machine& m, const Tools& tools) const = 0;
  // Whether it can probe the kernel the facts describe; why `auto` takes it when it can; and a
  // few words for taking it instead of a tracer that cannot ("" when it has none to say).
  virtual Obstacle obstacle(const BackendFacts& facts) const = 0;
  virtual std::string chosen_reason(const BackendFacts& facts) const = 0;
  virtual std::string_view instead() const = 0;
  // Whether `harness build --script FILE` can take a probe source of the user's.
  virtual bool takes_script() const = 0;

  // What it needs on the machine, as pre-flight lists it.
  virtual void check(const Machine& m, const CheckRequest& req, Checker& c) const = 0;
  virtual Result<TreeProbes> build_for_tree(const TreeRequest& req) const = 0;
  virtual Result<RunProbes> prepare_here(const HereRequest& req) const = 0;
  // Prebuilt probes and their plan: the file is this tracer's and implements the plan; with
  // `running_build_id`, also made for the kernel of that build id (when the file says).
  virtual Status check_artifact(const std::string& artifact, const probes::ProbePlan& plan,
                                const std::string& running_build_id) const = 0;
  virtual Result<std::unique_ptr<TracerSession>> start(const StartRequest& req) const = 0;
  // Removes what killed runs of this tracer left installed (`harness doctor`), saying what.
  virtual void remove_leftovers(const LineSink& say) const = 0;
};

} // namespace harness::tracer
