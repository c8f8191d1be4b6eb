#include "scratch_net.hpp"

#include "child_proc.hpp"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness {
namespace {

std::atomic<int> g_counter{0};

Status ip(const std::vector<std::string>& args, const std::string& what) {
  auto r = run_captured(ChildSpec{.exe = "ip", .args = args}, std::chrono::seconds(10));
  if (!r)
    return fail(Exit::io, what, r.error().why, "install iproute2 (apt-get install iproute2)");
  if (!r->status.success()) {
    std::string msg = r->err.empty() ? r->status.describe() : r->err;
    while (!msg.empty() && msg.back() == '\n')
      msg.pop_back();
    return fail(r->out.empty() && msg.find("Operation not permitted") != std::string::npos
                    ? Exit::not_root
                    : Exit::io,
                what, "ip " + args.front() + ": " + msg,
                "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)");
  }
  return {};
}

} // namespace

Result<ScratchNet> ScratchNet::create() {
  ScratchNet n;
  const int pid = static_cast<int>(::getpid());
  const int k = g_counter++;
  n.name_ = "hx-" + std::to_string(pid) + "-" + std::to_string(k);
  // Interface names are limited to 15 characters.
  const std::string base = "hx" + std::to_string(pid % 1000000) + "_" + std::to_string(k % 100);
  n.tx_if_ = base + "a";
  n.rx_if_ = base + "b";
  n.path_ = "/run/netns/" + n.name_;

  if (auto s = ip({"netns", "add", n.name_}, "creating network namespace " + n.name_); !s)
    return std::unexpected(s.error());
  // From here on the destructor removes the namespace, whatever fails next.
  const std::vector<std::vector<std::string>> steps = {
      {"-n", n.name_, "link", "add", n.tx_if_, "type", "veth", "peer", "name", n.rx_if_},
      {"-n", n.name_, "link", "set", "lo", "up"},
      {"-n", n.name_, "link", "set", n.tx_if_, "up"},
      {"-n", n.name_, "link", "set", n.rx_if_, "up"},
  };
  for (const auto& step : steps)
    if (auto s = ip(step, "setting up veth pair in " + n.name_); !s)
      return std::unexpected(s.error());
  return n;
}

ScratchNet& ScratchNet::operator=(ScratchNet&& o) noexcept {
  if (this != &o) {
    (void)remove();
    name_ = std::exchange(o.name_, {});
    tx_if_ = std::exchange(o.tx_if_, {});
    rx_if_ = std::exchange(o.rx_if_, {});
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

ScratchNet::~ScratchNet() {
  (void)remove();
}

Status ScratchNet::remove() {
  if (name_.empty())
    return {};
  // Deleting the namespace destroys the veth pair inside it. Done as `ip netns delete` does it
  // (detach the bind mount, unlink the file) but without a child process: cleanup must also
  // work while an interrupt is pending, when run_captured stops children at once.
  const std::string path = "/run/netns/" + name_;
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    const int e = errno;
    return fail(e == EPERM ? Exit::not_root : Exit::io, "removing network namespace " + name_,
                "umount " + path + ": " + errno_text(e),
                "remove it with `ip netns delete " + name_ + "`");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    const int e = errno;
    return fail(Exit::io, "removing network namespace " + name_,
                "unlink " + path + ": " + errno_text(e),
                "remove it with `ip netns delete " + name_ + "`");
  }
  name_.clear();
  return {};
}

bool netns_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/run/netns/" + name).c_str(), &st) == 0;
}

Result<NetnsGuard> NetnsGuard::enter(const std::string& ns_path) {
  const int saved = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0)
    return fail(Exit::io, "network namespace",
                "cannot open /proc/thread-self/ns/net: " + errno_text(errno));
  const int target = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    const int e = errno;
    ::close(saved);
    return fail(Exit::io, "network namespace " + ns_path, errno_text(e));
  }
  const int rc = ::setns(target, CLONE_NEWNET);
  const int e = errno;
  ::close(target);
  if (rc != 0) {
    ::close(saved);
    return fail(e == EPERM ? Exit::not_root : Exit::io, "entering network namespace " + ns_path,
                errno_text(e), "run as root");
  }
  return NetnsGuard(saved);
}

NetnsGuard::~NetnsGuard() {
  if (saved_fd_ >= 0) {
    ::setns(saved_fd_, CLONE_NEWNET);
    ::close(saved_fd_);
  }
}

} // namespace harness
