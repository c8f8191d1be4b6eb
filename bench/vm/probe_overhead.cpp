// Per-frame probe overhead inside the guest: one VM runs `harness send --veth` without probes,
// then again with the status probe module loaded by staprun, and reports frames/s of both and
// the extra time per frame. Run by hand (see README.md):
//   vm_probe_overhead --kernel-build DIR [--frames N] [--rounds R] [--cache DIR] [--harness BIN]
#include "cache_dir.hpp"
#include "files.hpp"
#include "module_build.hpp"
#include "vm_session.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace harness;
using namespace harness::kernel;

namespace {

double frames_per_s(const std::string& path, long& sent) {
  auto text = read_file(path);
  if (!text)
    return 0;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded())
    return 0;
  const auto& t = j["totals"];
  sent = t.value("sent", 0L);
  const double ns = t.value("elapsed_ns", 0.0);
  return ns > 0 ? static_cast<double>(sent) * 1e9 / ns : 0;
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  std::string kernel_build, cache = resolve_cache_dir(""), harness_bin;
  int frames = 20000, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--kernel-build")
      kernel_build = v;
    else if (k == "--frames")
      frames = std::stoi(v);
    else if (k == "--rounds")
      rounds = std::stoi(v);
    else if (k == "--cache")
      cache = v;
    else if (k == "--harness")
      harness_bin = v;
  }
  if (!harness_bin.empty())
    harness_bin = std::filesystem::absolute(harness_bin).lexically_normal().string();
  if (kernel_build.empty() || harness_bin.empty()) {
    std::cerr << "usage: vm_probe_overhead --kernel-build DIR --harness BIN [--frames N] "
                 "[--rounds R] [--cache DIR]\n";
    return 2;
  }
  auto note = [](std::string_view l) {
    std::cerr << "bench: " << l << "\n";
  };
  const std::string out = timestamped_dir(cache + "/vm", "bench-overhead");

  // The status module for this tree, as `harness vm run` builds it.
  auto tree = inspect_kernel_tree(kernel_build);
  if (!tree) {
    std::cerr << format_error(tree.error()) << "\n";
    return 1;
  }
  auto gen = generate_for_tree(*tree, stap::ProbeSet::status, std::nullopt, "", cache);
  if (!gen) {
    std::cerr << format_error(gen.error()) << "\n";
    return 1;
  }
  ModuleBuildRequest mb;
  mb.kernel_build = kernel_build;
  mb.script_text = gen->script.text;
  mb.plan = gen->script.plan;
  mb.out_dir = out;
  mb.cache_dir = cache;
  mb.on_progress = note;
  auto mod = build_module(mb);
  if (!mod) {
    std::cerr << format_error(mod.error()) << "\n";
    return 1;
  }

  // One VM: for each round, send without probes, then load the module and send again.
  VmJobRequest req;
  req.vm.kernel_build = kernel_build;
  req.vm.out_dir = out;
  req.vm.cache_dir = cache;
  req.vm.init_exe = harness_bin;
  req.vm.timeout = std::chrono::minutes(30);
  req.vm.on_progress = note;
  // --classic: the path `harness run` drives (packet_mmap.c's defaults), not send's fast one.
  const std::vector<std::string> send = {harness_bin, "send",    "--veth",
                                         "--classic", "--count", std::to_string(frames),
                                         "--size",    "60",      "--json"};
  for (int r = 0; r < rounds; ++r) {
    const std::string n = std::to_string(r);
    req.job.steps.push_back({"plain-" + n, send, false, "", 600000, ""});
    req.job.steps.push_back(
        {"probes-" + n, {"staprun", mod->module_path}, true, "HX1 READY", 120000, "probed-" + n});
    req.job.steps.push_back({"probed-" + n, send, false, "", 600000, ""});
  }
  auto res = run_job_in_vm(req);
  if (!res) {
    std::cerr << format_error(res.error()) << "\n";
    return 1;
  }
  std::vector<double> plain, probed;
  for (int r = 0; r < rounds; ++r) {
    // Was every probe record delivered? (stap's relay transport drops records when full.)
    if (auto err = read_file(out + "/probes-" + std::to_string(r) + ".stderr");
        err && err->find("transport failures") != std::string::npos)
      std::printf("round %d: WARNING probe records lost: %s", r, err->c_str());
    long a = 0, b = 0;
    const double p = frames_per_s(out + "/plain-" + std::to_string(r) + ".stdout", a);
    const double q = frames_per_s(out + "/probed-" + std::to_string(r) + ".stdout", b);
    std::printf("round %d: without probes %.0f frames/s (%ld sent), with probes %.0f frames/s "
                "(%ld sent)\n",
                r, p, a, q, b);
    if (p > 0)
      plain.push_back(p);
    if (q > 0)
      probed.push_back(q);
  }
  const double p = median(plain), q = median(probed);
  std::printf("accelerator: %s\n", res->accel.reason.c_str());
  std::printf("median frames/s: without probes %.0f, with status probes %.0f (%.1fx slower)\n", p,
              q, q > 0 ? p / q : 0.0);
  if (p > 0 && q > 0)
    std::printf("probe overhead per frame: %.1f us (%.1f us -> %.1f us per frame)\n",
                1e6 / q - 1e6 / p, 1e6 / p, 1e6 / q);
  std::printf("outputs: %s\n", out.c_str());
  return 0;
}
