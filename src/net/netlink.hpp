// Netlink plumbing shared by the per-object files (link.cpp, address.cpp, route.cpp, ...):
// RAII owners for libnl objects, libnl error -> Error, and NetlinkSession, which keeps one
// rtnetlink socket per namespace. A socket talks to the namespace it was created in, so after
// one setns() round trip per namespace every request is a plain send/ack, with no switching.
#pragma once

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <map>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "net/fd.hpp"
#include "net/netns.hpp"

namespace knlab {

template <auto Release>
struct NlDeleter {
  template <class T>
  void operator()(T* p) const {
    if (p) Release(p);
  }
};
using NlSockPtr = std::unique_ptr<nl_sock, NlDeleter<nl_socket_free>>;
using NlLinkPtr = std::unique_ptr<rtnl_link, NlDeleter<rtnl_link_put>>;
using NlAddrPtr = std::unique_ptr<rtnl_addr, NlDeleter<rtnl_addr_put>>;
using NlRoutePtr = std::unique_ptr<rtnl_route, NlDeleter<rtnl_route_put>>;
using NlNeighPtr = std::unique_ptr<rtnl_neigh, NlDeleter<rtnl_neigh_put>>;
using NlAddressPtr = std::unique_ptr<nl_addr, NlDeleter<nl_addr_put>>;

// A libnl error code (negative NLE_*) as an Error, with the errno it stands for so that hints
// ("run as root", "already exists") work the same as for plain syscalls.
Error nl_error(std::string op, std::string object, int nl_err, std::string netns);

// Everything needed to talk to one namespace. Move-only; owned by NetlinkSession.
struct NsContext {
  NetnsRef ns;
  NlSockPtr sock;
  Fd inet;  // AF_INET datagram socket in the namespace, for SIOCGIFINDEX lookups

  // Interface index by name in this namespace (one ioctl, no netlink dump).
  Result<int> ifindex(const std::string& ifname) const;
};

class NetlinkSession {
 public:
  // Socket context for a namespace ("" = the namespace kn-lab runs in). Opened on first use.
  Result<NsContext*> context(const std::string& netns);
  // Forgets a namespace (after it was deleted).
  void forget(const std::string& netns) { contexts_.erase(netns); }

 private:
  std::map<std::string, std::unique_ptr<NsContext>> contexts_;
};

}  // namespace knlab
