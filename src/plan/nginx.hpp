// nginx as the lab's L7 data plane, as data: the configuration of the ingress-nginx controller
// (from the Ingress objects of class "nginx") and of each Gateway's data plane (from its
// listeners and the HTTPRoutes, TCPRoutes and UDPRoutes attached to it), plus the status
// conditions the controllers would write back. Pure functions of the plan: unit-tested against
// expected files, and `nginx -t` accepts what they produce.
//
// Upstreams are the Services' endpoints (pod IP:target port), as ingress-nginx and NGINX Gateway
// Fabric do: traffic goes from nginx straight to pods, not through the cluster IP.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plan/plan.hpp"

namespace knlab {

// The files one data plane needs, path -> content: nginx.conf first, then the certificate and
// key of each TLS Secret it uses (0600), all under dp.dir.
std::vector<std::pair<std::string, std::string>> nginx_files(const LabPlan& plan, const DataPlanePlan& dp);

// The argv that runs the data plane's nginx in the foreground with its own prefix, config, pid
// and logs: nginx -p <dir>/ -c <dir>/nginx.conf -g "daemon off;" (the master is the container).
std::vector<std::string> nginx_argv(const DataPlanePlan& dp);

// Status conditions, as `kubectl describe` shows them.
struct Condition {
  std::string type;    // Accepted, ResolvedRefs, Programmed
  bool status = true;
  std::string reason;  // Accepted, NoMatchingParent, NotAllowedByListeners, RefNotPermitted, BackendNotFound, ...
  std::string message;
};
struct ParentStatus {
  std::string parent;  // "<ns>/<gateway>" (or "<ns>/<gateway>/<section>")
  std::vector<Condition> conditions;
};
// A Gateway's conditions (Accepted, Programmed) and, per listener, its attached route count.
struct GatewayStatus {
  std::vector<Condition> conditions;
  std::vector<std::string> addresses;  // the LoadBalancer IP of its Service
  struct Listener {
    std::string name;
    int attached_routes = 0;
    std::vector<Condition> conditions;
  };
  std::vector<Listener> listeners;
};
GatewayStatus gateway_status(const LabPlan& plan, const GatewaySpec& gw);
// A route's status per parent it names (HTTPRoute, TCPRoute, UDPRoute).
std::vector<ParentStatus> route_status(const LabPlan& plan, const HttpRouteSpec& route);
std::vector<ParentStatus> route_status(const LabPlan& plan, const L4RouteSpec& route);
// An Ingress's class is served by the lab's controller (ingressClassName "nginx", or none with
// a default IngressClass).
bool ingress_is_ours(const LabPlan& plan, const IngressSpec& ing);

}  // namespace knlab
