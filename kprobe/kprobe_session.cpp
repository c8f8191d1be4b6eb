#include "kprobe/kprobe_session.hpp"

#include "base/files.hpp"
#include "base/signals.hpp"
#include "kprobe/clock_offset.hpp"
#include "probes/anchors.hpp"
#include "probes/trace_format.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace harness::kprobe {
namespace {

namespace tf = probes::trace;

std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::FILE* open_out(const std::string& path) {
  if (path.empty())
    return nullptr;
  std::FILE* f = std::fopen(path.c_str(), "we");
  if (f)
    std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  return f;
}

} // namespace

KprobeSession::KprobeSession(KprobeSessionConfig cfg, Tracefs fs)
    : cfg_(std::move(cfg)), fs_(std::move(fs)) {}

KprobeSession::~KprobeSession() {
  if (!stopped_)
    stop(std::chrono::milliseconds(0));
  for (std::FILE* f : {trace_, raw_, log_})
    if (f)
      std::fclose(f);
}

void KprobeSession::log(const std::string& line) {
  if (log_) {
    std::fputs(line.c_str(), log_);
    std::fputc('\n', log_);
    std::fflush(log_);
  }
}

std::uint32_t KprobeSession::tgid_of(std::uint32_t tid) {
  if (tid == 0)
    return 0;
  if (auto it = tgids_.find(tid); it != tgids_.end())
    return it->second;
  std::uint32_t tgid = tid;
  if (auto status = read_file("/proc/" + std::to_string(tid) + "/status")) {
    const auto at = status->find("\nTgid:");
    if (at != std::string::npos)
      tgid = static_cast<std::uint32_t>(std::strtoul(status->c_str() + at + 6, nullptr, 10));
  }
  tgids_.emplace(tid, tgid);
  return tgid;
}

Result<std::unique_ptr<KprobeSession>> KprobeSession::start(KprobeSessionConfig cfg) {
  if (auto s = check_defs_kernel(cfg.defs, cfg.running_build_id); !s)
    return std::unexpected(s.error());
  auto fs = cfg.tracefs_root.empty() ? Tracefs::open() : Result<Tracefs>(Tracefs(cfg.tracefs_root));
  if (!fs)
    return std::unexpected(fs.error());
  std::unique_ptr<KprobeSession> s(new KprobeSession(std::move(cfg), std::move(*fs)));
  auto say = [&](const std::string& line) {
    s->log(line);
    if (s->cfg_.on_progress)
      s->cfg_.on_progress(line);
  };
  s->log_ = open_out(s->cfg_.log_path);
  s->trace_ = open_out(s->cfg_.trace_path);
  s->raw_ = open_out(s->cfg_.raw_path);
  if (!s->trace_)
    return fail(Exit::io, s->cfg_.trace_path, errno_text(errno), "check the run directory");
  if (auto removed = remove_stale(s->fs_, process_alive, say); !removed)
    return std::unexpected(removed.error());
  s->group_ = s->instance_ = owned_name(::getpid());
  if (auto st = s->install(); !st) {
    s->remove_all();
    s->stopped_ = ExitStatus{1, 0};
    return std::unexpected(st.error());
  }
  const std::int64_t offset = measure_clock_offset().realtime_minus_monotonic_ns;
  KprobeSession* self = s.get();
  s->translator_ = std::make_unique<LineTranslator>(
      s->cfg_.defs, s->cfg_.plan, offset, [self](std::uint32_t tid) { return self->tgid_of(tid); });
  std::fprintf(s->trace_, "%.*s%.*s %lld %.*s=%s %.*s=%s %.*s=%.*s\n",
               static_cast<int>(tf::line_prefix.size()), tf::line_prefix.data(),
               static_cast<int>(tf::kind::ready.size()), tf::kind::ready.data(),
               static_cast<long long>(clock_ns(CLOCK_REALTIME)),
               static_cast<int>(tf::ready_key::plan.size()), tf::ready_key::plan.data(),
               s->cfg_.plan.plan_id.c_str(), static_cast<int>(tf::ready_key::kernel.size()),
               tf::ready_key::kernel.data(), s->cfg_.plan.kernel.c_str(),
               static_cast<int>(tf::ready_key::probes.size()), tf::ready_key::probes.data(),
               static_cast<int>(probes::to_string(s->cfg_.plan.probes).size()),
               probes::to_string(s->cfg_.plan.probes).data());
  std::fflush(s->trace_);
  s->last_output_ = Clock::now();
  say("kprobe events live: " + std::to_string(s->installed_.size()) + " event(s) in group " +
      s->group_ + ", instance " + s->fs_.path("instances/" + s->instance_));
  return s;
}

Status KprobeSession::install() {
  const std::string inst = "instances/" + instance_;
  if (auto st = fs_.make_instance(instance_); !st)
    return st;
  instance_made_ = true;
  // `mono` is CLOCK_MONOTONIC: moved onto the sender's CLOCK_REALTIME by one offset.
  if (auto st = fs_.write(inst + "/trace_clock", "mono"); !st)
    return st;
  if (auto st = fs_.write(inst + "/buffer_size_kb", std::to_string(cfg_.buffer_kb)); !st)
    return st;
  // Each line carries its task's process id (tgid), saved by the kernel when the task is
  // switched out: a thread that sent and exited before its lines are read (packet_mmap -t) has no
  // /proc entry left to look it up in. The option belongs to this instance (not a top-level-only
  // flag, kernel/trace/trace.c TOP_LEVEL_TRACE_FLAGS) and must be set before the events are
  // enabled. Kernels without it (before 4.14) keep the /proc lookup (tgid_of).
  if (auto st = fs_.write(inst + "/options/record-tgid", "1"); !st)
    log("warning: no record-tgid in " + inst + " (" + st.error().why +
        "): a thread's process id is looked up in /proc");
  for (const auto& e : cfg_.defs.events) {
    if (!valid_event_name(e.event) || !valid_probe_location(e.probe))
      return fail(Exit::usage, "kprobe definitions", "event " + e.event + " is malformed",
                  "regenerate them with `harness build --backend kprobe`");
    for (const auto& a : e.args)
      if (!valid_fetch_arg(a))
        return fail(Exit::usage, "kprobe definitions", "argument " + a + " is malformed",
                    "regenerate them with `harness build --backend kprobe`");
    if (auto st = fs_.write("kprobe_events", install_line(group_, e), true); !st)
      return st;
    installed_.push_back(e.event);
    log("installed p:" + group_ + "/" + e.event + " " + e.probe);
  }
  if (auto st = fs_.write(inst + "/events/" + group_ + "/enable", "1"); !st)
    return st;
  // sched.sleep: the sched_switch tracepoint, in this instance only, for the workload's tasks
  // (their comm; the correlator keeps the records of tasks inside tpacket_snd).
  if (cfg_.plan.find("sched.sleep")) {
    const std::string tp = inst + "/events/" + std::string(sched_switch_event);
    sleep_comms_ = cfg_.sleep_comms;
    if (sleep_comms_.empty())
      if (auto c = read_file("/proc/self/comm"); c && !c->empty())
        sleep_comms_.push_back(c->substr(0, c->find('\n')));
    reader_tid_ = static_cast<std::uint32_t>(::gettid());
    const std::string filter = sched_switch_filter(sleep_comms_, reader_tid_);
    if (auto st = fs_.write(tp + "/filter", filter); !st)
      log("warning: no filter on sched_switch (" + st.error().why + ")");
    if (auto st = fs_.write(tp + "/enable", "1"); !st)
      return st;
    log("enabled " + std::string(sched_switch_event) + " in " + inst + " with filter " + filter);
  }
  pipe_fd_ = ::open(fs_.path(inst + "/trace_pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (pipe_fd_ < 0)
    return fail(Exit::io, fs_.path(inst + "/trace_pipe"), errno_text(errno));
  return {};
}

Status KprobeSession::wait_ready(std::chrono::milliseconds) {
  if (interrupt_requested())
    return fail(Exit::interrupted, "starting the kprobe tracer",
                "interrupted by signal " + std::to_string(interrupt_signal()));
  return {}; // live since start()
}

void KprobeSession::drain() {
  if (pipe_fd_ < 0)
    return;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(pipe_fd_, buf, sizeof buf);
    if (n <= 0)
      break;
    last_output_ = Clock::now();
    if (raw_)
      std::fwrite(buf, 1, static_cast<std::size_t>(n), raw_);
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
      translator_->translate(std::string_view(partial_).substr(start, nl - start), out_);
    partial_.erase(0, start);
  }
  if (!out_.empty() && trace_) {
    std::fwrite(out_.data(), 1, out_.size(), trace_);
    out_.clear();
  }
}

// A thread entered tpacket_snd under a name the sched_switch filter does not let through (a
// --pid program that exec'd or named its threads after attach): from now on it does. Sleeps of
// that name before its first record was read are not seen (docs/DESIGN.md "kprobe tracer").
void KprobeSession::widen_sleep_filter() {
  if (!translator_ || translator_->sender_comms().size() == sender_comms_checked_)
    return;
  const auto& seen = translator_->sender_comms();
  bool added = false;
  for (; sender_comms_checked_ < seen.size(); ++sender_comms_checked_) {
    const std::string& c = seen[sender_comms_checked_];
    if (std::find(sleep_comms_.begin(), sleep_comms_.end(), c) == sleep_comms_.end()) {
      sleep_comms_.push_back(c);
      added = true;
    }
  }
  if (!added || !instance_made_)
    return;
  const std::string filter = sched_switch_filter(sleep_comms_, reader_tid_);
  const std::string file =
      "instances/" + instance_ + "/events/" + std::string(sched_switch_event) + "/filter";
  if (auto st = fs_.write(file, filter); !st)
    log("warning: sched_switch filter not widened (" + st.error().why + ")");
  else
    log("sched_switch filter now " + filter);
}

std::optional<ExitStatus> KprobeSession::pump(std::chrono::milliseconds slice) {
  if (stopped_)
    return stopped_;
  pollfd p{pipe_fd_, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(slice.count()));
  drain();
  widen_sleep_filter();
  return std::nullopt;
}

std::uint64_t KprobeSession::completions() const {
  if (!translator_)
    return 0;
  const auto& h = translator_->hits_by_anchor();
  std::uint64_t most = 0;
  for (auto a : probes::completion_anchors)
    if (auto it = h.find(std::string(a)); it != h.end())
      most = std::max(most, it->second);
  return most;
}

// What the instance lost beyond the markers placed in the stream, as LOST records over the whole
// run (DESIGN.md "Lost records"): per-CPU overruns no marker counted, the probes' misses (a hit
// while another kprobe handler ran), and hits that neither explains.
void KprobeSession::account_losses() {
  translator_->flush_lost(out_);
  namespace lc = tf::lost_cause;
  std::uint64_t total = 0;
  for (const auto& [cpu, n] : ring_buffer_losses(fs_, instance_)) {
    total += n;
    if (const std::uint64_t marked = translator_->lost_marked_on(cpu); n > marked)
      out_ += tf::lost_record(std::nullopt, std::nullopt, cpu, n - marked, lc::overrun);
  }
  if (const auto profile = kprobe_profile(fs_, installed_)) {
    if (profile->misses > 0)
      out_ +=
          tf::lost_record(std::nullopt, std::nullopt, std::nullopt, profile->misses, lc::missed);
    const std::uint64_t read = translator_->event_lines();
    if (profile->hits > read + total)
      out_ += tf::lost_record(std::nullopt, std::nullopt, std::nullopt,
                              profile->hits - read - total, lc::uncounted);
    lost_ =
        total + profile->misses + (profile->hits > read + total ? profile->hits - read - total : 0);
  } else {
    lost_ = std::max(total, translator_->lost_marked());
    log("note: kprobe_profile does not tell this run's events apart; probe misses not counted");
  }
  if (trace_ && !out_.empty()) {
    std::fwrite(out_.data(), 1, out_.size(), trace_);
    out_.clear();
  }
  if (lost_ > 0 || translator_->lost_uncounted()) {
    const std::string n = std::to_string(lost_) + (translator_->lost_uncounted() ? "+" : "");
    log("warning: the tracer lost " + n + " event(s); see the LOST records in the trace");
    if (cfg_.on_progress)
      cfg_.on_progress("warning: the kprobe tracer lost " + n +
                       " event(s) (ring buffer overrun or probe misses); the report does not "
                       "judge the frames and calls they touched (buffer: " +
                       std::to_string(cfg_.buffer_kb) + " KiB per CPU)");
  }
}

void KprobeSession::remove_all() {
  if (pipe_fd_ >= 0) {
    ::close(pipe_fd_);
    pipe_fd_ = -1;
  }
  if (instance_made_) {
    if (auto st = fs_.remove_instance(instance_); !st)
      log("warning: " + st.error().why);
    instance_made_ = false;
  }
  for (const auto& e : installed_)
    if (auto st = fs_.write("kprobe_events", remove_line(group_, e), true); !st)
      log("warning: " + st.error().why);
  if (!installed_.empty())
    log("removed " + std::to_string(installed_.size()) + " kprobe event(s) of group " + group_);
  installed_.clear();
}

ExitStatus KprobeSession::stop(std::chrono::milliseconds) {
  if (stopped_)
    return *stopped_;
  if (instance_made_) {
    (void)fs_.write("instances/" + instance_ + "/events/" + group_ + "/enable", "0");
    if (cfg_.plan.find("sched.sleep"))
      (void)fs_.write(
          "instances/" + instance_ + "/events/" + std::string(sched_switch_event) + "/enable", "0");
  }
  drain();
  if (instance_made_ && translator_)
    account_losses();
  if (trace_ && translator_) {
    for (const auto& p : cfg_.plan.anchors) {
      auto it = translator_->hits_by_anchor().find(p.anchor);
      std::fprintf(trace_, "%.*s%.*s %s %llu\n", static_cast<int>(tf::line_prefix.size()),
                   tf::line_prefix.data(), static_cast<int>(tf::kind::hits.size()),
                   tf::kind::hits.data(), p.anchor.c_str(),
                   static_cast<unsigned long long>(
                       it == translator_->hits_by_anchor().end() ? 0 : it->second));
    }
    std::fprintf(trace_, "%.*s%.*s %lld\n", static_cast<int>(tf::line_prefix.size()),
                 tf::line_prefix.data(), static_cast<int>(tf::kind::end.size()),
                 tf::kind::end.data(), static_cast<long long>(clock_ns(CLOCK_REALTIME)));
    ended_ = true;
  }
  remove_all();
  for (std::FILE* f : {trace_, raw_, log_})
    if (f)
      std::fflush(f);
  stopped_ = ExitStatus{0, 0};
  return *stopped_;
}

Error KprobeSession::failure(const ExitStatus& st, const std::string& while_doing) const {
  return Error{Exit::tracer_failed, "kprobe tracer " + while_doing,
               "it stopped (" + st.describe() + "); details in " + cfg_.log_path,
               "`harness doctor --backend kprobe` checks what kprobe events need"};
}

} // namespace harness::kprobe
