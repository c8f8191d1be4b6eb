#include "harness/session/exec_workload.hpp"

#include "base/files.hpp"
#include "base/printable.hpp"

#include <cerrno>
#include <cstdio>
#include <deque>

namespace harness::session {

// One output stream of the program: every line to its file, the last few kept for the report.
struct ExecWorkload::Stream {
  std::string path;
  std::FILE* file = nullptr;
  std::deque<std::string> tail;
  void line(std::string_view l) {
    if (file) {
      std::fwrite(l.data(), 1, l.size(), file);
      std::fputc('\n', file);
    }
    tail.emplace_back(printable_bounded(l)); // the file keeps the line as printed
    if (tail.size() > kWorkloadTailLines)
      tail.pop_front();
  }
  ~Stream() {
    if (file)
      std::fclose(file);
  }
};

std::vector<std::string> substitute_iface(const std::vector<std::string>& argv,
                                          const std::string& iface) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (std::string a : argv) {
    for (auto at = a.find(kIfacePlaceholder); at != std::string::npos;
         at = a.find(kIfacePlaceholder, at + iface.size()))
      a.replace(at, kIfacePlaceholder.size(), iface);
    out.push_back(std::move(a));
  }
  return out;
}

Result<report::WorkloadInfo> describe_process(std::uint32_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  auto cmdline = read_file(proc + "/cmdline");
  if (pid == 0 || !cmdline || !process_alive(pid))
    return fail(Exit::usage, "--pid " + std::to_string(pid), "no such process",
                "give the pid of the running TX-ring program (pgrep NAME)");
  report::WorkloadInfo w;
  w.pid = pid;
  w.attached = true;
  std::string_view rest = *cmdline;
  while (!rest.empty()) {
    const auto nul = rest.find('\0');
    w.argv.emplace_back(printable_bounded(rest.substr(0, nul))); // another user's process
    if (nul == std::string_view::npos)
      break;
    rest.remove_prefix(nul + 1);
  }
  if (w.argv.empty()) // a kernel thread: no TX ring of its own
    return fail(Exit::usage, "--pid " + std::to_string(pid), "is a kernel thread",
                "give the pid of the running TX-ring program (pgrep NAME)");
  return w;
}

bool process_alive(std::uint32_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat)
    return false;
  const auto rp = stat->rfind(')');
  return rp == std::string::npos || rp + 2 >= stat->size() || (*stat)[rp + 2] != 'Z';
}

namespace {

Result<std::unique_ptr<ExecWorkload::Stream>> open_stream(const std::string& path) {
  // The run directory is new or holds no run (run_session checked): never a user's file.
  auto s = std::make_unique<ExecWorkload::Stream>();
  s->path = path;
  s->file = std::fopen(path.c_str(), "we");
  if (!s->file)
    return fail(Exit::io, path, "cannot create: " + errno_text(errno));
  return s;
}

// A new network namespace has its loopback down; programs that also use `lo` (the kernel's
// psock_tpacket and txring_overwrite selftests bind to it) expect it up, as on any machine.
Status loopback_up(const std::string& netns) {
  ChildSpec spec{.exe = "ip", .args = {"-n", netns, "link", "set", "lo", "up"}};
  auto r = run_captured(spec, std::chrono::seconds(10));
  if (!r)
    return std::unexpected(r.error());
  if (!r->status.success())
    return fail(Exit::io, "network namespace " + netns,
                "ip link set lo up: " + (r->err.empty() ? r->status.describe() : r->err),
                "network namespaces need root (CAP_NET_ADMIN)");
  return {};
}

} // namespace

Result<std::unique_ptr<ExecWorkload>> ExecWorkload::start(const ExecRequest& req) {
  if (req.argv.empty())
    return fail(Exit::usage, "--exec", "no program after `--`",
                "harness run --veth --exec -- PROGRAM [ARGS...]");
  std::unique_ptr<ExecWorkload> w(new ExecWorkload());
  std::string ns_path = req.netns_path;
  w->iface_ = req.iface;
  if (req.veth) {
    auto n = ScratchNet::create();
    if (!n)
      return std::unexpected(n.error());
    w->net_.emplace(std::move(*n));
    w->iface_ = w->net_->tx_if();
    ns_path = w->net_->path();
    w->netns_ = w->net_->name();
    if (auto s = loopback_up(w->netns_); !s)
      return std::unexpected(s.error());
  } else {
    w->netns_ = ns_path;
  }
  w->argv_ = substitute_iface(req.argv, w->iface_);
  auto out = open_stream(req.dir + "/workload.stdout");
  if (!out)
    return std::unexpected(out.error());
  auto err = open_stream(req.dir + "/workload.stderr");
  if (!err)
    return std::unexpected(err.error());
  w->out_ = std::move(*out);
  w->err_ = std::move(*err);

  ChildSpec spec;
  spec.exe = w->argv_.front();
  spec.args.assign(w->argv_.begin() + 1, w->argv_.end());
  Stream* o = w->out_.get();
  Stream* e = w->err_.get();
  spec.on_stdout = [o](std::string_view l) {
    o->line(l);
  };
  spec.on_stderr = [e](std::string_view l) {
    e->line(l);
  };
  // The child inherits the namespace of the thread that forks it.
  std::optional<NetnsGuard> in_ns;
  if (!ns_path.empty()) {
    auto g = NetnsGuard::enter(ns_path);
    if (!g)
      return std::unexpected(g.error());
    in_ns.emplace(std::move(*g));
  }
  auto child = spawn(spec);
  in_ns.reset();
  if (!child) {
    auto e2 = child.error();
    e2.what = "--exec " + w->argv_.front() + ": " + e2.what;
    return std::unexpected(e2);
  }
  w->child_ = std::move(*child);
  w->pid_ = static_cast<std::uint32_t>(w->child_->pid());
  return w;
}

ExecWorkload::~ExecWorkload() {
  if (child_ && !status_)
    stop(std::chrono::seconds(1));
}

bool ExecWorkload::poll(std::chrono::milliseconds slice) {
  if (status_)
    return true;
  status_ = child_->wait(slice);
  if (status_) {
    std::fflush(out_->file);
    std::fflush(err_->file);
  }
  return status_.has_value();
}

void ExecWorkload::stop(std::chrono::milliseconds grace) {
  if (status_)
    return;
  stopped_ = true;
  status_ = child_->terminate(grace);
  std::fflush(out_->file);
  std::fflush(err_->file);
}

report::WorkloadInfo ExecWorkload::info() const {
  report::WorkloadInfo w;
  for (const auto& a : argv_)
    w.argv.push_back(printable_bounded(a));
  w.pid = pid_;
  w.iface = iface_;
  w.netns = netns_;
  if (status_) {
    w.exited = true;
    w.exit_code = status_->signal ? -1 : status_->code;
    w.signal = status_->signal;
  }
  w.stopped = stopped_;
  w.stdout_file = out_->path;
  w.stderr_file = err_->path;
  w.stdout_tail.assign(out_->tail.begin(), out_->tail.end());
  w.stderr_tail.assign(err_->tail.begin(), err_->tail.end());
  return w;
}

} // namespace harness::session
