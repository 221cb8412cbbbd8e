// Ingress, IngressClass, Secret and the Gateway API objects: the document the user applied (its
// recorded canonical YAML), with the metadata the API server adds and the status kn-lab's
// controllers write (plan/nginx.hpp: conditions, addresses, attached routes).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>

#include "kube/objects_internal.hpp"
#include "plan/nginx.hpp"

namespace knlab::kube {

namespace {

Json scalar(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
  if (!s.empty() && s.size() < 19 && s.find_first_not_of("-0123456789") == std::string::npos && s.find('-', 1) == std::string::npos)
    return std::strtoll(s.c_str(), nullptr, 10);
  return s;
}

Json from_yaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = from_yaml(it->second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (auto it = n.begin(); it != n.end(); ++it) a.push_back(from_yaml(*it));
      return a;
    }
    case YAML::NodeType::Scalar: return scalar(n);
    default: return nullptr;
  }
}

// The recorded document with the API server's metadata; status replaced by kn-lab's.
Json applied(const LabView& v, const KindInfo& k, const ObjectMeta& m) {
  Json doc = Json::object();
  try {
    doc = from_yaml(YAML::Load(m.yaml));
  } catch (const YAML::Exception&) {
    doc = Json::object();  // the record is kn-lab's canonical YAML: this does not happen
  }
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

Json parents(const std::vector<ParentStatus>& ps, const std::string& since) {
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
    out.push_back({{"parentRef", parent}, {"controllerName", std::string(kGatewayController)}, {"conditions", conditions(p.conditions, since)}});
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
      return each(v, kind, l7.gateway_classes, [](Json& o, const GatewayClassSpec& c, const std::string& since) {
        if (c.controller == kGatewayController) {
          o["status"] = {{"conditions", conditions({Condition{"Accepted", true, "Accepted", "served by kn-lab's nginx"}}, since)}};
          return;
        }
        o["status"] = {{"conditions", Json::array({{{"type", "Accepted"}, {"status", "Unknown"}, {"reason", "Pending"},
                                                    {"message", "Waiting for controller"}, {"lastTransitionTime", since}}})}};
      });
    case Kind::kGateway:
      return each(v, kind, l7.gateways, [&](Json& o, const GatewaySpec& g, const std::string& since) { o["status"] = gateway_status_json(v, g, since); });
    case Kind::kHTTPRoute:
      return each(v, kind, l7.http_routes, [&](Json& o, const HttpRouteSpec& r, const std::string& since) {
        o["status"] = {{"parents", parents(route_status(v.plan, r), since)}};
      });
    case Kind::kTCPRoute:
    case Kind::kUDPRoute: {
      ListenerProtocol want = kind == Kind::kTCPRoute ? ListenerProtocol::kTCP : ListenerProtocol::kUDP;
      std::vector<L4RouteSpec> routes;
      std::copy_if(l7.l4_routes.begin(), l7.l4_routes.end(), std::back_inserter(routes), [&](auto& r) { return r.protocol == want; });
      return each(v, kind, routes, [&](Json& o, const L4RouteSpec& r, const std::string& since) {
        o["status"] = {{"parents", parents(route_status(v.plan, r), since)}};
      });
    }
    case Kind::kReferenceGrant: return each(v, kind, l7.reference_grants, none);
    default: return {};
  }
}

}  // namespace knlab::kube
