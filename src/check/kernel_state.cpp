// Kernel checks: a route as the kernel's own lookup finds it (`ip route get ... fibmatch`), a
// forwarding-database entry of a device (`bridge fdb show dev flannel.1`), in a namespace of
// the lab, read with net/inspect.
#include <fmt/core.h>

#include <cstdlib>
#include <cstring>

#include "check/attempt.hpp"
#include "net/inspect.hpp"
#include "net/netlink.hpp"

namespace knlab::check {

namespace {

std::string link_name(const std::vector<LinkInfo>& links, int ifindex) {
  for (const LinkInfo& l : links)
    if (l.ifindex == ifindex) return l.name;
  return fmt::format("if{}", ifindex);
}

Result<Attempt> route_check(NsContext& ctx, const CheckSpec& c) {
  Cidr want = *Cidr::parse(c.route);
  // The network's own address, or for the default route one no lab uses (TEST-NET-1, RFC 5737).
  Ipv4 probe = want.prefix == 0 ? *Ipv4::parse("192.0.2.1") : want.network();
  RouteLookup r = KN_TRY(route_get(ctx, probe, Ipv4{}, 0, 0));
  if (r.error) return Attempt{false, fmt::format("{} has no route to {}: {}", c.node, c.route, std::strerror(r.error))};
  std::vector<LinkInfo> links = KN_TRY(links_read(ctx));
  std::string dev = link_name(links, r.oif);
  std::string got = fmt::format("{}{} dev {} proto {}", r.dst ? r.dst->str() : "?", r.gateway ? " via " + r.gateway->str() : "", dev, r.protocol);
  if (!r.dst || r.dst->str() != c.route) return Attempt{false, fmt::format("{} routes {} by {}, not by a route for {}", c.node, c.route, got, c.route)};
  if (!c.route_via.empty() && (!r.gateway || r.gateway->str() != c.route_via))
    return Attempt{false, fmt::format("{} has {}, not via {}", c.node, got, c.route_via)};
  if (!c.dev.empty() && dev != c.dev) return Attempt{false, fmt::format("{} has {}, not dev {}", c.node, got, c.dev)};
  return Attempt{true, fmt::format("{}: {}", c.node, got)};
}

Result<Attempt> fdb_check(NsContext& ctx, const CheckSpec& c) {
  std::vector<LinkInfo> links = KN_TRY(links_read(ctx));
  auto dev = std::find_if(links.begin(), links.end(), [&](const LinkInfo& l) { return l.name == c.fdb; });
  if (dev == links.end()) return Attempt{false, fmt::format("{} has no device {}", c.node, c.fdb)};
  std::vector<std::string> entries;
  for (const FdbInfo& f : KN_TRY(fdb_read(ctx))) {
    bool on_dev = f.ifindex == dev->ifindex || f.master == dev->ifindex;  // a VXLAN device's own, or learnt on a bridge's ports
    bool multicast = f.mac.size() >= 2 && std::strtoul(f.mac.substr(0, 2).c_str(), nullptr, 16) & 1;
    if (!on_dev || multicast || (f.mac == "00:00:00:00:00:00" && !f.dst) || (f.master && f.permanent)) continue;
    std::string e = f.mac + (f.dst ? " dst " + f.dst->str() : "");
    if (c.fdb_dst.empty() || (f.dst && f.dst->str() == c.fdb_dst)) return Attempt{true, fmt::format("{}: {} dev {}", c.node, e, c.fdb)};
    entries.push_back(e);
  }
  if (c.fdb_dst.empty()) return Attempt{false, fmt::format("{}: the forwarding database of {} is empty", c.node, c.fdb)};
  return Attempt{false, fmt::format("{}: no entry of {} points to {} ({})", c.node, c.fdb, c.fdb_dst,
                                    entries.empty() ? std::string("none at all") : fmt::format("{} entries elsewhere", entries.size()))};
}

Result<Attempt> kernel(const LabView& view, const CheckSpec& c) {
  std::string netns = KN_TRY(netns_of(view, c.node, c.ns));
  NetlinkSession session;
  NsContext* ctx = KN_TRY(session.context(netns));
  return c.route.empty() ? fdb_check(*ctx, c) : route_check(*ctx, c);
}

}  // namespace

Attempt kernel_attempt(const LabView& view, const CheckSpec& c) {
  auto a = kernel(view, c);
  if (!a) return {false, a.error().format()};
  return *a;
}

}  // namespace knlab::check
