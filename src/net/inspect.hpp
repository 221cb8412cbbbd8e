// Read-only views of a namespace's kernel state through rtnetlink (libnl), for `kn-lab trace`:
// links (with veth peers, bridge masters, VXLAN parameters and counters), addresses, neighbour
// entries, the bridge/VXLAN forwarding databases, and the kernel's own route lookup
// (RTM_GETROUTE, as `ip route get` asks it). Nothing here changes anything.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netlink.hpp"

namespace knlab {

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;          // "veth", "bridge", "vxlan", "" (loopback, physical)
  int master = 0;            // ifindex of the bridge it is a port of, 0 when none
  unsigned mtu = 0;
  bool up = false;           // IFF_UP (administratively up)
  bool lower_up = false;     // IFF_LOWER_UP (carrier)
  std::string mac;           // "aa:bb:cc:dd:ee:ff"
  // veth: the peer's ifindex, and the namespace it is in as this namespace numbers it
  // (IFLA_LINK_NETNSID); no nsid when the peer is in the same namespace. (IFLA_LINK as the
  // kernel sends it: for other kinds with a lower device, e.g. vlan, that device.)
  int peer_ifindex = 0;
  std::optional<int> peer_nsid;
  // vxlan: VNI, local address, UDP destination port, underlay device (ifindex)
  std::uint32_t vni = 0;
  std::optional<Ipv4> vxlan_local;
  std::uint16_t vxlan_port = 0;
  int vxlan_dev = 0;
  std::uint64_t rx_packets = 0, tx_packets = 0, rx_dropped = 0, tx_dropped = 0;
};

struct AddrInfo {
  int ifindex = 0;
  Cidr cidr;                 // 10.244.1.1/24
};

struct NeighInfo {
  int ifindex = 0;
  Ipv4 ip;
  std::string mac;           // empty when incomplete/failed
  std::string state;         // "PERMANENT", "REACHABLE", "STALE", "DELAY", "PROBE", "INCOMPLETE", "FAILED", "NOARP"
};

// One entry of a forwarding database (AF_BRIDGE neighbours): a bridge port's learnt or static
// MAC, or a VXLAN device's MAC -> remote VTEP entry.
struct FdbInfo {
  int ifindex = 0;           // the port (or the vxlan device) the entry is on
  int master = 0;            // the bridge, for entries of a bridge's database; 0 for "self"
  std::string mac;
  std::optional<Ipv4> dst;   // vxlan: the remote VTEP's address
  bool permanent = false;    // NUD_PERMANENT (static); else learnt
  bool self = false;         // NTF_SELF (the device's own database)
};

struct RouteLookup {
  // 0 on success; otherwise the errno the kernel answered (ENETUNREACH: no route, EHOSTUNREACH,
  // EACCES, EINVAL), and the other fields are empty.
  int error = 0;
  std::string type;          // "unicast", "local", "broadcast", "unreachable", "blackhole", "prohibit", ...
  std::optional<Cidr> dst;   // the FIB entry that matched (10.244.2.0/24), RTM_F_FIB_MATCH
  std::optional<Ipv4> gateway;
  int oif = 0;
  std::optional<Ipv4> prefsrc;
  std::string protocol;      // "kernel", "boot", "static", "bird", or the number
  bool onlink = false;
  std::uint32_t table = 0;
};

Result<std::vector<LinkInfo>> links_read(NsContext& ctx);
Result<std::vector<AddrInfo>> addresses_read(NsContext& ctx);   // IPv4 only
Result<std::vector<NeighInfo>> neighbours_read(NsContext& ctx); // IPv4 ARP entries
Result<std::vector<FdbInfo>> fdb_read(NsContext& ctx);
// The kernel's answer to "where does a packet to `dst` go" in ctx's namespace: with `src`
// (0.0.0.0: none), input interface `iif` (0: a locally generated packet) and firewall mark.
// A lookup that finds no route is not an Err: it is a RouteLookup with `error` set.
//
// One RTM_GETROUTE with RTM_F_FIB_MATCH (`ip route get ... fibmatch`): type, dst (the entry's
// prefix), gateway, oif, protocol, onlink and table are the matched FIB entry's. For an address
// of the namespace that is the local /32 entry, of type local, on the address's device (table
// 254: without policy rules the kernel keeps the local table merged into main). prefsrc is the
// entry's configured source (`src` of a connected route); when it has none and the lookup is a
// locally generated one without `src`, a second, plain lookup gives the source the kernel
// would choose (what `ip route get` prints as src). Input lookups (iif) have no chosen source.
// Errors as the kernel answers them: ENETUNREACH (no route), EHOSTUNREACH / EACCES / EINVAL
// (unreachable / prohibit / blackhole routes); with iif the kernel routes as if the packet came
// in, so it needs `src`: none, or a martian one, is EINVAL, a failed reverse-path check EXDEV.
Result<RouteLookup> route_get(NsContext& ctx, Ipv4 dst, Ipv4 src, int iif, std::uint32_t mark);
// The nsid ctx's namespace gives each of `others` (names under /run/netns), for matching
// LinkInfo::peer_nsid; namespaces it has no id for are left out.
Result<std::map<int, std::string>> nsids_read(NsContext& ctx, const std::vector<std::string>& others);
// A sysctl of ctx's namespace under /proc/sys (e.g. "net/bridge/bridge-nf-call-iptables"),
// read from inside it; nullopt when the file does not exist there. /proc/sys/net resolves names
// in the network namespace of the *thread* that opens them (unlike /proc/net, which follows
// the process's main thread), and the open file keeps that namespace: the file is opened inside
// (ScopedNetns) and read after the thread is back. Paths with "." or ".." parts are refused.
Result<std::optional<std::string>> sysctl_read(const NetnsRef& ns, const std::string& path);

}  // namespace knlab
