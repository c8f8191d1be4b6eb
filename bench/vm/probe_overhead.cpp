// Per-hit probe overhead inside the guest, for both tracers: ONE VM runs, per round,
// `harness send --veth` without probes, then `harness run --veth` with the prebuilt SystemTap
// module, then with the prebuilt kprobe definitions (same sender options each time), and reports
// the sender's frames/s of each, the extra time per frame and, from the report's hit counts, per
// probe hit. Run by hand (see README.md):
//   vm_probe_overhead --kernel-build DIR --harness BIN [--frames N] [--rounds R] [--cache DIR]
//                     [--backends stap,kprobe]
#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "kernel/cache_dir.hpp"
#include "vm/vm_session.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace harness;
using namespace harness::vm;

namespace {

struct Args {
  std::string kernel_build, cache = kernel::resolve_cache_dir(""), harness_bin;
  int frames = 20000, rounds = 3;
  std::vector<std::string> backends = {"stap", "kprobe"};
};

// The sender's frames/s from its JSON (`send --json` stdout, or a run directory's sender.json).
double frames_per_s(const std::string& path) {
  auto text = read_file(path);
  if (!text)
    return 0;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("totals"))
    return 0;
  const auto& t = j["totals"];
  const double ns = t.value("elapsed_ns", 0.0);
  return ns > 0 ? static_cast<double>(t.value("sent", 0L)) * 1e9 / ns : 0;
}

// Probe hits of one run (the END summary's counts, else the records), from its report.json.
double hits_of(const std::string& report) {
  auto text = read_file(report);
  if (!text)
    return 0;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.contains("probes"))
    return 0;
  double n = 0;
  for (const auto& p : j["probes"])
    n += p["hits"].is_number() ? p["hits"].get<double>() : p.value("records", 0.0);
  return n;
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--kernel-build")
      a.kernel_build = v;
    else if (k == "--frames")
      a.frames = std::stoi(v);
    else if (k == "--rounds")
      a.rounds = std::stoi(v);
    else if (k == "--cache")
      a.cache = v;
    else if (k == "--harness")
      a.harness_bin = std::filesystem::absolute(v).lexically_normal().string();
    else if (k == "--backends") {
      a.backends.clear();
      for (std::size_t p = 0; p <= v.size();) {
        const std::size_t q = std::min(v.find(',', p), v.size());
        a.backends.push_back(v.substr(p, q - p));
        p = q + 1;
      }
    } else
      return false;
  }
  return !a.kernel_build.empty() && !a.harness_bin.empty();
}

// `harness build --backend B` on the host: the artifact `harness run` loads in the guest.
std::string build_artifact(const Args& a, const std::string& backend, const std::string& dir) {
  ChildSpec spec{.exe = a.harness_bin,
                 .args = {"build", "--kernel-build", a.kernel_build, "--backend", backend,
                          "--cache", a.cache, "-o", dir}};
  auto r = run_captured(spec, std::chrono::minutes(30));
  if (!r || !r->status.success()) {
    std::cerr << "bench: harness build --backend " << backend << " failed:\n"
              << (r ? r->err : r.error().why) << "\n";
    return {};
  }
  return dir + (backend == "stap" ? "/harness_probes.ko" : "/harness_probes.kprobes");
}

} // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse_args(argc, argv, a)) {
    std::cerr << "usage: vm_probe_overhead --kernel-build DIR --harness BIN [--frames N] "
                 "[--rounds R] [--cache DIR] [--backends stap,kprobe]\n";
    return 2;
  }
  auto note = [](std::string_view l) {
    std::cerr << "bench: " << l << "\n";
  };
  const std::string out = timestamped_dir(a.cache + "/vm", "bench-overhead");
  std::vector<std::pair<std::string, std::string>> artifacts; // backend, file
  for (const auto& b : a.backends) {
    const std::string file = build_artifact(a, b, out + "/" + b);
    if (file.empty())
      return 1;
    artifacts.emplace_back(b, file);
  }

  VmJobRequest req;
  req.vm.kernel_build = a.kernel_build;
  req.vm.out_dir = out;
  req.vm.cache_dir = a.cache;
  req.vm.init_exe = a.harness_bin;
  req.vm.timeout = std::chrono::minutes(60);
  req.vm.on_progress = note;
  // --classic: the path `harness run` drives (packet_mmap.c's defaults), not send's fast one.
  const std::vector<std::string> sender = {"--veth", "--count", std::to_string(a.frames), "--size",
                                           "60"};
  const auto with = [&](std::vector<std::string> head) {
    head.insert(head.end(), sender.begin(), sender.end());
    return head;
  };
  for (int r = 0; r < a.rounds; ++r) {
    const std::string n = std::to_string(r);
    auto plain = with({a.harness_bin, "send", "--classic"});
    plain.push_back("--json");
    req.job.steps.push_back({"plain-" + n, plain, false, "", 600000, ""});
    for (const auto& [b, file] : artifacts) {
      const std::string flag = b == "stap" ? "--module" : "--kprobes";
      auto run = with({a.harness_bin, "run", "--backend", b, flag, file, "--no-preflight", "-o",
                       out + "/" + b + "-" + n, "--max-rows", "1"});
      req.job.steps.push_back({b + "-" + n, run, false, "", 900000, ""});
    }
  }
  auto res = run_job_in_vm(req);
  if (!res) {
    std::cerr << format_error(res.error()) << "\n";
    return 1;
  }
  std::vector<double> plain;
  for (int r = 0; r < a.rounds; ++r)
    if (double p = frames_per_s(out + "/plain-" + std::to_string(r) + ".stdout"); p > 0)
      plain.push_back(p);
  const double p = median(plain);
  std::printf("accelerator: %s\n", res->accel.reason.c_str());
  std::printf("%d frames of 60 bytes per run, %d rounds, medians\n", a.frames, a.rounds);
  std::printf("without probes: %.0f frames/s (%.1f us per frame)\n", p, p > 0 ? 1e6 / p : 0.0);
  for (const auto& [b, file] : artifacts) {
    std::vector<double> fps, hits;
    for (int r = 0; r < a.rounds; ++r) {
      const std::string dir = out + "/" + b + "-" + std::to_string(r);
      const double q = frames_per_s(dir + "/sender.json");
      std::printf("  round %d %-6s: %.0f frames/s, %.0f probe hits\n", r, b.c_str(), q,
                  hits_of(dir + "/report.json"));
      if (q > 0) {
        fps.push_back(q);
        hits.push_back(hits_of(dir + "/report.json") / a.frames);
      }
    }
    const double q = median(fps), h = median(hits);
    if (p <= 0 || q <= 0) {
      std::printf("%-6s: no result (see %s)\n", b.c_str(), out.c_str());
      continue;
    }
    const double extra_us = 1e6 / q - 1e6 / p;
    std::printf("%-6s: %.0f frames/s (%.1fx slower), +%.1f us per frame, %.1f hits per frame, "
                "%.2f us per hit\n",
                b.c_str(), q, p / q, extra_us, h, h > 0 ? extra_us / h : 0.0);
  }
  std::printf("outputs: %s\n", out.c_str());
  return 0;
}
