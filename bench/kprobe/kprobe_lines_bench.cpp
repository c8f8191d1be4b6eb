// How fast tracefs lines become harness records (kprobe/trace_lines.hpp), one core: the lines of
// a 20-frames-per-call TPACKET_V2 run as the kprobe tracer reads them from trace_pipe, repeated
// to N lines (default 10,000,000), translated once, timed. Issue 10's goal: >= 3 M lines/s.
//   build-rel/bench/kprobe/kprobe_lines_bench [N]
#include "kprobe/trace_lines.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace harness;

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  kprobe::KprobeDefs defs;
  defs.events = {
      {"snd.len_sum",
       "snd_len_sum",
       "tpacket_snd+2340",
       {"po=+8(%sp):x64", "ph=+96(%sp):x64", "head=+960(+8(%sp)):x32", "len_sum=+124(%sp):s32",
        "tp_len=+132(%sp):s32", "flags=+68(+0(%sp)):x32"}},
      {"set_status.v2_break",
       "set_status_v2_break",
       "__packet_set_status+151",
       {"po=+16(%sp):x64", "frame=+8(%sp):x64", "status=+4(%sp):s32",
        "version=+1240(+16(%sp)):x32"}},
      {"destruct.set_available",
       "destruct_set_available",
       "tpacket_destruct_skb+118",
       {"po=+24(%sp):x64", "ph=+16(%sp):x64", "ts=+12(%sp):x32"}},
  };
  probes::ProbePlan plan;
  plan.plan_id = "0123456789abcdef";
  plan.kernel = "6.1.192";
  plan.anchors = {
      {"snd.len_sum",
       "tpacket_snd",
       2989,
       "",
       "",
       true,
       {"po", "ph", "head", "len_sum", "tp_len", "flags", "pending"}},
      {"set_status.v2_break",
       "__packet_set_status",
       419,
       "",
       "",
       true,
       {"po", "frame", "status", "version"}},
      {"destruct.set_available", "tpacket_destruct_skb", 2606, "", "", true, {"po", "ph", "ts"}},
  };
  // Lines as trace_pipe prints them (6.1 kernel, 6 decimals).
  const std::vector<std::string> kinds = {
      "         harness-41      [000] .....     4.677919: snd_len_sum: (tpacket_snd+0xa4f/0xaf0) "
      "po=0xffff888003a1c000 ph=0xffff88800086a000 head=0x2 len_sum=150 tp_len=150 flags=0x40",
      "         harness-41      [000] .....     4.677931: set_status_v2_break: "
      "(__packet_set_status+0x97/0xc4) po=0xffff888003a1c000 frame=0xffff88800086a000 status=2 "
      "version=0x1",
      "          <idle>-0       [000] ..s1.     4.678002: destruct_set_available: "
      "(tpacket_destruct_skb+0x76/0xa0) po=0xffff888003a1c000 ph=0xffff88800086a000 ts=0x0"};
  std::string text;
  text.reserve(n * 140);
  for (std::size_t i = 0; i < n; ++i) {
    text += kinds[i % kinds.size()];
    text += '\n';
  }
  kprobe::LineTranslator tr(defs, plan, 0, [](std::uint32_t tid) { return tid; });
  std::string out;
  out.reserve(1 << 20);
  std::size_t bytes_out = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    tr.translate(std::string_view(text).substr(start, nl - start), out);
    if (out.size() > (1 << 20)) {
      bytes_out += out.size();
      out.clear();
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bytes_out += out.size();
  std::printf("%zu lines, %llu translated, %zu bytes out, %.3f s: %.2f M lines/s\n", n,
              static_cast<unsigned long long>(tr.translated()), bytes_out, s,
              static_cast<double>(n) / s / 1e6);
  return tr.translated() == n ? 0 : 1;
}
