#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace harness {

// Where each scratch namespace's owner holds its lock (NAME.lock, flock'ed for the owner's life).
inline constexpr const char* kScratchLockDir = "/run/harness/netns";

// A throwaway network namespace holding one veth pair, both ends up, created with iproute2
// (`ip`, argv only) and removed, with the pair, when the object is destroyed. Names are
// "hx-<pid>-<16 random hex digits>": unique across PID namespaces, never an existing one. The
// owner holds a lock in kScratchLockDir so a later run can tell a killed run's leftovers from a
// live run's namespace.
class ScratchNet {
public:
  static Result<ScratchNet> create();
  // create() with a given name; fails, deleting nothing, when that namespace exists already.
  static Result<ScratchNet> create_named(const std::string& name);

  ScratchNet(ScratchNet&& o) noexcept { *this = std::move(o); }
  ScratchNet& operator=(ScratchNet&& o) noexcept;
  ScratchNet(const ScratchNet&) = delete;
  ScratchNet& operator=(const ScratchNet&) = delete;
  ~ScratchNet();

  const std::string& name() const {
    return name_;
  } // the namespace, e.g. "hx-1234-0123456789abcdef"
  const std::string& tx_if() const { return tx_if_; } // the end frames are sent on
  const std::string& rx_if() const { return rx_if_; } // its peer, for a receiver
  const std::string& path() const { return path_; }   // /run/netns/<name>

  // Puts a token bucket filter (tbf) qdisc of `rate_bps` bits/s on the tx end: each skb stays
  // in flight (its destructor not run) until tbf releases it, which blocking sends then wait
  // for. `burst_bytes` should be about one frame so frames are held one by one; the queue holds
  // `limit_bytes`. Needs CONFIG_NET_SCH_TBF and iproute2's `tc`.
  Status add_tbf(std::int64_t rate_bps, std::int64_t burst_bytes, std::int64_t limit_bytes);

  // Removes the namespace now (idempotent); reports whether it is gone.
  Status remove();

private:
  ScratchNet() = default;
  Status disable_ipv6();
  std::string name_, tx_if_, rx_if_, path_;
  std::string lock_name_;
  int lock_fd_ = -1;
};

// Runs `fn` with the calling thread inside the network namespace at `ns_path`, then switches
// back. Sockets created inside stay in that namespace after the switch back.
class NetnsGuard {
public:
  static Result<NetnsGuard> enter(const std::string& ns_path);
  NetnsGuard(NetnsGuard&& o) noexcept : saved_fd_(std::exchange(o.saved_fd_, -1)) {}
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  NetnsGuard& operator=(NetnsGuard&&) = delete;
  ~NetnsGuard();

private:
  explicit NetnsGuard(int saved) : saved_fd_(saved) {}
  int saved_fd_ = -1;
};

// Removes the scratch namespaces (and the veth pairs in them) whose owner is gone: their lock
// file is no longer locked. Namespaces of live runs, and any namespace without a harness lock
// file, are left alone. Returns the names removed.
Result<std::vector<std::string>> remove_stale_scratch_nets();

// True when a network namespace with that name exists (for leak checks in tests).
bool netns_exists(const std::string& name);

} // namespace harness
