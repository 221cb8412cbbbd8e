// IPv4 addresses on interfaces.
#pragma once

#include <string>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "net/netlink.hpp"

namespace knlab {

// `ip addr add <address> dev <ifname>`; the prefix route comes with it, as with ip(8).
Status addr_add(NsContext& ctx, const std::string& ifname, const Cidr& address);
// Deletes an address (`ip addr del`); one that is not there is not an error.
Status addr_delete(NsContext& ctx, const std::string& ifname, const Cidr& address);

// An nl_addr for an IPv4 address/prefix (helper shared with route.cpp).
Result<NlAddressPtr> make_nl_addr(const Cidr& c);

}  // namespace knlab
