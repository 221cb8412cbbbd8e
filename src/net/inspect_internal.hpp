// Helpers shared by inspect.cpp and inspect_route.cpp (internal to src/net).
#pragma once

#include <netlink/addr.h>

#include <optional>

#include "core/ip.hpp"

namespace knlab {

// An IPv4 address from 4 bytes in network order (a netlink attribute's payload).
Ipv4 ipv4_of_network(const void* four_bytes);
// An nl_addr's IPv4 address; nullopt for none, or another family.
std::optional<Ipv4> ipv4_of(nl_addr* a);

}  // namespace knlab
