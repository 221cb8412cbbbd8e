// Links, addresses, ARP entries, forwarding databases and sysctls of a namespace, read back.
// The route lookup and the namespace ids are in inspect_route.cpp.
#include "net/inspect.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/route/link/vxlan.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

#include "net/inspect_internal.hpp"
#include "net/nl_exchange.hpp"

namespace knlab {

namespace {

using NlCachePtr = std::unique_ptr<nl_cache, NlDeleter<nl_cache_free>>;

// IFF_LOWER_UP of <linux/if.h>, which cannot be included together with glibc's <net/if.h>.
constexpr unsigned kIffLowerUp = 1u << 16;

// "aa:bb:cc:dd:ee:ff" (lower case, as ip and bridge print it); empty for no address.
std::string mac_of(const void* data, std::size_t len) {
  std::string out;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < len; ++i) out += fmt::format("{}{:02x}", i ? ":" : "", bytes[i]);
  return out;
}

std::string mac_of(nl_addr* a) { return a ? mac_of(nl_addr_get_binary_addr(a), nl_addr_get_len(a)) : ""; }

void read_veth_peer(rtnl_link* l, LinkInfo& info) {
  int link = rtnl_link_get_link(l);  // IFLA_LINK: a veth's peer, 0 when absent
  std::int32_t nsid = 0;
  bool elsewhere = rtnl_link_get_link_netnsid(l, &nsid) == 0;
  // A link naming itself is no peer; a peer in another namespace may have the same index.
  if (link == 0 || (link == info.ifindex && !elsewhere)) return;
  info.peer_ifindex = link;
  if (elsewhere) info.peer_nsid = nsid;
}

void read_vxlan(rtnl_link* l, LinkInfo& info) {
  if (!rtnl_link_is_vxlan(l)) return;
  std::uint32_t v = 0;
  if (rtnl_link_vxlan_get_id(l, &v) == 0) info.vni = v;
  if (rtnl_link_vxlan_get_port(l, &v) == 0) info.vxlan_port = static_cast<std::uint16_t>(v);
  if (rtnl_link_vxlan_get_link(l, &v) == 0) info.vxlan_dev = static_cast<int>(v);
  nl_addr* local = nullptr;
  if (rtnl_link_vxlan_get_local(l, &local) == 0 && local) {
    NlAddressPtr owned(local);  // libnl hands out a clone
    info.vxlan_local = ipv4_of(owned.get());
  }
}

LinkInfo link_info_of(rtnl_link* l) {
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(l);
  if (const char* name = rtnl_link_get_name(l)) info.name = name;
  if (const char* kind = rtnl_link_get_type(l)) info.kind = kind;
  info.master = rtnl_link_get_master(l);
  info.mtu = rtnl_link_get_mtu(l);
  unsigned flags = rtnl_link_get_flags(l);
  info.up = (flags & IFF_UP) != 0;
  info.lower_up = (flags & kIffLowerUp) != 0;
  info.mac = mac_of(rtnl_link_get_addr(l));
  read_veth_peer(l, info);
  read_vxlan(l, info);
  info.rx_packets = rtnl_link_get_stat(l, RTNL_LINK_RX_PACKETS);
  info.tx_packets = rtnl_link_get_stat(l, RTNL_LINK_TX_PACKETS);
  info.rx_dropped = rtnl_link_get_stat(l, RTNL_LINK_RX_DROPPED);
  info.tx_dropped = rtnl_link_get_stat(l, RTNL_LINK_TX_DROPPED);
  return info;
}

// `ip neigh`'s words for a NUD state, in its order; "NONE" for 0.
std::string nud_name(int state) {
  static constexpr std::pair<int, const char*> kNames[] = {
      {NUD_INCOMPLETE, "INCOMPLETE"}, {NUD_REACHABLE, "REACHABLE"}, {NUD_STALE, "STALE"},
      {NUD_DELAY, "DELAY"},           {NUD_PROBE, "PROBE"},         {NUD_FAILED, "FAILED"},
      {NUD_NOARP, "NOARP"},           {NUD_PERMANENT, "PERMANENT"}};
  std::string out;
  for (auto [bit, name] : kNames)
    if (state & bit) out += fmt::format("{}{}", out.empty() ? "" : " ", name);
  return out.empty() ? "NONE" : out;
}

std::optional<FdbInfo> fdb_entry_of(nlmsghdr& hdr) {
  if (hdr.nlmsg_type != RTM_NEWNEIGH) return std::nullopt;
  nlattr* tb[NDA_MAX + 1] = {};
  if (nlmsg_parse(&hdr, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return std::nullopt;
  const auto* ndm = static_cast<const ndmsg*>(nlmsg_data(&hdr));
  if (ndm->ndm_family != AF_BRIDGE) return std::nullopt;
  FdbInfo e;
  e.ifindex = ndm->ndm_ifindex;
  e.permanent = (ndm->ndm_state & NUD_PERMANENT) != 0;
  e.self = (ndm->ndm_flags & NTF_SELF) != 0;
  if (tb[NDA_MASTER]) e.master = static_cast<int>(nla_get_u32(tb[NDA_MASTER]));
  if (tb[NDA_LLADDR]) e.mac = mac_of(nla_data(tb[NDA_LLADDR]), static_cast<std::size_t>(nla_len(tb[NDA_LLADDR])));
  if (tb[NDA_DST] && nla_len(tb[NDA_DST]) == 4) e.dst = ipv4_of_network(nla_data(tb[NDA_DST]));
  return e;
}

// Whether a path under /proc/sys stays there: relative, no "." or ".." component.
bool sysctl_path_ok(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

Ipv4 ipv4_of_network(const void* four_bytes) {
  std::uint32_t raw = 0;
  std::memcpy(&raw, four_bytes, 4);
  return Ipv4{ntohl(raw)};
}

std::optional<Ipv4> ipv4_of(nl_addr* a) {
  if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4) return std::nullopt;
  return ipv4_of_network(nl_addr_get_binary_addr(a));
}

Result<std::vector<LinkInfo>> links_read(NsContext& ctx) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_link_alloc_cache(ctx.sock.get(), AF_UNSPEC, &raw); err < 0)
    return fail(nl_error("list links", "", err, ctx.ns.name()));
  NlCachePtr cache(raw);
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o))
    out.push_back(link_info_of(reinterpret_cast<rtnl_link*>(o)));
  return out;
}

Result<std::vector<AddrInfo>> addresses_read(NsContext& ctx) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_addr_alloc_cache(ctx.sock.get(), &raw); err < 0)
    return fail(nl_error("list addresses", "", err, ctx.ns.name()));
  NlCachePtr cache(raw);
  std::vector<AddrInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    auto local = ipv4_of(rtnl_addr_get_local(a));
    if (rtnl_addr_get_family(a) != AF_INET || !local) continue;
    out.push_back(AddrInfo{rtnl_addr_get_ifindex(a), Cidr{*local, static_cast<unsigned>(rtnl_addr_get_prefixlen(a))}});
  }
  return out;
}

Result<std::vector<NeighInfo>> neighbours_read(NsContext& ctx) {
  nl_cache* raw = nullptr;
  if (int err = rtnl_neigh_alloc_cache(ctx.sock.get(), &raw); err < 0)
    return fail(nl_error("list neighbours", "", err, ctx.ns.name()));
  NlCachePtr cache(raw);
  std::vector<NeighInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    auto ip = ipv4_of(rtnl_neigh_get_dst(n));
    if (rtnl_neigh_get_family(n) != AF_INET || !ip) continue;
    int state = rtnl_neigh_get_state(n);
    out.push_back(NeighInfo{rtnl_neigh_get_ifindex(n), *ip, mac_of(rtnl_neigh_get_lladdr(n)),
                            nud_name(state < 0 ? 0 : state)});
  }
  return out;
}

Result<std::vector<FdbInfo>> fdb_read(NsContext& ctx) {
  // libnl's neighbour cache asks for AF_UNSPEC, which the kernel answers with ARP and NDP
  // entries only: the forwarding databases are a dump of their own (what `bridge fdb` sends).
  NlMsgPtr msg(nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP));
  if (!msg) return fail(sys_error("list fdb entries", "", ENOMEM, ctx.ns.name()));
  ndmsg ndm{};
  ndm.ndm_family = AF_BRIDGE;
  if (nlmsg_append(msg.get(), &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0)
    return fail(sys_error("build netlink message", "fdb dump", EMSGSIZE, ctx.ns.name()));
  std::vector<FdbInfo> out;
  NlReplyFn collect = [&out](nlmsghdr& hdr) {
    if (auto e = fdb_entry_of(hdr)) out.push_back(std::move(*e));
  };
  int err = KN_TRY(nl_exchange(ctx, std::move(msg), collect, "list fdb entries"));
  if (err != 0) return fail(sys_error("list fdb entries", "", err, ctx.ns.name()));
  return out;
}

Result<std::optional<std::string>> sysctl_read(const NetnsRef& ns, const std::string& path) {
  if (!sysctl_path_ok(path))
    return fail(state_error("read sysctl", fmt::format("\"{}\" is not a path under /proc/sys", path)));
  std::string file = "/proc/sys/" + path;
  Fd fd;
  {
    // /proc/sys/net resolves names in the network namespace of the thread that looks them up,
    // and an open file keeps the namespace it was opened in: open inside, read anywhere.
    auto inside = KN_TRY(ScopedNetns::enter(ns));
    fd.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() && errno == ENOENT) return std::optional<std::string>{};
    if (!fd.valid()) return fail(sys_error("read sysctl", path, errno, ns.name()));
  }
  std::string value;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) value.append(buf, static_cast<std::size_t>(n));
  if (n < 0) return fail(sys_error("read sysctl", path, errno, ns.name()));
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return std::optional<std::string>{std::move(value)};
}

}  // namespace knlab
