// FAULT-INJECTING STAND-IN FOR stap/staprun, used only by the tests of harness_run and of the
// `harness run` binary. It takes stap's command line, ignores it, and misbehaves as told by
// FAULT_STAP_MODE so the supervisor's handling of each failure can be tested with a real child
// process. It never probes anything.
//
//   silent             probes that never fire (a drifted map, the wrong kernel): stap -v passes on
//                      stderr, READY on stdout, then no record at all; SIGINT/SIGTERM: HITS 0 +
//                      END, exit 0. (No mode stands in for a working stap: that runs for real
//                      in the VM, tests/e2e.)
//   trickle            like silent, and one stap warning line on stdout every 100 ms until stopped
//   hang_before_ready  pass 1 on stderr, then sleeps (never READY)
//   die_mid_run        READY, then after FAULT_STAP_DIE_MS (300) an error and exit status 1
//   semantic_error     "semantic error: no match" for a probe point, exit status 1
//   missing_debuginfo  stap's debuginfo complaint, exit status 1
//   ignore_sigint      READY, ignores SIGINT (and SIGTERM too with FAULT_STAP_IGNORE_TERM=1)
//   lossy              READY, numbered records with sq 2 missing; on SIGINT the end summary
//                      (HITS add up to 3) and the module's warnings of 4 skipped probes and 1
//                      transport failure, as a module whose buffer and locks ran short says
// FAULT_STAP_PIDFILE: append this process's pid (and its helper's, FAULT_STAP_HELPER=1: a
// forked grandchild in the same process group, like stapio) so tests can check none survive.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/time.h>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) {
  g_stop = 1;
}

std::string env(const char* name, const char* def = "") {
  const char* v = std::getenv(name);
  return v ? v : def;
}

unsigned long long now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<unsigned long long>(ts.tv_sec) * 1000000000ull +
         static_cast<unsigned long long>(ts.tv_nsec);
}

void note_pid(pid_t pid) {
  const std::string f = env("FAULT_STAP_PIDFILE");
  if (f.empty())
    return;
  if (std::FILE* out = std::fopen(f.c_str(), "a")) {
    std::fprintf(out, "%d\n", static_cast<int>(pid));
    std::fclose(out);
  }
}

void passes(int upto) {
  const char* what[] = {"parsed user script and 482 library scripts",
                        "analyzed script: 18 probes, 3 functions, 0 embeds, 1 globals",
                        "translated to C into \"/tmp/stapFAKE/stap_fake_src.c\"",
                        "compiled C into \"stap_fake.ko\""};
  for (int p = 1; p <= upto && p <= 4; ++p)
    std::fprintf(stderr,
                 "Pass %d: %s using 112036virt/90512res/9684shr/80648data kb, in "
                 "10usr/0sys/%dreal ms.\n",
                 p, what[p - 1], 10 * p);
  if (upto >= 5)
    std::fprintf(stderr, "Pass 5: starting run.\n");
  std::fflush(stderr);
}

void ready() {
  std::printf("HX1 READY %llu plan=%s kernel=fault probes=status\n", now_ns(),
              env("FAULT_STAP_PLAN", "0000000000000000").c_str());
  std::fflush(stdout);
}

void end_summary() {
  std::printf("HX1 HITS snd.start 0\nHX1 END %llu\n", now_ns());
  std::fflush(stdout);
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  ::nanosleep(&ts, nullptr);
}

} // namespace

int main() {
  const std::string mode = env("FAULT_STAP_MODE", "silent");
  note_pid(::getpid());
  if (env("FAULT_STAP_HELPER") == "1") {
    const pid_t helper = ::fork();
    if (helper == 0) {
      ::signal(SIGINT, SIG_IGN); // like a stubborn stapio: only the group SIGKILL ends it
      for (;;)
        ::pause();
    }
    note_pid(helper);
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  if (mode == "hang_before_ready") {
    passes(1);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    for (;;)
      ::pause();
  }
  if (mode == "semantic_error") {
    passes(1);
    std::fprintf(stderr, "semantic error: no match while resolving probe point "
                         "kernel.statement(\"tpacket_snd@net/packet/af_packet.c:2877\")\n"
                         "Pass 2: analysis failed.  [man error::pass2]\n");
    return 1;
  }
  if (mode == "missing_debuginfo") {
    passes(1);
    std::fprintf(
        stderr, "WARNING: cannot find module kernel debuginfo: No DWARF information found\n"
                "semantic error: while resolving probe point: identifier 'kernel' at probes.stp:9\n"
                "semantic error: missing x86_64 kernel/module debuginfo [man warning::debuginfo] "
                "under '/lib/modules/6.1.0/build'\nPass 2: analysis failed.\n");
    return 1;
  }
  passes(5);
  ready();
  if (mode == "ignore_sigint") {
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, env("FAULT_STAP_IGNORE_TERM") == "1" ? SIG_IGN : SIG_DFL);
    for (;;)
      ::pause();
  }
  if (mode == "die_mid_run") {
    sleep_ms(std::atol(env("FAULT_STAP_DIE_MS", "300").c_str()));
    std::fprintf(stderr, "ERROR: probe overhead exceeded threshold\n"
                         "WARNING: Number of errors: 1, skipped probes: 0\n");
    return 1;
  }
  if (mode == "lossy") {
    std::printf("HX1 EV %llu 0 1 1 snd.start po=0x1 sq=1\n", now_ns());
    std::printf("HX1 EV %llu 0 1 1 snd.return po=0x1 err=0 sq=3\n", now_ns());
    std::fflush(stdout);
    while (!g_stop)
      sleep_ms(20);
    std::printf("HX1 HITS snd.start 1\nHX1 HITS snd.return 2\nHX1 END %llu\n", now_ns());
    std::fflush(stdout);
    std::fprintf(stderr, "WARNING: There were 1 transport failures. Try stap -s to increase the "
                         "buffer size from 16.\nWARNING: Number of errors: 0, skipped probes: 4\n");
    return 0;
  }
  while (!g_stop) {
    if (mode == "trickle") {
      std::printf("WARNING: fault stand-in still here\n");
      std::fflush(stdout);
    }
    sleep_ms(100);
  }
  end_summary();
  return 0;
}
