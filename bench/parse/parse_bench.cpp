// Parse and correlate a generated trace of N records (default 10 million) on one core, the way
// `harness report` does (file read in chunks -> parser -> reorder window -> correlator -> report
// builder), and report records/s and peak RSS. The sender's records are generated on the fly
// (GeneratedFrames) so that memory shows what the pipeline itself holds: it must be bounded by
// the ring size, not by the trace length.
//
//   parse_bench [--records N] [--ring FRAMES] [--file PATH] [--keep] [--reuse]
// --reuse analyses an existing PATH (kept by --keep with the same --records/--ring) without
// generating it again, e.g. to profile the analysis alone.
#include "harness/report/analyze.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace harness;
using namespace harness::report;

namespace {

constexpr std::uint64_t kBase = 1'795'502'968'000'000'000ull; // CLOCK_REALTIME ns
constexpr std::uint64_t kStep = 1000;                         // ns between records
constexpr std::uint64_t kPo = 0xffff888002d1e8b0ull;
constexpr std::uint32_t kPid = 4242;
constexpr int kRecordsPerFrame = 7;

std::uint64_t frame_addr(std::uint64_t index) {
  return 0xffff888003000000ull + index * 0x1000;
}

// Frame `seq` of the sender: requested just before the kernel's first record of it.
std::int64_t request_ts(std::uint64_t seq, std::uint64_t ring) {
  const std::uint64_t calls = seq / ring + 1;
  return static_cast<std::int64_t>(kBase + (seq * kRecordsPerFrame + 2 * calls) * kStep - 500);
}

class GeneratedFrames final : public SenderSource {
public:
  GeneratedFrames(std::uint64_t frames, std::uint32_t ring)
      : frames_(frames), ring_(ring), next_use_(ring, 0) {}
  std::uint32_t rings() const override { return 1; }
  const sender::FrameRecord* peek(std::uint32_t, std::uint32_t index) override {
    if (index >= ring_)
      return nullptr;
    const std::uint64_t seq = next_use_[index] * ring_ + index;
    if (seq >= frames_)
      return nullptr;
    cur_.seq = seq;
    cur_.index = index;
    cur_.t_request_ns = request_ts(seq, ring_);
    cur_.t_fill_ns = cur_.t_request_ns - 100;
    cur_.t_send_ns = cur_.t_request_ns + 50'000;
    cur_.t_done_ns = cur_.t_request_ns + 60'000;
    cur_.final_status = sender::SlotStatus::available;
    return &cur_;
  }
  void pop(std::uint32_t, std::uint32_t index) override {
    if (index < ring_)
      ++next_use_[index];
  }
  void drain(const std::function<void(const sender::FrameRecord&)>& fn) override {
    for (std::uint32_t i = 0; i < ring_; ++i)
      while (const auto* f = peek(0, i)) {
        fn(*f);
        pop(0, i);
      }
  }

private:
  std::uint64_t frames_;
  std::uint32_t ring_;
  std::vector<std::uint64_t> next_use_;
  sender::FrameRecord cur_;
};

// Writes a trace shaped like the -O0 captures: per ring-full one tpacket_snd call, per frame
// get_status, ph_check, SENDING, the destructor on another CPU (set_available, AVAILABLE,
// pending_dec) and len_sum; every 50th pair of lines swapped (per-CPU buffers).
std::uint64_t generate(const std::string& path, std::uint64_t records, std::uint32_t ring) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::perror(path.c_str());
    std::exit(2);
  }
  std::setvbuf(f, nullptr, _IOFBF, 1 << 22);
  std::fprintf(f, "HX1 READY %llu plan=bench kernel=6.1.192 probes=status\n",
               static_cast<unsigned long long>(kBase));
  std::uint64_t ts = kBase, n = 0, frames = 0;
  char held[256] = {0};
  auto line = [&](const char* fmt, auto... args) {
    char buf[256];
    ts += kStep;
    std::snprintf(buf, sizeof buf, fmt, static_cast<unsigned long long>(ts), args...);
    ++n;
    if (n % 50 == 0 && !held[0]) {
      std::memcpy(held, buf, sizeof buf);
      return;
    }
    std::fputs(buf, f);
    if (held[0]) {
      std::fputs(held, f);
      held[0] = 0;
    }
  };
  const auto po = static_cast<unsigned long long>(kPo);
  while (n < records) {
    const std::uint64_t head = frames % ring;
    line("HX1 EV %llu 0 %u %u snd.start po=0x%llx head=%llu frame_max=%u frame_size=4096 "
         "frames_per_block=1 version=1 flags=0\n",
         kPid, kPid, po, static_cast<unsigned long long>(head), ring - 1);
    for (std::uint32_t k = 0; k < ring && n < records; ++k, ++frames) {
      const auto idx = static_cast<unsigned long long>(frames % ring);
      const auto a = static_cast<unsigned long long>(frame_addr(idx));
      line("HX1 EV %llu 0 %u %u get_status.v2_return po=0x%llx frame=0x%llx status=1\n", kPid, kPid,
           po, a);
      line("HX1 EV %llu 0 %u %u snd.ph_check po=0x%llx ph=0x%llx head=%llu\n", kPid, kPid, po, a,
           idx);
      line("HX1 EV %llu 0 %u %u set_status.v2_break po=0x%llx frame=0x%llx status=2 version=1\n",
           kPid, kPid, po, a);
      line("HX1 EV %llu 1 %u %u destruct.set_available po=0x%llx ph=0x%llx ts=0\n", 0u, 0u, po, a);
      line("HX1 EV %llu 1 %u %u set_status.v2_break po=0x%llx frame=0x%llx status=0 version=1\n",
           0u, 0u, po, a);
      line("HX1 EV %llu 1 %u %u destruct.pending_dec po=0x%llx ph=0x%llx\n", 0u, 0u, po, a);
      line("HX1 EV %llu 0 %u %u snd.len_sum po=0x%llx ph=0x%llx head=%llu len_sum=%llu tp_len=150 "
           "flags=0\n",
           kPid, kPid, po, a, (idx + 1) % ring, static_cast<unsigned long long>(k * 150));
    }
    line("HX1 EV %llu 0 %u %u snd.return po=0x%llx err=%u sndbuf=212992 wmem=1\n", kPid, kPid, po,
         ring * 150);
  }
  if (held[0])
    std::fputs(held, f);
  std::fprintf(f, "HX1 HITS snd.start %llu\nHX1 END %llu\n",
               static_cast<unsigned long long>(frames / ring + 1),
               static_cast<unsigned long long>(ts + kStep));
  // On disk before the clock starts: otherwise the kernel writes the gigabyte back while the
  // analysis reads it, and the figure measures the disk (3.4 instead of 5.4 M records/s here).
  std::fflush(f);
  ::fsync(::fileno(f));
  std::fclose(f);
  return frames;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string l; std::getline(in, l);)
    if (l.rfind(key, 0) == 0)
      return std::atol(l.c_str() + std::strlen(key));
  return -1;
}

} // namespace

int main(int argc, char** argv) {
  std::uint64_t records = 10'000'000;
  std::uint32_t ring = 256;
  std::string path = "/tmp/harness-parse-bench.trace";
  bool keep = false, reuse = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--records" && i + 1 < argc)
      records = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--ring" && i + 1 < argc)
      ring = static_cast<std::uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    else if (a == "--file" && i + 1 < argc)
      path = argv[++i];
    else if (a == "--keep")
      keep = true;
    else if (a == "--reuse")
      reuse = keep = true;
    else {
      std::fprintf(stderr,
                   "usage: parse_bench [--records N] [--ring FRAMES] [--file PATH] [--keep]\n");
      return 2;
    }
  }
  if (ring == 0 || records == 0) {
    std::fprintf(stderr, "parse_bench: --records and --ring must be positive\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t frames = 0;
  if (reuse) {
    std::ifstream(path + ".frames") >> frames;
  } else {
    frames = generate(path, records, ring);
    if (keep)
      std::ofstream(path + ".frames") << frames;
  }
  const auto t1 = std::chrono::steady_clock::now();
  struct stat st {};
  ::stat(path.c_str(), &st);
  // Drop the generator's peak so the figure is the pipeline's.
  if (std::FILE* c = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", c);
    std::fclose(c);
  }
  const long rss_before = status_kb("VmRSS:");

  AnalyzeInputs in;
  sender::SenderRecord s;
  s.pid = kPid;
  s.ring.frames = ring;
  s.totals.requested = s.totals.queued = s.totals.sent = frames;
  in.sender = s;
  in.source = std::make_unique<GeneratedFrames>(frames, ring);
  AnalyzeOptions opt;
  opt.max_frame_rows = 1000;
  Analysis analysis(opt, std::move(in));
  const auto t2 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  if (auto r = feed_trace_file(path, analysis); !r) {
    std::fprintf(stderr, "%s\n", format_error(r.error()).c_str());
    return 1;
  }
  const Report report = analysis.finish();
  const auto t3 = std::chrono::steady_clock::now();
  const double cpu = cpu_seconds() - cpu0;
  const double secs = std::chrono::duration<double>(t3 - t2).count();
  const std::uint64_t parsed = report.trace.records;
  std::printf("trace: %llu records (%llu frames, ring %u), %.1f MiB, generated in %.1f s\n",
              static_cast<unsigned long long>(parsed), static_cast<unsigned long long>(frames),
              ring, static_cast<double>(st.st_size) / (1 << 20),
              std::chrono::duration<double>(t1 - t0).count());
  // On a shared machine the wall time includes waiting for a CPU; the CPU time is what one core
  // spent (user + system, reading the file included).
  std::printf("parse + correlate + report: %.2f s CPU (%.2f s wall), %.2f million records/s "
              "per CPU second (%.2f per wall second), %.0f MiB/s\n",
              cpu, secs, static_cast<double>(parsed) / cpu / 1e6,
              static_cast<double>(parsed) / secs / 1e6,
              static_cast<double>(st.st_size) / (1 << 20) / cpu);
  std::printf("memory: RSS %ld KiB before, peak %ld KiB during the analysis (VmHWM)\n", rss_before,
              status_kb("VmHWM:"));
  std::printf("result: %llu frames, %llu completed, %llu anomalies, reordered %llu, late %llu, "
              "malformed %llu\n",
              static_cast<unsigned long long>(report.frames_total),
              static_cast<unsigned long long>(report.summary.completed),
              static_cast<unsigned long long>(report.anomalies.size()),
              static_cast<unsigned long long>(report.trace.reordered),
              static_cast<unsigned long long>(report.trace.late),
              static_cast<unsigned long long>(report.trace.malformed));
  if (!keep) {
    ::unlink(path.c_str());
    ::unlink((path + ".frames").c_str());
  }
  return report.summary.completed == frames && report.anomalies.empty() ? 0 : 1;
}
