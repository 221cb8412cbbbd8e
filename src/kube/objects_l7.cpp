// Ingress, IngressClass, Secret and the Gateway API objects: the document the user applied (its
// recorded canonical YAML), with the metadata the API server adds and the status kn-lab's
// controllers write (plan/nginx.hpp: conditions, addresses, attached routes).
#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>

#include "kube/objects_internal.hpp"
#include "kube/patch.hpp"
#include "plan/nginx.hpp"

namespace knlab::kube {

namespace {

// The recorded document with the API server's metadata; status replaced by kn-lab's.
Json applied(const LabView& v, const KindInfo& k, const ObjectMeta& m) {
  // The record is kn-lab's canonical YAML: an error does not happen.
  Json doc = parse_yaml_json(m.yaml, "the lab's record").value_or(Json::object());
  if (!doc.is_object()) doc = Json::object();
  doc.erase("status");
  Json md = metadata(v, k.kind, k.namespaced ? m.ns : std::string(), m.name);
  md["generation"] = 1;
  if (!m.labels.empty()) md["labels"] = labels(m.labels);
  if (!m.annotations.empty()) md["annotations"] = labels(m.annotations);
  doc["metadata"] = md;
  doc["kind"] = k.kind;
  if (!doc.contains("apiVersion")) doc["apiVersion"] = k.api_version();
  return doc;
}

Json conditions(const std::vector<Condition>& cs, const std::string& since) {
  Json out = Json::array();
  for (const Condition& c : cs)
    out.push_back({{"type", c.type}, {"status", c.status ? "True" : "False"}, {"reason", c.reason}, {"message", c.message},
                   {"lastTransitionTime", since}, {"observedGeneration", 1}});
  return out;
}

// The controllerName a route's status names for a Gateway: its class's, when kn-lab answers to it.
std::string controller_of(const LabPlan& plan, const std::string& ns, const std::string& gateway) {
  for (const GatewaySpec& g : plan.l7.gateways)
    if (g.meta.ns == ns && g.meta.name == gateway)
      for (const GatewayClassSpec& c : plan.l7.gateway_classes)
        if (c.meta.name == g.class_name && plan.answers_to(c.controller)) return c.controller;
  return kGatewayController;
}

Json parents(const LabPlan& plan, const std::vector<ParentStatus>& ps, const std::string& since) {
  Json out = Json::array();
  for (const ParentStatus& p : ps) {
    std::string ref = p.parent;
    auto slash = ref.find('/');
    Json parent = {{"group", std::string(kGatewayGroup)}, {"kind", "Gateway"}};
    std::string rest = slash == std::string::npos ? ref : ref.substr(slash + 1);
    if (slash != std::string::npos) parent["namespace"] = ref.substr(0, slash);
    auto section = rest.find('/');
    parent["name"] = rest.substr(0, section);
    if (section != std::string::npos) parent["sectionName"] = rest.substr(section + 1);
    std::string controller = controller_of(plan, parent.value("namespace", ""), parent["name"].get<std::string>());
    out.push_back({{"parentRef", parent}, {"controllerName", controller}, {"conditions", conditions(p.conditions, since)}});
  }
  return out;
}

Json gateway_status_json(const LabView& v, const GatewaySpec& g, const std::string& since) {
  GatewayStatus st = gateway_status(v.plan, g);
  Json addresses = Json::array();
  for (auto& a : st.addresses) addresses.push_back({{"type", "IPAddress"}, {"value", a}});
  Json listeners = Json::array();
  for (auto& l : st.listeners)
    listeners.push_back({{"name", l.name}, {"attachedRoutes", l.attached_routes}, {"conditions", conditions(l.conditions, since)},
                         {"supportedKinds", Json::array()}});
  Json s = {{"conditions", conditions(st.conditions, since)}, {"listeners", listeners}};
  if (!addresses.empty()) s["addresses"] = addresses;
  return s;
}

std::string ingress_ip(const LabView& v) {
  for (const DataPlanePlan& dp : v.plan.data_planes)
    if (dp.kind == DataPlanePlan::Kind::kIngress)
      for (const ServicePlan& s : v.plan.services)
        if (s.spec.ns == dp.ns && s.spec.name == dp.name) {
          if (s.lb_ip) return s.lb_ip->str();
          for (const PodPlan& p : v.plan.pods)
            if (p.ns == dp.ns && p.deployment == dp.name) return node_ip(v, p.node);
        }
  return "";
}

template <class T, class Status>
std::vector<Json> each(const LabView& v, Kind kind, const std::vector<T>& items, Status status) {
  std::vector<Json> out;
  const KindInfo& k = kind_info(kind);
  for (const T& x : items) {
    Json o = applied(v, k, x.meta);
    status(o, x, std::string(o["metadata"]["creationTimestamp"]));
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

std::vector<Json> l7_objects(const LabView& v, Kind kind) {
  const L7Objects& l7 = v.plan.l7;
  auto none = [](Json&, const auto&, const std::string&) {};
  switch (kind) {
    case Kind::kSecret: return each(v, kind, l7.secrets, none);
    case Kind::kIngressClass: return each(v, kind, l7.ingress_classes, none);
    case Kind::kIngress:
      return each(v, kind, l7.ingresses, [&](Json& o, const IngressSpec& i, const std::string&) {
        std::string ip = ingress_is_ours(v.plan, i) ? ingress_ip(v) : "";
        o["status"] = {{"loadBalancer", ip.empty() ? Json::object() : Json{{"ingress", Json::array({{{"ip", ip}}})}}}};
      });
    case Kind::kGatewayClass:
      return each(v, kind, l7.gateway_classes, [&](Json& o, const GatewayClassSpec& c, const std::string& since) {
        if (v.plan.answers_to(c.controller)) {
          std::string how = c.controller == kGatewayController ? std::string("kn-lab's Gateway controller")
                                                                : fmt::format("kn-lab's Gateway controller, answering to {}", c.controller);
          o["status"] = {{"conditions", conditions({Condition{"Accepted", true, "Accepted",
                                                              how + "; the data plane of each Gateway is nginx, run by kn-lab"}}, since)}};
          return;
        }
        o["status"] = {{"conditions", Json::array({{{"type", "Accepted"}, {"status", "Unknown"}, {"reason", "Pending"},
                                                    {"message", "Waiting for controller"}, {"lastTransitionTime", since}}})}};
      });
    case Kind::kGateway:
      return each(v, kind, l7.gateways, [&](Json& o, const GatewaySpec& g, const std::string& since) { o["status"] = gateway_status_json(v, g, since); });
    case Kind::kHTTPRoute:
      return each(v, kind, l7.http_routes, [&](Json& o, const HttpRouteSpec& r, const std::string& since) {
        o["status"] = {{"parents", parents(v.plan, route_status(v.plan, r), since)}};
      });
    case Kind::kTCPRoute:
    case Kind::kUDPRoute: {
      ListenerProtocol want = kind == Kind::kTCPRoute ? ListenerProtocol::kTCP : ListenerProtocol::kUDP;
      std::vector<L4RouteSpec> routes;
      std::copy_if(l7.l4_routes.begin(), l7.l4_routes.end(), std::back_inserter(routes), [&](auto& r) { return r.protocol == want; });
      return each(v, kind, routes, [&](Json& o, const L4RouteSpec& r, const std::string& since) {
        o["status"] = {{"parents", parents(v.plan, route_status(v.plan, r), since)}};
      });
    }
    case Kind::kReferenceGrant: return each(v, kind, l7.reference_grants, none);
    case Kind::kNetworkPolicy: return each(v, kind, l7.network_policies, none);
    default: return {};
  }
}

}  // namespace knlab::kube
