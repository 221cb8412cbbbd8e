// The lab model: what a lab file says, typed and validated. Produced by the loader
// (lab/loader.hpp) and consumed by the planner (plan/). Plain data: no kernel names, no
// addresses of pods (those are the planner's job), no side effects.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "lab/check_spec.hpp"
#include "lab/l7.hpp"

namespace knlab {

// How pod subnets of different nodes reach each other (see docs/lab-format.md).
enum class CniMode {
  kVxlan,   // Flannel's default: VXLAN overlay, one flannel.1 VTEP per node
  kHostGw,  // Flannel host-gw: a static route per remote pod subnet via the node's IP
  kBgp,     // Calico style: bird2 announces pod subnets over iBGP
};
std::string_view to_string(CniMode mode);

// How kube-proxy programs Services (see docs/lab-format.md): iptables (the default) or nftables
// (GA since Kubernetes 1.33: table ip kube-proxy, verdict maps instead of chains of rules).
enum class ProxyMode { kIptables, kNftables };
std::string_view to_string(ProxyMode mode);

struct ContainerSpec {
  std::string name;
  std::vector<std::string> command;                         // argv; argv[0] resolved on PATH
  std::vector<std::pair<std::string, std::string>> env;     // sorted by name (TOML tables are unordered)
  SourceLocation where;
};

// A container's declared port (spec.containers[].ports[]): what a NetworkPolicy's named port
// ("serve-80-tcp") resolves to, and, for a server image, the ports it serves instead of its own.
struct ContainerPort {
  std::string name;              // may be empty; at most 15 characters (IANA_SVC_NAME)
  std::uint16_t port = 0;
  std::string protocol = "TCP";  // TCP | UDP
  bool operator==(const ContainerPort&) const = default;
};

struct PodSpec {
  std::string name;
  std::string ns = "default";   // Kubernetes namespace
  std::string node;
  std::string image;            // instead of containers: a behaviour from the image catalogue
  std::vector<std::string> args;  // with an image: replaces its behaviour (kubectl run ... -- ARGS)
  std::vector<std::pair<std::string, std::string>> env;  // with an image: its container's variables
  bool privileged = false;      // containers keep all capabilities (NET_ADMIN, SYS_ADMIN, ...)
  std::map<std::string, std::string> labels;
  std::vector<ContainerPort> ports;  // with an image: its container's declared ports
  std::vector<ContainerSpec> containers;
  SourceLocation where;
};

struct NodeSpec {
  std::string name;
  std::map<std::string, std::string> labels;  // besides kubernetes.io/hostname, os and arch (kn-lab label node)
  std::string rack;  // empty when the lab has no [[rack]]: all nodes share one wire
  SourceLocation where;
};

// A rack: an L2 segment of its own (a wire) with its own subnet. Racks are joined by the lab's
// router, so nodes of different racks reach each other only through routing (what makes
// host-gw impossible between them while VXLAN and BGP still work).
struct RackSpec {
  std::string name;
  Cidr network;
  SourceLocation where;
};

struct ClusterSpec {
  Cidr pod_cidr{Ipv4{0x0af40000}, 16};      // 10.244.0.0/16, each node gets a slice
  unsigned node_mask = 24;                    // size of each node's slice (like --node-cidr-mask-size)
  Cidr service_cidr{Ipv4{0x0a600000}, 12};  // 10.96.0.0/12
  Cidr node_network{Ipv4{0xc0a83800}, 24};  // 192.168.56.0/24, the underlay between nodes
  CniMode cni = CniMode::kVxlan;
  ProxyMode proxy_mode = ProxyMode::kIptables;
  unsigned mtu = 1500;                        // underlay MTU
  std::optional<bool> dns;                    // cluster DNS; default: on when there are Services
};

// A Deployment: `replicas` pods of one image, named <name>-<hash>-<suffix>, spread over nodes.
struct DeploymentSpec {
  std::string name;
  std::string ns = "default";
  int replicas = 1;
  std::string image;
  std::map<std::string, std::string> labels;  // default: app=<name>
  std::optional<std::uint16_t> port;          // container port, default: the image's
  std::vector<ContainerPort> ports;           // the template's declared ports (the first is `port`)
  SourceLocation where;
};

enum class ServiceType { kClusterIP, kNodePort, kLoadBalancer };
std::string_view to_string(ServiceType t);

// One port of a Service. A Service has one or more; with several, each has a name.
struct ServicePortSpec {
  std::string name;
  std::string protocol = "TCP";               // TCP | UDP
  std::uint16_t port = 80;
  std::uint16_t target_port = 0;              // 0: same as port
  std::optional<std::uint16_t> node_port;     // NodePort/LoadBalancer; allocated when absent
  // Where the port, its name and its node port are written (for lab/validate's errors).
  SourceLocation where, name_where, node_port_where;
};

struct ServiceSpec {
  std::string name;
  std::string ns = "default";
  ServiceType type = ServiceType::kClusterIP;
  std::map<std::string, std::string> labels;    // the Service's own (metadata.labels)
  std::map<std::string, std::string> selector;
  std::vector<ServicePortSpec> ports{ServicePortSpec{}};  // never empty
  bool session_affinity = false;              // ClientIP
  bool local_traffic_policy = false;          // externalTrafficPolicy: Local
  std::optional<Ipv4> cluster_ip;
  SourceLocation where;
  SourceLocation cluster_ip_where, traffic_policy_where;  // where those fields are written
};

// The ingress-nginx controller of a lab ([ingress_nginx]): a Deployment in namespace
// ingress-nginx running nginx, behind Service ingress-nginx-controller (80 and 443 as NodePorts
// 30080 and 30443, as the course installs it), serving the Ingresses of class "nginx".
struct IngressControllerSpec {
  ServiceType type = ServiceType::kNodePort;  // or LoadBalancer
  std::uint16_t http_node_port = 30080;
  std::uint16_t https_node_port = 30443;
  SourceLocation where;
};

// A change to a Service that kn-lab makes itself (a data plane's: ingress-nginx-controller, a
// Gateway's "<gateway>-nginx"), by `kn-lab patch svc`: kept beside the object that makes it.
struct ServicePatch {
  std::string ns;
  std::string name;
  std::optional<ServiceType> type;
  std::optional<bool> local_traffic_policy;  // externalTrafficPolicy: Local
  std::optional<bool> session_affinity;      // ClientIP
  SourceLocation where;
};

struct Lab {
  std::string name;
  std::string description;
  std::string source;  // path of the lab file it came from (absolute when loaded from disk)
  ClusterSpec cluster;
  std::vector<RackSpec> racks;
  std::vector<NodeSpec> nodes;
  std::vector<PodSpec> pods;
  std::vector<DeploymentSpec> deployments;
  std::vector<ServiceSpec> services;
  std::optional<IngressControllerSpec> ingress_nginx;
  std::vector<std::string> manifests;  // YAML files applied at `up` (paths relative to the lab file)
  std::vector<SourceLocation> manifest_where;  // where each is named, for errors
  L7Objects l7;                        // Ingress / Gateway API objects and TLS Secrets
  std::vector<ServicePatch> service_patches;  // [[service_patch]]
  std::vector<CheckSpec> checks;              // [[check]]: what `kn-lab check` proves (not part of the desired state)
  // The GatewayClass controllerNames the lab's Gateway controller answers to: kn-lab's own
  // always, and those of [gateway_controller] controller_names (Envoy Gateway's, for the course).
  std::vector<std::string> gateway_controllers{kGatewayController};
  bool answers_to(std::string_view controller) const;

  const NodeSpec* find_node(std::string_view n) const;
  const PodSpec* find_pod(std::string_view n) const;
};

}  // namespace knlab
