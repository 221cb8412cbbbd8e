// IPv4 routes in the main table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netlink.hpp"

namespace knlab {

// `ip route add <dst> [via <gw>] [dev <dev>] [onlink]`, protocol boot, as ip(8) adds it.
Status route_add(NsContext& ctx, const Cidr& dst, std::optional<Ipv4> via, const std::string& dev,
                 bool onlink);

// Destinations of the IPv4 routes of the main table installed by `protocol` (e.g. RTPROT_BIRD).
Result<std::vector<Cidr>> routes_by_protocol(NsContext& ctx, int protocol);

}  // namespace knlab
