#include "base/scratch_net.hpp"

#include "base/child_proc.hpp"
#include "base/files.hpp"
#include "base/signals.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace harness {
namespace {

constexpr const char* kNetnsDir = "/run/netns/";
constexpr const char* kPrefix = "hx-";

std::string random_hex(std::size_t bytes) {
  std::string out;
  unsigned char b[16] = {};
  bytes = std::min(bytes, sizeof b);
  if (::getrandom(b, bytes, 0) != static_cast<ssize_t>(bytes))
    for (std::size_t i = 0; i < bytes; ++i) // cannot fail after boot; the add is atomic anyway
      b[i] = static_cast<unsigned char>(::getpid() >> (i % 4 * 8)) ^ static_cast<unsigned char>(i);
  for (std::size_t i = 0; i < bytes; ++i) {
    char h[3];
    std::snprintf(h, sizeof h, "%02x", b[i]);
    out += h;
  }
  return out;
}

// Runs an iproute2 tool (argv only) for `what`; its stderr names the failure.
Result<Captured> run_iproute2(const std::string& exe, const std::vector<std::string>& args,
                              const std::string& what) {
  auto r = run_captured(ChildSpec{.exe = exe, .args = args}, std::chrono::seconds(10));
  // An interrupt stops the child at once: its failure says nothing about permissions.
  if (interrupt_requested())
    return fail(Exit::interrupted, what, "interrupted");
  if (!r)
    return fail(Exit::io, what, r.error().why, "install iproute2 (apt-get install iproute2)");
  return r;
}

std::string failure_text(const Captured& r) {
  std::string msg = r.err.empty() ? r.status.describe() : r.err;
  while (!msg.empty() && msg.back() == '\n')
    msg.pop_back();
  return msg;
}

Status ip(const std::vector<std::string>& args, const std::string& what) {
  auto r = run_iproute2("ip", args, what);
  if (!r)
    return std::unexpected(r.error());
  if (!r->status.success()) {
    const std::string msg = failure_text(*r);
    return fail(r->out.empty() && msg.find("Operation not permitted") != std::string::npos
                    ? Exit::not_root
                    : Exit::io,
                what, "ip " + args.front() + ": " + msg,
                "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)");
  }
  return {};
}

// Detaches and unlinks /run/netns/NAME as `ip netns delete` does, without a child process:
// cleanup must also work while an interrupt is pending, when run_captured stops children.
Status delete_netns(const std::string& name) {
  const std::string path = kNetnsDir + name;
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    const int e = errno;
    return fail(e == EPERM ? Exit::not_root : Exit::io, "removing network namespace " + name,
                "umount " + path + ": " + errno_text(e),
                "remove it with `ip netns delete " + name + "`");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    const int e = errno;
    return fail(Exit::io, "removing network namespace " + name,
                "unlink " + path + ": " + errno_text(e),
                "remove it with `ip netns delete " + name + "`");
  }
  return {};
}

std::string lock_path(const std::string& name) {
  return std::string(kScratchLockDir) + "/" + name + ".lock";
}

// The owner's lock: created under a temporary name, locked, then linked into place, so a
// cleaner never finds an unlocked lock file of a live owner. The kernel drops the lock when
// the owner dies, however it dies (docs/DESIGN.md, "Scratch namespaces").
Result<int> take_owner_lock(const std::string& name) {
  if (auto s = make_dirs(kScratchLockDir); !s)
    return std::unexpected(s.error());
  const std::string tmp = std::string(kScratchLockDir) + "/." + name + ".tmp";
  const int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(Exit::io, "network namespace " + name,
                "cannot create owner lock " + tmp + ": " + errno_text(errno));
  const std::string owner = std::to_string(::getpid()) + "\n";
  const bool ok = ::flock(fd, LOCK_EX | LOCK_NB) == 0 &&
                  ::write(fd, owner.data(), owner.size()) == static_cast<ssize_t>(owner.size()) &&
                  // link(), not rename(): never replace the lock of another owner.
                  ::link(tmp.c_str(), lock_path(name).c_str()) == 0;
  const int e = errno;
  ::unlink(tmp.c_str());
  if (!ok) {
    ::close(fd);
    return fail(Exit::io, "network namespace " + name,
                "cannot take owner lock " + lock_path(name) + ": " + errno_text(e));
  }
  return fd;
}

} // namespace

Status ScratchNet::add_tbf(std::int64_t rate_bps, std::int64_t burst_bytes,
                           std::int64_t limit_bytes) {
  const std::string what = "adding a tbf qdisc to " + tx_if_ + " in network namespace " + name_;
  const std::vector<std::string> args = {"-netns", name_,
                                         "qdisc",  "add",
                                         "dev",    tx_if_,
                                         "root",   "tbf",
                                         "rate",   std::to_string(rate_bps) + "bit",
                                         "burst",  std::to_string(burst_bytes),
                                         "limit",  std::to_string(limit_bytes)};
  auto r = run_iproute2("tc", args, what);
  if (!r)
    return std::unexpected(r.error());
  if (!r->status.success())
    return fail(Exit::io, what, "tc: " + failure_text(*r),
                "the kernel needs CONFIG_NET_SCHED and CONFIG_NET_SCH_TBF (the test kernel of "
                "`harness kernel ensure` has both)");
  return {};
}

Result<ScratchNet> ScratchNet::create() {
  // Leftovers of killed runs go first; a live run's namespaces are locked and stay.
  (void)remove_stale_scratch_nets();
  if (interrupt_requested())
    return fail(Exit::interrupted, "creating a network namespace", "interrupted");
  // Random bytes make the name unique across PID namespaces; the pid is for humans.
  return create_named(kPrefix + std::to_string(::getpid()) + "-" + random_hex(8));
}

// IPv6 off in the namespace before its links exist: a fresh link would otherwise send its own
// packets (router solicitation, DAD, MLD reports: "+4 packets for 3 frames" in the audit), which
// the interface counters would mix with the sender's frames. A kernel without IPv6 has none.
Status ScratchNet::disable_ipv6() {
  auto guard = NetnsGuard::enter(path_);
  if (!guard)
    return std::unexpected(guard.error());
  for (const char* conf : {"all", "default"}) {
    const std::string path = std::string("/proc/sys/net/ipv6/conf/") + conf + "/disable_ipv6";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
      return {};
    const bool written = fd >= 0 && ::write(fd, "1\n", 2) == 2;
    const int e = errno;
    if (fd >= 0)
      ::close(fd);
    if (!written)
      return fail(Exit::io, path, errno_text(e), "network namespaces need root (CAP_NET_ADMIN)");
  }
  return {};
}

Result<ScratchNet> ScratchNet::create_named(const std::string& name) {
  ScratchNet n;
  const std::string tag = random_hex(4);
  // Interface names are limited to 15 characters; they live inside the namespace only.
  n.tx_if_ = "hx" + tag + "a";
  n.rx_if_ = "hx" + tag + "b";
  n.path_ = kNetnsDir + name;
  auto lock = take_owner_lock(name);
  if (!lock)
    return std::unexpected(lock.error());
  n.lock_fd_ = *lock;
  n.lock_name_ = name;
  // Never adopt a namespace someone else made (`ip netns add` also creates /run/netns/NAME with
  // O_EXCL). A name that did not exist before is ours from here on, even when the add fails
  // half-way (an interrupt stops `ip` at once): the destructor then removes what it left.
  if (netns_exists(name))
    return fail(Exit::io, "creating network namespace " + name,
                "a namespace of that name exists already; harness leaves it alone");
  auto added = ip({"netns", "add", name}, "creating network namespace " + name);
  if (netns_exists(name))
    n.name_ = name;
  if (!added)
    return std::unexpected(added.error());
  n.name_ = name;
  // From here on the destructor removes the namespace, whatever fails next.
  if (auto s = n.disable_ipv6(); !s)
    return std::unexpected(s.error());
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
    lock_name_ = std::exchange(o.lock_name_, {});
    lock_fd_ = std::exchange(o.lock_fd_, -1);
  }
  return *this;
}

ScratchNet::~ScratchNet() {
  (void)remove();
}

Status ScratchNet::remove() {
  if (!name_.empty()) {
    // Deleting the namespace destroys the veth pair inside it.
    if (auto s = delete_netns(name_); !s)
      return s;
    name_.clear();
  }
  if (lock_fd_ >= 0) {
    ::unlink(lock_path(lock_name_).c_str());
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  return {};
}

Result<std::vector<std::string>> remove_stale_scratch_nets() {
  std::vector<std::string> removed;
  DIR* dir = ::opendir(kScratchLockDir);
  if (!dir)
    return removed; // no harness run ever took a lock here
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir)) {
    const std::string f = e->d_name;
    if (f.starts_with(kPrefix) && f.ends_with(".lock"))
      names.push_back(f.substr(0, f.size() - 5));
  }
  ::closedir(dir);
  Status first_error;
  for (const auto& name : names) {
    const int fd = ::open(lock_path(name).c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      continue;
    // Locked: its owner is alive (in whatever PID namespace). Unlocked: the owner is gone.
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      auto s = delete_netns(name);
      if (s) {
        ::unlink(lock_path(name).c_str());
        removed.push_back(name);
      } else if (first_error) {
        first_error = s;
      }
    }
    ::close(fd);
  }
  if (!first_error)
    return std::unexpected(first_error.error());
  return removed;
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
    if (e == ENOENT) // a name the user gave (--netns NAME is /run/netns/NAME)
      return fail(Exit::usage, "network namespace " + ns_path, "does not exist",
                  "`ip netns list` shows the namespaces there are; make one with `ip netns add "
                  "NAME`");
    return fail(Exit::io, "network namespace " + ns_path, errno_text(e),
                "the file must be a network namespace (a /run/netns entry or /proc/PID/ns/net)");
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
