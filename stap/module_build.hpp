#pragma once

// `harness build`: cross-compile a probe module for a kernel build tree on this host
// (`stap -r BUILD -p4 -m NAME`), with what that takes in practice (docs/tracing-notes.md): -P when
// af_packet.c was built at -O0, a patched runtime copy (-R) when the kernel renamed
// task_work_cancel, the build host's lockdown hidden from stap, SYSTEMTAP_DIR inside the harness
// cache. Modules are cached by (script sha1, kernel build id, module name, stap flags, stap
// version); NAME.ko keeps its name (staprun needs it) and NAME.plan.json goes next to it.

#include "base/child_proc.hpp"
#include "base/result.hpp"
#include "kernel/kernel_tree.hpp"
#include "probes/line_map.hpp"
#include "probes/probe_plan.hpp"
#include "stap/generate.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace harness::stap {

inline constexpr std::string_view default_module_name = "harness_probes";

struct ModuleBuildRequest {
  std::string kernel_build;
  std::string script_text;               // the SystemTap script
  std::optional<probes::ProbePlan> plan; // written as NAME.plan.json when given
  std::string module_name = std::string(default_module_name);
  std::string out_dir;   // receives NAME.ko, NAME.plan.json, NAME.stp, NAME.stap.log
  std::string cache_dir; // harness cache (cache_dir.hpp)
  bool use_cache = true;
  std::chrono::seconds timeout{900};
  LineSink on_progress; // stap's "Pass N: ..." lines and harness's own notes
};

struct ModuleBuildResult {
  std::string module_path;
  std::string plan_path; // empty without a plan
  std::string script_path;
  std::string log_path;
  bool cache_hit = false;
  std::vector<std::string> stap_args; // the stap command (without the program)
  kernel::KernelTree tree;
  long elapsed_ms = 0;
};

// A module name staprun and the kernel accept: [A-Za-z_][A-Za-z0-9_]{0,54}.
bool valid_module_name(std::string_view name);

// Pure: what stap needs for a tree's kernel, whether it cross-builds a module or compiles and runs
// on the machine it probes (one decision, docs/tracing-notes.md "Pitfalls of a cross build"):
// -R RUNTIME (empty: the installed one), -P when af_packet.c was built at -O0, and
// -DSTP_NO_OVERLOAD: probes are slow under qemu's TCG and on a busy machine, and stap's overload
// cut-off would end a measurement run half way (what a slow reader loses is accounted instead,
// docs/DESIGN.md "Lost records").
std::vector<std::string> stap_tree_args(const kernel::KernelTree& tree, const std::string& runtime);

// Pure: stap's argv (without "stap") for a tree and runtime (empty: the installed one).
std::vector<std::string> stap_build_args(const kernel::KernelTree& tree, const std::string& runtime,
                                         const std::string& module_name,
                                         const std::string& script_path);

// Pure: an Error for a failed stap run from its stderr (missing debuginfo, semantic error,
// module signing / MOK, compile errors), naming the log.
Error classify_stap_failure(std::string_view stderr_text, const std::string& log_path);

Result<ModuleBuildResult> build_module(const ModuleBuildRequest& req);

// The probe script for a tree when none is given: the shipped map for the tree's release (or
// `map_override`), the tree's af_packet.c quoted when it is the map's source, and the anchors
// this build cannot place (`harness verify`) dropped. `notes` receives what was chosen/dropped.
struct GeneratedForTree {
  stap::GeneratedScript script;
  std::vector<std::string> dropped; // anchors without a line-table entry in this build
  std::string map_note;             // empty when the map matched exactly
  std::string map_provenance;       // where the kernel's own af_packet.c came from (tree_map.hpp)
};
Result<GeneratedForTree> generate_for_tree(const kernel::KernelTree& tree, probes::ProbeSet set,
                                           const std::optional<probes::LineMap>& map_override,
                                           const std::string& kernel_spec,
                                           const std::string& cache_dir);

} // namespace harness::stap
