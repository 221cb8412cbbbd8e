// Neighbour (ARP) entries and bridge/VXLAN forwarding database (FDB) entries, both permanent:
// what Flannel programs for each remote VTEP instead of letting the kernel learn them.
#pragma once

#include <string>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netlink.hpp"

namespace knlab {

// An nl_addr for a MAC "aa:bb:cc:dd:ee:ff".
Result<NlAddressPtr> make_mac_addr(const std::string& mac);

// `ip neigh add <ip> lladdr <mac> dev <dev> nud permanent`
Status neigh_add(NsContext& ctx, const std::string& dev, Ipv4 ip, const std::string& mac);

// `bridge fdb append <mac> dev <dev> dst <dst> self permanent`
Status fdb_add(NsContext& ctx, const std::string& dev, const std::string& mac, Ipv4 dst);

}  // namespace knlab
