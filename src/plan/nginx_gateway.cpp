#include "plan/nginx_gateway.hpp"

#include <fmt/core.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "plan/gateway_api.hpp"
#include "core/text.hpp"
#include "plan/l7_common.hpp"
#include "plan/nginx_gateway_server.hpp"

namespace knlab::nginx {

namespace {

using gateway_api::ListenerInfo;
using gateway_api::RouteKind;

// --- stream: TCPRoute and UDPRoute ---------------------------------------------------------------

struct L4Bucket {
  const ServicePlan* s;
  const ServicePortPlan* p;
  int weight;
};

// The backends of an L4 route that get connections; comments in `servers` say why the others
// do not.
std::vector<L4Bucket> l4_buckets(Conf& servers, const LabPlan& plan, const L4RouteSpec& r) {
  std::vector<L4Bucket> buckets;
  for (const BackendRef& ref : r.backends) {
    gateway_api::Backend b = gateway_api::resolve(plan, gateway_api::route_kind(r), r.meta, ref);
    if (!b.ok()) {
      servers.comment(fmt::format("  {}: not used: {}", b.display(), b.message));
    } else if (ref.weight <= 0) {
      servers.comment(fmt::format("  {}: weight 0, no traffic", b.display()));
    } else if (b.service->endpoints.empty()) {
      servers.comment(fmt::format("  {}: no endpoints", b.display()));
    } else {
      buckets.push_back(L4Bucket{b.service, b.port, ref.weight});
    }
  }
  return buckets;
}

// The upstream of one backend: its endpoints. Returns its name.
std::string single_upstream(Conf& up, const L4Bucket& b, bool udp) {
  std::string name =
      fmt::format("{}_{}_{}{}", b.s->spec.ns, b.s->spec.name, b.p->port, udp ? "_udp" : "");
  up.comment(endpoints_comment(*b.s, *b.p));
  up.open("upstream " + name);
  for (const EndpointPlan& e : b.s->endpoints)
    up.line(fmt::format("server {}:{};  # pod {}", e.ip.str(), b.p->target_port, e.pod));
  up.close();
  return name;
}

// The upstream of several weighted backends: each endpoint's weight is its backend's weight
// shared among the backend's endpoints. Returns its name.
std::string weighted_upstream(Conf& up, const std::vector<L4Bucket>& buckets, const L4RouteSpec& r,
                              const std::string& kind) {
  std::size_t l_all = 1;
  for (const L4Bucket& b : buckets) l_all = std::lcm(l_all, b.s->endpoints.size());
  std::vector<long long> w;
  for (const L4Bucket& b : buckets)
    for (std::size_t i = 0; i < b.s->endpoints.size(); ++i)
      w.push_back(static_cast<long long>(b.weight) *
                  static_cast<long long>(l_all / b.s->endpoints.size()));
  long long g = 0;
  for (long long x : w) g = std::gcd(g, x);
  std::string name = fmt::format("{}_{}_{}", r.meta.ns, r.meta.name, l7::lower(kind));
  up.comment(fmt::format("{} {}: backends by weight", kind, l7::object_id(r.meta)));
  up.open("upstream " + name);
  std::size_t k = 0;
  for (const L4Bucket& b : buckets)
    for (const EndpointPlan& e : b.s->endpoints)
      up.line(fmt::format("server {}:{} weight={};  # {}/{} (weight {}), pod {}", e.ip.str(),
                          b.p->target_port, w[k++] / g, b.s->spec.ns, b.s->spec.name, b.weight,
                          e.pod));
  up.close();
  return name;
}

// The server of one TCP or UDP listener with its attached `routes` (the oldest is served), and
// its upstream into `upstreams` (by name).
void write_l4_listener(Conf& servers, std::map<std::string, Conf>& upstreams, const LabPlan& plan,
                       const ListenerSpec& l, const std::vector<std::size_t>& routes) {
  const bool udp = l.protocol == ListenerProtocol::kUDP;
  servers.blank();
  if (routes.empty()) {
    servers.comment(fmt::format("listener {} ({} port {}): no route attached, not listening",
                                l.name, to_string(l.protocol), l.port));
    return;
  }
  const L4RouteSpec& r = plan.l7.l4_routes[routes.front()];
  std::string kind(gateway_api::kind_name(udp ? RouteKind::kUDP : RouteKind::kTCP));
  servers.comment(fmt::format("listener {} ({} port {}): {} {}", l.name, to_string(l.protocol),
                              l.port, kind, l7::object_id(r.meta)));
  for (std::size_t i = 1; i < routes.size(); ++i)
    servers.comment(
        fmt::format("  {} {} is attached too but ignored: one route per {} listener (the oldest)",
                    kind, l7::object_id(plan.l7.l4_routes[routes[i]].meta), to_string(l.protocol)));
  std::vector<L4Bucket> buckets = l4_buckets(servers, plan, r);
  if (buckets.empty()) {
    servers.comment("  no backend with endpoints: not listening (connections are refused)");
    return;
  }
  Conf up;
  std::string name = buckets.size() == 1 ? single_upstream(up, buckets.front(), udp)
                                         : weighted_upstream(up, buckets, r, kind);
  upstreams.emplace(name, std::move(up));
  servers.open("server");
  servers.line(fmt::format("listen {}{};", l.port, udp ? " udp" : ""));
  if (udp) servers.line("proxy_timeout 10s;");
  servers.line(fmt::format("proxy_pass {};", name));
  servers.close();
}

// The content of stream {}. l4: listener index -> attached L4 routes (indexes into
// plan.l7.l4_routes), plan order.
Conf stream_conf(const Ctx& ctx, const GatewaySpec& gw,
                 const std::vector<std::pair<std::size_t, std::vector<std::size_t>>>& l4) {
  std::map<std::string, Conf> upstreams;  // by name
  Conf servers;
  for (const auto& [li, routes] : l4)
    write_l4_listener(servers, upstreams, ctx.plan, gw.listeners[li], routes);
  Conf stream;
  stream.comment("Access log: the connection, and which endpoint (pod IP:port) served it.");
  stream.line(
      "log_format knlab_stream '$remote_addr [$time_local] $protocol $server_port $status "
      "$bytes_sent "
      "$bytes_received $session_time upstream=$upstream_addr';");
  stream.line(fmt::format("access_log {} knlab_stream;", tok(ctx.dp.dir + "/logs/access.log")));
  stream.line("proxy_connect_timeout 5s;");
  for (const auto& [n, block] : upstreams) {
    stream.blank();
    stream.append(block);
  }
  stream.blank();
  stream.append(servers);
  return stream;
}

// --- the configuration -------------------------------------------------------------------------

// Why the data plane has no Gateway of kn-lab's to serve, empty when it has.
std::string gateway_problem(const LabPlan& plan, const DataPlanePlan& dp, const GatewaySpec* gw) {
  if (gw == nullptr) return fmt::format("Gateway {}/{} does not exist", dp.gateway_ns, dp.gateway);
  if (gateway_api::gateway_is_ours(plan, *gw)) return "";
  return fmt::format("Gateway {}/{}: GatewayClass \"{}\" {}", dp.gateway_ns, dp.gateway, gw->class_name,
                     gateway_api::find_gateway_class(plan, gw->class_name) == nullptr
                         ? "does not exist"
                         : fmt::format("is not of a controller this lab answers to ({})", join(plan.gateway_controllers, ", ")));
}

// nginx that starts and serves nothing.
std::string unserved_conf(const DataPlanePlan& dp, const std::string& problem) {
  Conf c;
  c.comment(
      fmt::format("nginx of the data plane {}/{}, generated by kn-lab.\n{}: nothing to serve.",
                  dp.ns, dp.name, problem));
  c.blank();
  write_main(c, dp, false);
  c.blank();
  c.open("http");
  write_http_common(c, dp);
  c.close();
  return c.str();
}

// The file's opening comment: the Gateway and its listeners.
void write_summary(Conf& c, const DataPlanePlan& dp, const GatewaySpec& gw,
                   const std::vector<ListenerInfo>& listeners, bool http) {
  c.comment(fmt::format(
      "nginx of the data plane {}/{} of Gateway {}/{} (GatewayClass {}),\ngenerated by kn-lab.",
      dp.ns, dp.name, gw.meta.ns, gw.meta.name, gw.class_name));
  c.comment("Listeners:");
  for (const ListenerInfo& info : listeners) {
    const ListenerSpec& l = *info.spec;
    std::string state;
    if (!info.conflict.empty())
      state = fmt::format(" -- not served: {} ({})", info.conflict, info.conflict_message);
    else if (!info.usable())
      state = " -- not served: " + info.resolved.message;
    c.comment(fmt::format("  {}: {} port {}{}{}", l.name, to_string(l.protocol), l.port,
                          l.hostname.empty() ? "" : " hostname " + l.hostname, state));
  }
  if (http)
    c.comment(
        "HTTP routing: see the maps in http {} (the conditions of each match, then per server the "
        "rule a\n"
        "request goes to) and each server's named locations (@<namespace>/<route>/rule<N>).");
}

// The maps of the HTTP servers in http {}: conditions, filters, dispatch.
void write_http_maps(Conf& c, const HttpMaps& maps) {
  if (!maps.matches.maps().empty()) {
    c.blank();
    c.comment(
        "The conditions of the routes' matches: \"1\" when it holds (a match of several "
        "conditions:\n"
        "when all of them hold).");
    c.append(maps.matches.maps());
  }
  if (!maps.filters.conf().empty()) {
    c.blank();
    c.append(maps.filters.conf());
  }
  if (!maps.dispatch.empty()) {
    c.blank();
    c.append(maps.dispatch);
  }
}

}  // namespace

std::string gateway_conf(Ctx& ctx) {
  const LabPlan& plan = ctx.plan;
  const DataPlanePlan& dp = ctx.dp;
  const GatewaySpec* gw = gateway_api::find_gateway(plan, dp.gateway_ns, dp.gateway);
  if (std::string problem = gateway_problem(plan, dp, gw); !problem.empty())
    return unserved_conf(dp, problem);

  // The usable listeners: HTTP(S) by port, TCP and UDP with their routes.
  std::vector<ListenerInfo> listeners = gateway_api::listener_infos(plan, *gw);
  gateway_api::AttachedRoutes attached = gateway_api::attached_routes(plan, *gw);
  std::map<std::uint16_t, std::vector<std::size_t>> http_ports;
  std::vector<std::pair<std::size_t, std::vector<std::size_t>>> l4;
  for (std::size_t li = 0; li < listeners.size(); ++li) {
    const ListenerInfo& info = listeners[li];
    if (!info.usable()) continue;
    if (gateway_api::is_http(info.spec->protocol))
      http_ports[info.spec->port].push_back(li);
    else
      l4.emplace_back(li, attached.l4[li]);
  }

  // The servers first: they name the variables, upstreams and certificates http {} needs.
  HttpMaps maps;
  Conf servers;
  const GatewayHttp in{*gw, listeners, attached.http};
  for (const auto& [port, on_port] : http_ports)
    write_http_port(servers, maps, ctx, in, port, on_port);
  const bool stream = !l4.empty();

  Conf c;
  write_summary(c, dp, *gw, listeners, !http_ports.empty());
  c.blank();
  write_main(c, dp, stream);
  c.blank();
  c.open("http");
  write_http_common(c, dp);
  write_dollar(c, ctx);
  write_http_upstreams(c, ctx);
  write_http_maps(c, maps);
  c.blank();
  c.append(servers);
  c.close();
  if (stream) {
    c.blank();
    c.open("stream");
    c.append(stream_conf(ctx, *gw, l4));
    c.close();
  }
  return c.str();
}

}  // namespace knlab::nginx
