// Links: bridges, veth pairs, bridge ports, link state. Each function is one rtnetlink request
// in the namespace of `ctx` and fails with an Error naming the link and the namespace.
#pragma once

#include <string>

#include "core/error.hpp"
#include "net/netlink.hpp"

namespace knlab {

Status link_set_up(NsContext& ctx, const std::string& ifname);
// Whether link `ifname` is administratively up (IFF_UP; one ioctl).
Result<bool> link_is_up(const NsContext& ctx, const std::string& ifname);
Status bridge_add(NsContext& ctx, const std::string& name, unsigned mtu);
// veth `name` (in ctx, master `master`, up) <-> `peer_name` created inside `peer` (up).
Status veth_add(NsContext& ctx, const std::string& name, const std::string& master,
                const NetnsRef& peer, const std::string& peer_name, unsigned mtu);
// Deletes link `ifname` (a veth takes its peer with it). A link that is not there is no error.
Status link_delete(NsContext& ctx, const std::string& ifname);
// Bridge port flags of `ifname` (which must be enslaved to a bridge): hairpin mode.
Status bridge_port_set_hairpin(NsContext& ctx, const std::string& ifname, bool on);

}  // namespace knlab
