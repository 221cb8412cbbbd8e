// What `kn-lab trace FROM TO` names, resolved against the lab's plan: the namespace a packet
// starts in, and the address and port it is sent to (a pod, an IP, svc/NAME[:port], a DNS
// name as a pod of the source's namespace would resolve it, NODE:NODEPORT, a LoadBalancer's
// EXTERNAL-IP). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ip.hpp"
#include "plan/plan.hpp"
#include "trace/packet.hpp"
#include "trace/trace.hpp"

namespace knlab::trace {

struct Source {
  std::string netns;
  std::string label;   // "pod client (default)"
  std::string k8s_ns;  // the pod's namespace: where its DNS names resolve ("default" otherwise)
};

struct Destination {
  Ipv4 ip;
  std::uint16_t port = 0;
  std::string label;     // "svc/web port 80 (10.96.0.20:80)"
  std::string resolved;  // how a name became the address ("web -> web.default.svc.cluster.local -> 10.96.0.20")
};

// FROM: a pod (NAME, pod/NAME, in namespace `ns` or the only one of that name; deploy/NAME: its
// first pod), a node,
// "external", "cloud-lb", "router" or a wire's name.
Result<Source> resolve_source(const LabPlan& plan, const std::string& from, const std::string& ns);
// TO[:PORT]; `proto` decides the default port (ICMP has none).
Result<Destination> resolve_destination(const LabPlan& plan, const std::string& to, const Source& from, Proto proto);

// An HTTP(S) request through an Ingress or a Gateway: `kn-lab trace FROM http://HOST[:PORT]/PATH
// [-H 'Host: NAME']`. HOST is where the connection goes (an address, a node, a LoadBalancer IP,
// a Service's DNS name from a pod); the Host header (-H, else HOST) is what nginx matches.
struct HttpTarget {
  bool https = false;
  std::string host;   // the Host header, without port
  std::string path = "/";
  std::string query;  // without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // -H NAME: VALUE, besides Host
};
struct UrlTarget {
  Destination dst;
  HttpTarget http;
};
Result<UrlTarget> resolve_url(const LabPlan& plan, const std::string& url, const std::string& host_header, const Source& from);

// The nginx data plane (Ingress controller or Gateway) whose pod has network namespace `netns`.
const DataPlanePlan* data_plane_of(const LabPlan& plan, const std::string& netns);

// "node node-1", "pod web-1 (default)", "wire", "external", ... per namespace of the lab.
Places places_of(const LabPlan& plan);

}  // namespace knlab::trace
