// IPv4 routes in the main table.
#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netlink.hpp"

namespace knlab {

// `ip route add <dst> [via <gw>] [dev <dev>] [onlink]`, protocol boot, as ip(8) adds it.
Status route_add(NsContext& ctx, const Cidr& dst, std::optional<Ipv4> via, const std::string& dev,
                 bool onlink);

}  // namespace knlab
