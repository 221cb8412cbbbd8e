// `kn-lab graph`: the lab as a picture, as data. A Picture is what the lab is made of, read from
// its plan: nodes (clusters) with their bridge, VTEP and uplink and the pods inside them, the
// underlay (wires, racks' router, the external and cloud-lb namespaces), what joins the nodes
// (VXLAN tunnels, host-gw routes or BGP sessions), Services and their endpoints, the L7 data
// planes' routes to Services, and NetworkPolicies with the pods they select. Pure: dot.hpp and
// text.hpp draw it, highlight() marks what a trace passes through.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "trace/trace.hpp"

namespace knlab::graph {

enum class VertexKind : std::uint8_t {
  kPod,        // a pod's namespace
  kDataPlane,  // a pod that runs an nginx data plane (Ingress controller, Gateway)
  kBridge,     // cni0 in a node
  kVtep,       // flannel.1 in a node (VXLAN)
  kUplink,     // a node's eth0 on the underlay
  kWire,       // an L2 segment (br0 in a wire namespace): "wire" or a rack
  kRouter,     // the racks' router
  kExternal,   // the outside world on the first wire
  kCloudLb,    // the cloud's load balancer
  kService,
  kPolicy,     // a NetworkPolicy
};

enum class EdgeKind : std::uint8_t {
  kVeth,      // pod eth0 <-> its host veth on cni0
  kCable,     // a node's eth0, external, cloud-lb or the router on a wire
  kVxlan,     // a VXLAN tunnel between two nodes' VTEPs
  kHostGw,    // host-gw: each node routes the other's pod subnet via its address
  kBgp,       // a BGP session (full mesh, or to the racks' route reflector)
  kEndpoint,  // a Service to a pod behind it
  kRoute,     // an L7 route: a data plane to a backend Service
  kPolicy,    // a NetworkPolicy to a pod it selects
};

std::string_view kind_name(VertexKind k);  // "pod", "bridge", ...
std::string_view kind_name(EdgeKind k);    // "veth", "vxlan", ...

struct Vertex {
  std::string id;                  // unique: "pod/web.dev", "node1/cni0", "svc/default/web"
  VertexKind kind = VertexKind::kPod;
  std::vector<std::string> lines;  // the label: a title, then facts (addresses, ports)
  std::string cluster;             // the node it is drawn inside (Cluster::id), empty outside
  std::string netns;               // the namespace it stands for or lives in, empty for objects
  std::vector<std::string> reached_at;  // a Service's "IP:port"s: cluster IP, EXTERNAL-IP, node ports
  bool highlighted = false;
};

struct Edge {
  std::string from, to;  // Vertex ids
  EdgeKind kind = EdgeKind::kVeth;
  std::string label;
  bool highlighted = false;
};

// A node: its namespace, drawn as a box around its interfaces and its pods.
struct Cluster {
  std::string id;  // "node/node1"
  std::string name;
  std::vector<std::string> lines;  // "node node1", "eth0 192.168.56.11/24", "pods 10.244.1.0/24"
  std::string netns;
  bool highlighted = false;
};

struct Picture {
  std::string lab;
  std::vector<std::string> title;  // the lab's name and description, then the cluster's facts
  std::vector<Cluster> clusters;   // plan order
  std::vector<Vertex> vertices;    // underlay, then per node its interfaces and pods, then objects
  std::vector<Edge> edges;
  bool highlighted = false;        // highlight() was given a path
  std::string path;                // the traced packet and its outcome, when highlighted

  const Vertex* vertex(std::string_view id) const;
  Vertex* vertex(std::string_view id);
};

Picture picture_of(const LabPlan& plan);

// Marks the vertices, clusters and edges the trace's hops pass through: each namespace a hop is
// in (pods, nodes, wires, router, external, cloud-lb), the links between consecutive namespaces
// (veths, cables; tunnels, host-gw routes and BGP between consecutive nodes), the Service the
// packet was sent to and its edge to the pod it was delivered to. The reply leg too.
void highlight(Picture& picture, const trace::TraceResult& result);

}  // namespace knlab::graph
