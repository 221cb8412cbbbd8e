// VXLAN tunnel endpoints (VTEPs), as Flannel's vxlan backend makes them.
#pragma once

#include <string>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netlink.hpp"

namespace knlab {

struct VxlanConfig {
  std::string name;      // flannel.1
  unsigned vni = 1;
  Ipv4 local;            // the node's underlay address
  std::string dev;       // underlay interface (eth0)
  unsigned port = 8472;  // Linux/Flannel default, not IANA's 4789
  unsigned mtu = 1450;
  std::string mac;       // "0a:58:..."
  bool learning = false; // Flannel: nolearning, the FDB is programmed
};

// `ip link add <name> address <mac> mtu <mtu> type vxlan id <vni> local <ip> dev <dev> dstport <port> nolearning`
Status vxlan_add(NsContext& ctx, const VxlanConfig& cfg);

}  // namespace knlab
