// The kernel's route lookup (RTM_GETROUTE, as `ip route get ... fibmatch` asks it) and the
// ids a namespace gives the others (RTM_GETNSID, as `ip netns list-id` asks it).
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <fmt/core.h>

#include <cerrno>

#include "net/inspect.hpp"
#include "net/inspect_internal.hpp"
#include "net/nl_exchange.hpp"

namespace knlab {

namespace {

// iproute2's names for route types (rtnl_rtntype_n2a).
std::string type_name(unsigned type) {
  static constexpr const char* kNames[] = {"none",      "unicast",     "local",    "broadcast",
                                           "anycast",   "multicast",   "blackhole", "unreachable",
                                           "prohibit",  "throw",       "nat",      "xresolve"};
  if (type < std::size(kNames)) return kNames[type];
  return fmt::format("{}", type);
}

std::string protocol_name(unsigned protocol) {
  switch (protocol) {
    case RTPROT_KERNEL: return "kernel";
    case RTPROT_BOOT: return "boot";
    case RTPROT_STATIC: return "static";
    case RTPROT_BIRD: return "bird";
    default: return fmt::format("{}", protocol);
  }
}

std::optional<Ipv4> addr_attr(const nlattr* a) {
  if (!a || nla_len(a) != 4) return std::nullopt;
  return ipv4_of_network(nla_data(a));
}

// A multipath route: the first nexthop's device, gateway and flags.
void read_first_nexthop(nlattr* multipath, RouteLookup& out) {
  if (nla_len(multipath) < static_cast<int>(sizeof(rtnexthop))) return;
  auto* nh = static_cast<rtnexthop*>(nla_data(multipath));
  out.oif = nh->rtnh_ifindex;
  out.onlink = (nh->rtnh_flags & RTNH_F_ONLINK) != 0;
  int attrs_len = static_cast<int>(nh->rtnh_len) - static_cast<int>(sizeof(rtnexthop));
  if (attrs_len <= 0) return;
  nlattr* tb[RTA_MAX + 1] = {};
  auto* attrs = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(nh) + sizeof(rtnexthop));
  if (nla_parse(tb, RTA_MAX, attrs, attrs_len, nullptr) == 0) out.gateway = addr_attr(tb[RTA_GATEWAY]);
}

void read_route(nlmsghdr& hdr, RouteLookup& out) {
  if (hdr.nlmsg_type != RTM_NEWROUTE) return;
  nlattr* tb[RTA_MAX + 1] = {};
  if (nlmsg_parse(&hdr, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return;
  const auto* rtm = static_cast<const rtmsg*>(nlmsg_data(&hdr));
  out.type = type_name(rtm->rtm_type);
  out.protocol = protocol_name(rtm->rtm_protocol);
  out.table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
  // A default route has no RTA_DST: 0.0.0.0/0.
  out.dst = Cidr{addr_attr(tb[RTA_DST]).value_or(Ipv4{}), rtm->rtm_dst_len};
  out.onlink = (rtm->rtm_flags & RTNH_F_ONLINK) != 0;
  out.gateway = addr_attr(tb[RTA_GATEWAY]);
  out.prefsrc = addr_attr(tb[RTA_PREFSRC]);
  if (tb[RTA_OIF]) out.oif = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
  if (tb[RTA_MULTIPATH]) read_first_nexthop(tb[RTA_MULTIPATH], out);
}

int put_addr(nl_msg* msg, int type, Ipv4 ip) {
  std::uint32_t be = ip.network_order();
  return nla_put(msg, type, sizeof be, &be);
}

// The request `ip route get DST [from SRC] [iif DEV] [mark M] [fibmatch]` sends.
Result<NlMsgPtr> route_request(const NsContext& ctx, Ipv4 dst, Ipv4 src, int iif, std::uint32_t mark,
                               bool fibmatch) {
  NlMsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, 0));
  if (!msg) return fail(sys_error("look up route", dst.str(), ENOMEM, ctx.ns.name()));
  rtmsg rtm{};
  rtm.rtm_family = AF_INET;
  rtm.rtm_dst_len = 32;
  rtm.rtm_src_len = src.value ? 32 : 0;
  rtm.rtm_flags = fibmatch ? RTM_F_FIB_MATCH : 0;
  bool ok = nlmsg_append(msg.get(), &rtm, sizeof rtm, NLMSG_ALIGNTO) == 0 && put_addr(msg.get(), RTA_DST, dst) == 0 &&
            (!src.value || put_addr(msg.get(), RTA_SRC, src) == 0) &&
            (iif == 0 || nla_put_u32(msg.get(), RTA_IIF, static_cast<std::uint32_t>(iif)) == 0) &&
            (mark == 0 || nla_put_u32(msg.get(), RTA_MARK, mark) == 0);
  if (!ok) return fail(sys_error("build netlink message", "route lookup", EMSGSIZE, ctx.ns.name()));
  return msg;
}

Result<RouteLookup> route_ask(NsContext& ctx, Ipv4 dst, Ipv4 src, int iif, std::uint32_t mark, bool fibmatch) {
  NlMsgPtr msg = KN_TRY(route_request(ctx, dst, src, iif, mark, fibmatch));
  RouteLookup out;
  NlReplyFn take = [&out](nlmsghdr& hdr) { read_route(hdr, out); };
  int err = KN_TRY(nl_exchange(ctx, std::move(msg), take, "look up route"));
  if (err == 0) return out;
  RouteLookup refused;  // the kernel's answer is the errno: no other field
  refused.error = err;
  return refused;
}

Result<std::optional<int>> nsid_of(NsContext& ctx, const NetnsRef& other) {
  NlMsgPtr msg(nlmsg_alloc_simple(RTM_GETNSID, 0));
  if (!msg) return fail(sys_error("read namespace id", other.name(), ENOMEM, ctx.ns.name()));
  rtgenmsg g{};
  g.rtgen_family = AF_UNSPEC;
  if (nlmsg_append(msg.get(), &g, sizeof g, NLMSG_ALIGNTO) < 0 ||
      nla_put_u32(msg.get(), NETNSA_FD, static_cast<std::uint32_t>(other.fd())) < 0)
    return fail(sys_error("build netlink message", "RTM_GETNSID", EMSGSIZE, ctx.ns.name()));
  int nsid = NETNSA_NSID_NOT_ASSIGNED;
  NlReplyFn take = [&nsid](nlmsghdr& hdr) {
    nlattr* tb[NETNSA_MAX + 1] = {};
    if (hdr.nlmsg_type == RTM_NEWNSID && nlmsg_parse(&hdr, sizeof(rtgenmsg), tb, NETNSA_MAX, nullptr) == 0 &&
        tb[NETNSA_NSID])
      nsid = nla_get_s32(tb[NETNSA_NSID]);
  };
  int err = KN_TRY(nl_exchange(ctx, std::move(msg), take, "read namespace id"));
  if (err != 0) return fail(sys_error("read namespace id", other.name(), err, ctx.ns.name()));
  if (nsid < 0) return std::optional<int>{};
  return std::optional<int>{nsid};
}

}  // namespace

Result<RouteLookup> route_get(NsContext& ctx, Ipv4 dst, Ipv4 src, int iif, std::uint32_t mark) {
  // RTM_F_FIB_MATCH: the answer is the FIB entry that matched (prefix, table, protocol,
  // RTNH_F_ONLINK), not the route cache's /32 with its flags; for a local address that is the
  // local table's /32 entry of type local.
  RouteLookup fib = KN_TRY(route_ask(ctx, dst, src, iif, mark, true));
  if (fib.error != 0 || fib.prefsrc || iif != 0 || src.value != 0) return fib;
  // A FIB entry carries a source only when one was configured (`src` on a prefix route); the
  // one a locally generated packet would get is in the plain lookup's answer (RTA_PREFSRC).
  RouteLookup plain = KN_TRY(route_ask(ctx, dst, src, iif, mark, false));
  if (plain.error == 0) fib.prefsrc = plain.prefsrc;
  return fib;
}

Result<std::map<int, std::string>> nsids_read(NsContext& ctx, const std::vector<std::string>& others) {
  std::map<int, std::string> out;
  for (const std::string& name : others) {
    NetnsRef other = KN_TRY(NetnsRef::open(name));
    if (auto id = KN_TRY(nsid_of(ctx, other))) out.emplace(*id, name);
  }
  return out;
}

}  // namespace knlab
