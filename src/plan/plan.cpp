#include "plan/plan.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <set>

#include "core/hash.hpp"
#include "plan/bird.hpp"
#include "plan/kube_proxy.hpp"
#include "plan/kube_proxy_nft.hpp"
#include "plan/netpol.hpp"
#include "plan/nginx.hpp"
#include "plan/naming.hpp"

namespace knlab {

const ServicePortPlan* ServicePlan::port(std::uint16_t number) const {
  for (const ServicePortPlan& p : ports)
    if (p.port == number) return &p;
  return nullptr;
}

const ServicePortPlan* ServicePlan::port(std::string_view name) const {
  for (const ServicePortPlan& p : ports)
    if (p.name == name) return &p;
  return nullptr;
}

bool LabPlan::answers_to(std::string_view controller) const {
  return std::find(gateway_controllers.begin(), gateway_controllers.end(), controller) != gateway_controllers.end();
}

const NodePlan* LabPlan::node(std::string_view name) const {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const NodePlan& n) { return n.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

const PodPlan* LabPlan::pod_by_key(std::string_view key) const {
  for (const PodPlan& p : pods)
    if (p.key() == key) return &p;
  return nullptr;
}

const PodPlan* LabPlan::pod(std::string_view name) const {
  auto it = std::find_if(pods.begin(), pods.end(), [&](const PodPlan& p) { return p.name == name; });
  return it == pods.end() ? nullptr : &*it;
}

std::vector<std::string> LabPlan::namespaces() const {
  std::vector<std::string> out;
  for (auto& w : wires) out.push_back(w.netns);
  if (!router_netns.empty()) out.push_back(router_netns);
  if (has_wire()) out.push_back(external_netns);
  if (!cloud_lb_netns.empty()) out.push_back(cloud_lb_netns);
  for (auto& n : nodes) out.push_back(n.netns);
  for (auto& p : pods) out.push_back(p.netns);
  return out;
}

const LabPlan::Wire* LabPlan::wire(std::string_view name) const {
  auto it = std::find_if(wires.begin(), wires.end(), [&](const Wire& w) { return w.name == name; });
  return it == wires.end() ? nullptr : &*it;
}

namespace {

// A port of a Service the lab makes itself (DNS, a data plane's).
ServicePortSpec service_port(std::string name, std::string protocol, std::uint16_t port, std::uint16_t target_port,
                             std::optional<std::uint16_t> node_port) {
  ServicePortSpec p;
  p.name = std::move(name);
  p.protocol = std::move(protocol);
  p.port = port;
  p.target_port = target_port;
  p.node_port = node_port;
  return p;
}

// Kubernetes' SafeEncodeString alphabet: no vowels (no words), no look-alike characters.
// `length` characters from 64 bits of hash of `key` (27^10 < 2^48: enough bits for ten).
std::string safe_encode(std::string_view key, std::size_t length) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uint64_t v = (std::uint64_t{fnv1a32(key)} << 32) | fnv1a32(key, 0x811c9dc5u ^ 0x5bd1e995u);
  std::string out;
  for (std::size_t i = 0; i < length; ++i, v /= kAlphabet.size()) out.push_back(kAlphabet[v % kAlphabet.size()]);
  return out;
}

bool selects(const std::map<std::string, std::string>& selector, const PodPlan& pod) {
  if (selector.empty()) return false;  // a Service without selector has no automatic endpoints
  return std::all_of(selector.begin(), selector.end(), [&](auto& kv) {
    auto it = pod.labels.find(kv.first);
    return it != pod.labels.end() && it->second == kv.second;
  });
}

// Cluster IPs and NodePorts: given ones first, then the others by a stable hash of the
// service's name, probing on (the API server picks at random; stable keeps labs repeatable).
// 10.96.0.1 (the kubernetes service) and 10.96.0.10 (cluster DNS) are kept free.
Status plan_services(const ClusterSpec& cluster, const std::vector<ServiceSpec>& services, LabPlan& plan) {
  const Cidr& cidr = cluster.service_cidr;
  std::set<std::uint32_t> ips{cidr.nth(1).value, cidr.nth(10).value};
  std::set<std::uint16_t> ports;
  for (auto& s : services) {
    if (s.cluster_ip) ips.insert(s.cluster_ip->value);
    for (auto& p : s.ports)
      if (p.node_port) ports.insert(*p.node_port);
  }
  for (const ServiceSpec& spec : services) {
    ServicePlan s;
    s.spec = spec;
    if (spec.cluster_ip) {
      s.cluster_ip = *spec.cluster_ip;
    } else {
      auto hosts = static_cast<std::uint32_t>(cidr.size() - 2);
      std::uint32_t i = fnv1a32(s.id()) % hosts;
      while (ips.contains(cidr.nth(i + 1).value)) i = (i + 1) % hosts;
      s.cluster_ip = cidr.nth(i + 1);
      ips.insert(s.cluster_ip.value);
    }
    for (const ServicePortSpec& sp : spec.ports) {
      ServicePortPlan p{sp.name, sp.protocol, sp.port, sp.target_port ? sp.target_port : sp.port, sp.node_port};
      if (spec.type != ServiceType::kClusterIP && !p.node_port) {
        auto n = static_cast<std::uint16_t>(30000 + fnv1a32(s.port_id(p)) % 2768);
        while (ports.contains(n)) n = n == 32767 ? 30000 : static_cast<std::uint16_t>(n + 1);
        ports.insert(n);
        p.node_port = n;
      }
      s.ports.push_back(std::move(p));
    }
    for (const PodPlan& pod : plan.pods)
      if (pod.ns == spec.ns && selects(spec.selector, pod)) s.endpoints.push_back({pod.name, pod.node, pod.address.addr});
    plan.services.push_back(std::move(s));
  }
  return {};
}

// A data plane's pod (one replica, like the controllers' default Deployments) and its Service.
void add_data_plane(DataPlanePlan dp, std::map<std::string, std::string> labels, std::string container,
                    ServiceSpec service, const Lab& lab, LabPlan& plan, std::vector<PodSpec>& pods,
                    std::vector<std::string>& owners, std::vector<ServiceSpec>& services) {
  DeploymentSpec d;
  d.name = dp.name;
  d.ns = dp.ns;
  d.image = container;
  PodSpec p;
  p.name = deployment_pod_name(d, 0);
  p.ns = dp.ns;
  // Spread: the Deployments of a lab's data planes start on different nodes.
  p.node = lab.nodes[plan.data_planes.size() % lab.nodes.size()].name;
  p.labels = labels;
  p.where = service.where;
  p.containers.push_back(ContainerSpec{std::move(container), nginx_argv(dp), {}, SourceLocation{}});
  pods.push_back(std::move(p));
  owners.push_back(dp.name);
  service.name = dp.name;
  service.ns = dp.ns;
  service.labels = labels;
  service.selector = std::move(labels);
  for (const ServicePatch& sp : lab.service_patches)  // `kn-lab patch svc` of this Service
    if (sp.ns == service.ns && sp.name == service.name) {
      if (sp.type) service.type = *sp.type;
      if (sp.local_traffic_policy) service.local_traffic_policy = *sp.local_traffic_policy;
      if (sp.session_affinity) service.session_affinity = *sp.session_affinity;
    }
  if (service.type == ServiceType::kClusterIP) {
    service.local_traffic_policy = false;
    for (ServicePortSpec& sp : service.ports) sp.node_port.reset();
  }
  services.push_back(std::move(service));
  plan.data_planes.push_back(std::move(dp));
}

void plan_data_planes(const Lab& lab, LabPlan& plan, std::vector<PodSpec>& pods, std::vector<std::string>& owners,
                      std::vector<ServiceSpec>& services) {
  if (lab.ingress_nginx) {
    // As the ingress-nginx manifests install it: namespace ingress-nginx, Deployment and Service
    // ingress-nginx-controller, container "controller", ports http and https.
    DataPlanePlan dp;
    dp.kind = DataPlanePlan::Kind::kIngress;
    dp.ns = "ingress-nginx";
    dp.name = "ingress-nginx-controller";
    dp.dir = fmt::format("{}/nginx/{}.{}", plan.state_dir, dp.ns, dp.name);
    ServiceSpec svc;
    svc.type = lab.ingress_nginx->type;
    svc.ports = {service_port("http", "TCP", 80, 80, lab.ingress_nginx->http_node_port),
                 service_port("https", "TCP", 443, 443, lab.ingress_nginx->https_node_port)};
    svc.where = lab.ingress_nginx->where;
    add_data_plane(std::move(dp),
                   {{"app.kubernetes.io/name", "ingress-nginx"}, {"app.kubernetes.io/component", "controller"}},
                   "controller", std::move(svc), lab, plan, pods, owners, services);
  }
  for (const GatewaySpec& gw : lab.l7.gateways) {
    auto where = gateway_data_plane_name(lab, gw);
    if (!where) continue;  // not of a class kn-lab answers to
    DataPlanePlan dp;
    dp.kind = DataPlanePlan::Kind::kGateway;
    dp.ns = where->ns;
    dp.name = where->name;
    dp.gateway = gw.meta.name;
    dp.gateway_ns = gw.meta.ns;
    dp.dir = fmt::format("{}/nginx/{}.{}", plan.state_dir, dp.ns, dp.name);
    ServiceSpec svc;
    svc.type = ServiceType::kLoadBalancer;
    svc.ports.clear();
    for (const ListenerSpec& l : gw.listeners) {
      std::string proto = l.protocol == ListenerProtocol::kUDP ? "UDP" : "TCP";
      bool seen = std::any_of(svc.ports.begin(), svc.ports.end(),
                              [&](const ServicePortSpec& p) { return p.port == l.port && p.protocol == proto; });
      if (!seen) svc.ports.push_back(service_port(l.name, proto, l.port, l.port, std::nullopt));
    }
    if (svc.ports.empty()) continue;
    svc.where = gw.meta.where;
    add_data_plane(std::move(dp), std::move(where->labels), "nginx", std::move(svc), lab, plan, pods, owners, services);
  }
}

}  // namespace

std::optional<GatewayDataPlaneName> gateway_data_plane_name(const Lab& lab, const GatewaySpec& gw) {
  auto cls = std::find_if(lab.l7.gateway_classes.begin(), lab.l7.gateway_classes.end(),
                          [&](const GatewayClassSpec& c) { return c.meta.name == gw.class_name; });
  if (cls == lab.l7.gateway_classes.end() || !lab.answers_to(cls->controller)) return std::nullopt;
  if (cls->controller != kEnvoyGatewayController)
    return GatewayDataPlaneName{gw.meta.ns, gw.meta.name + "-nginx", {{"gateway.networking.k8s.io/gateway-name", gw.meta.name}}};
  // Envoy Gateway's utils.GetHashedName("<namespace>/<name>", 48) behind "envoy-".
  std::string ns_name = gw.meta.ns + "/" + gw.meta.name;
  auto digest = sha256(ns_name);
  std::string base = gw.meta.ns + "-" + gw.meta.name;
  if (base.size() > 48) {
    base.resize(48);
    while (!base.empty() && base.back() == '-') base.pop_back();
  }
  return GatewayDataPlaneName{"envoy-gateway-system", fmt::format("envoy-{}-{}", base, hex(digest.data(), 4)),
                              {{"app.kubernetes.io/name", "envoy"},
                               {"app.kubernetes.io/component", "proxy"},
                               {"app.kubernetes.io/managed-by", "envoy-gateway"},
                               {"gateway.envoyproxy.io/owning-gateway-name", gw.meta.name},
                               {"gateway.envoyproxy.io/owning-gateway-namespace", gw.meta.ns}}};
}

std::string pod_template_hash(const DeploymentSpec& d) {
  return safe_encode(fmt::format("{}/{}|{}|{}", d.ns, d.name, d.image, d.port ? *d.port : 0), 10);
}

std::string PlanMemory::replica_key(const DeploymentSpec& d, int index) {
  return fmt::format("{}/{}#{}", d.ns, d.name, index);
}

std::string PlanMemory::object_key(std::string_view kind, std::string_view ns, std::string_view name) {
  return fmt::format("{}/{}/{}", kind, ns, name);
}

std::int64_t PlanMemory::created_at(std::string_view kind, std::string_view ns, std::string_view name, std::int64_t fallback) const {
  auto it = created.find(object_key(kind, ns, name));
  return it == created.end() ? fallback : it->second;
}

namespace {

// Every object of a plan, as (kind, namespace, name).
std::vector<std::array<std::string, 3>> plan_objects(const LabPlan& plan) {
  std::vector<std::array<std::string, 3>> out;
  std::set<std::string> spaces = {"default", "kube-node-lease", "kube-public", "kube-system"};
  for (auto& n : plan.nodes) out.push_back({"Node", "", n.name});
  for (auto& p : plan.pods) out.push_back({"Pod", p.ns, p.name}), spaces.insert(p.ns);
  for (auto& d : plan.deployments) out.push_back({"Deployment", d.ns, d.name}), spaces.insert(d.ns);
  for (auto& s : plan.services) out.push_back({"Service", s.spec.ns, s.spec.name}), spaces.insert(s.spec.ns);
  const L7Objects& l7 = plan.l7;
  for (auto& ns : l7.namespaces) spaces.insert(ns.meta.name);
  auto add = [&](std::string kind, const auto& items) {
    for (auto& x : items) out.push_back({kind, x.meta.ns, x.meta.name});
  };
  add("Secret", l7.secrets), add("IngressClass", l7.ingress_classes), add("Ingress", l7.ingresses);
  add("GatewayClass", l7.gateway_classes), add("Gateway", l7.gateways), add("HTTPRoute", l7.http_routes);
  add("ReferenceGrant", l7.reference_grants), add("NetworkPolicy", l7.network_policies);
  for (auto& r : l7.l4_routes) out.push_back({r.protocol == ListenerProtocol::kUDP ? "UDPRoute" : "TCPRoute", r.meta.ns, r.meta.name});
  for (auto& ns : spaces) out.push_back({"Namespace", "", ns});
  return out;
}

}  // namespace

void stamp_creation(PlanMemory& memory, const LabPlan& plan, std::int64_t now) {
  std::map<std::string, std::int64_t> kept;
  for (auto& [kind, ns, name] : plan_objects(plan)) {
    std::string key = PlanMemory::object_key(kind, ns, name);
    auto it = memory.created.find(key);
    kept[key] = it == memory.created.end() ? now : it->second;
  }
  memory.created = std::move(kept);
}

int PlanMemory::generation(const DeploymentSpec& d, int index) const {
  auto g = generations.find(replica_key(d, index));
  return g == generations.end() ? 0 : g->second;
}

std::string deployment_pod_name(const DeploymentSpec& d, int index, int generation) {
  std::string key = PlanMemory::replica_key(d, index);
  if (generation != 0) key += fmt::format("#{}", generation);
  return fmt::format("{}-{}-{}", d.name, pod_template_hash(d), safe_encode(key, 5));
}

namespace {

// The lab's pods in one list: its own, then each Deployment's replicas (spread over the nodes in
// turn), then what kn-lab adds (cluster DNS, data planes); with the Deployment of each.
struct PodList {
  std::vector<PodSpec> specs;
  std::vector<std::string> owners;
};

// Underlay addresses: .1 the router, .2 the outside world, .3 a load balancer; nodes from .11
// (from .4 in a small network).
void plan_underlay(const Lab& lab, LabPlan& plan) {
  if (!lab.racks.empty()) {
    plan.router_netns = netns_name(lab.name, "router");
    for (auto& r : lab.racks)
      plan.wires.push_back({r.name, netns_name(lab.name, r.name), r.network, Cidr{r.network.nth(1), r.network.prefix}});
  } else if (lab.nodes.size() > 1) {
    plan.wires.push_back({"wire", netns_name(lab.name, "wire"), lab.cluster.node_network, std::nullopt});
  }
  if (plan.has_wire()) {
    plan.external_netns = netns_name(lab.name, "external");
    const Cidr& first = plan.wires.front().network;
    plan.external_ip = Cidr{first.nth(2), first.prefix};
  }
}

void plan_nodes(const Lab& lab, LabPlan& plan) {
  // Flannel's VXLAN backend leaves 50 bytes of every underlay frame for the encapsulation
  // (outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8) and sets the pod side MTU accordingly.
  unsigned pod_mtu = lab.cluster.cni == CniMode::kVxlan ? lab.cluster.mtu - 50 : lab.cluster.mtu;
  std::map<std::string, std::uint32_t> on_wire;  // nodes placed on each wire so far
  for (std::size_t i = 0; i < lab.nodes.size(); ++i) {
    NodePlan n;
    n.name = lab.nodes[i].name;
    n.labels = lab.nodes[i].labels;
    n.netns = netns_name(lab.name, n.name);
    n.bridge = "cni0";
    n.pod_subnet = lab.cluster.pod_cidr.subnet(lab.cluster.node_mask, static_cast<std::uint32_t>(i));
    n.bridge_address = Cidr{n.pod_subnet.nth(1), n.pod_subnet.prefix};
    n.pod_mtu = pod_mtu;
    if (plan.has_wire()) {
      const LabPlan::Wire& w = lab.nodes[i].rack.empty() ? plan.wires.front() : *plan.wire(lab.nodes[i].rack);
      auto count = static_cast<std::uint32_t>(std::count_if(lab.nodes.begin(), lab.nodes.end(), [&](const NodeSpec& x) {
        return (x.rack.empty() ? std::string("wire") : x.rack) == w.name;
      }));
      std::uint32_t first_node = w.network.size() >= count + 12 ? 11 : 4;
      n.ip = Cidr{w.network.nth(first_node + on_wire[w.name]++), w.network.prefix};
      n.wire = w.netns;
      if (w.router) n.default_gateway = w.router->addr;
    }
    n.wire_port = n.name.size() <= 15 ? n.name : host_veth_name(lab.name, n.name);
    std::uint32_t vtep = n.pod_subnet.network().value;
    n.vtep_mac = fmt::format("0a:58:{:02x}:{:02x}:{:02x}:{:02x}", vtep >> 24, (vtep >> 16) & 0xff, (vtep >> 8) & 0xff, vtep & 0xff);
    plan.nodes.push_back(std::move(n));
  }
}

PodList expand_deployments(const Lab& lab, const PlanMemory* memory) {
  PodList pods{lab.pods, std::vector<std::string>(lab.pods.size())};
  for (const DeploymentSpec& d : lab.deployments)
    for (int i = 0; i < d.replicas; ++i) {
      PodSpec p;
      p.name = deployment_pod_name(d, i, memory ? memory->generation(d, i) : 0);
      p.ns = d.ns;
      p.node = lab.nodes[static_cast<std::size_t>(i) % lab.nodes.size()].name;
      p.labels = d.labels;
      p.image = d.image;
      p.ports = d.ports;
      p.where = d.where;
      pods.specs.push_back(std::move(p));
      pods.owners.push_back(d.name);
    }
  return pods;
}

// Cluster DNS, as kubeadm installs it: a Deployment in kube-system behind the Service kube-dns
// at the tenth address of the service CIDR. Here the server is dnsmasq (Debian).
void plan_cluster_dns(const Lab& lab, LabPlan& plan, PodList& pods, std::vector<ServiceSpec>& services) {
  plan.dns = lab.cluster.dns.value_or(!lab.services.empty());
  if (!plan.dns) return;
  plan.dns_ip = lab.cluster.service_cidr.nth(10);
  plan.dns_hosts_path = fmt::format("{}/dns/hosts", plan.state_dir);
  DeploymentSpec d;
  d.name = "kube-dns";
  d.ns = "kube-system";
  d.image = "dnsmasq";
  PodSpec p;
  p.name = deployment_pod_name(d, 0);
  p.ns = "kube-system";
  p.node = lab.nodes.front().name;
  p.labels = {{"k8s-app", "kube-dns"}};
  p.containers.push_back(ContainerSpec{
      "dnsmasq",
      {"dnsmasq", "--keep-in-foreground", "--log-facility=-", "--log-queries", "--user=root", "--pid-file=",
       "--no-resolv", "--no-hosts", "--addn-hosts=" + plan.dns_hosts_path, "--local=/cluster.local/",
       "--domain-needed"},
      {},
      SourceLocation{}});
  pods.specs.push_back(std::move(p));
  pods.owners.push_back("kube-dns");
  ServiceSpec s;
  s.name = "kube-dns";
  s.ns = "kube-system";
  s.selector = {{"k8s-app", "kube-dns"}};
  s.ports = {service_port("dns", "UDP", 53, 53, std::nullopt), service_port("dns-tcp", "TCP", 53, 53, std::nullopt)};
  s.cluster_ip = plan.dns_ip;
  services.push_back(std::move(s));
}

Result<std::vector<std::string>> pod_namespaces(const Lab& lab, const std::vector<PodSpec>& specs) {
  std::vector<std::string> out;
  std::set<std::string> taken;
  for (const PodSpec& spec : specs) {
    out.push_back(netns_name(lab.name, spec.ns == "default" ? spec.name : spec.name + "." + spec.ns));
    if (!taken.insert(out.back()).second) return fail(input_error(spec.where, fmt::format("pod name {} is used twice", spec.name)));
  }
  return out;
}

// IPAM, host-local style: .1 is the gateway; a pod keeps the address it has (memory of a running
// lab), a new pod takes the next free address after the last one handed out on its node,
// wrapping around, so a replaced pod gets a new address as with the real plugin.
Result<std::vector<Ipv4>> assign_addresses(LabPlan& plan, const std::vector<PodSpec>& specs,
                                           const std::vector<std::string>& netns_of, const PlanMemory* memory) {
  std::vector<std::optional<Ipv4>> address_of(specs.size());
  std::map<std::string, std::set<std::uint32_t>> used;  // per node: host indices taken
  for (std::size_t i = 0; i < specs.size() && memory; ++i) {
    auto kept = memory->pod_ips.find(netns_of[i]);
    const Cidr& subnet = plan.node(specs[i].node)->pod_subnet;
    if (kept == memory->pod_ips.end() || !subnet.contains(kept->second)) continue;
    std::uint32_t index = kept->second.value - subnet.network().value;
    if (index >= 2 && index <= subnet.size() - 2 && used[specs[i].node].insert(index).second) address_of[i] = kept->second;
  }
  std::vector<Ipv4> out;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const PodSpec& spec = specs[i];
    if (address_of[i]) {
      out.push_back(*address_of[i]);
      continue;
    }
    const Cidr& subnet = plan.node(spec.node)->pod_subnet;
    auto last = static_cast<std::uint32_t>(subnet.size() - 2);  // size - 1 is the broadcast address
    std::uint32_t& cursor = plan.memory.last_host.try_emplace(spec.node, 1).first->second;
    std::optional<std::uint32_t> found;
    for (std::uint32_t step = 0; step < last && !found; ++step) {
      std::uint32_t candidate = (cursor + step) % last + 1;  // cursor+1 .. last, then 2 ..
      if (candidate >= 2 && !used[spec.node].contains(candidate)) found = candidate;
    }
    if (!found)
      return fail(input_error(spec.where, fmt::format("node '{}' has no free pod address left for {}", spec.node, spec.name),
                              "set a shorter [cluster] node_cidr_mask or add nodes"));
    used[spec.node].insert(*found);
    cursor = *found;
    out.push_back(subnet.nth(*found));
  }
  return out;
}

// A server image's test server: on its declared ports when the pod declares some (TCP ports serve
// HTTP, UDP ports answer datagrams), else on the image's own port (or the Deployment's).
std::vector<std::string> server_argv(const ImageEntry& image, std::uint16_t port, const std::vector<ContainerPort>& declared) {
  std::vector<std::string> argv{"kn-netexec"};
  for (const ContainerPort& cp : declared)
    argv.insert(argv.end(), {cp.protocol == "UDP" ? "--udp-port" : "--http-port", std::to_string(cp.port)});
  if (!declared.empty()) return argv;
  argv.insert(argv.end(), {"--http-port", std::to_string(port)});
  if (image.udp_port) argv.insert(argv.end(), {"--udp-port", std::to_string(image.udp_port)});
  return argv;
}

// The containers of a pod: the lab file's, or the image's (from the catalogue), each with what
// the Kubernetes downward API would give it, then its own environment.
Result<std::vector<ContainerPlan>> containers_of(const Lab& lab, const ImageCatalogue& images, const PodSpec& spec,
                                                 const PodPlan& p, const std::string& state) {
  std::vector<ContainerSpec> containers = spec.containers;
  if (!spec.image.empty()) {
    const ImageEntry* image = images.find(spec.image);
    if (!image)
      return fail(input_error(spec.where, fmt::format("image \"{}\" is not in kn-lab's image catalogue", spec.image),
                              fmt::format("known images: {} (add one in data/images.toml)", images.names())));
    ContainerSpec c;
    c.name = image_repository(spec.image).substr(image_repository(spec.image).rfind('/') + 1);
    std::uint16_t port = image->port;
    if (!p.deployment.empty())
      for (auto& d : lab.deployments)
        if (d.name == p.deployment && d.ns == p.ns && d.port) port = *d.port;
    c.command = image->server ? server_argv(*image, port, spec.ports) : std::vector<std::string>{"sleep", "infinity"};
    if (!spec.args.empty()) c.command = spec.args;
    c.env = spec.env;
    containers.push_back(std::move(c));
  }
  std::vector<ContainerPlan> out;
  for (const ContainerSpec& c : containers) {
    ContainerPlan cp;
    cp.name = c.name;
    cp.argv = c.command;
    cp.env = {{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
              {"HOME", "/root"},
              {"HOSTNAME", spec.name},
              {"POD_NAME", spec.name},
              {"POD_NAMESPACE", spec.ns},
              {"POD_IP", p.address.addr.str()},
              {"NODE_NAME", spec.node}};
    for (auto& kv : c.env) {
      auto it = std::find_if(cp.env.begin(), cp.env.end(), [&](auto& e) { return e.first == kv.first; });
      if (it != cp.env.end()) it->second = kv.second;
      else cp.env.push_back(kv);
    }
    cp.log_path = fmt::format("{}/logs/{}_{}.log", state, spec.ns == "default" ? spec.name : spec.name + "." + spec.ns, c.name);
    out.push_back(std::move(cp));
  }
  return out;
}

Status plan_pods(const Lab& lab, const ImageCatalogue& images, const PlanMemory* memory, const PodList& pods, LabPlan& plan) {
  std::vector<std::string> netns_of = KN_TRY(pod_namespaces(lab, pods.specs));
  std::vector<Ipv4> address_of = KN_TRY(assign_addresses(plan, pods.specs, netns_of, memory));
  std::map<std::string, std::set<std::string>> veths;  // per node: host-side names taken
  for (std::size_t i = 0; i < pods.specs.size(); ++i) {
    const PodSpec& spec = pods.specs[i];
    const NodePlan* node = plan.node(spec.node);
    PodPlan p;
    p.name = spec.name;
    p.ns = spec.ns;
    p.deployment = pods.owners[i];
    p.image = spec.image;
    p.args = spec.args;
    p.env = spec.env;
    p.privileged = spec.privileged;
    p.node = spec.node;
    p.netns = netns_of[i];
    p.ifname = "eth0";
    p.address = Cidr{address_of[i], node->pod_subnet.prefix};
    plan.memory.pod_ips[p.netns] = p.address.addr;
    p.gateway = node->bridge_address.addr;
    unsigned salt = 0;
    do {
      p.host_veth = host_veth_name(lab.name, spec.name, salt++);
    } while (veths[spec.node].contains(p.host_veth) && salt < 64);
    if (!veths[spec.node].insert(p.host_veth).second)
      return fail(state_error("plan veth names", fmt::format("no free veth name for pod {}", spec.name)));
    p.labels = spec.labels;
    p.ports = spec.ports;
    p.containers = KN_TRY(containers_of(lab, images, spec, p, plan.state_dir));
    plan.pods.push_back(std::move(p));
  }
  return {};
}

// The cloud provider's part: EXTERNAL-IPs from a pool at the top of the first wire (.200 on a
// /24), owned by the cloud-lb namespace. Without an underlay they stay <pending>.
void plan_load_balancer_ips(const Lab& lab, LabPlan& plan) {
  if (!plan.has_wire()) return;
  const Cidr& first = plan.wires.front().network;
  std::uint32_t next = first.size() >= 256 ? 200 : static_cast<std::uint32_t>(first.size() * 3 / 4);
  for (const NodePlan& n : plan.nodes)  // never below a node's address
    if (n.wire == plan.wires.front().netns) next = std::max(next, n.ip.addr.value - first.network().value + 1);
  for (ServicePlan& s : plan.services)
    if (s.spec.type == ServiceType::kLoadBalancer) {
      if (next >= first.size() - 1) break;
      s.lb_ip = first.nth(next++);
      plan.cloud_lb_netns = netns_name(lab.name, "cloud-lb");
      plan.cloud_lb_ip = Cidr{first.nth(3), first.prefix};
    }
}

}  // namespace

Result<LabPlan> plan_lab(const Lab& lab, const ImageCatalogue& images, const PlanMemory* memory) {
  LabPlan plan;
  plan.lab = lab.name;
  plan.description = lab.description;
  plan.source = lab.source;
  plan.state_dir = state_dir(lab.name);
  plan.cluster = lab.cluster;
  plan_underlay(lab, plan);
  plan_nodes(lab, plan);
  PodList pods = expand_deployments(lab, memory);
  plan.deployments = lab.deployments;
  if (memory) {
    plan.memory.generations = memory->generations;
    plan.memory.last_host = memory->last_host;  // allocation cursors persist even on idle nodes
    plan.memory.created = memory->created;      // creation times: stamp_creation keeps them
  }
  std::vector<ServiceSpec> services = lab.services;
  plan_cluster_dns(lab, plan, pods, services);
  // L7 data planes: the ingress-nginx controller, and one nginx per Gateway of kn-lab's class.
  plan.l7 = lab.l7;
  plan.gateway_controllers = lab.gateway_controllers;
  plan_data_planes(lab, plan, pods.specs, pods.owners, services);
  KN_TRY(plan_pods(lab, images, memory, pods, plan));
  KN_TRY(plan_services(lab.cluster, services, plan));
  plan_load_balancer_ips(lab, plan);
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

std::string pod_resolv_conf(const LabPlan& plan, const PodPlan& pod) {
  std::string search = fmt::format("search {}.svc.cluster.local svc.cluster.local cluster.local\n", pod.ns);
  if (plan.dns)
    return fmt::format("# Cluster DNS (written by kn-lab): the kube-dns Service.\nnameserver {}\n{}options ndots:5\n",
                       plan.dns_ip.str(), search);
  // No cluster DNS in this lab: without a nameserver line the resolver asks 127.0.0.1, which
  // refuses at once instead of timing out against an address that does not exist here.
  return "# kn-lab: this lab runs no cluster DNS; names resolve through /etc/hosts only.\n" + search + "options ndots:5\n";
}

std::string dns_hosts_file(const LabPlan& plan) {
  std::string out = "# Service names for the cluster DNS (written by kn-lab; dnsmasq reads it).\n";
  for (const ServicePlan& s : plan.services)
    out += fmt::format("{}\t{}.{}.svc.cluster.local\n", s.cluster_ip.str(), s.spec.name, s.spec.ns);
  return out;
}

namespace {

// The routes (and for VXLAN the tunnel) that make every other node's pod subnet reachable.
void cross_node_ops(const LabPlan& plan, std::vector<Op>& ops) {
  for (const NodePlan& n : plan.nodes) {
    if (plan.cluster.cni == CniMode::kVxlan) {
      // Flannel's vxlan backend: one VTEP per node holding the .0 of the node's subnet; for each
      // peer a permanent ARP entry (peer .0 -> peer VTEP MAC), a permanent FDB entry (peer VTEP
      // MAC -> peer node IP: where to send the UDP datagram) and a route onlink via the peer's .0.
      ops.emplace_back(VxlanAdd{n.netns, "flannel.1", 1, n.ip.addr, "eth0", 8472, n.pod_mtu, n.vtep_mac});
      ops.emplace_back(AddrAdd{n.netns, "flannel.1", Cidr{n.pod_subnet.network(), 32}});
      ops.emplace_back(LinkUp{n.netns, "flannel.1"});
      for (const NodePlan& peer : plan.nodes) {
        if (&peer == &n) continue;
        Ipv4 peer_vtep = peer.pod_subnet.network();
        ops.emplace_back(NeighAdd{n.netns, "flannel.1", peer_vtep, peer.vtep_mac});
        ops.emplace_back(FdbAdd{n.netns, "flannel.1", peer.vtep_mac, peer.ip.addr});
        ops.emplace_back(RouteAdd{n.netns, peer.pod_subnet, peer_vtep, "flannel.1", true});
      }
    } else if (plan.cluster.cni == CniMode::kBgp) {
      continue;  // BIRD installs the routes: see below
    } else if (plan.cluster.cni == CniMode::kHostGw) {
      // Flannel host-gw: the peer node itself is the gateway to its pods (needs one L2 segment).
      for (const NodePlan& peer : plan.nodes)
        if (&peer != &n) ops.emplace_back(RouteAdd{n.netns, peer.pod_subnet, peer.ip.addr, "eth0", false});
    }
  }
  // BGP: a real BIRD per node (and on the router), then wait for the sessions and the routes.
  auto birds = bird_instances(plan);
  for (const BirdInstance& b : birds) {
    ops.emplace_back(FileWrite{b.dir + "/bird.conf", bird_config(b)});
    ops.emplace_back(DaemonStart{b.netns, b.owner, "bird",
                                 {"bird", "-f", "-c", b.dir + "/bird.conf", "-s", b.dir + "/bird.ctl"}, b.log_path});
  }
  for (const BirdInstance& b : birds) ops.emplace_back(BgpWait{b.netns, b.owner, b.dir + "/bird.ctl", b.log_path, b.expect});
}

}  // namespace

std::vector<Op> up_ops(const LabPlan& plan) {
  std::vector<Op> ops;
  unsigned wire_mtu = plan.cluster.mtu;
  for (const LabPlan::Wire& w : plan.wires) {
    ops.emplace_back(NetnsAdd{w.netns});
    ops.emplace_back(LinkUp{w.netns, "lo"});
    ops.emplace_back(BridgeAdd{w.netns, "br0", wire_mtu});
    ops.emplace_back(LinkUp{w.netns, "br0"});
  }
  if (!plan.router_netns.empty()) {
    // The router between the racks: one leg per rack, forwarding between them.
    ops.emplace_back(NetnsAdd{plan.router_netns});
    ops.emplace_back(LinkUp{plan.router_netns, "lo"});
    ops.emplace_back(SysctlSet{plan.router_netns, "net.ipv4.ip_forward", "1"});
    for (std::size_t i = 0; i < plan.wires.size(); ++i) {
      const LabPlan::Wire& w = plan.wires[i];
      std::string leg = fmt::format("eth{}", i);
      ops.emplace_back(VethAdd{w.netns, "router", "br0", plan.router_netns, leg, wire_mtu});
      ops.emplace_back(LinkUp{plan.router_netns, leg});
      ops.emplace_back(AddrAdd{plan.router_netns, leg, *w.router});
    }
  }
  if (plan.has_wire()) {
    const LabPlan::Wire& first = plan.wires.front();
    ops.emplace_back(NetnsAdd{plan.external_netns});
    ops.emplace_back(LinkUp{plan.external_netns, "lo"});
    ops.emplace_back(VethAdd{first.netns, "external", "br0", plan.external_netns, "eth0", wire_mtu});
    ops.emplace_back(LinkUp{plan.external_netns, "eth0"});
    ops.emplace_back(AddrAdd{plan.external_netns, "eth0", plan.external_ip});
    if (first.router)
      ops.emplace_back(RouteAdd{plan.external_netns, Cidr{Ipv4{0}, 0}, first.router->addr, "eth0", false});
  }
  for (const NodePlan& n : plan.nodes) {
    ops.emplace_back(NetnsAdd{n.netns});
    ops.emplace_back(LinkUp{n.netns, "lo"});
    if (plan.has_wire()) {
      ops.emplace_back(VethAdd{n.wire, n.wire_port, "br0", n.netns, "eth0", wire_mtu});
      ops.emplace_back(LinkUp{n.netns, "eth0"});
      ops.emplace_back(AddrAdd{n.netns, "eth0", n.ip});
      if (n.default_gateway)
        ops.emplace_back(RouteAdd{n.netns, Cidr{Ipv4{0}, 0}, *n.default_gateway, "eth0", false});
    }
    ops.emplace_back(SysctlSet{n.netns, "net.ipv4.ip_forward", "1"});
    // Bridged pod-to-pod traffic must traverse iptables for Services (kube-proxy needs it);
    // without br_netfilter that is impossible, which only matters once a lab has Services.
    ops.emplace_back(SysctlSet{n.netns, "net.bridge.bridge-nf-call-iptables", "1", false});
    ops.emplace_back(BridgeAdd{n.netns, n.bridge, n.pod_mtu});
    ops.emplace_back(AddrAdd{n.netns, n.bridge, n.bridge_address});
    ops.emplace_back(LinkUp{n.netns, n.bridge});
  }
  for (const PodPlan& p : plan.pods) pod_ops(plan, p, ops);
  if (plan.has_wire()) cross_node_ops(plan, ops);
  if (!plan.cloud_lb_netns.empty()) cloud_lb_ops(plan, ops);
  // kube-proxy: every node gets the Service rules (nat and filter), one commit per table, or in
  // nftables mode its table ip kube-proxy in one transaction; with
  // NetworkPolicies, kube-router's ipsets first (the filter table names them), then its chains
  // in filter, then its sets that are no longer named go.
  if (has_node_tables(plan)) {
    NetpolCompiled policies = has_network_policies(plan) ? compile_network_policies(plan) : NetpolCompiled{};
    NodeTables tables(plan, policies);
    // nftables mode: every node's table ip kube-proxy, next to each other (run at once).
    if (uses_nft_proxy(plan))
      for (NftApply& a : kube_proxy_nft_ops(plan)) ops.emplace_back(std::move(a));
    // Every node's sets, then every node's tables next to each other (written at once), then
    // the sets no rule names any more.
    if (has_network_policies(plan))
      for (const NodePlan& n : plan.nodes) ops.emplace_back(IpsetApply{n.netns, policies.sets, false});
    for (const NodePlan& n : plan.nodes)
      for (const auto& t : tables.of(n)) ops.emplace_back(IptablesApply{n.netns, t});
    if (has_network_policies(plan))
      for (const NodePlan& n : plan.nodes) ops.emplace_back(IpsetApply{n.netns, policies.sets, true});
  }
  if (plan.dns) ops.emplace_back(FileWrite{plan.dns_hosts_path, dns_hosts_file(plan)});
  for (const DataPlanePlan& dp : plan.data_planes) data_plane_ops(plan, dp, ops);
  for (const PodPlan& p : plan.pods) container_ops(p, ops);
  return ops;
}

void data_plane_ops(const LabPlan& plan, const DataPlanePlan& dp, std::vector<Op>& ops) {
  for (auto& [path, content] : nginx_files(plan, dp)) ops.emplace_back(FileWrite{path, content});
  ops.emplace_back(FileWrite{dp.dir + "/logs/access.log", ""});  // nginx opens its logs at start: the folder must exist
  ops.emplace_back(FileWrite{dp.dir + "/temp/.created-by-kn-lab", ""});
}

void pod_ops(const LabPlan& plan, const PodPlan& p, std::vector<Op>& ops) {
  const NodePlan* n = plan.node(p.node);
  std::string etc = pod_etc_dir(p);
  ops.emplace_back(NetnsAdd{p.netns});
  ops.emplace_back(FileWrite{etc + "/hosts", pod_hosts_file(p)});
  ops.emplace_back(FileWrite{etc + "/resolv.conf", pod_resolv_conf(plan, p)});
  ops.emplace_back(PauseStart{p.netns, p.key(), p.name});
  ops.emplace_back(VethAdd{n->netns, p.host_veth, n->bridge, p.netns, p.ifname, n->pod_mtu});
  ops.emplace_back(BridgePortSet{n->netns, p.host_veth, true});
  ops.emplace_back(LinkUp{p.netns, "lo"});
  ops.emplace_back(LinkUp{p.netns, p.ifname});
  ops.emplace_back(AddrAdd{p.netns, p.ifname, p.address});
  ops.emplace_back(RouteAdd{p.netns, Cidr{Ipv4{0}, 0}, p.gateway, p.ifname, false});
}

void container_ops(const PodPlan& p, std::vector<Op>& ops) {
  for (const ContainerPlan& c : p.containers)
    ops.emplace_back(ContainerStart{p.netns, p.key(), c.name, c.argv, c.env, c.log_path, p.privileged});
}

void cloud_lb_ops(const LabPlan& plan, std::vector<Op>& ops) {
  const LabPlan::Wire& first = plan.wires.front();
  const std::string& lb = plan.cloud_lb_netns;
  unsigned wire_mtu = plan.cluster.mtu;
  ops.emplace_back(NetnsAdd{lb});
  ops.emplace_back(LinkUp{lb, "lo"});
  ops.emplace_back(SysctlSet{lb, "net.ipv4.ip_forward", "1"});
  ops.emplace_back(VethAdd{first.netns, "cloud-lb", "br0", lb, "eth0", wire_mtu});
  ops.emplace_back(LinkUp{lb, "eth0"});
  ops.emplace_back(AddrAdd{lb, "eth0", plan.cloud_lb_ip});
  for (const ServicePlan& s : plan.services)
    if (s.lb_ip) ops.emplace_back(AddrAdd{lb, "eth0", Cidr{*s.lb_ip, 32}});
  if (first.router) ops.emplace_back(RouteAdd{lb, Cidr{Ipv4{0}, 0}, first.router->addr, "eth0", false});
  ops.emplace_back(IptablesApply{lb, cloud_lb_table(plan)});
}

std::vector<std::string> namespace_names(const LabPlan& plan) {
  std::set<std::string> out = {"default", "kube-node-lease", "kube-public", "kube-system"};
  for (auto& n : plan.l7.namespaces) out.insert(n.meta.name);
  for (auto& p : plan.pods) out.insert(p.ns);
  for (auto& s : plan.services) out.insert(s.spec.ns);
  for (auto& d : plan.deployments) out.insert(d.ns);
  return {out.begin(), out.end()};
}

std::map<std::string, std::string> namespace_labels(const LabPlan& plan, const std::string& ns) {
  std::map<std::string, std::string> l = {{"kubernetes.io/metadata.name", ns}};
  for (const NamespaceSpec& n : plan.l7.namespaces)
    if (n.meta.name == ns) l.insert(n.meta.labels.begin(), n.meta.labels.end());
  return l;
}

}  // namespace knlab
