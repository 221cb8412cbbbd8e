#include "net/route.hpp"

#include <linux/rtnetlink.h>
#include <netlink/route/nexthop.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netlink/cache.h>

#include <cstring>

#include "net/address.hpp"

namespace knlab {

Status route_add(NsContext& ctx, const Cidr& dst, std::optional<Ipv4> via, const std::string& dev,
                 bool onlink) {
  std::string what = fmt::format("{}{}{}", dst.prefix == 0 ? "default" : dst.str(),
                                 via ? " via " + via->str() : "", dev.empty() ? "" : " dev " + dev);
  NlRoutePtr route(rtnl_route_alloc());
  if (!route) return fail(sys_error("allocate route", what, ENOMEM, ctx.ns.name()));
  NlAddressPtr d = KN_TRY(make_nl_addr(dst));
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_dst(route.get(), d.get());
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  rtnl_route_set_scope(route.get(), via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
  if (!nh) return fail(sys_error("allocate nexthop", what, ENOMEM, ctx.ns.name()));
  if (!dev.empty()) {
    auto index = ctx.ifindex(dev);
    if (!index) {
      rtnl_route_nh_free(nh);
      return fail(index.error());
    }
    rtnl_route_nh_set_ifindex(nh, *index);
  }
  if (via) {
    auto gw = make_nl_addr(Cidr{*via, 32});
    if (!gw) {
      rtnl_route_nh_free(nh);
      return fail(gw.error());
    }
    rtnl_route_nh_set_gateway(nh, gw->get());
  }
  if (onlink) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
  rtnl_route_add_nexthop(route.get(), nh);
  if (int err = rtnl_route_add(ctx.sock.get(), route.get(), NLM_F_EXCL); err < 0)
    return fail(nl_error("add route", what, err, ctx.ns.name()));
  return {};
}

Result<std::vector<Cidr>> routes_by_protocol(NsContext& ctx, int protocol) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_route_alloc_cache(ctx.sock.get(), AF_INET, 0, &raw); err < 0)
    return fail(nl_error("list routes", "", err, ctx.ns.name()));
  std::unique_ptr<nl_cache, NlDeleter<nl_cache_free>> cache(raw);
  std::vector<Cidr> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_protocol(r) != protocol || rtnl_route_get_table(r) != RT_TABLE_MAIN) continue;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (!dst || nl_addr_get_len(dst) != 4) continue;
    std::uint32_t raw_ip = 0;
    std::memcpy(&raw_ip, nl_addr_get_binary_addr(dst), 4);
    out.push_back(Cidr{Ipv4{ntohl(raw_ip)}, nl_addr_get_prefixlen(dst)});
  }
  return out;
}

}  // namespace knlab
