#include "net/netlink.hpp"

#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace knlab {

namespace {

int errno_of(int nl_err) {
  switch (nl_err < 0 ? -nl_err : nl_err) {
    case NLE_EXIST: return EEXIST;
    case NLE_PERM: return EPERM;
    case NLE_NOACCESS: return EACCES;
    case NLE_NODEV: return ENODEV;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_NOADDR: return EADDRNOTAVAIL;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_BUSY: return EBUSY;
    case NLE_NOMEM: return ENOMEM;
    case NLE_AGAIN: return EAGAIN;
    case NLE_MSGSIZE: return EMSGSIZE;
    default: return 0;
  }
}

}  // namespace

Error nl_error(std::string op, std::string object, int nl_err, std::string netns) {
  int err = errno_of(nl_err);
  Error e = sys_error(std::move(op), std::move(object), err, std::move(netns));
  if (err == 0) e.detail = nl_geterror(nl_err);
  return e;
}

Result<int> NsContext::ifindex(const std::string& ifname) const {
  ifreq ifr{};
  if (ifname.size() >= IFNAMSIZ) return fail(sys_error("look up interface", ifname, ENAMETOOLONG, ns.name()));
  std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
  if (::ioctl(inet.get(), SIOCGIFINDEX, &ifr) != 0)
    return fail(sys_error("look up interface", ifname, errno, ns.name()));
  return ifr.ifr_ifindex;
}

Result<NsContext*> NetlinkSession::context(const std::string& netns) {
  if (auto it = contexts_.find(netns); it != contexts_.end()) return it->second.get();
  NetnsRef ref = netns.empty() ? KN_TRY(NetnsRef::current()) : KN_TRY(NetnsRef::open(netns));
  NlSockPtr sock(nl_socket_alloc());
  if (!sock) return fail(sys_error("allocate netlink socket", "", ENOMEM, netns));
  Fd inet;
  {
    // Sockets belong to the namespace they are created in: create both inside, then leave.
    auto inside = KN_TRY(ScopedNetns::enter(ref));
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
      return fail(nl_error("connect netlink socket", "NETLINK_ROUTE", err, netns));
    inet.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!inet.valid()) return fail(sys_error("open socket", "AF_INET", errno, netns));
  }
  auto ctx = std::make_unique<NsContext>(NsContext{std::move(ref), std::move(sock), std::move(inet)});
  NsContext* raw = ctx.get();
  contexts_.emplace(netns, std::move(ctx));
  return raw;
}

}  // namespace knlab
