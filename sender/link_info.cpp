#include "sender/link_info.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>
#include <vector>

// glibc's <net/if.h> must come before the kernel's headers, which then skip their copy of it.
// clang-format off
#include <net/if.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
// clang-format on

namespace harness::sender {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

Error netlink_error(const std::string& step, int err) {
  return Error{Exit::io, "reading interface details (netlink " + step + ")", errno_text(err),
               "the kernel's rtnetlink should always answer; is this a container without "
               "NETLINK_ROUTE?"};
}

// RTA_DATA, NLMSG_DATA, RTA_NEXT and NLMSG_NEXT without their C casts.
template <class T> auto* attr_data(T* rta) {
  using Byte = std::conditional_t<std::is_const_v<T>, const char, char>;
  return reinterpret_cast<Byte*>(rta) + RTA_LENGTH(0);
}
template <class T> const T* msg_data(const nlmsghdr* nh) {
  return reinterpret_cast<const T*>(reinterpret_cast<const char*>(nh) + NLMSG_HDRLEN);
}
const rtattr* next_attr(const rtattr* rta, int& len) {
  len -= static_cast<int>(RTA_ALIGN(rta->rta_len));
  return reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(rta) +
                                         RTA_ALIGN(rta->rta_len));
}
nlmsghdr* next_msg(nlmsghdr* nh, int& len) {
  len -= static_cast<int>(NLMSG_ALIGN(nh->nlmsg_len));
  return reinterpret_cast<nlmsghdr*>(reinterpret_cast<char*>(nh) + NLMSG_ALIGN(nh->nlmsg_len));
}

void parse_attrs(const ifinfomsg* ifi, int len, LinkInfo& out) {
  const auto* rta = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(ifi) +
                                                    NLMSG_ALIGN(sizeof(ifinfomsg)));
  for (; RTA_OK(rta, len); rta = next_attr(rta, len)) {
    const void* data = attr_data(rta);
    const auto payload = RTA_PAYLOAD(rta);
    switch (rta->rta_type) {
    case IFLA_IFNAME:
      out.name.assign(static_cast<const char*>(data),
                      strnlen(static_cast<const char*>(data), payload));
      break;
    case IFLA_MTU:
      if (payload >= sizeof(unsigned))
        std::memcpy(&out.mtu, data, sizeof(unsigned));
      break;
    case IFLA_MIN_MTU:
      if (payload >= sizeof(unsigned))
        std::memcpy(&out.min_mtu, data, sizeof(unsigned));
      break;
    case IFLA_MAX_MTU:
      if (payload >= sizeof(unsigned))
        std::memcpy(&out.max_mtu, data, sizeof(unsigned));
      break;
    case IFLA_ADDRESS:
      if (payload >= out.mac.size())
        std::memcpy(out.mac.data(), data, out.mac.size());
      break;
    case IFLA_STATS64:
      if (payload >= sizeof(rtnl_link_stats64)) {
        rtnl_link_stats64 st;
        std::memcpy(&st, data, sizeof st);
        out.counters.valid = true;
        out.counters.tx_packets = st.tx_packets;
        out.counters.tx_bytes = st.tx_bytes;
        out.counters.tx_dropped = st.tx_dropped;
      }
      break;
    default:
      break;
    }
  }
}

} // namespace

bool LinkInfo::up() const {
  return (flags & IFF_UP) != 0;
}
bool LinkInfo::carrier() const {
  return (flags & IFF_RUNNING) != 0;
}

Result<LinkInfo> query_link(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return fail(Exit::interface, "interface '" + name + "'", "not a valid interface name",
                "list interfaces with `ip link`");
  Fd sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (sock.fd < 0)
    return std::unexpected(netlink_error("socket", errno));

  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
    char attrs[64];
  } req{};
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  // Look the link up by name (IFLA_IFNAME), answered by rtnl_getlink in the socket's netns.
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) +
                                        NLMSG_ALIGN(sizeof(nlmsghdr) + sizeof(ifinfomsg)));
  rta->rta_type = IFLA_IFNAME;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(name.size() + 1));
  std::memcpy(attr_data(rta), name.c_str(), name.size() + 1);
  req.nh.nlmsg_len = static_cast<unsigned>(NLMSG_ALIGN(sizeof(nlmsghdr) + sizeof(ifinfomsg)) +
                                           RTA_ALIGN(rta->rta_len));

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.fd, &req, req.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0)
    return std::unexpected(netlink_error("send", errno));

  std::vector<char> buf(32768);
  // The socket is blocking; the kernel answers a unicast request at once, so bound the wait
  // anyway in case something is badly wrong.
  timeval tv{2, 0};
  ::setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const ssize_t n = ::recv(sock.fd, buf.data(), buf.size(), 0);
  if (n < 0)
    return std::unexpected(netlink_error("recv", errno));
  int left = static_cast<int>(n);
  for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(nh, left);
       nh = next_msg(nh, left)) {
    if (nh->nlmsg_type == NLMSG_ERROR) {
      const auto* e = msg_data<nlmsgerr>(nh);
      if (e->error == -ENODEV)
        return fail(Exit::interface, "interface " + name, "no such interface",
                    "list interfaces with `ip link`" +
                        std::string(" (a namespace's with `ip -n NAME link`)"));
      return std::unexpected(netlink_error("RTM_GETLINK", -e->error));
    }
    if (nh->nlmsg_type != RTM_NEWLINK)
      continue;
    const auto* ifi = msg_data<ifinfomsg>(nh);
    LinkInfo out;
    out.ifindex = ifi->ifi_index;
    out.flags = ifi->ifi_flags;
    out.type = ifi->ifi_type;
    parse_attrs(ifi, static_cast<int>(IFLA_PAYLOAD(nh)), out);
    if (out.name.empty())
      out.name = name;
    return out;
  }
  return std::unexpected(netlink_error("RTM_GETLINK", EPROTO));
}

Status set_mtu(const LinkInfo& link, unsigned mtu) {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.fd < 0)
    return fail(Exit::io, "--mtu " + std::to_string(mtu), "socket(): " + errno_text(errno));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, link.name.c_str(), std::min(link.name.size(), sizeof ifr.ifr_name - 1));
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(sock.fd, SIOCSIFMTU, &ifr) == 0)
    return {};
  const int e = errno;
  if (e == EPERM)
    return fail(Exit::not_root, "--mtu " + std::to_string(mtu),
                "setting the MTU of " + link.name + ": " + errno_text(e),
                "run as root (CAP_NET_ADMIN)");
  std::string range;
  if (link.max_mtu)
    range = "; " + link.name + " takes " + std::to_string(link.min_mtu) + " to " +
            std::to_string(link.max_mtu);
  return fail(Exit::usage, "--mtu " + std::to_string(mtu),
              link.name + " refuses it (" + errno_text(e) + ")" + range,
              "choose an MTU within the interface's range");
}

} // namespace harness::sender
