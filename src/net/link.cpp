#include "net/link.hpp"

#include <linux/if_link.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include <fmt/core.h>

namespace knlab {

Status link_set_up(NsContext& ctx, const std::string& ifname) {
  int index = KN_TRY(ctx.ifindex(ifname));
  NlLinkPtr change(rtnl_link_alloc());
  NlLinkPtr orig(rtnl_link_alloc());
  if (!change || !orig) return fail(sys_error("allocate link", ifname, ENOMEM, ctx.ns.name()));
  rtnl_link_set_ifindex(orig.get(), index);
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(ctx.sock.get(), orig.get(), change.get(), 0); err < 0)
    return fail(nl_error("set link up", ifname, err, ctx.ns.name()));
  return {};
}

Result<bool> link_is_up(const NsContext& ctx, const std::string& ifname) {
  ifreq ifr{};
  if (ifname.size() >= IFNAMSIZ) return fail(sys_error("read link flags", ifname, ENAMETOOLONG, ctx.ns.name()));
  std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
  if (::ioctl(ctx.inet.get(), SIOCGIFFLAGS, &ifr) != 0) return fail(sys_error("read link flags", ifname, errno, ctx.ns.name()));
  return (ifr.ifr_flags & IFF_UP) != 0;
}

Status bridge_add(NsContext& ctx, const std::string& name, unsigned mtu) {
  NlLinkPtr link(rtnl_link_bridge_alloc());
  if (!link) return fail(sys_error("allocate bridge", name, ENOMEM, ctx.ns.name()));
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_mtu(link.get(), mtu);
  if (int err = rtnl_link_add(ctx.sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return fail(nl_error("create bridge", name, err, ctx.ns.name()));
  return {};
}

Status veth_add(NsContext& ctx, const std::string& name, const std::string& master,
                const NetnsRef& peer_ns, const std::string& peer_name, unsigned mtu) {
  int master_index = KN_TRY(ctx.ifindex(master));
  // Freed with its peer by rtnl_link_put (libnl's veth ops own the pair).
  NlLinkPtr link(rtnl_link_veth_alloc());
  if (!link) return fail(sys_error("allocate veth", name, ENOMEM, ctx.ns.name()));
  rtnl_link_set_name(link.get(), name.c_str());
  rtnl_link_set_mtu(link.get(), mtu);
  rtnl_link_set_master(link.get(), master_index);
  rtnl_link_set_flags(link.get(), IFF_UP);
  NlLinkPtr peer(rtnl_link_veth_get_peer(link.get()));  // takes a reference
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  rtnl_link_set_mtu(peer.get(), mtu);
  // The peer is not set up here: this kernel refuses IFF_UP on a peer created in another
  // namespace (ENOTCONN), so the pod side brings its eth0 up itself.
  rtnl_link_set_ns_fd(peer.get(), peer_ns.fd());
  if (int err = rtnl_link_add(ctx.sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return fail(nl_error("create veth pair", fmt::format("{} <-> {}/{}", name, peer_ns.name(), peer_name),
                         err, ctx.ns.name()));
  return {};
}

Status link_delete(NsContext& ctx, const std::string& ifname) {
  NlLinkPtr link(rtnl_link_alloc());
  if (!link) return fail(sys_error("allocate link", ifname, ENOMEM, ctx.ns.name()));
  rtnl_link_set_name(link.get(), ifname.c_str());
  if (int err = rtnl_link_delete(ctx.sock.get(), link.get()); err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
    return fail(nl_error("delete link", ifname, err, ctx.ns.name()));
  return {};
}

Status bridge_port_set_hairpin(NsContext& ctx, const std::string& ifname, bool on) {
  int index = KN_TRY(ctx.ifindex(ifname));
  // Port flags live in IFLA_PROTINFO of an AF_BRIDGE RTM_SETLINK (what `bridge link set` sends);
  // libnl's generic rtnl_link_change sends RTM_NEWLINK, which the bridge ignores for protinfo.
  std::unique_ptr<nl_msg, NlDeleter<nlmsg_free>> msg(nlmsg_alloc_simple(RTM_SETLINK, NLM_F_ACK));
  if (!msg) return fail(sys_error("allocate netlink message", ifname, ENOMEM, ctx.ns.name()));
  ifinfomsg ifi{};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  nlattr* protinfo = nullptr;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
      !(protinfo = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED)) ||
      nla_put_u8(msg.get(), IFLA_BRPORT_MODE, on ? 1 : 0) < 0)
    return fail(sys_error("build netlink message", ifname, EMSGSIZE, ctx.ns.name()));
  nla_nest_end(msg.get(), protinfo);
  if (int err = nl_send_sync(ctx.sock.get(), msg.release()); err < 0)
    return fail(nl_error("set bridge port hairpin mode", ifname, err, ctx.ns.name()));
  return {};
}

}  // namespace knlab
