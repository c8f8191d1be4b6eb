#include "base/child_proc.hpp"

#include "base/signals.hpp"

#include <array>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bp = boost::process;

namespace harness {
namespace {

using Clock = std::chrono::steady_clock;

// Runs in the child between fork and exec. PR_SET_PDEATHSIG: a child (stap, staprun, qemu, ip)
// gets SIGTERM when harness dies, even by SIGKILL, instead of running on forever; SIGTERM lets
// staprun unload its module. The signal follows the forking thread, so long-lived children are
// started from a thread that lives as long as they do (the main thread). The getppid() check
// covers a parent that died before the prctl.
struct ChildSetup : bp::extend::handler {
  bool new_group = false;
  pid_t parent = ::getpid();
  template <class Exec> void on_exec_setup(Exec&) const {
    if (new_group)
      ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
      ::_exit(127);
  }
};

// Splits a byte stream into lines for a sink; keeps the unfinished tail.
class LineSplitter {
public:
  explicit LineSplitter(LineSink sink) : sink_(std::move(sink)) {}
  void feed(const char* data, size_t n) {
    buf_.append(data, n);
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1)
      if (sink_)
        sink_(std::string_view(buf_).substr(start, nl - start));
    buf_.erase(0, start);
  }
  void flush() {
    if (!buf_.empty() && sink_)
      sink_(buf_);
    buf_.clear();
  }

private:
  LineSink sink_;
  std::string buf_;
};

// Whether a process of group `pgid` is still running: one that is not yet a zombie. A member
// killed a moment ago has closed its files (the parent sees EOF) before it stops being one.
bool group_running(pid_t pgid) {
  if (::kill(-pgid, 0) != 0)
    return false; // ESRCH: the group is empty
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line))
      continue;
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so parse after the
    // last ')'.
    const auto rp = line.rfind(')');
    if (rp == std::string::npos)
      continue;
    std::istringstream rest(line.substr(rp + 1));
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z' && state != 'X')
      return true;
  }
  return false;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

class BoostChild final : public ChildProc {
public:
  BoostChild(bp::child child, int out_fd, int err_fd, const ChildSpec& spec)
      : child_(std::move(child)), pgid_(spec.own_process_group ? child_.id() : 0),
        out_(spec.on_stdout), err_(spec.on_stderr), fds_{out_fd, err_fd} {}

  ~BoostChild() override {
    if (!status_)
      terminate(std::chrono::milliseconds(500));
    for (int& fd : fds_)
      close_fd(fd);
  }

  pid_t pid() const override { return child_.id(); }

  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout) override {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (reap() && !streams_open())
        return status_;
      if (status_ && Clock::now() >= drain_deadline_) {
        // A grandchild still holds the pipes; the child itself is gone.
        for (int& fd : fds_)
          close_fd(fd);
        flush();
        return status_;
      }
      const auto now = Clock::now();
      if (now >= deadline || interrupt_requested())
        return std::nullopt;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      pump(std::min<long>(left.count(), status_ ? 10 : 20));
    }
  }

  void send_signal(int sig) override {
    if (status_)
      return;
    if (pgid_ > 0)
      ::kill(-pgid_, sig);
    else
      ::kill(child_.id(), sig);
  }

  ExitStatus terminate(std::chrono::milliseconds grace) override {
    for (int sig : {SIGINT, SIGTERM, SIGKILL}) {
      if (reap())
        break;
      send_signal(sig);
      const auto deadline = Clock::now() + (sig == SIGKILL ? std::chrono::seconds(5) : grace);
      while (!reap() && Clock::now() < deadline)
        pump(10);
    }
    // Kill stragglers of the group (a grandchild that ignored SIGINT) so nothing is left behind,
    // and return only once they are gone (bounded: a process stuck in the kernel cannot be
    // waited for forever).
    if (pgid_ > 0) {
      ::kill(-pgid_, SIGKILL);
      const auto gone = Clock::now() + std::chrono::seconds(2);
      while (group_running(pgid_) && Clock::now() < gone)
        pump(5);
    }
    const auto drain = Clock::now() + std::chrono::milliseconds(200);
    while (streams_open() && Clock::now() < drain)
      pump(10);
    for (int& fd : fds_)
      close_fd(fd);
    flush();
    return status_.value_or(ExitStatus{-1, SIGKILL});
  }

  std::optional<ExitStatus> exit_status() const override { return status_; }

private:
  bool streams_open() const { return fds_[0] >= 0 || fds_[1] >= 0; }

  static void close_fd(int& fd) {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }

  void flush() {
    out_.flush();
    err_.flush();
  }

  bool reap() {
    if (status_)
      return true;
    std::error_code ec;
    if (child_.running(ec) || ec)
      return false;
    const int native = child_.native_exit_code();
    ExitStatus st;
    if (WIFSIGNALED(native)) {
      st.signal = WTERMSIG(native);
    } else {
      st.code = WEXITSTATUS(native);
    }
    status_ = st;
    drain_deadline_ = Clock::now() + std::chrono::milliseconds(500);
    return true;
  }

  // Reads whatever is ready on the pipes, waiting at most `ms`.
  void pump(long ms) {
    std::array<pollfd, 3> p{};
    int n = 0;
    for (int fd : fds_)
      if (fd >= 0)
        p[n++] = {fd, POLLIN, 0};
    // Once an interrupt is pending its pipe stays readable: watching it then would turn every
    // wait (e.g. terminate()'s grace period) into a busy loop.
    const int ifd = interrupt_requested() ? -1 : interrupt_fd();
    int ipos = -1;
    if (ifd >= 0) {
      ipos = n;
      p[n++] = {ifd, POLLIN, 0};
    }
    if (n == 0 || (n == 1 && ipos == 0)) {
      ::usleep(static_cast<useconds_t>(ms * 1000));
      return;
    }
    if (::poll(p.data(), static_cast<nfds_t>(n), static_cast<int>(ms)) <= 0)
      return;
    for (int i = 0; i < n; ++i) {
      if (i == ipos || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      const int which = p[i].fd == fds_[0] ? 0 : 1;
      char buf[65536];
      const ssize_t got = ::read(p[i].fd, buf, sizeof buf);
      if (got > 0) {
        (which == 0 ? out_ : err_).feed(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close_fd(fds_[which]);
        (which == 0 ? out_ : err_).flush();
      }
    }
  }

  bp::child child_;
  pid_t pgid_;
  LineSplitter out_, err_;
  std::array<int, 2> fds_;
  std::optional<ExitStatus> status_;
  Clock::time_point drain_deadline_{};
};

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

} // namespace

std::string ExitStatus::describe() const {
  if (signal != 0)
    return "killed by " + signal_name(signal);
  return "exit status " + std::to_string(code);
}

std::optional<std::string> find_program(std::string_view name) {
  if (name.empty())
    return std::nullopt;
  if (name.find('/') != std::string_view::npos) {
    std::string p(name);
    return is_executable(p) ? std::optional(p) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs =
      path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty())
      continue;
    std::string candidate = dir + "/" + std::string(name);
    if (is_executable(candidate))
      return candidate;
  }
  return std::nullopt;
}

Result<std::unique_ptr<ChildProc>> spawn(const ChildSpec& spec) {
  const auto exe = find_program(spec.exe);
  if (!exe)
    return fail(Exit::io, "program " + spec.exe, "not found or not executable",
                "install it or check PATH");

  // O_CLOEXEC pipes so they never leak into other children; boost dup2()s them onto 1 and 2.
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]})
      if (fd >= 0)
        ::close(fd);
  };
  if ((spec.on_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) ||
      (spec.on_stderr && ::pipe2(err_pipe, O_CLOEXEC) != 0)) {
    const int e = errno;
    close_all();
    return fail(Exit::io, "starting " + spec.exe, "pipe: " + errno_text(e));
  }

  bp::environment env = boost::this_process::environment();
  // set(), not operator[]: Boost 1.74's find() memcmp()s the key against every entry and reads
  // past the end of shorter ones (AddressSanitizer: heap-buffer-overflow).
  for (const auto& [k, v] : spec.env)
    env.set(k, v);

  std::error_code ec;
  const std::string cwd = spec.cwd.empty() ? "." : spec.cwd;
  auto launch = [&](auto&& out_redirect, auto&& err_redirect) {
    ChildSetup setup;
    setup.new_group = spec.own_process_group;
    return bp::child(bp::exe = *exe, bp::args = spec.args, env, bp::start_dir = cwd, out_redirect,
                     err_redirect, bp::std_in < bp::null, setup, ec);
  };
  bp::child child;
  {
    // Boost's redirection targets differ in type, hence the explicit combinations. pipe_out
    // takes our O_CLOEXEC pipe ends and closes the write end in the parent once started.
    using boost::process::detail::posix::pipe_out;
    if (spec.on_stdout && spec.on_stderr)
      child = launch(pipe_out<1, -1>(out_pipe[1], out_pipe[0]),
                     pipe_out<2, -1>(err_pipe[1], err_pipe[0]));
    else if (spec.on_stdout)
      child = spec.inherit_stderr
                  ? launch(pipe_out<1, -1>(out_pipe[1], out_pipe[0]), bp::std_err > stderr)
                  : launch(pipe_out<1, -1>(out_pipe[1], out_pipe[0]), bp::std_err > bp::null);
    else if (spec.on_stderr)
      child = spec.inherit_stdout
                  ? launch(bp::std_out > stdout, pipe_out<2, -1>(err_pipe[1], err_pipe[0]))
                  : launch(bp::std_out > bp::null, pipe_out<2, -1>(err_pipe[1], err_pipe[0]));
    else if (spec.inherit_stdout && spec.inherit_stderr)
      child = launch(bp::std_out > stdout, bp::std_err > stderr);
    else if (spec.inherit_stdout)
      child = launch(bp::std_out > stdout, bp::std_err > bp::null);
    else if (spec.inherit_stderr)
      child = launch(bp::std_out > bp::null, bp::std_err > stderr);
    else
      child = launch(bp::std_out > bp::null, bp::std_err > bp::null);
  }
  // pipe_out closed the write ends in the parent, on success and on error alike.
  if (ec || !child.valid()) {
    for (int fd : {out_pipe[0], err_pipe[0]})
      if (fd >= 0)
        ::close(fd);
    return fail(Exit::io, "starting " + *exe, ec ? ec.message() : "spawn failed");
  }
  for (int fd : {out_pipe[0], err_pipe[0]})
    if (fd >= 0)
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return std::make_unique<BoostChild>(std::move(child), out_pipe[0], err_pipe[0], spec);
}

Result<Captured> run_captured(ChildSpec spec, std::chrono::milliseconds timeout) {
  Captured cap;
  spec.on_stdout = [&cap](std::string_view l) {
    cap.out.append(l);
    cap.out.push_back('\n');
  };
  spec.on_stderr = [&cap](std::string_view l) {
    cap.err.append(l);
    cap.err.push_back('\n');
  };
  auto child = spawn(spec);
  if (!child)
    return std::unexpected(child.error());
  if (auto st = (*child)->wait(timeout)) {
    cap.status = *st;
  } else {
    cap.timed_out = !interrupt_requested();
    cap.status = (*child)->terminate(std::chrono::milliseconds(1000));
  }
  return cap;
}

std::string describe_command(const ChildSpec& spec) {
  std::string s = spec.exe;
  for (const auto& a : spec.args) {
    s.push_back(' ');
    if (a.empty() || a.find_first_of(" \t'\"") != std::string::npos)
      s += "'" + a + "'";
    else
      s += a;
  }
  return s;
}

} // namespace harness
