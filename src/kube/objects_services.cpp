// Services, Endpoints and EndpointSlices as API objects.
#include <fmt/core.h>

#include "core/hash.hpp"
#include "core/text.hpp"
#include "kube/objects_internal.hpp"
#include "views/age.hpp"

namespace knlab::kube {

namespace {

bool ready(const LabView& v, const std::string& pod) {
  const PodView* p = v.pod(pod);
  return p && p->running;
}

Json service_ports(const ServicePlan& s) {
  Json out = Json::array();
  for (const ServicePortPlan& p : s.ports) {
    Json j = {{"port", p.port}, {"targetPort", p.target_port}, {"protocol", p.protocol}};
    if (!p.name.empty()) j["name"] = p.name;
    if (p.node_port) j["nodePort"] = *p.node_port;
    out.push_back(std::move(j));
  }
  return out;
}

Json service_object(const LabView& v, const ServicePlan& s) {
  Json o = object(v, kind_info(Kind::kService), s.spec.ns, s.spec.name);
  if (!s.spec.labels.empty()) o["metadata"]["labels"] = labels(s.spec.labels);
  std::string ip = s.cluster_ip.str();
  Json spec = {{"type", std::string(to_string(s.spec.type))},
               {"clusterIP", ip},
               {"clusterIPs", {ip}},
               {"ports", service_ports(s)},
               {"sessionAffinity", s.spec.session_affinity ? "ClientIP" : "None"},
               {"internalTrafficPolicy", "Cluster"},
               {"ipFamilies", {"IPv4"}},
               {"ipFamilyPolicy", "SingleStack"}};
  if (!s.spec.selector.empty()) spec["selector"] = labels(s.spec.selector);
  if (s.spec.type != ServiceType::kClusterIP) spec["externalTrafficPolicy"] = s.spec.local_traffic_policy ? "Local" : "Cluster";
  if (s.spec.session_affinity) spec["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 10800}}}};
  if (s.spec.type == ServiceType::kLoadBalancer) spec["allocateLoadBalancerNodePorts"] = true;
  o["spec"] = spec;
  Json lb = Json::object();
  if (s.lb_ip) lb["ingress"] = Json::array({{{"ip", s.lb_ip->str()}, {"ipMode", "VIP"}}});
  o["status"] = {{"loadBalancer", lb}};
  return o;
}

Json target_ref(const LabView& v, const ServicePlan& s, const EndpointPlan& e) {
  return {{"kind", "Pod"}, {"name", e.pod}, {"namespace", s.spec.ns}, {"uid", object_uid(v.plan.lab, "Pod", s.spec.ns, e.pod)}};
}

Json endpoints_object(const LabView& v, const ServicePlan& s) {
  Json o = object(v, kind_info(Kind::kEndpoints), s.spec.ns, s.spec.name);
  o["metadata"]["creationTimestamp"] = views::iso8601(creation_time(v, "Service", s.spec.ns, s.spec.name));
  if (!s.spec.selector.empty()) o["metadata"]["labels"] = labels(s.spec.selector);
  Json addresses = Json::array(), not_ready = Json::array(), ports = Json::array();
  for (const EndpointPlan& e : s.endpoints) {
    Json a = {{"ip", e.ip.str()}, {"nodeName", e.node}, {"targetRef", target_ref(v, s, e)}};
    (ready(v, e.pod) ? addresses : not_ready).push_back(std::move(a));
  }
  for (const ServicePortPlan& p : s.ports) {
    Json j = {{"port", p.target_port}, {"protocol", p.protocol}};
    if (!p.name.empty()) j["name"] = p.name;
    ports.push_back(std::move(j));
  }
  Json subsets = Json::array();
  if (!addresses.empty() || !not_ready.empty()) {
    Json subset = {{"ports", ports}};
    if (!addresses.empty()) subset["addresses"] = addresses;
    if (!not_ready.empty()) subset["notReadyAddresses"] = not_ready;
    subsets.push_back(std::move(subset));
  }
  if (!subsets.empty()) o["subsets"] = subsets;
  return o;
}

Json endpointslice_object(const LabView& v, const ServicePlan& s) {
  auto d = sha256(s.id());
  std::string suffix = lower(base32(d.data(), d.size()).substr(0, 5));
  Json o = object(v, kind_info(Kind::kEndpointSlice), s.spec.ns, s.spec.name + "-" + suffix);
  o["metadata"]["creationTimestamp"] = views::iso8601(creation_time(v, "Service", s.spec.ns, s.spec.name));
  o["metadata"]["labels"] = {{"kubernetes.io/service-name", s.spec.name},
                             {"endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"}};
  o["metadata"]["ownerReferences"] =
      Json::array({{{"apiVersion", "v1"}, {"kind", "Service"}, {"name", s.spec.name}, {"controller", true}, {"blockOwnerDeletion", true},
                    {"uid", object_uid(v.plan.lab, "Service", s.spec.ns, s.spec.name)}}});
  o["addressType"] = "IPv4";
  Json eps = Json::array();
  for (const EndpointPlan& e : s.endpoints) {
    bool r = ready(v, e.pod);
    eps.push_back({{"addresses", {e.ip.str()}},
                   {"conditions", {{"ready", r}, {"serving", r}, {"terminating", false}}},
                   {"nodeName", e.node},
                   {"targetRef", target_ref(v, s, e)}});
  }
  o["endpoints"] = eps;
  Json ports = Json::array();
  for (const ServicePortPlan& p : s.ports) ports.push_back({{"name", p.name}, {"port", p.target_port}, {"protocol", p.protocol}});
  o["ports"] = ports;
  return o;
}

}  // namespace

std::vector<Json> service_objects(const LabView& v) { return objects_from(v, v.plan.services, service_object); }
std::vector<Json> endpoints_objects(const LabView& v) { return objects_from(v, v.plan.services, endpoints_object); }
std::vector<Json> endpointslice_objects(const LabView& v) { return objects_from(v, v.plan.services, endpointslice_object); }

}  // namespace knlab::kube
