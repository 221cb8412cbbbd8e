#include "net/vxlan.hpp"

#include <fmt/core.h>
#include <netlink/route/link/vxlan.h>

#include "net/address.hpp"
#include "net/neighbour.hpp"

namespace knlab {

Status vxlan_add(NsContext& ctx, const VxlanConfig& cfg) {
  int dev_index = KN_TRY(ctx.ifindex(cfg.dev));
  NlLinkPtr link(rtnl_link_vxlan_alloc());
  if (!link) return fail(sys_error("allocate vxlan", cfg.name, ENOMEM, ctx.ns.name()));
  NlAddressPtr local = KN_TRY(make_nl_addr(Cidr{cfg.local, 32}));
  NlAddressPtr mac = KN_TRY(make_mac_addr(cfg.mac));
  rtnl_link_set_name(link.get(), cfg.name.c_str());
  rtnl_link_set_mtu(link.get(), cfg.mtu);
  rtnl_link_set_addr(link.get(), mac.get());
  rtnl_link_vxlan_set_id(link.get(), cfg.vni);
  rtnl_link_vxlan_set_local(link.get(), local.get());
  rtnl_link_vxlan_set_link(link.get(), static_cast<std::uint32_t>(dev_index));
  rtnl_link_vxlan_set_port(link.get(), cfg.port);
  rtnl_link_vxlan_set_learning(link.get(), cfg.learning ? 1 : 0);
  if (int err = rtnl_link_add(ctx.sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return fail(nl_error("create vxlan device", fmt::format("{} (vni {}, local {})", cfg.name, cfg.vni, cfg.local.str()),
                         err, ctx.ns.name()));
  return {};
}

}  // namespace knlab
