// Traffic checks: FROM and TO resolved as `kn-lab trace` resolves them (or a Service's NodePort
// or LoadBalancer address), the real packets sent from inside FROM with trace's probe, the
// answers judged (status, body, distinct backends, the client address the server saw), and
// a capture on a link meanwhile.
#include <fmt/core.h>

#include <optional>
#include <set>

#include "check/attempt.hpp"
#include "check/capture.hpp"
#include "core/text.hpp"
#include "net/inspect.hpp"
#include "net/netlink.hpp"
#include "plan/l7_common.hpp"
#include "trace/probe.hpp"
#include "trace/target.hpp"

namespace knlab::check {

namespace {

using trace::Proto;

struct Target {
  trace::Destination dst;
  std::string request;  // what is sent once connected (TCP)
};

Proto proto_of(const CheckSpec& c) {
  return c.protocol == "udp" ? Proto::kUdp : c.protocol == "icmp" ? Proto::kIcmp : Proto::kTcp;
}

std::string service_name(const std::string& to) { return to.starts_with("svc/") ? to.substr(4) : to; }

// A Service's port: the one numbered c.port, else its first.
Result<const ServicePortPlan*> service_port(const ServicePlan& s, const CheckSpec& c) {
  if (s.ports.empty()) return fail(input_error(c.where, fmt::format("Service {} has no ports", s.id())));
  if (!c.port) return &s.ports.front();
  if (const ServicePortPlan* p = s.port(*c.port)) return p;
  return fail(input_error(c.where, fmt::format("Service {} has no port {}", s.id(), *c.port)));
}

// via = "node-port" | "load-balancer": the address and port from outside the cluster.
Result<trace::Destination> outside_address(const LabPlan& plan, const CheckSpec& c) {
  const ServicePlan* s = l7::find_service(plan, c.ns, service_name(c.to));
  if (!s) return fail(input_error(c.where, fmt::format("there is no Service {}/{}", c.ns, service_name(c.to))));
  const ServicePortPlan* p = KN_TRY(service_port(*s, c));
  if (c.via == "load-balancer") {
    if (!s->lb_ip) return fail(input_error(c.where, fmt::format("Service {} has no EXTERNAL-IP (type {})", s->id(), to_string(s->spec.type))));
    return trace::Destination{*s->lb_ip, p->port, fmt::format("svc/{} at its EXTERNAL-IP {}:{}", s->spec.name, s->lb_ip->str(), p->port), {}};
  }
  if (!p->node_port) return fail(input_error(c.where, fmt::format("Service {} has no NodePort (type {})", s->id(), to_string(s->spec.type))));
  auto node = std::find_if(plan.nodes.begin(), plan.nodes.end(), [&](const NodePlan& n) { return n.name == c.via_node; });
  if (node == plan.nodes.end()) return fail(input_error(c.where, fmt::format("there is no node {}", c.via_node)));
  return trace::Destination{node->ip.addr, *p->node_port, fmt::format("svc/{} at {}:{} (NodePort)", s->spec.name, c.via_node, *p->node_port), {}};
}

Result<Target> target_of(const LabPlan& plan, const CheckSpec& c, const trace::Source& src) {
  if (c.to.starts_with("http://") || c.to.starts_with("https://")) {
    trace::UrlTarget u = KN_TRY(trace::resolve_url(plan, c.to, c.host_header, src));
    std::string path = u.http.path + (u.http.query.empty() ? "" : "?" + u.http.query);
    return Target{u.dst, trace::http_request(u.http.host, path)};
  }
  trace::Destination d = c.via.empty()
                             ? KN_TRY(trace::resolve_destination(plan, c.port ? fmt::format("{}:{}", c.to, *c.port) : c.to, src, proto_of(c)))
                             : KN_TRY(outside_address(plan, c));
  return Target{d, proto_of(c) == Proto::kTcp ? trace::http_request(c.host_header.empty() ? d.ip.str() : c.host_header, "/") : ""};
}

int http_status(const std::string& reply) {
  if (!reply.starts_with("HTTP/")) return 0;
  auto sp = reply.find(' ');
  return sp == std::string::npos ? 0 : std::atoi(reply.c_str() + sp + 1);
}

// "client: 10.244.1.2:40312" in kn-netexec's page, or a /clientip or UDP clientip answer.
std::string client_seen(const std::string& reply) {
  auto at = reply.find("\nclient: ");
  if (at == std::string::npos) return {};
  auto end = reply.find_first_of(":\r\n", at + 9);
  return reply.substr(at + 9, end == std::string::npos ? std::string::npos : end - at - 9);
}

// The addresses `client` stands for: the probe's own source ("source"), an IPv4, or those of a
// namespace of the lab (a node masquerading, the cloud-lb).
Result<std::set<std::string>> client_addresses(const LabView& view, const CheckSpec& c, const trace::ProbeResult& r) {
  if (c.client == "source") return std::set<std::string>{r.src.str()};
  if (Ipv4::parse(c.client)) return std::set<std::string>{c.client};
  std::string netns = KN_TRY(netns_of(view, c.client, c.ns));
  NetlinkSession session;
  NsContext* ctx = KN_TRY(session.context(netns));
  std::set<std::string> out;
  for (const AddrInfo& a : KN_TRY(addresses_read(*ctx))) out.insert(a.cidr.addr.str());
  return out;
}

struct Run {
  int answered = 0, refused = 0, sent = 0;
  std::set<std::string> backends;
  std::vector<trace::ProbeResult> results;
};

std::string judge_answer(const LabView& view, const CheckSpec& c, const trace::ProbeResult& r) {
  if (c.status && http_status(r.reply) != *c.status)
    return fmt::format("HTTP status {}, not {}", http_status(r.reply) ? std::to_string(http_status(r.reply)) : "none", *c.status);
  if (!c.body.empty() && r.reply.find(c.body) == std::string::npos) return fmt::format("the answer does not contain \"{}\"", c.body);
  if (!c.client.empty()) {
    std::string seen = client_seen(r.reply);
    auto want = client_addresses(view, c, r);
    if (!want) return want.error().format();
    if (!want->contains(seen))
      return fmt::format("the server saw the client as {}, not {} ({})", seen.empty() ? "nothing" : seen, c.client, join(std::vector(want->begin(), want->end())));
  }
  return {};
}

Attempt judge(const LabView& view, const CheckSpec& c, const Target& t, const Run& run) {
  const trace::ProbeResult& last = run.results.back();
  std::string where = t.dst.label.empty() ? fmt::format("{}:{}", t.dst.ip.str(), t.dst.port) : t.dst.label;
  if (!c.expect_reach) {
    if (run.answered) return {false, fmt::format("{} answered from {} (expected no answer)", where, c.from)};
    return {true, fmt::format("{} does not answer {}: {}", where, c.from, last.error)};
  }
  if (!last.answered) return {false, fmt::format("{} does not answer {}: {}", where, c.from, last.error)};
  if (std::string bad = judge_answer(view, c, last); !bad.empty()) return {false, bad};
  if (c.backends) {
    std::string who = join(std::vector(run.backends.begin(), run.backends.end()));
    if (static_cast<int>(run.backends.size()) != c.backends || run.answered != run.sent)
      return {false, fmt::format("{} of {} requests answered, by {} distinct backend(s) ({}), not {}", run.answered, run.sent,
                                 run.backends.size(), who, c.backends)};
    return {true, fmt::format("{} requests answered by {} backends: {}", run.sent, run.backends.size(), who)};
  }
  std::string by = trace::answer_hostname(last.reply);
  return {true, fmt::format("{} answered{} in {} ms", where, by.empty() ? "" : " (by " + by + ")", last.ms)};
}

Result<Attempt> traffic(const LabView& view, const CheckSpec& c) {
  trace::Source src = KN_TRY(trace::resolve_source(view.plan, c.from, c.ns));
  Target t = KN_TRY(target_of(view.plan, c, src));
  std::optional<Capture> capture;
  if (!c.capture.empty()) {
    auto slash = c.capture.find('/');
    std::string netns = KN_TRY(netns_of(view, c.capture.substr(0, slash), c.ns));
    capture = KN_TRY(Capture::open(netns, c.capture.substr(slash + 1)));
  }
  trace::Packet p;
  p.dst = t.dst.ip;
  p.dport = t.dst.port;
  p.proto = proto_of(c);
  Run run;
  for (int i = 0; i < std::max(1, c.requests); ++i) {
    trace::ProbeResult r = KN_TRY(trace::send_probe(src.netns, p, c.timeout_ms, t.request));
    ++run.sent;
    if (r.answered) ++run.answered, run.backends.insert(trace::answer_hostname(r.reply));
    run.results.push_back(std::move(r));
  }
  Attempt a = judge(view, c, t, run);
  if (capture && a.pass) {
    Seen s = capture->drain(run.results.back().sport, static_cast<std::uint8_t>(p.proto));
    bool ok = c.sees == "vxlan" ? s.vxlan > 0 : c.sees == "ip" ? s.plain > 0 && s.vxlan == 0 : s.plain == 0 && s.vxlan == 0;
    std::string saw = fmt::format("{} saw the flow {} time(s) in VXLAN and {} time(s) as plain IP", c.capture, s.vxlan, s.plain);
    return Attempt{ok, ok ? a.detail + "; " + saw : saw + fmt::format(", expected {}", c.sees)};
  }
  return a;
}

}  // namespace

Attempt traffic_attempt(const LabView& view, const CheckSpec& c) {
  auto a = traffic(view, c);
  if (!a) return {false, a.error().format()};
  return *a;
}

}  // namespace knlab::check
