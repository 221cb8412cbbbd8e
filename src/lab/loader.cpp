#include "lab/loader.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "core/text.hpp"
#include "lab/checks.hpp"
#include "lab/names.hpp"
#include "lab/toml_reader.hpp"
#include "lab/validate.hpp"
#include "lab/values.hpp"

namespace knlab {

std::string_view to_string(ServiceType t) {
  switch (t) {
    case ServiceType::kClusterIP: return "ClusterIP";
    case ServiceType::kNodePort: return "NodePort";
    case ServiceType::kLoadBalancer: return "LoadBalancer";
  }
  return "?";
}

std::string_view to_string(ProxyMode mode) { return mode == ProxyMode::kNftables ? "nftables" : "iptables"; }

std::string_view to_string(CniMode mode) {
  switch (mode) {
    case CniMode::kVxlan: return "vxlan";
    case CniMode::kHostGw: return "host-gw";
    case CniMode::kBgp: return "bgp";
  }
  return "?";
}

const NodeSpec* Lab::find_node(std::string_view n) const {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const NodeSpec& x) { return x.name == n; });
  return it == nodes.end() ? nullptr : &*it;
}

bool Lab::answers_to(std::string_view controller) const {
  return std::find(gateway_controllers.begin(), gateway_controllers.end(), controller) != gateway_controllers.end();
}

const PodSpec* Lab::find_pod(std::string_view n) const {
  auto it = std::find_if(pods.begin(), pods.end(), [&](const PodSpec& x) { return x.name == n; });
  return it == pods.end() ? nullptr : &*it;
}

namespace {

Status check_name(const TableReader& r, std::string_view key, const std::string& name,
                  std::size_t max_length, std::string_view what) {
  if (auto problem = check_label(name, max_length))
    return fail(input_error(r.where_of(key), fmt::format("{} name \"{}\" {}", what, name, *problem),
                            "use lowercase letters, digits and '-' (it becomes part of "
                            "namespace names and paths)"));
  return {};
}

// env = { NAME = "value" }: names as a shell's, no NUL byte in values.
Result<std::vector<std::pair<std::string, std::string>>> read_env(const TableReader& r) {
  auto env = KN_TRY(r.string_map("env"));
  for (auto& [k, v] : env) {
    if (v.find('\0') != std::string::npos)
      return fail(input_error(r.where_of("env"), fmt::format("environment variable {} contains a NUL byte", k)));
    if (!valid_env_name(k))
      return fail(input_error(r.where_of("env"), fmt::format("environment variable name \"{}\" is not valid", k),
                              "use letters, digits and '_', not starting with a digit"));
  }
  return env;
}

// A command or args array: no NUL byte, a program name that is not empty.
Result<std::vector<std::string>> read_argv(const TableReader& r, std::string_view key) {
  auto argv = KN_TRY(r.string_array(key));
  for (auto& arg : argv)
    if (arg.find('\0') != std::string::npos || (&arg == &argv.front() && arg.empty()))
      return fail(input_error(r.where_of(key), fmt::format("{} has an empty program name or a NUL byte", key)));
  return argv;
}

Result<ContainerSpec> read_container(const toml::table& t, const std::string& file,
                                     const std::string& pod) {
  TableReader r(t, fmt::format("[[pod.container]] of pod '{}'", pod), file,
                {"name", "command", "env"});
  KN_TRY(r.check_keys());
  ContainerSpec c;
  c.where = r.where();
  c.name = KN_TRY(r.required_string("name", "\"server\""));
  KN_TRY(check_name(r, "name", c.name, kMaxObjectNameLength, "container"));
  c.command = KN_TRY(read_argv(r, "command"));
  if (c.command.empty())
    return fail(input_error(r.where_of("command"),
                            fmt::format("container '{}' of pod '{}' has no command", c.name, pod),
                            "add command = [\"program\", \"arg\", ...] (argv, run without a shell)"));
  c.env = KN_TRY(read_env(r));
  return c;
}

Result<std::map<std::string, std::string>> read_labels(const TableReader& r, std::string_view key) {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : KN_TRY(r.string_map(key))) {
    if (!valid_label_key(k) || !valid_label_part(v, true))
      return fail(input_error(r.where_of(key), fmt::format("label {}={} is not a valid Kubernetes label", k, v),
                              "keys and values: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends"));
    out.emplace(k, v);
  }
  return out;
}

Result<std::string> read_namespace(const TableReader& r) {
  std::string ns = KN_TRY(r.string("namespace")).value_or("default");
  KN_TRY(check_name(r, "namespace", ns, kMaxObjectNameLength, "namespace"));
  return ns;
}

// An image reference: registry/repository:tag, as Kubernetes accepts (no spaces, no shell).
Status check_image(const TableReader& r, const std::string& image) {
  if (!valid_image(image))
    return fail(input_error(r.where_of("image"), fmt::format("image \"{}\" is not a valid image reference", image),
                            "like \"ghost:4\" or \"stefanprodan/podinfo\" (data/images.toml lists what a lab can run)"));
  return {};
}

Result<std::optional<std::uint16_t>> read_port(const TableReader& r, std::string_view key, int lo = 1, int hi = 65535) {
  auto v = KN_TRY(r.integer(key, lo, hi));
  if (!v) return std::optional<std::uint16_t>{};
  return std::optional<std::uint16_t>{static_cast<std::uint16_t>(*v)};
}

// ports = [{ name = "http", port = 80, protocol = "TCP" }]: a container's declared ports.
Result<std::vector<ContainerPort>> read_container_ports(const TableReader& r, const std::string& file, std::string_view owner) {
  std::vector<ContainerPort> out;
  std::set<std::string> names;
  for (const toml::table* pt : KN_TRY(r.tables("ports"))) {
    TableReader pr(*pt, fmt::format("a port of {}", owner), file, {"name", "port", "protocol"});
    KN_TRY(pr.check_keys());
    ContainerPort cp;
    cp.name = KN_TRY(pr.string("name")).value_or("");
    if (!cp.name.empty()) {
      KN_TRY(check_name(pr, "name", cp.name, 15, "port"));
      if (!names.insert(cp.name).second)
        return fail(input_error(pr.where_of("name"), fmt::format("{} has two ports named '{}'", owner, cp.name)));
    }
    auto port = KN_TRY(read_port(pr, "port"));
    if (!port) return fail(pr.missing("port", "80"));
    cp.port = *port;
    cp.protocol = KN_TRY(pr.choice("protocol", {"TCP", "UDP"})).value_or("TCP");
    out.push_back(std::move(cp));
  }
  return out;
}

Result<PodSpec> read_pod(const toml::table& t, const std::string& file, const Lab& lab) {
  TableReader r(t, "[[pod]]", file, {"name", "namespace", "node", "labels", "image", "args", "env", "ports", "privileged", "container"});
  KN_TRY(r.check_keys());
  PodSpec p;
  p.where = r.where();
  p.name = KN_TRY(r.required_string("name", "\"web\""));
  KN_TRY(check_name(r, "name", p.name, kMaxObjectNameLength, "pod"));
  p.ns = KN_TRY(read_namespace(r));
  if (const toml::node* priv = t.get("privileged")) {
    if (!priv->is_boolean()) return fail(r.type_error("privileged", *priv, "true or false"));
    p.privileged = priv->as_boolean()->get();
  }
  if (auto image = KN_TRY(r.string("image"))) {
    KN_TRY(check_image(r, *image));
    p.image = *image;
  }
  auto node = KN_TRY(r.string("node"));
  if (node) {
    p.node = *node;
  } else if (lab.nodes.size() == 1) {
    p.node = lab.nodes.front().name;  // one node: nothing to choose
  } else {
    return fail(r.missing("node", fmt::format("\"{}\"", lab.nodes.empty() ? "node1" : lab.nodes.front().name)));
  }
  if (!lab.find_node(p.node)) {
    std::vector<std::string_view> names;
    for (auto& n : lab.nodes) names.push_back(n.name);
    return fail(input_error(r.where_of("node"),
                            fmt::format("pod '{}' is on node '{}', which the lab does not define", p.name, p.node),
                            fmt::format("nodes of this lab: {}", join(names))));
  }
  p.labels = KN_TRY(read_labels(r, "labels"));
  std::set<std::string> seen;
  for (const toml::table* ct : KN_TRY(r.tables("container", "pod.container"))) {
    ContainerSpec c = KN_TRY(read_container(*ct, file, p.name));
    if (!seen.insert(c.name).second)
      return fail(input_error(c.where, fmt::format("pod '{}' has two containers named '{}'", p.name, c.name)));
    p.containers.push_back(std::move(c));
  }
  p.args = KN_TRY(read_argv(r, "args"));
  p.env = KN_TRY(read_env(r));
  p.ports = KN_TRY(read_container_ports(r, file, fmt::format("pod '{}'", p.name)));
  if (p.image.empty() && !p.ports.empty())
    return fail(input_error(r.where_of("ports"), fmt::format("pod '{}': ports go with an image", p.name), "write image = \"...\""));
  if (p.image.empty() && (!p.args.empty() || !p.env.empty()))
    return fail(input_error(r.where_of(p.args.empty() ? "env" : "args"), fmt::format("pod '{}': args and env go with an image", p.name),
                            "write image = \"alpine\", or give [[pod.container]] tables their own command and env"));
  if (!p.image.empty() && !p.containers.empty())
    return fail(input_error(r.where_of("image"), fmt::format("pod '{}' has both an image and [[pod.container]] tables", p.name),
                            "use one: image = \"...\" runs the image's behaviour, containers run host programs"));
  return p;
}

Result<DeploymentSpec> read_deployment(const toml::table& t, const std::string& file) {
  TableReader r(t, "[[deployment]]", file, {"name", "namespace", "replicas", "image", "labels", "port", "ports"});
  KN_TRY(r.check_keys());
  DeploymentSpec d;
  d.where = r.where();
  d.name = KN_TRY(r.required_string("name", "\"ghost\""));
  // Pod names add "-<10>-<5>" to the deployment's name: keep the whole within a label.
  KN_TRY(check_name(r, "name", d.name, kMaxObjectNameLength - 17, "deployment"));
  d.ns = KN_TRY(read_namespace(r));
  d.image = KN_TRY(r.required_string("image", "\"ghost:4\""));
  KN_TRY(check_image(r, d.image));
  if (auto n = KN_TRY(r.integer("replicas", 0, 250))) d.replicas = static_cast<int>(*n);
  d.labels = KN_TRY(read_labels(r, "labels"));
  if (d.labels.empty()) d.labels["app"] = d.name;  // what `kubectl create deploy` sets
  d.port = KN_TRY(read_port(r, "port"));
  d.ports = KN_TRY(read_container_ports(r, file, fmt::format("deployment '{}'", d.name)));
  if (!d.port && !d.ports.empty()) d.port = d.ports.front().port;
  return d;
}

// One port of a Service: the keys of [[service]] itself (one port) or of an entry of its
// `ports = [...]` (several, each named).
// `named`: the table is an entry of `ports` (whose `name` is the port's, not the service's).
Result<ServicePortSpec> read_service_port(const TableReader& r, bool named) {
  ServicePortSpec p;
  p.where = r.where();
  if (named) p.name = KN_TRY(r.string("name")).value_or(""), p.name_where = r.where_of("name");
  auto port = KN_TRY(read_port(r, "port"));
  if (!port) return fail(r.missing("port", "80"));
  p.port = *port;
  p.target_port = KN_TRY(read_port(r, "target_port")).value_or(p.port);
  p.node_port = KN_TRY(read_port(r, "node_port", 30000, 32767));
  p.node_port_where = r.where_of("node_port");
  p.protocol = KN_TRY(r.choice("protocol", {"TCP", "UDP"})).value_or("TCP");
  return p;
}

Result<ServiceSpec> read_service(const toml::table& t, const std::string& file) {
  TableReader r(t, "[[service]]", file,
                {"name", "namespace", "type", "labels", "selector", "port", "target_port", "node_port", "protocol", "ports",
                 "session_affinity", "external_traffic_policy", "cluster_ip"});
  KN_TRY(r.check_keys());
  ServiceSpec s;
  s.where = r.where();
  s.name = KN_TRY(r.required_string("name", "\"ghost\""));
  KN_TRY(check_name(r, "name", s.name, kMaxObjectNameLength, "service"));
  s.ns = KN_TRY(read_namespace(r));
  auto choice = [&](std::string_view key, std::vector<std::string_view> allowed, std::string_view dflt) -> Result<std::string> {
    return KN_TRY(r.choice(key, allowed)).value_or(std::string(dflt));
  };
  std::string type = KN_TRY(choice("type", {"ClusterIP", "NodePort", "LoadBalancer"}, "ClusterIP"));
  s.type = *parse_service_type(type);  // `choice` admitted only the three names
  s.labels = KN_TRY(read_labels(r, "labels"));
  s.selector = KN_TRY(read_labels(r, "selector"));
  auto port_tables = KN_TRY(r.tables("ports"));
  if (port_tables.empty()) {
    s.ports = {KN_TRY(read_service_port(r, false))};
  } else {
    for (std::string_view k : {"port", "target_port", "node_port", "protocol"})
      if (t.get(k))
        return fail(input_error(r.where_of(k), fmt::format("'{}' and 'ports' are both set in [[service]] '{}'", k, s.name),
                                "with several ports, put each port's keys in its entry of ports = [{ name = \"http\", port = 80 }, ...]"));
    s.ports.clear();
    for (const toml::table* pt : port_tables) {
      TableReader pr(*pt, fmt::format("a port of service '{}'", s.name), file, {"name", "port", "target_port", "node_port", "protocol"});
      KN_TRY(pr.check_keys());
      s.ports.push_back(KN_TRY(read_service_port(pr, true)));
    }
  }
  s.session_affinity = KN_TRY(choice("session_affinity", {"None", "ClientIP"}, "None")) == "ClientIP";
  std::string etp = KN_TRY(choice("external_traffic_policy", {"Cluster", "Local"}, "Cluster"));
  s.local_traffic_policy = etp == "Local";
  s.traffic_policy_where = r.where_of("external_traffic_policy");
  if (auto ip = KN_TRY(r.string("cluster_ip"))) {
    auto parsed = Ipv4::parse(*ip);
    if (!parsed) return fail(input_error(r.where_of("cluster_ip"), fmt::format("cluster_ip \"{}\" is not an IPv4 address", *ip)));
    s.cluster_ip = *parsed;
    s.cluster_ip_where = r.where_of("cluster_ip");
  }
  return s;
}

Status read_cluster(const toml::table* t, const std::string& file, ClusterSpec& c) {
  if (!t) return {};
  TableReader r(*t, "[cluster]", file,
                {"pod_cidr", "node_cidr_mask", "service_cidr", "node_network", "cni", "proxy_mode", "mtu", "dns"});
  KN_TRY(r.check_keys());
  if (auto v = KN_TRY(r.cidr("pod_cidr"))) c.pod_cidr = *v;
  if (auto v = KN_TRY(r.cidr("service_cidr"))) c.service_cidr = *v;
  if (auto v = KN_TRY(r.cidr("node_network"))) c.node_network = *v;
  if (auto v = KN_TRY(r.integer("node_cidr_mask", 8, 30))) c.node_mask = static_cast<unsigned>(*v);
  if (auto v = KN_TRY(r.integer("mtu", 1280, 9000))) c.mtu = static_cast<unsigned>(*v);
  if (const toml::node* dns = t->get("dns")) {
    if (!dns->is_boolean()) return fail(r.type_error("dns", *dns, "true or false"));
    c.dns = dns->as_boolean()->get();
  }
  if (auto v = KN_TRY(r.string("cni"))) {
    if (auto mode = parse_cni_mode(*v)) c.cni = *mode;
    else
      return fail(input_error(r.where_of("cni"), fmt::format("cni = \"{}\" is not a known mode", *v),
                              "allowed: \"vxlan\" (encapsulated), \"host-gw\" (static routes), \"bgp\" (bird2)"));
  }
  if (auto v = KN_TRY(r.string("proxy_mode"))) {
    if (auto mode = parse_proxy_mode(*v)) c.proxy_mode = *mode;
    else
      return fail(input_error(r.where_of("proxy_mode"), fmt::format("proxy_mode = \"{}\" is not a kube-proxy mode", *v),
                              "allowed: \"iptables\" (the default) or \"nftables\""));
  }
  if (c.node_mask < c.pod_cidr.prefix)
    return fail(input_error(r.where_of("node_cidr_mask"),
                            fmt::format("node_cidr_mask /{} is wider than pod_cidr {}", c.node_mask, c.pod_cidr.str()),
                            fmt::format("use a mask of at least /{}", c.pod_cidr.prefix)));
  struct Named { std::string_view key; const Cidr* cidr; };
  const Named nets[] = {{"pod_cidr", &c.pod_cidr}, {"service_cidr", &c.service_cidr}, {"node_network", &c.node_network}};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = i + 1; j < 3; ++j)
      if (nets[i].cidr->overlaps(*nets[j].cidr))
        return fail(input_error(r.where_of(nets[j].key),
                                fmt::format("{} {} overlaps {} {}", nets[j].key, nets[j].cidr->str(),
                                            nets[i].key, nets[i].cidr->str()),
                                "pod, service and node networks must not overlap, as in a real cluster"));
  return {};
}

std::string rack_names(const Lab& lab) {
  std::string out;
  for (auto& r : lab.racks) out += (out.empty() ? "" : ", ") + r.name;
  return out;
}

Status read_racks(const TableReader& top, const std::string& file, Lab& lab, std::set<std::string>& names) {
  for (const toml::table* t : KN_TRY(top.tables("rack"))) {
    TableReader r(*t, "[[rack]]", file, {"name", "network"});
    KN_TRY(r.check_keys());
    RackSpec rack;
    rack.where = r.where();
    rack.name = KN_TRY(r.required_string("name", "\"rack1\""));
    KN_TRY(check_name(r, "name", rack.name, 15, "rack"));
    if (is_reserved_name(rack.name))
      return fail(input_error(r.where_of("name"), fmt::format("rack name \"{}\" is reserved for the lab's own infrastructure", rack.name),
                              "reserved: wire, external, router, cloud-lb, host"));
    if (!names.insert(rack.name).second)
      return fail(input_error(r.where_of("name"), fmt::format("the name '{}' is used twice", rack.name)));
    auto net = KN_TRY(r.cidr("network"));
    if (!net) return fail(r.missing("network", "\"192.168.57.0/24\""));
    rack.network = *net;
    const ClusterSpec& c = lab.cluster;
    for (const Cidr* other : {&c.pod_cidr, &c.service_cidr})
      if (rack.network.overlaps(*other))
        return fail(input_error(r.where_of("network"), fmt::format("rack network {} overlaps {}", rack.network.str(), other->str()),
                                "pod, service and node networks must not overlap"));
    for (auto& prev : lab.racks)
      if (rack.network.overlaps(prev.network))
        return fail(input_error(r.where_of("network"), fmt::format("rack network {} overlaps rack {} ({})", rack.network.str(), prev.name, prev.network.str()),
                                "each rack is a subnet of its own"));
    lab.racks.push_back(std::move(rack));
  }
  return {};
}

Status read_node_rack(const TableReader& r, const Lab& lab, NodeSpec& n) {
  auto rack = KN_TRY(r.string("rack"));
  if (lab.racks.empty()) {
    if (rack)
      return fail(input_error(r.where_of("rack"), fmt::format("node '{}' names rack '{}' but the lab defines no [[rack]]", n.name, *rack),
                              "add [[rack]] tables (name, network), or remove rack = ..."));
    return {};
  }
  if (!rack) {
    if (lab.racks.size() > 1)
      return fail(r.missing("rack", fmt::format("\"{}\" (racks: {})", lab.racks.front().name, rack_names(lab))));
    n.rack = lab.racks.front().name;
    return {};
  }
  if (std::none_of(lab.racks.begin(), lab.racks.end(), [&](const RackSpec& x) { return x.name == *rack; }))
    return fail(input_error(r.where_of("rack"), fmt::format("node '{}' is in rack '{}', which the lab does not define", n.name, *rack),
                            fmt::format("racks of this lab: {}", rack_names(lab))));
  n.rack = *rack;
  return {};
}

Status check_capacity(const Lab& lab, const toml::table& root, const std::string& file,
                      const LabOverrides& overrides) {
  const ClusterSpec& c = lab.cluster;
  auto at = [&](std::string_view key) {
    if (key == "cni" && overrides.cni) return SourceLocation{"--cni", 0, 0};
    const toml::node* n = root.at_path(fmt::format("cluster.{}", key)).node();
    return n ? SourceLocation{file, n->source().begin.line, n->source().begin.column}
             : SourceLocation{file, 1, 1};
  };
  std::uint64_t node_slots = std::uint64_t{1} << (c.node_mask - c.pod_cidr.prefix);
  if (lab.nodes.size() > node_slots)
    return fail(input_error(at("pod_cidr"),
                            fmt::format("pod_cidr {} holds {} node subnets of /{}, the lab has {} nodes",
                                        c.pod_cidr.str(), node_slots, c.node_mask, lab.nodes.size()),
                            "use a larger pod_cidr or a longer node_cidr_mask"));
  // Network, gateway (.1 on cni0) and broadcast are not for pods.
  std::uint64_t per_node = (std::uint64_t{1} << (32 - c.node_mask)) - 3;
  for (auto& n : lab.nodes) {
    auto count = static_cast<std::uint64_t>(std::count_if(lab.pods.begin(), lab.pods.end(),
                                                          [&](const PodSpec& p) { return p.node == n.name; }));
    if (count > per_node)
      return fail(input_error(n.where,
                              fmt::format("node '{}' has {} pods but its /{} subnet holds {} pod addresses",
                                          n.name, count, c.node_mask, per_node),
                              "set a shorter [cluster] node_cidr_mask (e.g. 22 holds 1021 pods) or spread pods over more nodes"));
  }
  // Every node, the external host and a router need an address on the underlay.
  for (auto& rack : lab.racks) {
    auto count = static_cast<std::uint64_t>(std::count_if(lab.nodes.begin(), lab.nodes.end(),
                                                          [&](const NodeSpec& n) { return n.rack == rack.name; }));
    std::uint64_t room = rack.network.size() >= 4 ? rack.network.size() - 2 : 0;
    if (count + 3 > room)
      return fail(input_error(rack.where, fmt::format("rack {} network {} has {} host addresses; its {} nodes and the 3 addresses "
                                                      "kept for the router, the outside world and a load balancer need {}",
                                                      rack.name, rack.network.str(), room, count, count + 3),
                              "use a larger rack network"));
  }
  // host-gw routes a node's pod subnet via the node's own address, which only works when that
  // address is on a link of the sender: every node on one L2 segment.
  if (c.cni == CniMode::kHostGw && lab.racks.size() > 1) {
    const NodeSpec* a = &lab.nodes.front();
    auto other = std::find_if(lab.nodes.begin(), lab.nodes.end(), [&](const NodeSpec& n) { return n.rack != a->rack; });
    if (other != lab.nodes.end())
      return fail(input_error(at("cni"),
                              fmt::format("cni = \"host-gw\" cannot connect nodes in different racks: {} (in {}) would need "
                                          "a route to {}'s pods via {}'s own address (in {}), which is not on any link of {}; "
                                          "only the router between the racks could forward such packets, and it knows no pod routes",
                                          a->name, a->rack, other->name, other->name, other->rack, a->name),
                              "host-gw needs every node on one L2 segment: put the nodes in one rack, or use cni = \"vxlan\" "
                              "(encapsulation crosses the router) or cni = \"bgp\" (the router learns the pod routes)"));
  }
  std::uint64_t hosts = c.node_network.size() >= 4 ? c.node_network.size() - 2 : 0;
  if (lab.racks.empty() && lab.nodes.size() + 3 > hosts)
    return fail(input_error(at("node_network"),
                            fmt::format("node_network {} has {} host addresses; {} node{} and the 3 addresses kept for "
                                        "the lab's own hosts (outside world, router, load balancer) need {}",
                                        c.node_network.str(), hosts, lab.nodes.size(), lab.nodes.size() == 1 ? "" : "s",
                                        lab.nodes.size() + 3),
                            "use a larger node_network"));
  return {};
}

// Debian's toml++ (3.3) reaches __builtin_unreachable() when it meets some non-ASCII code points
// where it looks for whitespace (in keys and around values; found by fuzzing), which is
// undefined behaviour. TOML allows non-ASCII only in strings and comments, and lab files need it
// nowhere but in comments: so every byte >= 0x80 outside a comment is refused here, with its
// position, before toml++ sees the text.
}  // namespace

std::optional<ServiceType> parse_service_type(std::string_view s) {
  if (s == "ClusterIP") return ServiceType::kClusterIP;
  if (s == "NodePort") return ServiceType::kNodePort;
  if (s == "LoadBalancer") return ServiceType::kLoadBalancer;
  return std::nullopt;
}

std::optional<ProxyMode> parse_proxy_mode(std::string_view s) {
  if (s == "iptables") return ProxyMode::kIptables;
  if (s == "nftables") return ProxyMode::kNftables;
  return std::nullopt;
}

std::optional<CniMode> parse_cni_mode(std::string_view s) {
  if (s == "vxlan") return CniMode::kVxlan;
  if (s == "host-gw") return CniMode::kHostGw;
  if (s == "bgp") return CniMode::kBgp;
  return std::nullopt;
}

namespace {

// [lab]: name, description, the manifests it applies.
Status read_lab_table(const TableReader& top, const std::string& source_name, Lab& lab) {
  const toml::table* lab_table = top.table("lab");
  if (!lab_table)
    return fail(input_error(SourceLocation{source_name, 1, 1}, "the lab file has no [lab] table",
                            "start the file with [lab] and name = \"my-lab\""));
  TableReader lr(*lab_table, "[lab]", source_name, {"name", "description", "manifests"});
  KN_TRY(lr.check_keys());
  lab.name = KN_TRY(lr.required_string("name", "\"my-lab\""));
  KN_TRY(check_name(lr, "name", lab.name, kMaxLabNameLength, "lab"));
  lab.description = KN_TRY(lr.string("description")).value_or("");
  lab.manifests = KN_TRY(lr.string_array("manifests"));
  if (const toml::array* arr = lab_table->get_as<toml::array>("manifests"))
    for (const toml::node& item : *arr) lab.manifest_where.push_back(lr.where(item.source()));
  for (std::size_t i = 0; i < lab.manifests.size(); ++i)
    if (lab.manifests[i].empty())
      return fail(input_error(lab.manifest_where[i], "an empty path in manifests", "name YAML files, relative to the lab file"));
  return {};
}

// [[node]] and [[pod]]: each is a network namespace, so they share one set of names with racks.
Status read_nodes_and_pods(const TableReader& top, const std::string& source_name, Lab& lab, std::set<std::string>& names) {
  for (const toml::table* t : KN_TRY(top.tables("node"))) {
    TableReader r(*t, "[[node]]", source_name, {"name", "rack", "labels"});
    KN_TRY(r.check_keys());
    NodeSpec n;
    n.where = r.where();
    n.name = KN_TRY(r.required_string("name", "\"node1\""));
    KN_TRY(check_name(r, "name", n.name, kMaxObjectNameLength, "node"));
    KN_TRY(read_node_rack(r, lab, n));
    n.labels = KN_TRY(read_labels(r, "labels"));
    if (is_reserved_name(n.name))
      return fail(input_error(r.where_of("name"), fmt::format("node name \"{}\" is reserved for the lab's own infrastructure", n.name),
                              "reserved: wire, external, router, cloud-lb, host"));
    if (!names.insert(n.name).second)
      return fail(input_error(r.where_of("name"), fmt::format("two nodes are named '{}'", n.name)));
    lab.nodes.push_back(std::move(n));
  }
  if (lab.nodes.empty())
    return fail(input_error(SourceLocation{source_name, 1, 1}, "the lab defines no node",
                            "add a node:\n    [[node]]\n    name = \"node1\""));
  for (const toml::table* t : KN_TRY(top.tables("pod"))) {
    PodSpec p = KN_TRY(read_pod(*t, source_name, lab));
    if (is_reserved_name(p.name))
      return fail(input_error(p.where, fmt::format("pod name \"{}\" is reserved for the lab's own infrastructure", p.name),
                              "reserved: wire, external, router, cloud-lb, host"));
    lab.pods.push_back(std::move(p));
  }
  return {};
}

// [ingress_nginx]: the controller's Service takes its two NodePorts first.
Status read_ingress_nginx(const toml::table& root, const TableReader& top, const std::string& source_name, Lab& lab) {
  const toml::node* n = root.get("ingress_nginx");
  if (!n) return {};
  const toml::table* t = n->as_table();
  if (!t) return fail(top.type_error("ingress_nginx", *n, "a table: write [ingress_nginx]"));
  TableReader r(*t, "[ingress_nginx]", source_name, {"type", "http_node_port", "https_node_port"});
  KN_TRY(r.check_keys());
  IngressControllerSpec c;
  c.where = r.where();
  c.type = *parse_service_type(KN_TRY(r.choice("type", {"NodePort", "LoadBalancer"})).value_or("NodePort"));
  c.http_node_port = KN_TRY(read_port(r, "http_node_port", 30000, 32767)).value_or(c.http_node_port);
  c.https_node_port = KN_TRY(read_port(r, "https_node_port", 30000, 32767)).value_or(c.https_node_port);
  if (c.http_node_port == c.https_node_port)
    return fail(input_error(r.where_of("https_node_port"), fmt::format("http and https both use node port {}", c.http_node_port)));
  lab.ingress_nginx = c;
  return {};
}

// [gateway_controller] controller_names = [...]: the GatewayClass controllerNames the lab's
// Gateway controller answers to, besides kn-lab's own.
Status read_gateway_controller(const toml::table& root, const TableReader& top, const std::string& source_name, Lab& lab) {
  const toml::node* n = root.get("gateway_controller");
  if (!n) return {};
  const toml::table* t = n->as_table();
  if (!t) return fail(top.type_error("gateway_controller", *n, "a table: write [gateway_controller]"));
  TableReader r(*t, "[gateway_controller]", source_name, {"controller_names"});
  KN_TRY(r.check_keys());
  for (std::string& name : KN_TRY(r.string_array("controller_names"))) {
    if (!is_controller_name(name))
      return fail(input_error(r.where_of("controller_names"), fmt::format("controller name \"{}\" is not a domain-prefixed path", name),
                              fmt::format("like {}", kEnvoyGatewayController)));
    if (!lab.answers_to(name)) lab.gateway_controllers.push_back(std::move(name));
  }
  return {};
}

// [[deployment]] and [[service]] (lab/validate checks names, node ports and cluster IPs).
Status read_workloads(const TableReader& top, const std::string& source_name, Lab& lab) {
  for (const toml::table* t : KN_TRY(top.tables("deployment"))) lab.deployments.push_back(KN_TRY(read_deployment(*t, source_name)));
  for (const toml::table* t : KN_TRY(top.tables("service"))) lab.services.push_back(KN_TRY(read_service(*t, source_name)));
  return {};
}

Status read_service_patches(const TableReader& top, const std::string& source_name, Lab& lab) {
  for (const toml::table* t : KN_TRY(top.tables("service_patch"))) {
    TableReader r(*t, "[[service_patch]]", source_name, {"name", "namespace", "type", "external_traffic_policy", "session_affinity"});
    KN_TRY(r.check_keys());
    ServicePatch sp;
    sp.where = r.where();
    sp.name = KN_TRY(r.required_string("name", "\"ingress-nginx-controller\""));
    KN_TRY(check_name(r, "name", sp.name, kMaxObjectNameLength, "service"));
    sp.ns = KN_TRY(read_namespace(r));
    if (auto type = KN_TRY(r.choice("type", {"ClusterIP", "NodePort", "LoadBalancer"}))) sp.type = parse_service_type(*type);
    if (auto etp = KN_TRY(r.choice("external_traffic_policy", {"Cluster", "Local"}))) sp.local_traffic_policy = *etp == "Local";
    if (auto aff = KN_TRY(r.choice("session_affinity", {"None", "ClientIP"}))) sp.session_affinity = *aff == "ClientIP";
    lab.service_patches.push_back(std::move(sp));
  }
  return {};
}

}  // namespace

Result<Lab> parse_lab(std::string_view text, std::string source_name, const LabOverrides& overrides) {
  const toml::table root = KN_TRY(parse_toml(text, source_name));
  TableReader top(root, "the lab file", source_name, {"lab", "cluster", "rack", "node", "pod", "deployment", "service", "ingress_nginx",
                                                          "service_patch", "gateway_controller", "check"});
  KN_TRY(top.check_keys());
  Lab lab;
  lab.source = source_name;
  KN_TRY(read_lab_table(top, source_name, lab));
  if (root.get("cluster") && !top.table("cluster"))
    return fail(top.type_error("cluster", *root.get("cluster"), "a table: write [cluster]"));
  KN_TRY(read_cluster(top.table("cluster"), source_name, lab.cluster));
  if (overrides.cni) lab.cluster.cni = *overrides.cni;
  if (overrides.proxy_mode) lab.cluster.proxy_mode = *overrides.proxy_mode;
  std::set<std::string> names;  // racks, nodes and pods share the lab's namespace names
  KN_TRY(read_racks(top, source_name, lab, names));
  KN_TRY(read_nodes_and_pods(top, source_name, lab, names));
  KN_TRY(read_ingress_nginx(root, top, source_name, lab));
  KN_TRY(read_gateway_controller(root, top, source_name, lab));
  KN_TRY(read_workloads(top, source_name, lab));
  KN_TRY(read_service_patches(top, source_name, lab));
  lab.checks = KN_TRY(read_checks(root, "check", "[[check]]", source_name));
  KN_TRY(validate(lab));
  KN_TRY(check_capacity(lab, root, source_name, overrides));
  return lab;
}

Result<Lab> load_lab_file(const std::string& path, const LabOverrides& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e = input_error(SourceLocation{path, 0, 0}, "cannot read the lab file",
                          "give a path to a .toml file, or the name of a lab from `kn-lab labs`");
    e.err = errno;
    return fail(std::move(e));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_lab(text.str(), path, overrides);
}

}  // namespace knlab
