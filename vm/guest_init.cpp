#include "vm/guest_init.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "vm/console_log.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <optional>
#include <string>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace harness::vm {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Appends lines to a file. Buffered (64 KiB, or 300 ms after the last write): every write is
// a 9p round trip to the host, and a probe trace has hundreds of thousands of lines. A guest
// that dies loses at most that much of the tail.
class LineFile {
public:
  explicit LineFile(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {}
  ~LineFile() {
    flush();
    if (fd_ >= 0)
      ::close(fd_);
  }
  LineFile(const LineFile&) = delete;
  LineFile& operator=(const LineFile&) = delete;
  bool ok() const { return fd_ >= 0; }
  void write_line(std::string_view line) {
    buf_.append(line);
    buf_.push_back('\n');
    const auto now = Clock::now();
    if (buf_.size() >= (64u << 10) || now - last_flush_ >= milliseconds(300))
      flush();
  }
  void flush() {
    last_flush_ = Clock::now();
    size_t off = 0;
    while (fd_ >= 0 && off < buf_.size()) {
      const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      off += static_cast<size_t>(n);
    }
    buf_.clear();
  }

private:
  int fd_;
  std::string buf_;
  Clock::time_point last_flush_ = Clock::now();
};

struct RunningStep {
  const GuestStep* step = nullptr;
  std::unique_ptr<ChildProc> proc;
  std::shared_ptr<LineFile> out, err;
  std::shared_ptr<bool> ready_seen = std::make_shared<bool>(false);
  Clock::time_point started;
  StepOutcome outcome;
  bool recorded = false; // exit status taken
  bool reported = false; // outcome added to the status
};

std::vector<std::pair<std::string, std::string>> step_env(const GuestJob& job) {
  std::vector<std::pair<std::string, std::string>> env;
  bool has_path = false;
  for (const auto& kv : job.env) {
    has_path = has_path || kv.first == "PATH";
    env.push_back(kv);
  }
  // The kernel starts init with only HOME and TERM.
  if (!has_path && !std::getenv("PATH"))
    env.emplace_back("PATH", std::string(default_path));
  return env;
}

Result<RunningStep> start_step(const GuestJob& job, const GuestStep& step, const std::string& share,
                               const ConsoleWriter& console) {
  RunningStep rs;
  rs.step = &step;
  rs.outcome.name = step.name;
  rs.out = std::make_shared<LineFile>(share + "/" + step.name + ".stdout");
  rs.err = std::make_shared<LineFile>(share + "/" + step.name + ".stderr");
  if (!rs.out->ok() || !rs.err->ok())
    return fail(Exit::io, "step " + step.name, "cannot create its output files in " + share);

  ChildSpec spec;
  spec.exe = step.argv.front();
  spec.args.assign(step.argv.begin() + 1, step.argv.end());
  spec.env = step_env(job);
  spec.cwd = share;
  const bool echo = job.echo_output;
  const std::string ready = step.ready_text;
  auto out = rs.out;
  auto err = rs.err;
  auto seen = rs.ready_seen;
  const std::string name = step.name;
  spec.on_stdout = [out, seen, ready, echo, console, name](std::string_view line) {
    out->write_line(line);
    if (!ready.empty() && line.find(ready) != std::string_view::npos)
      *seen = true;
    if (echo)
      console(name + "| " + std::string(line));
  };
  spec.on_stderr = [err, echo, console, name](std::string_view line) {
    err->write_line(line);
    if (echo)
      console(name + "! " + std::string(line));
  };
  console(std::string(marker::step) + " " + step.name + " start");
  rs.started = Clock::now();
  auto proc = spawn(spec);
  if (!proc) {
    rs.outcome.error = proc.error().what + ": " + proc.error().why;
    err->write_line("harness vm-guest: " + rs.outcome.error);
    return rs;
  }
  rs.outcome.started = true;
  rs.proc = std::move(*proc);
  return rs;
}

void record_exit(RunningStep& rs, const ExitStatus& st, const ConsoleWriter& console) {
  rs.recorded = true;
  rs.out->flush();
  rs.err->flush();
  rs.outcome.exit_code = st.signal ? -1 : st.code;
  rs.outcome.signal = st.signal;
  rs.outcome.elapsed_ms =
      std::chrono::duration_cast<milliseconds>(Clock::now() - rs.started).count();
  std::string what = rs.outcome.timed_out ? "timeout"
                     : st.signal          ? "signal " + std::to_string(st.signal)
                                          : "exit " + std::to_string(st.code);
  console(std::string(marker::step) + " " + rs.outcome.name + " " + what);
}

// Waits for a background step's ready text; false when it exited or the time ran out.
bool wait_ready(RunningStep& rs, const ConsoleWriter& console) {
  const auto deadline = Clock::now() + milliseconds(rs.step->timeout_ms);
  while (!*rs.ready_seen) {
    if (Clock::now() >= deadline) {
      rs.outcome.error = "no line containing '" + rs.step->ready_text + "' within " +
                         std::to_string(rs.step->timeout_ms) + " ms";
      return false;
    }
    if (auto st = rs.proc->wait(milliseconds(20))) {
      if (*rs.ready_seen)
        break;
      rs.outcome.error = "exited before it was ready (" + st->describe() + ")";
      record_exit(rs, *st, console);
      return false;
    }
  }
  rs.outcome.ready = true;
  return true;
}

Status run_ip(const std::vector<std::string>& args) {
  ChildSpec spec;
  spec.exe = "ip";
  spec.args = args;
  std::string err;
  auto res = run_captured(spec, std::chrono::seconds(10));
  if (!res)
    return std::unexpected(res.error());
  if (!res->status.success())
    return fail(Exit::io, "ip " + args.front() + " " + (args.size() > 1 ? args[1] : ""),
                res->status.describe() + ": " + res->err);
  return {};
}

Status create_veth(const GuestVeth& v) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"link", "set", "lo", "up"},
           {"link", "add", v.tx, "type", "veth", "peer", "name", v.rx},
           {"link", "set", v.tx, "up"},
           {"link", "set", v.rx, "up"}})
    if (auto st = run_ip(args); !st)
      return st;
  return {};
}

std::string kernel_release() {
  struct utsname u {};
  return ::uname(&u) == 0 ? u.release : "";
}

Status mount_one(const char* source, const std::string& target, const char* type,
                 unsigned long flags, const char* data, bool busy_ok = false) {
  ::mkdir(target.c_str(), 0755); // exists on the read-only root; fine when it fails
  if (::mount(source, target.c_str(), type, flags, data) == 0)
    return {};
  const int e = errno;
  if (busy_ok && e == EBUSY)
    return {};
  return fail(Exit::vm_failed, "guest mount " + std::string(type) + " on " + target, errno_text(e));
}

constexpr const char* guest_tmp = "/run/tmp";

// The job's steps in order: a background step is left running (ready first when it says what
// to wait for), a foreground step is waited for while the background ones are drained, and a
// background step is stopped after the step it names (or at the end). After a step fails the
// rest are listed as not run.
class StepRunner {
public:
  StepRunner(const GuestJob& job, const std::string& share, const ConsoleWriter& console,
             GuestStatus& status)
      : job_(job), share_(share), console_(console), status_(status) {}

  // False: the step could not be made at all (status.error says why); no later step runs.
  bool run(const GuestStep& step) {
    if (stop_) {
      StepOutcome skipped;
      skipped.name = step.name;
      skipped.error = "not run: an earlier step failed";
      status_.steps.push_back(skipped);
      return true;
    }
    auto rs = start_step(job_, step, share_, console_);
    if (!rs) {
      status_.error = rs.error().what + ": " + rs.error().why;
      console_(std::string(marker::error) + " " + status_.error);
      return false;
    }
    if (!rs->proc) { // could not start: recorded in the outcome
      console_(std::string(marker::error) + " step " + step.name + ": " + rs->outcome.error);
      status_.steps.push_back(rs->outcome);
      stop_ = step.background;
      if (!step.background)
        last_foreground = step.name;
      return true;
    }
    if (step.background) {
      if (!step.ready_text.empty() && !wait_ready(*rs, console_)) {
        console_(std::string(marker::error) + " step " + step.name + ": " + rs->outcome.error);
        stop_ = true;
      }
      background_.push_back(std::move(*rs));
      return true;
    }
    last_foreground = step.name;
    wait_foreground(*rs, step);
    status_.steps.push_back(rs->outcome);
    stop_background(step.name);
    return true;
  }

  // The background steps to stop after `after` (all that are left for ""). SIGINT first: stap
  // runs its `probe end` (HITS, END) before exiting.
  void stop_background(const std::string& after) {
    for (auto& rs : background_) {
      if (rs.reported || (!after.empty() && rs.step->stop_after != after))
        continue;
      if (rs.proc && !rs.recorded) {
        const auto done = rs.proc->exit_status();
        record_exit(rs, done ? *done : rs.proc->terminate(milliseconds(5000)), console_);
      }
      status_.steps.push_back(rs.outcome);
      rs.reported = true;
    }
  }

  std::string last_foreground;

private:
  // Background steps' pipes must be drained meanwhile: a full pipe blocks stapio, and then
  // stap's relay buffers overflow ("transport failures") and probe records are lost.
  void wait_foreground(RunningStep& rs, const GuestStep& step) {
    std::optional<ExitStatus> st;
    const auto deadline = Clock::now() + milliseconds(step.timeout_ms);
    while (!st && Clock::now() < deadline) {
      st = rs.proc->wait(milliseconds(10));
      for (auto& bg : background_)
        if (bg.proc && !bg.recorded)
          (void)bg.proc->wait(milliseconds(1));
    }
    if (!st) {
      rs.outcome.timed_out = true;
      st = rs.proc->terminate(milliseconds(2000));
    }
    record_exit(rs, *st, console_);
  }

  const GuestJob& job_;
  const std::string& share_;
  const ConsoleWriter& console_;
  GuestStatus& status_;
  std::vector<RunningStep> background_;
  bool stop_ = false;
};

} // namespace

long uptime_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

Status mount_guest_filesystems(const std::string& share) {
  // harness-vm-preinit (sanitizer builds) has mounted /proc already. Before that, /proc is
  // the read-only 9p root's directory: the HOST's procfs seen through 9p (statfs even reports
  // procfs there), so only /proc/self naming this process proves it is the guest's.
  char self[32] = {};
  const ssize_t n = ::readlink("/proc/self", self, sizeof self - 1);
  if (n <= 0 || std::string(self, static_cast<size_t>(n)) != std::to_string(::getpid()))
    if (auto s = mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr); !s)
      return s;
  if (auto s = mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr); !s)
    return s;
  // CONFIG_DEVTMPFS_MOUNT may already have mounted it.
  if (auto s = mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, nullptr, true); !s)
    return s;
  // POSIX shared memory and semaphores (shm_open, sem_open) live on /dev/shm: a program run by
  // `vm exec` or `run --exec` in the guest expects it as on any distribution (issue 28).
  if (auto s = mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"); !s)
    return s;
  if (auto s = mount_one("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr); !s)
    return s;
  if (auto s = mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"); !s)
    return s;
  // Scratch space is /run/tmp (TMPDIR for every step). Nothing is mounted over the host's /tmp:
  // a checkout or build there (harness itself, the module, the plan) must stay visible.
  if (::mkdir(guest_tmp, 01777) != 0 && errno != EEXIST)
    return fail(Exit::vm_failed, std::string("guest mkdir ") + guest_tmp, errno_text(errno));
  ::chmod(guest_tmp, 01777);
  ::setenv("TMPDIR", guest_tmp, 1);
  return mount_one(std::string(share_tag).c_str(), share, "9p", 0,
                   "trans=virtio,version=9p2000.L,msize=262144");
}

[[noreturn]] void power_off_guest() {
  ::sync();
  // qemu runs with -no-reboot: a reboot request ends it. Power off needs ACPI, which a minimal
  // kernel lacks; halt is the last resort (the host's timeout then ends qemu).
  ::reboot(RB_AUTOBOOT);
  ::reboot(RB_POWER_OFF);
  ::reboot(RB_HALT_SYSTEM);
  for (;;)
    ::pause();
}

Result<GuestStatus> run_guest_job(const GuestOptions& opts, const ConsoleWriter& console) {
  GuestStatus status;
  status.kernel = kernel_release();
  const std::string job_path = opts.share + "/" + std::string(job_file_name);
  const std::string status_path = opts.share + "/" + std::string(status_file_name);

  auto job = load_json_file(job_path, job_from_json);
  if (!job)
    return std::unexpected(job.error());

  auto write_status = [&]() -> Status {
    status.uptime_ms = uptime_ms();
    return write_file_atomic(status_path, status_to_json(status));
  };

  if (job->veth && !opts.not_init) {
    if (auto st = create_veth(job->veth_names); !st) {
      status.error = st.error().what + ": " + st.error().why;
      console(std::string(marker::error) + " " + status.error);
      if (auto w = write_status(); !w)
        return std::unexpected(w.error());
      return status;
    }
  }

  StepRunner runner(*job, opts.share, console, status);
  for (const auto& step : job->steps)
    if (!runner.run(step))
      break;
  runner.stop_background("");

  const std::string result_name =
      job->result_step.empty() ? runner.last_foreground : job->result_step;
  for (const auto& o : status.steps)
    if (o.name == result_name && o.started)
      status.result = o.signal ? 128 + o.signal : o.exit_code;
  if (auto w = write_status(); !w)
    return std::unexpected(w.error());
  return status;
}

} // namespace harness::vm
