// Benchmark of `harness map`'s work on one af_packet.c: tokenize + find bodies + place every
// anchor (locate), then the JSON the command writes. File reading is measured separately.
#include "base/files.hpp"
#include "probes/line_map.hpp"
#include "probes/locator.hpp"

#include <benchmark/benchmark.h>
#include <cstring>
#include <iostream>
#include <string>

namespace {

std::string g_path = HARNESS_DEFAULT_BENCH_SOURCE;
std::string g_text;

void BM_ReadFile(benchmark::State& state) {
  for (auto _ : state) {
    auto t = harness::read_file(g_path);
    benchmark::DoNotOptimize(t);
  }
}

void BM_Locate(benchmark::State& state) {
  for (auto _ : state) {
    auto m = harness::probes::locate(g_text, "6.1.192");
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_text.size()));
}

void BM_MapCommand(benchmark::State& state) {
  for (auto _ : state) {
    auto t = harness::read_file(g_path);
    auto m = harness::probes::locate(*t, "6.1.192");
    auto j = harness::probes::line_map_to_json(*m);
    benchmark::DoNotOptimize(j);
  }
}

BENCHMARK(BM_ReadFile)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Locate)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MapCommand)->Unit(benchmark::kMicrosecond);

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--source") == 0 && i + 1 < argc)
      g_path = argv[++i];
  auto text = harness::read_file(g_path);
  if (!text) {
    std::cerr << harness::format_error(text.error()) << "\n";
    return 2;
  }
  g_text = *text;
  if (auto m = harness::probes::locate(g_text, "bench"); !m) {
    std::cerr << "map_bench: " << g_path << ": " << m.error().why << "\n";
    return 2;
  }
  std::cerr << "map_bench: " << g_path << " (" << g_text.size() << " bytes)\n";
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
