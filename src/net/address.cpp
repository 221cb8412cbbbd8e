#include "net/address.hpp"

#include <netinet/in.h>
#include <netlink/addr.h>
#include <sys/socket.h>

#include <fmt/core.h>

namespace knlab {

Result<NlAddressPtr> make_nl_addr(const Cidr& c) {
  std::uint32_t raw = c.addr.network_order();
  NlAddressPtr a(nl_addr_build(AF_INET, &raw, sizeof raw));
  if (!a) return fail(sys_error("allocate address", c.str(), ENOMEM));
  nl_addr_set_prefixlen(a.get(), static_cast<int>(c.prefix));
  return a;
}

namespace {

// The rtnl address object for `address` on `ifname` (local address set).
Result<NlAddrPtr> address_on(NsContext& ctx, const std::string& ifname, const Cidr& address) {
  int index = KN_TRY(ctx.ifindex(ifname));
  NlAddrPtr addr(rtnl_addr_alloc());
  if (!addr) return fail(sys_error("allocate address", address.str(), ENOMEM, ctx.ns.name()));
  NlAddressPtr local = KN_TRY(make_nl_addr(address));
  rtnl_addr_set_ifindex(addr.get(), index);
  rtnl_addr_set_family(addr.get(), AF_INET);
  if (int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0)
    return fail(nl_error("set address", address.str(), err, ctx.ns.name()));
  return addr;
}

}  // namespace

Status addr_add(NsContext& ctx, const std::string& ifname, const Cidr& address) {
  NlAddrPtr addr = KN_TRY(address_on(ctx, ifname, address));
  if (address.prefix < 31) {
    NlAddressPtr bcast = KN_TRY(make_nl_addr(Cidr{address.broadcast(), 32}));
    rtnl_addr_set_broadcast(addr.get(), bcast.get());
  }
  if (int err = rtnl_addr_add(ctx.sock.get(), addr.get(), NLM_F_EXCL); err < 0)
    return fail(nl_error("add address", fmt::format("{} dev {}", address.str(), ifname), err, ctx.ns.name()));
  return {};
}

Status addr_delete(NsContext& ctx, const std::string& ifname, const Cidr& address) {
  NlAddrPtr addr = KN_TRY(address_on(ctx, ifname, address));
  int err = rtnl_addr_delete(ctx.sock.get(), addr.get(), 0);
  if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND)  // gone already: done
    return fail(nl_error("delete address", fmt::format("{} dev {}", address.str(), ifname), err, ctx.ns.name()));
  return {};
}

}  // namespace knlab
