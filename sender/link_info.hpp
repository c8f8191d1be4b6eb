#pragma once

#include "base/result.hpp"
#include "sender/send_record.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace harness::sender {

// What the sender needs to know about an interface. Read with rtnetlink (RTM_GETLINK) rather than
// /sys/class/net: a netlink socket answers for the network namespace of the thread that opened
// it, while sysfs shows the namespace of whoever mounted it, so inside a namespace entered with
// setns() sysfs would report the wrong interface (or none). Netlink needs no child process either.
struct LinkInfo {
  int ifindex = 0;
  std::string name;
  unsigned flags = 0; // IFF_UP, IFF_RUNNING, ...
  unsigned type = 0;  // ARPHRD_*
  unsigned mtu = 0;
  unsigned min_mtu = 0; // 0 when the kernel does not say
  unsigned max_mtu = 0;
  std::array<std::uint8_t, 6> mac{};
  IfaceCounters counters;

  bool up() const;
  bool carrier() const; // IFF_RUNNING: the link is up end to end (a veth whose peer is up)
};

// Looks the interface up in the calling thread's network namespace. Errors: Exit::interface
// when it does not exist, Exit::io when netlink fails.
Result<LinkInfo> query_link(const std::string& name);

// Sets the MTU (SIOCSIFMTU) in the calling thread's namespace; the error names the value and the
// interface's allowed range when the kernel refuses it.
Status set_mtu(const LinkInfo& link, unsigned mtu);

} // namespace harness::sender
