#include "runtime/preflight.hpp"

#include "runtime/files.hpp"

#include <fmt/core.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace knlab {

namespace {


struct Feature {
  const char* module;   // kernel module name
  const char* shows;    // a path that exists once it is loaded (besides /sys/module/<m>)
  const char* needed;   // what the lab needs it for
};

// true: present or loadable; false: definitely missing.
bool available(const Feature& f, const std::string& root) {
  if (::access(fmt::format("{}/sys/module/{}", root, f.module).c_str(), F_OK) == 0) return true;
  if (f.shows[0] && ::access((root + f.shows).c_str(), F_OK) == 0) return true;
  utsname u{};
  if (::uname(&u) != 0) return true;
  std::string dir = fmt::format("{}/lib/modules/{}/", root, u.release);
  std::string dep = read_text(dir + "modules.dep"), builtin = read_text(dir + "modules.builtin");
  if (dep.empty() && builtin.empty()) return true;  // nothing to go by: let the op tell
  std::string name = fmt::format("/{}.ko", f.module);
  return dep.find(name) != std::string::npos || builtin.find(name) != std::string::npos;
}

}  // namespace

Status check_kernel_features(const std::vector<Op>& ops, const std::string& root) {
  bool vxlan = false, iptables = false, bridge = false, ipsets = false, nft = false;
  for (const Op& op : ops) {
    ipsets |= std::holds_alternative<IpsetApply>(op);
    vxlan |= std::holds_alternative<VxlanAdd>(op);
    iptables |= std::holds_alternative<IptablesApply>(op);
    nft |= std::holds_alternative<NftApply>(op);
    bridge |= std::holds_alternative<BridgeAdd>(op);
  }
  std::vector<Feature> needed;
  if (bridge) needed.push_back({"bridge", "", "the nodes' cni0 bridges"});
  if (vxlan) needed.push_back({"vxlan", "", "the VXLAN overlay (flannel.1)"});
  if (iptables || nft)
    needed.push_back({"br_netfilter", "/proc/sys/net/bridge", "Services between pods of one node (bridged traffic through netfilter)"});
  if (iptables) {
    needed.push_back({"ip_tables", "/proc/net/ip_tables_names", "kube-proxy's rules (the legacy iptables tables)"});
    needed.push_back({"iptable_nat", "", "kube-proxy's nat table"});
  }
  if (nft) needed.push_back({"nf_tables", "", "kube-proxy's nftables mode (table ip kube-proxy)"});
  if (ipsets) {
    needed.push_back({"ip_set", "", "NetworkPolicy's ipsets (kube-router's KUBE-SRC-/KUBE-DST- sets)"});
    needed.push_back({"xt_physdev", "", "NetworkPolicy between pods of one node (bridged traffic)"});
  }
  // nginx's dynamic modules (the stream module, for TCP and UDP listeners) are a package of their own.
  for (const Op& op : ops)
    if (auto* f = std::get_if<FileWrite>(&op); f && f->path.ends_with("/nginx.conf"))
      for (std::size_t at = f->content.find("load_module "); at != std::string::npos; at = f->content.find("load_module ", at + 1)) {
        std::size_t start = at + 12, end = f->content.find(';', start);
        std::string module = f->content.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (::access(module.c_str(), R_OK) != 0) {
          Error e;
          e.kind = ErrorKind::kMissing;
          e.op = "check nginx modules";
          e.object = module;
          e.detail = "an nginx data plane needs this module (TCP and UDP listeners use nginx's stream module)";
          e.hint = "apt-get install libnginx-mod-stream (scripts/install-deps.sh does); nothing was created";
          return fail(std::move(e));
        }
      }
  for (const Feature& f : needed)
    if (!available(f, root)) {
      Error e;
      e.kind = ErrorKind::kMissing;
      e.op = "check kernel features";
      e.object = fmt::format("kernel module {}", f.module);
      e.detail = fmt::format("this kernel has no {} module, needed for {}", f.module, f.needed);
      e.hint = fmt::format("load it (modprobe {}), or install the kernel's modules (apt-get install linux-image-$(uname -r)); "
                           "nothing was created", f.module);
      return fail(std::move(e));
    }
  return {};
}

}  // namespace knlab
