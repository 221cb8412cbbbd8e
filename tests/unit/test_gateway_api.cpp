// Gateway API semantics without nginx: hostname intersection, listener conflicts, which listener
// owns a hostname, route attachment, the attached-route table and the status it counts.
#include <doctest/doctest.h>

#include "gateway_builders.hpp"
#include "plan/gateway_api.hpp"

using namespace knlab;
using knlab::test::listener;
using knlab::test::parent;
using namespace knlab::gateway_api;

namespace {

HttpRouteSpec http_route(std::string ns, std::string name, std::vector<ParentRef> parents,
                         std::vector<std::string> hostnames = {}) {
  HttpRouteSpec r;
  r.meta.ns = std::move(ns);
  r.meta.name = std::move(name);
  r.parents = std::move(parents);
  r.hostnames = std::move(hostnames);
  return r;
}

// A lab with kn-lab's GatewayClass and one Gateway "gw" in default with `listeners`.
LabPlan plan_with(std::vector<ListenerSpec> listeners) {
  LabPlan p;
  GatewayClassSpec gc;
  gc.meta.name = "kn-lab";
  gc.meta.ns = "";
  gc.controller = kGatewayController;
  p.l7.gateway_classes.push_back(gc);
  GatewaySpec gw;
  gw.meta.name = "gw";
  gw.class_name = "kn-lab";
  gw.listeners = std::move(listeners);
  p.l7.gateways.push_back(gw);
  return p;
}

}  // namespace

TEST_CASE("hostnames: a wildcard covers narrower names, the intersection is the narrower") {
  CHECK(host_covers("", "a.example.com"));
  CHECK(host_covers("*.example.com", "a.example.com"));
  CHECK(host_covers("*.example.com", "*.a.example.com"));
  CHECK_FALSE(host_covers("*.example.com", "example.com"));
  CHECK_FALSE(host_covers("a.example.com", ""));
  CHECK(host_intersection("*.example.com", "a.example.com") == "a.example.com");
  CHECK(host_intersection("a.example.com", "*.example.com") == "a.example.com");
  CHECK(host_intersection("", "") == "");
  CHECK_FALSE(host_intersection("a.example.com", "b.example.com"));
  CHECK(host_rank("a.example.com") > host_rank("*.example.com"));
  CHECK(host_rank("*.a.example.com") > host_rank("*.example.com"));
  CHECK(host_rank("*.example.com") > host_rank(""));
}

TEST_CASE("listener_for_host: the most specific hostname that covers the request's") {
  LabPlan p = plan_with({listener("any", ListenerProtocol::kHTTP, 80),
                         listener("wild", ListenerProtocol::kHTTP, 80, "*.example.com"),
                         listener("www", ListenerProtocol::kHTTP, 80, "www.example.com")});
  const GatewaySpec& gw = p.l7.gateways[0];
  std::vector<std::size_t> on_port = {0, 1, 2};
  CHECK(listener_for_host(gw, on_port, "www.example.com") == 2u);
  CHECK(listener_for_host(gw, on_port, "shop.example.com") == 1u);
  CHECK(listener_for_host(gw, on_port, "other.org") == 0u);
  CHECK_FALSE(listener_for_host(gw, {1, 2}, "other.org"));
}

TEST_CASE("listener_infos: the first listener of a port keeps it") {
  LabPlan p = plan_with({listener("a", ListenerProtocol::kHTTP, 80, "a.example.com"),
                         listener("b", ListenerProtocol::kHTTP, 80, "b.example.com"),
                         listener("a-again", ListenerProtocol::kHTTP, 80, "a.example.com"),
                         listener("tcp", ListenerProtocol::kTCP, 80),
                         listener("udp", ListenerProtocol::kUDP, 80),
                         listener("https", ListenerProtocol::kHTTPS, 443)});
  std::vector<ListenerInfo> infos = listener_infos(p, p.l7.gateways[0]);
  REQUIRE(infos.size() == 6);
  CHECK(infos[0].usable());
  CHECK(infos[1].usable());
  CHECK(infos[2].conflict == "HostnameConflict");
  CHECK(infos[3].conflict == "ProtocolConflict");
  CHECK(infos[4].usable());  // UDP is another socket
  CHECK_FALSE(infos[5].usable());
  CHECK(infos[5].resolved.reason == "InvalidCertificateRef");
}

TEST_CASE("attach: the listeners a parentRef names, with the hostnames the route serves there") {
  LabPlan p = plan_with({listener("http", ListenerProtocol::kHTTP, 80, "*.example.com"),
                         listener("other", ListenerProtocol::kHTTP, 8080, "other.org"),
                         listener("tcp", ListenerProtocol::kTCP, 9000)});
  HttpRouteSpec r = http_route("default", "r", {parent("gw")}, {"a.example.com", "*.example.com"});
  Attachment a = attach(p, RouteKind::kHTTP, r.meta, r.hostnames, r.parents[0]);
  CHECK(a.accepted.status);
  CHECK(a.parent == "default/gw");
  CHECK(a.gateway == &p.l7.gateways[0]);
  REQUIRE(a.listeners.size() == 1);
  CHECK(a.listeners[0].first == 0);
  CHECK(a.listeners[0].second == std::vector<std::string>{"a.example.com", "*.example.com"});

  Attachment none = attach(p, RouteKind::kHTTP, r.meta, {"shop.org"}, r.parents[0]);
  CHECK_FALSE(none.accepted.status);
  CHECK(none.accepted.reason == "NoMatchingListenerHostname");
  CHECK(none.listeners.empty());

  Attachment other_ns =
      attach(p, RouteKind::kHTTP, http_route("team", "r", {}).meta, {}, parent("gw", "http"));
  CHECK(other_ns.accepted.reason == "NoMatchingParent");  // in team: no Gateway team/gw

  Attachment tcp = attach(p, RouteKind::kUDP, r.meta, {}, parent("gw", "tcp"));
  CHECK(tcp.accepted.reason == "NoMatchingParent");
  CHECK(tcp.accepted.message == "Gateway default/gw has no UDP listener for a UDPRoute");
}

TEST_CASE("attached_routes: the route table of one Gateway, and the counts of its status") {
  LabPlan p = plan_with({listener("http", ListenerProtocol::kHTTP, 80),
                         listener("www", ListenerProtocol::kHTTP, 8080, "www.example.com"),
                         listener("tcp", ListenerProtocol::kTCP, 9000)});
  // Twice through two parentRefs: one entry per listener, hostnames merged once.
  p.l7.http_routes.push_back(http_route("default", "both", {parent("gw"), parent("gw", "http")}));
  p.l7.http_routes.push_back(
      http_route("default", "www", {parent("gw", "www")}, {"www.example.com", "x.org"}));
  p.l7.http_routes.push_back(http_route("default", "lost", {parent("nope")}));
  L4RouteSpec tcp;
  tcp.meta.name = "echo";
  tcp.parents = {parent("gw")};
  p.l7.l4_routes.push_back(tcp);
  L4RouteSpec udp = tcp;
  udp.meta.name = "dns";
  udp.protocol = ListenerProtocol::kUDP;
  p.l7.l4_routes.push_back(udp);

  AttachedRoutes routes = attached_routes(p, p.l7.gateways[0]);
  using Key = std::pair<std::size_t, std::size_t>;
  CHECK(routes.http.size() == 3);
  CHECK(routes.http.at(Key{0, 0}) == std::vector<std::string>{""});
  CHECK(routes.http.at(Key{0, 1}) == std::vector<std::string>{"www.example.com"});
  CHECK(routes.http.at(Key{1, 1}) == std::vector<std::string>{"www.example.com"});
  CHECK(routes.l4.size() == 1);
  CHECK(routes.l4.at(2) == std::vector<std::size_t>{0});
  CHECK(routes.count(0) == 1);
  CHECK(routes.count(1) == 2);
  CHECK(routes.count(2) == 1);

  GatewayStatus st = gateway_status(p, p.l7.gateways[0]);
  REQUIRE(st.listeners.size() == 3);
  CHECK(st.listeners[1].attached_routes == 2);

  GatewaySpec copy = p.l7.gateways[0];  // another object: nothing attaches to it
  CHECK(attached_routes(p, copy).http.empty());
}
