// The plan: a lab made concrete. Every name, address and file of the lab is decided here, by
// pure functions of the model (no clock, no randomness, no system calls), so the same lab file
// always yields the same lab and unit tests can check it without root.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "lab/images.hpp"
#include "lab/model.hpp"
#include "ops/op.hpp"

namespace knlab {

// What a running lab must remember between plans, as the host-local IPAM plugin and the
// ReplicaSet controller do: who has which address, where each node's allocation cursor is, and
// how often each replica was replaced.
struct PlanMemory {
  std::map<std::string, Ipv4> pod_ips;            // by pod namespace name
  std::map<std::string, std::uint32_t> last_host; // per node: the host index handed out last
  std::map<std::string, int> generations;         // replica_key() -> replacements

  // The one spelling of a Deployment's replica slot: "<ns>/<deployment>#<index>".
  static std::string replica_key(const DeploymentSpec& d, int index);
  int generation(const DeploymentSpec& d, int index) const;  // 0 for a slot never replaced

  std::map<std::string, std::int64_t> created;    // object_key() -> creation time (unix seconds)
  // The one spelling of an object's key: "Pod/default/web", "Node//node1".
  static std::string object_key(std::string_view kind, std::string_view ns, std::string_view name);
  std::int64_t created_at(std::string_view kind, std::string_view ns, std::string_view name, std::int64_t fallback) const;
};

struct LabPlan;
// Gives every object of `plan` without a creation time the time `now` (metadata.creationTimestamp)
// and forgets the objects that are gone; the others keep theirs. Pure: the caller reads the clock.
void stamp_creation(PlanMemory& memory, const LabPlan& plan, std::int64_t now);

struct NodePlan {
  std::string name;
  std::map<std::string, std::string> labels;  // the lab's, besides Kubernetes' own
  std::string netns;     // kn-<lab>.<node>
  std::string bridge;    // cni0
  Cidr pod_subnet;       // this node's slice of the pod CIDR, e.g. 10.244.1.0/24
  Cidr bridge_address;   // first address of the slice on cni0: the pods' gateway, 10.244.1.1/24
  unsigned pod_mtu = 1500;
  // On the underlay (labs with more than one node): eth0's address and its port on the wire.
  Cidr ip;               // 192.168.56.11/24
  std::string wire;      // namespace of the wire (L2 segment) the node's eth0 is plugged into
  std::string wire_port; // the node's veth in the wire namespace (the node name when it fits)
  std::optional<Ipv4> default_gateway;  // the router's address on the node's rack, if racks
  std::string vtep_mac;  // flannel.1's MAC: 0a:58 + its address (10.244.1.0), like CNI plugins
};

struct ContainerPlan {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // downward-API variables, then the file's
  std::string log_path;
};

struct PodPlan {
  std::string name;
  std::string ns = "default";  // Kubernetes namespace
  std::string deployment;      // owner, if the pod belongs to a Deployment
  std::string image;           // the image it "runs", if any
  std::vector<std::string> args;  // replacing the image's behaviour (PodSpec::args)
  std::vector<std::pair<std::string, std::string>> env;  // the image container's own (PodSpec::env)
  bool privileged = false;
  std::string node;
  std::string netns;      // kn-<lab>.<pod>
  std::string host_veth;  // veth<8 hex>, in the node's namespace
  std::string ifname;     // eth0, in the pod's namespace
  Cidr address;           // 10.244.1.2/24
  Ipv4 gateway;           // 10.244.1.1
  std::map<std::string, std::string> labels;
  std::vector<ContainerPort> ports;  // declared (named ports of NetworkPolicies resolve here)
  std::vector<ContainerPlan> containers;
  // Unique in a lab (pods of two namespaces may share a name): "web", "web.dev", as the suffix of
  // its network namespace. What its processes are recorded under.
  std::string key() const { return ns == "default" ? name : name + "." + ns; }
};

struct LabPlan {
  std::string lab;
  std::string description;
  std::string source;
  std::string state_dir;  // /run/kn-lab/<lab>
  ClusterSpec cluster;
  PlanMemory memory;      // what this plan decided, to be remembered while the lab is up
  std::vector<NodePlan> nodes;
  std::vector<PodPlan> pods;
  std::vector<DeploymentSpec> deployments;
  std::vector<struct ServicePlan> services;
  // Cluster DNS: dnsmasq in a kube-system pod behind the kube-dns Service (10.96.0.10).
  bool dns = false;
  Ipv4 dns_ip;
  std::string dns_hosts_path;  // <state>/dns/hosts: "<cluster IP> <svc>.<ns>.svc.cluster.local"
  // The underlay. A lab with several nodes gets wires: namespaces with a bridge br0 playing the
  // LAN between the VMs; one ("wire") or one per [[rack]], joined by the "router" namespace.
  // The "external" namespace (the outside world, a laptop) is plugged into the first wire.
  struct Wire {
    std::string name;                // "wire", or the rack's name
    std::string netns;               // kn-<lab>.<name>
    Cidr network;                    // 192.168.56.0/24
    std::optional<Cidr> router;      // the router's address on it (.1), with racks
  };
  std::vector<Wire> wires;
  std::string router_netns;    // kn-<lab>.router, with racks
  std::string external_netns;  // kn-<lab>.external
  // The cloud's load balancer (labs with LoadBalancer Services): a namespace on the first wire
  // that owns the EXTERNAL-IPs and forwards them to the nodes' NodePorts.
  // L7: the Ingress and Gateway API objects, and the nginx data planes that serve them: the
  // ingress-nginx controller (when the lab has one) and one per Gateway of kn-lab's class.
  L7Objects l7;
  std::vector<std::string> gateway_controllers{kGatewayController};  // the controllerNames kn-lab answers to (the Lab's)
  bool answers_to(std::string_view controller) const;
  std::vector<struct DataPlanePlan> data_planes;
  std::string cloud_lb_netns;  // kn-<lab>.cloud-lb
  Cidr cloud_lb_ip;            // .3 of the first wire
  Cidr external_ip;            // .2 of the first wire
  bool has_wire() const { return !wires.empty(); }
  const Wire* wire(std::string_view name) const;

  const NodePlan* node(std::string_view name) const;
  const PodPlan* pod(std::string_view name) const;
  const PodPlan* pod_by_key(std::string_view key) const;
  // Every namespace of the lab, nodes first.
  std::vector<std::string> namespaces() const;
};

// Kubernetes' own namespaces, the lab's (Namespace objects) and those its objects are in.
std::vector<std::string> namespace_names(const LabPlan& plan);
// A namespace's labels: kubernetes.io/metadata.name and those of its Namespace object.
std::map<std::string, std::string> namespace_labels(const LabPlan& plan, const std::string& ns);

// A Service made concrete: its addresses and ports, and the endpoints its selector picks.
struct EndpointPlan {
  std::string pod;
  std::string node;
  Ipv4 ip;
};
// One port of a Service, decided: the target port resolved, the NodePort allocated.
struct ServicePortPlan {
  std::string name;
  std::string protocol = "TCP";
  std::uint16_t port = 80;
  std::uint16_t target_port = 80;
  std::optional<std::uint16_t> node_port;  // NodePort and LoadBalancer
};
struct ServicePlan {
  ServiceSpec spec;
  Ipv4 cluster_ip;
  std::vector<ServicePortPlan> ports;      // as many as spec.ports
  std::optional<Ipv4> lb_ip;               // LoadBalancer: EXTERNAL-IP, from the cloud's pool
  std::vector<EndpointPlan> endpoints;     // pods whose labels match the selector, in plan order
  std::string id() const { return spec.ns + "/" + spec.name; }
  // kube-proxy's name of one service port: "<ns>/<name>" or "<ns>/<name>:<port name>".
  std::string port_id(const ServicePortPlan& p) const { return p.name.empty() ? id() : id() + ":" + p.name; }
  const ServicePortPlan* port(std::uint16_t number) const;
  const ServicePortPlan* port(std::string_view name) const;
};

// An nginx data plane: a Deployment of one pod that runs nginx in its pod namespace, with its
// files under the lab's state, and the Service that exposes it.
struct DataPlanePlan {
  enum class Kind { kIngress, kGateway } kind = Kind::kIngress;
  std::string ns;          // "ingress-nginx", or the Gateway's namespace (envoy-gateway-system)
  std::string name;        // "ingress-nginx-controller", or "<gateway>-nginx" (envoy-<ns>-<gateway>-<hash>)
  std::string gateway;     // kGateway: the Gateway's name
  std::string gateway_ns;  // kGateway: the Gateway's namespace
  std::string dir;         // <state>/nginx/<ns>.<name>: nginx.conf, certs/, logs/, nginx.pid, temp/
  std::string conf() const { return dir + "/nginx.conf"; }
};

// Where the data plane of a Gateway of a class kn-lab answers to lives, and its labels: as NGINX
// Gateway Fabric lays it out (a Deployment and LoadBalancer Service "<gateway>-nginx" in the
// Gateway's namespace), or, for Envoy Gateway's controllerName, as Envoy Gateway does (namespace
// envoy-gateway-system, "envoy-<namespace>-<gateway>-<8 hex of sha256(namespace/gateway)>", the
// owning-gateway labels). nullopt for a Gateway of no class kn-lab answers to.
struct GatewayDataPlaneName {
  std::string ns, name;
  std::map<std::string, std::string> labels;
};
std::optional<GatewayDataPlaneName> gateway_data_plane_name(const Lab& lab, const GatewaySpec& gw);

// IPAM and naming. The model is already validated; this fails on what only the plan can see:
// an image the catalogue does not know, a node without free addresses, no free veth name.
// With `memory` (of a running lab), pods keep their addresses and replaced pods their new names.
Result<LabPlan> plan_lab(const Lab& lab, const ImageCatalogue& images = ImageCatalogue{},
                         const PlanMemory* memory = nullptr);

// Kubernetes-style names for a Deployment's pods: <name>-<pod-template-hash>-<suffix>, both
// parts from the alphabet Kubernetes uses for generated names, stable across runs.
std::string pod_template_hash(const DeploymentSpec& d);
// `generation` > 0 for a replica that replaced a deleted pod (a new name, like a new ReplicaSet pod).
std::string deployment_pod_name(const DeploymentSpec& d, int index, int generation = 0);

// The ops that build the lab from nothing, in order: nodes (namespace, sysctls, bridge), then
// pods (namespace, files, pause, veth, addresses, routes), then containers.
std::vector<Op> up_ops(const LabPlan& plan);

// Parts of up_ops, also used to change a running lab: one pod's namespace, files, pause process
// and network; its containers; the cloud load balancer.
void pod_ops(const LabPlan& plan, const PodPlan& pod, std::vector<Op>& ops);
void container_ops(const PodPlan& pod, std::vector<Op>& ops);
void cloud_lb_ops(const LabPlan& plan, std::vector<Op>& ops);
// An nginx data plane's files: its configuration, certificates, and the folders nginx expects.
void data_plane_ops(const LabPlan& plan, const DataPlanePlan& dp, std::vector<Op>& ops);

// The pod's /etc/hosts and /etc/resolv.conf, as the kubelet writes them.
std::string pod_hosts_file(const PodPlan& pod);
std::string pod_resolv_conf(const LabPlan& plan, const PodPlan& pod);
std::string dns_hosts_file(const LabPlan& plan);
std::string pod_etc_dir(const PodPlan& pod);  // /etc/netns/<pod netns>

}  // namespace knlab
