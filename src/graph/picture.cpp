// The lab's plan as a Picture (graph/picture.hpp), and a trace's path marked on it.
#include "graph/picture.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "core/text.hpp"
#include "plan/bird.hpp"
#include "plan/netpol.hpp"
#include "plan/nginx.hpp"

namespace knlab::graph {

std::string_view kind_name(VertexKind k) {
  switch (k) {
    case VertexKind::kPod: return "pod";
    case VertexKind::kDataPlane: return "data plane";
    case VertexKind::kBridge: return "bridge";
    case VertexKind::kVtep: return "vtep";
    case VertexKind::kUplink: return "uplink";
    case VertexKind::kWire: return "wire";
    case VertexKind::kRouter: return "router";
    case VertexKind::kExternal: return "external";
    case VertexKind::kCloudLb: return "cloud-lb";
    case VertexKind::kService: return "service";
    case VertexKind::kPolicy: return "policy";
  }
  return "?";
}

std::string_view kind_name(EdgeKind k) {
  switch (k) {
    case EdgeKind::kVeth: return "veth";
    case EdgeKind::kCable: return "cable";
    case EdgeKind::kVxlan: return "vxlan";
    case EdgeKind::kHostGw: return "host-gw";
    case EdgeKind::kBgp: return "bgp";
    case EdgeKind::kEndpoint: return "endpoint";
    case EdgeKind::kRoute: return "route";
    case EdgeKind::kPolicy: return "policy";
  }
  return "?";
}

const Vertex* Picture::vertex(std::string_view id) const {
  auto it = std::ranges::find(vertices, id, &Vertex::id);
  return it == vertices.end() ? nullptr : &*it;
}

Vertex* Picture::vertex(std::string_view id) {
  auto it = std::ranges::find(vertices, id, &Vertex::id);
  return it == vertices.end() ? nullptr : &*it;
}

namespace {

// The ids: one spelling each, shared by the vertices and the edges that name them.
std::string wire_id(const LabPlan::Wire& w) { return "wire/" + w.name; }
std::string node_id(const NodePlan& n) { return "node/" + n.name; }
std::string iface_id(const NodePlan& n, std::string_view ifname) { return n.name + "/" + std::string(ifname); }
std::string pod_id(const PodPlan& p) { return "pod/" + p.key(); }
std::string svc_id(std::string_view ns, std::string_view name) { return fmt::format("svc/{}/{}", ns, name); }

const LabPlan::Wire* wire_of_netns(const LabPlan& plan, const std::string& netns) {
  for (const LabPlan::Wire& w : plan.wires)
    if (w.netns == netns) return &w;
  return nullptr;
}

void add_vertex(Picture& pic, std::string id, VertexKind kind, std::vector<std::string> lines,
                std::string netns, std::string cluster = {}) {
  pic.vertices.push_back(Vertex{std::move(id), kind, std::move(lines), std::move(cluster), std::move(netns), {}, false});
}

void add_edge(Picture& pic, std::string from, std::string to, EdgeKind kind, std::string label) {
  pic.edges.push_back(Edge{std::move(from), std::move(to), kind, std::move(label), false});
}

// An edge between the same two vertices of the same kind gets the new label as one more line.
void add_or_merge_edge(Picture& pic, const std::string& from, const std::string& to, EdgeKind kind, const std::string& label) {
  for (Edge& e : pic.edges)
    if (e.from == from && e.to == to && e.kind == kind) {
      if (!label.empty() && e.label.find(label) == std::string::npos) e.label += (e.label.empty() ? "" : "\n") + label;
      return;
    }
  add_edge(pic, from, to, kind, label);
}

void add_underlay(Picture& pic, const LabPlan& plan) {
  for (const LabPlan::Wire& w : plan.wires) {
    std::vector<std::string> lines{w.name == "wire" ? "wire" : "rack " + w.name, "br0 " + w.network.str()};
    add_vertex(pic, wire_id(w), VertexKind::kWire, std::move(lines), w.netns);
  }
  if (!plan.router_netns.empty()) {
    std::vector<std::string> lines{"router"};
    for (const LabPlan::Wire& w : plan.wires)
      if (w.router) lines.push_back(w.router->str());
    add_vertex(pic, "router", VertexKind::kRouter, std::move(lines), plan.router_netns);
    for (const LabPlan::Wire& w : plan.wires)
      if (w.router) add_edge(pic, "router", wire_id(w), EdgeKind::kCable, w.router->addr.str());
  }
  if (!plan.has_wire()) return;
  const std::string first = wire_id(plan.wires.front());
  if (!plan.external_netns.empty()) {
    add_vertex(pic, "external", VertexKind::kExternal, {"external", plan.external_ip.str()}, plan.external_netns);
    add_edge(pic, "external", first, EdgeKind::kCable, plan.external_ip.addr.str());
  }
  if (!plan.cloud_lb_netns.empty()) {
    std::vector<std::string> lines{"cloud-lb", plan.cloud_lb_ip.str()};
    for (const ServicePlan& s : plan.services)
      if (s.lb_ip) lines.push_back(fmt::format("{} -> svc {}", s.lb_ip->str(), s.spec.name));
    add_vertex(pic, "cloud-lb", VertexKind::kCloudLb, std::move(lines), plan.cloud_lb_netns);
    add_edge(pic, "cloud-lb", first, EdgeKind::kCable, plan.cloud_lb_ip.addr.str());
  }
}

bool has_vtep(const LabPlan& plan) { return plan.has_wire() && plan.cluster.cni == CniMode::kVxlan; }

void add_node(Picture& pic, const LabPlan& plan, const NodePlan& n) {
  std::vector<std::string> lines{"node " + n.name};
  if (plan.has_wire()) lines.push_back("eth0 " + n.ip.str());
  lines.push_back("pods " + n.pod_subnet.str());
  pic.clusters.push_back(Cluster{node_id(n), n.name, std::move(lines), n.netns, false});
  add_vertex(pic, iface_id(n, n.bridge), VertexKind::kBridge, {n.bridge, n.bridge_address.str()}, n.netns, node_id(n));
  if (has_vtep(plan))
    add_vertex(pic, iface_id(n, "flannel.1"), VertexKind::kVtep,
               {"flannel.1", fmt::format("VNI 1, {}/32", n.pod_subnet.network().str()), n.vtep_mac}, n.netns, node_id(n));
  if (!plan.has_wire()) return;
  std::vector<std::string> eth0{"eth0", n.ip.str()};
  if (n.default_gateway) eth0.push_back("via " + n.default_gateway->str());
  add_vertex(pic, iface_id(n, "eth0"), VertexKind::kUplink, std::move(eth0), n.netns, node_id(n));
  if (const LabPlan::Wire* w = wire_of_netns(plan, n.wire)) add_edge(pic, iface_id(n, "eth0"), wire_id(*w), EdgeKind::kCable, n.wire_port);
}

const DataPlanePlan* data_plane_of(const LabPlan& plan, const PodPlan& p) {
  for (const DataPlanePlan& dp : plan.data_planes)
    if (dp.ns == p.ns && dp.name == p.deployment) return &dp;
  return nullptr;
}

void add_pod(Picture& pic, const LabPlan& plan, const PodPlan& p) {
  const NodePlan* n = plan.node(p.node);
  if (!n) return;
  std::vector<std::string> lines{p.name, "ns " + p.ns, p.ifname + " " + p.address.addr.str()};
  VertexKind kind = VertexKind::kPod;
  if (const DataPlanePlan* dp = data_plane_of(plan, p)) {
    kind = VertexKind::kDataPlane;
    lines.push_back(dp->kind == DataPlanePlan::Kind::kIngress ? "nginx: Ingress" : fmt::format("nginx: Gateway {}", dp->gateway));
  }
  add_vertex(pic, pod_id(p), kind, std::move(lines), p.netns, node_id(*n));
  add_edge(pic, pod_id(p), iface_id(*n, n->bridge), EdgeKind::kVeth, p.host_veth);
}

// How the nodes reach each other's pod subnets: a tunnel, routes, or BGP sessions.
void add_node_links(Picture& pic, const LabPlan& plan) {
  if (!plan.has_wire()) return;
  const auto& nodes = plan.nodes;
  bool reflector = plan.cluster.cni == CniMode::kBgp && !plan.router_netns.empty();
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const NodePlan& a = nodes[i];
    if (reflector) add_edge(pic, iface_id(a, "eth0"), "router", EdgeKind::kBgp, fmt::format("iBGP AS {} (reflector)", kBgpAs));
    for (std::size_t j = i + 1; j < nodes.size(); ++j) {
      const NodePlan& b = nodes[j];
      switch (plan.cluster.cni) {
        case CniMode::kVxlan:
          add_edge(pic, iface_id(a, "flannel.1"), iface_id(b, "flannel.1"), EdgeKind::kVxlan,
                   fmt::format("VXLAN VNI 1 udp/8472\n{} <-> {}", a.ip.addr.str(), b.ip.addr.str()));
          break;
        case CniMode::kHostGw:
          add_edge(pic, iface_id(a, "eth0"), iface_id(b, "eth0"), EdgeKind::kHostGw,
                   fmt::format("host-gw: {} via {}\n{} via {}", b.pod_subnet.str(), b.ip.addr.str(), a.pod_subnet.str(), a.ip.addr.str()));
          break;
        case CniMode::kBgp:
          if (!reflector) add_edge(pic, iface_id(a, "eth0"), iface_id(b, "eth0"), EdgeKind::kBgp, fmt::format("iBGP AS {}", kBgpAs));
          break;
      }
    }
  }
}

std::string port_text(const ServicePlan& s, const ServicePortPlan& p) {
  std::string out = fmt::format("{}/{} -> {}", p.port, p.protocol, p.target_port);
  if (p.node_port) out += fmt::format(", node {}", *p.node_port);
  if (!p.name.empty() && s.ports.size() > 1) out = p.name + " " + out;
  return out;
}

void add_service(Picture& pic, const LabPlan& plan, const ServicePlan& s) {
  std::vector<std::string> lines{"svc " + s.spec.name, "ns " + s.spec.ns,
                                 fmt::format("{} {}", to_string(s.spec.type), s.cluster_ip.str())};
  std::vector<std::string> reached;
  for (const ServicePortPlan& p : s.ports) {
    lines.push_back(port_text(s, p));
    reached.push_back(fmt::format("{}:{}", s.cluster_ip.str(), p.port));
    if (s.lb_ip) reached.push_back(fmt::format("{}:{}", s.lb_ip->str(), p.port));
    if (p.node_port && plan.has_wire())
      for (const NodePlan& n : plan.nodes) reached.push_back(fmt::format("{}:{}", n.ip.addr.str(), *p.node_port));
  }
  if (s.lb_ip) lines.push_back("EXTERNAL-IP " + s.lb_ip->str());
  std::string id = svc_id(s.spec.ns, s.spec.name);
  add_vertex(pic, id, VertexKind::kService, std::move(lines), "");
  pic.vertices.back().reached_at = std::move(reached);
  for (const EndpointPlan& e : s.endpoints)
    for (const PodPlan& p : plan.pods)
      if (p.name == e.pod && p.ns == s.spec.ns) add_or_merge_edge(pic, id, pod_id(p), EdgeKind::kEndpoint, "");
}

const PodPlan* data_plane_pod(const LabPlan& plan, const DataPlanePlan& dp) {
  for (const PodPlan& p : plan.pods)
    if (p.ns == dp.ns && p.deployment == dp.name) return &p;
  return nullptr;
}

void add_route(Picture& pic, const std::string& from, std::string_view ns, std::string_view svc, const std::string& label) {
  std::string to = svc_id(ns, svc);
  if (pic.vertex(to)) add_or_merge_edge(pic, from, to, EdgeKind::kRoute, label);
}

void add_ingress_routes(Picture& pic, const LabPlan& plan, const std::string& from) {
  for (const IngressSpec& ing : plan.l7.ingresses) {
    if (!ingress_is_ours(plan, ing)) continue;
    if (ing.default_backend) add_route(pic, from, ing.meta.ns, ing.default_backend->service, "* (default)");
    for (const IngressRule& r : ing.rules)
      for (const IngressPath& p : r.paths)
        add_route(pic, from, ing.meta.ns, p.backend.service, (r.host.empty() ? "*" : r.host) + p.path);
  }
}

bool names_gateway(const std::vector<ParentRef>& parents, const ObjectMeta& route, const DataPlanePlan& dp) {
  return std::ranges::any_of(parents, [&](const ParentRef& ref) {
    return ref.name == dp.gateway && (ref.ns.empty() ? route.ns : ref.ns) == dp.gateway_ns;
  });
}

void add_gateway_routes(Picture& pic, const LabPlan& plan, const DataPlanePlan& dp, const std::string& from) {
  for (const HttpRouteSpec& r : plan.l7.http_routes) {
    if (!names_gateway(r.parents, r.meta, dp)) continue;
    std::string hosts = r.hostnames.empty() ? "*" : join(r.hostnames, ",");
    for (const HttpRouteRule& rule : r.rules) {
      std::string path = rule.matches.empty() || !rule.matches.front().path ? "/" : rule.matches.front().path->value;
      for (const BackendRef& b : rule.backends)
        add_route(pic, from, b.ns.empty() ? r.meta.ns : b.ns, b.name, fmt::format("HTTPRoute {}: {}{}", r.meta.name, hosts, path));
    }
  }
  for (const L4RouteSpec& r : plan.l7.l4_routes) {
    if (!names_gateway(r.parents, r.meta, dp)) continue;
    const char* kind = r.protocol == ListenerProtocol::kUDP ? "UDPRoute" : "TCPRoute";
    for (const BackendRef& b : r.backends)
      add_route(pic, from, b.ns.empty() ? r.meta.ns : b.ns, b.name, fmt::format("{} {}", kind, r.meta.name));
  }
}

void add_l7(Picture& pic, const LabPlan& plan) {
  for (const DataPlanePlan& dp : plan.data_planes) {
    const PodPlan* p = data_plane_pod(plan, dp);
    if (!p) continue;
    if (dp.kind == DataPlanePlan::Kind::kIngress) add_ingress_routes(pic, plan, pod_id(*p));
    else add_gateway_routes(pic, plan, dp, pod_id(*p));
  }
}

void add_policies(Picture& pic, const LabPlan& plan) {
  for (const NetworkPolicySpec& np : plan.l7.network_policies) {
    std::string id = fmt::format("netpol/{}/{}", np.meta.ns, np.meta.name);
    std::vector<std::string> types;
    if (np.ingress) types.push_back(fmt::format("ingress ({} rules)", np.ingress_rules.size()));
    if (np.egress) types.push_back(fmt::format("egress ({} rules)", np.egress_rules.size()));
    std::vector<std::string> lines{"policy " + np.meta.name, "ns " + np.meta.ns};
    lines.insert(lines.end(), types.begin(), types.end());
    add_vertex(pic, id, VertexKind::kPolicy, std::move(lines), "");
    for (const PodPlan& p : plan.pods)
      if (selects(plan, np, p)) add_edge(pic, id, pod_id(p), EdgeKind::kPolicy, "");
  }
}

}  // namespace

Picture picture_of(const LabPlan& plan) {
  Picture pic;
  pic.lab = plan.lab;
  pic.title.push_back("lab " + plan.lab);
  if (!plan.description.empty()) pic.title.push_back(plan.description);
  pic.title.push_back(fmt::format("{} node(s), cni {}, pods {}, services {}", plan.nodes.size(), to_string(plan.cluster.cni),
                                  plan.cluster.pod_cidr.str(), plan.cluster.service_cidr.str()));
  add_underlay(pic, plan);
  for (const NodePlan& n : plan.nodes) add_node(pic, plan, n);
  for (const PodPlan& p : plan.pods) add_pod(pic, plan, p);
  add_node_links(pic, plan);
  for (const ServicePlan& s : plan.services) add_service(pic, plan, s);
  add_l7(pic, plan);
  add_policies(pic, plan);
  return pic;
}

// ---- highlight ----

namespace {

// The namespaces a leg passes through, each once per visit.
std::vector<std::string> namespaces_of(const trace::Leg& leg) {
  std::vector<std::string> out;
  for (const trace::Hop& h : leg.hops)
    if (!h.netns.empty() && (out.empty() || out.back() != h.netns)) out.push_back(h.netns);
  return out;
}

bool whole_namespace(VertexKind k) {
  return k == VertexKind::kPod || k == VertexKind::kDataPlane || k == VertexKind::kWire || k == VertexKind::kRouter ||
         k == VertexKind::kExternal || k == VertexKind::kCloudLb;
}

// Underlay namespaces (wires, router) are crossed between two nodes: what joins the nodes
// themselves (a tunnel, a host-gw route) is between the namespaces on either side of them.
std::set<std::string> underlay_of(const Picture& pic) {
  std::set<std::string> out;
  for (const Vertex& v : pic.vertices)
    if (v.kind == VertexKind::kWire || v.kind == VertexKind::kRouter) out.insert(v.netns);
  return out;
}

bool carries_packets(EdgeKind k) { return k != EdgeKind::kBgp && k != EdgeKind::kPolicy && k != EdgeKind::kRoute && k != EdgeKind::kEndpoint; }

void mark_between(Picture& pic, const std::string& a, const std::string& b) {
  for (Edge& e : pic.edges) {
    Vertex* from = pic.vertex(e.from);
    Vertex* to = pic.vertex(e.to);
    if (!from || !to || !carries_packets(e.kind)) continue;
    if ((from->netns == a && to->netns == b) || (from->netns == b && to->netns == a))
      e.highlighted = from->highlighted = to->highlighted = true;
  }
}

void mark_leg(Picture& pic, const trace::Leg& leg, const std::set<std::string>& underlay) {
  std::vector<std::string> seq = namespaces_of(leg);
  for (const std::string& ns : seq) {
    for (Vertex& v : pic.vertices)
      if (v.netns == ns && whole_namespace(v.kind)) v.highlighted = true;
    for (Cluster& c : pic.clusters)
      if (c.netns == ns) c.highlighted = true;
  }
  for (std::size_t i = 1; i < seq.size(); ++i) mark_between(pic, seq[i - 1], seq[i]);
  std::vector<std::string> over;
  for (const std::string& ns : seq)
    if (!underlay.contains(ns)) over.push_back(ns);
  for (std::size_t i = 1; i < over.size(); ++i)
    if (over[i - 1] != over[i]) mark_between(pic, over[i - 1], over[i]);
}

// The Service the packet was sent to, and its edge to the pod that got it.
void mark_service(Picture& pic, const trace::TraceResult& r) {
  std::string dst = fmt::format("{}:{}", r.packet.dst.str(), r.packet.dport);
  for (Vertex& v : pic.vertices) {
    if (v.kind != VertexKind::kService || std::ranges::find(v.reached_at, dst) == v.reached_at.end()) continue;
    v.highlighted = true;
    for (Edge& e : pic.edges) {
      const Vertex* to = pic.vertex(e.to);
      if (e.from == v.id && to && r.forward.delivered && to->netns == r.forward.end_netns) e.highlighted = true;
    }
  }
}

}  // namespace

void highlight(Picture& pic, const trace::TraceResult& r) {
  std::set<std::string> underlay = underlay_of(pic);
  mark_leg(pic, r.forward, underlay);
  if (r.reply) mark_leg(pic, *r.reply, underlay);
  mark_service(pic, r);
  pic.highlighted = true;
  pic.path = fmt::format("{}: {}", trace::describe(r.packet), r.forward.outcome);
}

}  // namespace knlab::graph
