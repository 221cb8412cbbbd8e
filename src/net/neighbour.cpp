#include "net/neighbour.hpp"

#include <fmt/core.h>
#include <linux/neighbour.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "net/address.hpp"

namespace knlab {

Result<NlAddressPtr> make_mac_addr(const std::string& mac) {
  nl_addr* raw = nullptr;
  if (nl_addr_parse(mac.c_str(), AF_LLC, &raw) < 0 || !raw)
    return fail(state_error("parse MAC address", fmt::format("\"{}\" is not a MAC address", mac)));
  return NlAddressPtr(raw);
}

Status neigh_add(NsContext& ctx, const std::string& dev, Ipv4 ip, const std::string& mac) {
  int index = KN_TRY(ctx.ifindex(dev));
  NlNeighPtr n(rtnl_neigh_alloc());
  if (!n) return fail(sys_error("allocate neighbour", ip.str(), ENOMEM, ctx.ns.name()));
  NlAddressPtr dst = KN_TRY(make_nl_addr(Cidr{ip, 32}));
  NlAddressPtr ll = KN_TRY(make_mac_addr(mac));
  rtnl_neigh_set_ifindex(n.get(), index);
  rtnl_neigh_set_family(n.get(), AF_INET);
  rtnl_neigh_set_dst(n.get(), dst.get());
  rtnl_neigh_set_lladdr(n.get(), ll.get());
  rtnl_neigh_set_state(n.get(), NUD_PERMANENT);
  if (int err = rtnl_neigh_add(ctx.sock.get(), n.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return fail(nl_error("add neighbour", fmt::format("{} lladdr {} dev {}", ip.str(), mac, dev), err, ctx.ns.name()));
  return {};
}

Status fdb_add(NsContext& ctx, const std::string& dev, const std::string& mac, Ipv4 dst_ip) {
  int index = KN_TRY(ctx.ifindex(dev));
  NlAddressPtr ll = KN_TRY(make_mac_addr(mac));
  // Built by hand: libnl's rtnl_neigh_add takes the family from the destination address, which
  // would turn this AF_BRIDGE FDB entry into an AF_INET neighbour (the kernel says EINVAL).
  std::unique_ptr<nl_msg, NlDeleter<nlmsg_free>> msg(
      nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK));
  if (!msg) return fail(sys_error("allocate netlink message", mac, ENOMEM, ctx.ns.name()));
  ndmsg ndm{};
  ndm.ndm_family = AF_BRIDGE;
  ndm.ndm_ifindex = index;
  ndm.ndm_state = NUD_PERMANENT;
  ndm.ndm_flags = NTF_SELF;
  std::uint32_t dst = dst_ip.network_order();
  if (nlmsg_append(msg.get(), &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
      nla_put(msg.get(), NDA_LLADDR, static_cast<int>(nl_addr_get_len(ll.get())), nl_addr_get_binary_addr(ll.get())) < 0 ||
      nla_put(msg.get(), NDA_DST, sizeof dst, &dst) < 0)
    return fail(sys_error("build netlink message", mac, EMSGSIZE, ctx.ns.name()));
  if (int err = nl_send_sync(ctx.sock.get(), msg.release()); err < 0)
    return fail(nl_error("add fdb entry", fmt::format("{} dev {} dst {}", mac, dev, dst_ip.str()), err, ctx.ns.name()));
  return {};
}

}  // namespace knlab
