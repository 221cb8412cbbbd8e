#include "plan/plan.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "plan/naming.hpp"

namespace knlab {

const NodePlan* LabPlan::node(std::string_view name) const {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const NodePlan& n) { return n.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

const PodPlan* LabPlan::pod(std::string_view name) const {
  auto it = std::find_if(pods.begin(), pods.end(), [&](const PodPlan& p) { return p.name == name; });
  return it == pods.end() ? nullptr : &*it;
}

std::vector<std::string> LabPlan::namespaces() const {
  std::vector<std::string> out;
  for (auto& n : nodes) out.push_back(n.netns);
  for (auto& p : pods) out.push_back(p.netns);
  return out;
}

Result<LabPlan> plan_lab(const Lab& lab) {
  LabPlan plan;
  plan.lab = lab.name;
  plan.description = lab.description;
  plan.source = lab.source;
  plan.state_dir = state_dir(lab.name);
  plan.cluster = lab.cluster;
  // Flannel's VXLAN backend leaves 50 bytes of every underlay frame for the encapsulation
  // (outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8) and sets the pod side MTU accordingly.
  unsigned pod_mtu = lab.cluster.cni == CniMode::kVxlan ? lab.cluster.mtu - 50 : lab.cluster.mtu;

  for (std::size_t i = 0; i < lab.nodes.size(); ++i) {
    NodePlan n;
    n.name = lab.nodes[i].name;
    n.netns = netns_name(lab.name, n.name);
    n.bridge = "cni0";
    n.pod_subnet = lab.cluster.pod_cidr.subnet(lab.cluster.node_mask, static_cast<std::uint32_t>(i));
    n.bridge_address = Cidr{n.pod_subnet.nth(1), n.pod_subnet.prefix};
    n.pod_mtu = pod_mtu;
    plan.nodes.push_back(std::move(n));
  }

  std::map<std::string, std::uint32_t> next_host;      // per node: next free host index
  std::map<std::string, std::set<std::string>> veths;  // per node: host-side names taken
  for (const PodSpec& spec : lab.pods) {
    const NodePlan* node = plan.node(spec.node);
    PodPlan p;
    p.name = spec.name;
    p.node = spec.node;
    p.netns = netns_name(lab.name, spec.name);
    p.ifname = "eth0";
    // host-local IPAM: .1 is the gateway, pods take .2, .3, ... in file order.
    std::uint32_t& host = next_host.try_emplace(spec.node, 2).first->second;
    p.address = Cidr{node->pod_subnet.nth(host++), node->pod_subnet.prefix};
    p.gateway = node->bridge_address.addr;
    unsigned salt = 0;
    do {
      p.host_veth = host_veth_name(lab.name, spec.name, salt++);
    } while (veths[spec.node].contains(p.host_veth) && salt < 64);
    if (!veths[spec.node].insert(p.host_veth).second)
      return fail(state_error("plan veth names", fmt::format("no free veth name for pod {}", spec.name)));
    p.labels = spec.labels;
    for (const ContainerSpec& c : spec.containers) {
      ContainerPlan cp;
      cp.name = c.name;
      cp.argv = c.command;
      // What the Kubernetes downward API would give the container, then the lab file's own.
      cp.env = {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
                {"HOME", "/root"},
                {"HOSTNAME", spec.name},
                {"POD_NAME", spec.name},
                {"POD_NAMESPACE", "default"},
                {"POD_IP", p.address.addr.str()},
                {"NODE_NAME", spec.node}};
      for (auto& kv : c.env) {
        auto it = std::find_if(cp.env.begin(), cp.env.end(), [&](auto& e) { return e.first == kv.first; });
        if (it != cp.env.end()) it->second = kv.second;
        else cp.env.push_back(kv);
      }
      cp.log_path = fmt::format("{}/logs/{}_{}.log", plan.state_dir, spec.name, c.name);
      p.containers.push_back(std::move(cp));
    }
    plan.pods.push_back(std::move(p));
  }
  return plan;
}

std::string pod_etc_dir(const PodPlan& pod) { return fmt::format("{}/{}", kEtcNetnsDir, pod.netns); }

std::string pod_hosts_file(const PodPlan& pod) {
  return fmt::format(
      "# Kubernetes-managed hosts file (written by kn-lab).\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n"
      "{}\t{}\n",
      pod.address.addr.str(), pod.name);
}

std::string pod_resolv_conf(const LabPlan&) {
  // No cluster DNS in this lab: without a nameserver line the resolver asks 127.0.0.1, which
  // refuses at once instead of timing out against an address that does not exist here.
  return "# kn-lab: this lab runs no cluster DNS; names resolve through /etc/hosts only.\n"
         "search default.svc.cluster.local svc.cluster.local cluster.local\n"
         "options ndots:5\n";
}

std::vector<Op> up_ops(const LabPlan& plan) {
  std::vector<Op> ops;
  for (const NodePlan& n : plan.nodes) {
    ops.emplace_back(NetnsAdd{n.netns});
    ops.emplace_back(LinkUp{n.netns, "lo"});
    ops.emplace_back(SysctlSet{n.netns, "net.ipv4.ip_forward", "1"});
    // Bridged pod-to-pod traffic must traverse iptables for Services (kube-proxy needs it);
    // without br_netfilter that is impossible, which only matters once a lab has Services.
    ops.emplace_back(SysctlSet{n.netns, "net.bridge.bridge-nf-call-iptables", "1", false});
    ops.emplace_back(BridgeAdd{n.netns, n.bridge, n.pod_mtu});
    ops.emplace_back(AddrAdd{n.netns, n.bridge, n.bridge_address});
    ops.emplace_back(LinkUp{n.netns, n.bridge});
  }
  for (const PodPlan& p : plan.pods) {
    const NodePlan* n = plan.node(p.node);
    std::string etc = pod_etc_dir(p);
    ops.emplace_back(NetnsAdd{p.netns});
    ops.emplace_back(FileWrite{etc + "/hosts", pod_hosts_file(p)});
    ops.emplace_back(FileWrite{etc + "/resolv.conf", pod_resolv_conf(plan)});
    ops.emplace_back(PauseStart{p.netns, p.name, p.name});
    ops.emplace_back(VethAdd{n->netns, p.host_veth, n->bridge, p.netns, p.ifname, n->pod_mtu});
    ops.emplace_back(BridgePortSet{n->netns, p.host_veth, true});
    ops.emplace_back(LinkUp{p.netns, "lo"});
    ops.emplace_back(LinkUp{p.netns, p.ifname});
    ops.emplace_back(AddrAdd{p.netns, p.ifname, p.address});
    ops.emplace_back(RouteAdd{p.netns, Cidr{Ipv4{0}, 0}, p.gateway, p.ifname, false});
  }
  for (const PodPlan& p : plan.pods)
    for (const ContainerPlan& c : p.containers)
      ops.emplace_back(ContainerStart{p.netns, p.name, c.name, c.argv, c.env, c.log_path});
  return ops;
}

}  // namespace knlab
