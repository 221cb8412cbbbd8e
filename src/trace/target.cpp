#include "trace/target.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>

#include "core/text.hpp"
#include "plan/l7_common.hpp"

namespace knlab::trace {

namespace {

std::string pod_label(const PodPlan& p) { return fmt::format("pod {} ({})", p.name, p.ns); }

Error bad(const std::string& what, std::string detail, std::string hint) {
  return input_error(SourceLocation{}, fmt::format("{}: {}", what, std::move(detail)), std::move(hint));
}

std::optional<std::uint16_t> port_number(std::string_view s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

const PodPlan* find_pod(const LabPlan& plan, std::string_view name, std::string_view ns) {
  const PodPlan* only = nullptr;
  int count = 0;
  for (const PodPlan& p : plan.pods) {
    if (p.name != name) continue;
    if (p.ns == ns) return &p;
    only = &p;
    ++count;
  }
  return count == 1 ? only : nullptr;
}


// "svc:port" -> ("svc", "port"); a bare name has no port part.
std::pair<std::string, std::string> split_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return {s, ""};
  return {s.substr(0, colon), s.substr(colon + 1)};
}

Result<Destination> service_destination(const ServicePlan& s, const std::string& port, const std::string& text) {
  const ServicePortPlan* sp = port.empty() ? &s.ports.front() : nullptr;
  if (!sp) {
    if (auto n = port_number(port)) sp = s.port(*n);
    if (!sp) sp = s.port(std::string_view(port));
  }
  if (!sp) {
    std::vector<std::string> have;
    for (const ServicePortPlan& p : s.ports) have.push_back(p.name.empty() ? std::to_string(p.port) : fmt::format("{} ({})", p.port, p.name));
    return fail(bad(text, fmt::format("service {} has no port \"{}\"", s.id(), port), "its ports: " + join(have, ", ")));
  }
  return Destination{s.cluster_ip, sp->port, fmt::format("svc/{} port {} ({}:{})", s.spec.name, sp->port, s.cluster_ip.str(), sp->port), ""};
}

std::uint16_t pod_default_port(const PodPlan& p) {
  for (const ContainerPort& c : p.ports)
    if (c.protocol == "TCP") return c.port;
  return 80;
}

// A DNS name as a pod of `ns` resolves it: NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local.
const ServicePlan* service_by_dns(const LabPlan& plan, const std::string& name, const std::string& ns, std::string& fqdn) {
  std::string n = name;
  if (n.ends_with(".")) n.pop_back();
  for (const std::string suffix : {".svc.cluster.local", ".svc"})
    if (n.ends_with(suffix)) n.resize(n.size() - suffix.size());
  std::vector<std::string_view> parts = split(n, '.');
  if (parts.empty() || parts.size() > 2) return nullptr;
  std::string svc_ns = parts.size() == 2 ? std::string(parts[1]) : ns;
  const ServicePlan* s = l7::find_service(plan, svc_ns, parts[0]);
  if (s) fqdn = fmt::format("{}.{}.svc.cluster.local", parts[0], svc_ns);
  return s;
}

}  // namespace

Places places_of(const LabPlan& plan) {
  Places out;
  for (const LabPlan::Wire& w : plan.wires) out[w.netns] = w.name == "wire" ? "wire" : "rack " + w.name;
  if (!plan.router_netns.empty()) out[plan.router_netns] = "router";
  if (!plan.external_netns.empty()) out[plan.external_netns] = "external";
  if (!plan.cloud_lb_netns.empty()) out[plan.cloud_lb_netns] = "cloud-lb";
  for (const NodePlan& n : plan.nodes) out[n.netns] = "node " + n.name;
  for (const PodPlan& p : plan.pods) out[p.netns] = pod_label(p);
  return out;
}

Result<Source> resolve_source(const LabPlan& plan, const std::string& from, const std::string& ns) {
  std::string name = from.starts_with("pod/") ? from.substr(4) : from;
  if (from.starts_with("deploy/") || from.starts_with("deployment/")) {  // its first pod, as kubectl exec deploy/NAME picks one
    std::string d = from.substr(from.find('/') + 1);
    for (const PodPlan& p : plan.pods)
      if (p.deployment == d && p.ns == ns) return Source{p.netns, pod_label(p), p.ns};
    return fail(bad(from, fmt::format("no pod of deployment \"{}\" in namespace {}", d, ns), "kn-lab get deploy -A lists them"));
  }
  if (const PodPlan* p = find_pod(plan, name, ns)) return Source{p->netns, pod_label(*p), p->ns};
  if (from.starts_with("pod/")) return fail(bad(from, fmt::format("no pod \"{}\" in namespace {}", name, ns), "kn-lab get pods -A lists them"));
  if (const NodePlan* n = plan.node(from)) return Source{n->netns, "node " + n->name, "default"};
  if (from == "external" && plan.has_wire()) return Source{plan.external_netns, "external", "default"};
  if (from == "cloud-lb" && !plan.cloud_lb_netns.empty()) return Source{plan.cloud_lb_netns, "cloud-lb", "default"};
  if (from == "router" && !plan.router_netns.empty()) return Source{plan.router_netns, "router", "default"};
  std::vector<std::string> kinds{"a pod", "a node"};
  if (plan.has_wire()) kinds.push_back("external");
  if (!plan.cloud_lb_netns.empty()) kinds.push_back("cloud-lb");
  return fail(bad(from, "not a pod, node or namespace of the lab", "give " + join(kinds, ", ")));
}

Result<Destination> resolve_destination(const LabPlan& plan, const std::string& to, const Source& from, Proto proto) {
  auto [name, port] = split_port(to);
  if (proto == Proto::kIcmp && !port.empty()) return fail(bad(to, "ICMP has no port", "leave out :" + port));
  std::optional<std::uint16_t> number = port.empty() ? std::nullopt : port_number(port);
  if (name.starts_with("svc/") || name.starts_with("service/")) {
    std::string svc = name.substr(name.find('/') + 1);
    const ServicePlan* s = l7::find_service(plan, from.k8s_ns, svc);
    if (!s) return fail(bad(to, fmt::format("no service \"{}\" in namespace {}", svc, from.k8s_ns), "kn-lab get svc -A lists them"));
    return service_destination(*s, port, to);
  }
  if (!port.empty() && !number) return fail(bad(to, fmt::format("\"{}\" is not a port number (1-65535)", port), "svc/NAME:PORT-NAME takes a name"));
  std::uint16_t dport = proto == Proto::kIcmp ? 0 : number.value_or(0);
  if (auto ip = Ipv4::parse(name)) {
    Destination d{*ip, proto == Proto::kIcmp ? std::uint16_t{0} : (dport ? dport : std::uint16_t{80}), ip->str(), ""};
    for (const ServicePlan& s : plan.services) {
      if (s.cluster_ip == *ip) d.label = fmt::format("svc/{} (ClusterIP {})", s.spec.name, ip->str());
      if (s.lb_ip == *ip) d.label = fmt::format("svc/{} (LoadBalancer {})", s.spec.name, ip->str());
    }
    for (const PodPlan& p : plan.pods)
      if (p.address.addr == *ip) d.label = pod_label(p);
    return d;
  }
  // A name is what a pod's resolver makes of it (Services), then a pod; pod/NAME is a pod.
  std::string fqdn;
  const ServicePlan* by_dns = name.starts_with("pod/") ? nullptr : service_by_dns(plan, name, from.k8s_ns, fqdn);
  if (by_dns && plan.dns) {
    Destination d = KN_TRY(service_destination(*by_dns, port, to));
    d.resolved = fmt::format("{} -> {} -> {} (the lab's DNS, with the search path of namespace {})", name, fqdn, by_dns->cluster_ip.str(), from.k8s_ns);
    return d;
  }
  std::string pod_name = name.starts_with("pod/") ? name.substr(4) : name;
  if (const PodPlan* p = find_pod(plan, pod_name, from.k8s_ns))
    return Destination{p->address.addr, proto == Proto::kIcmp ? std::uint16_t{0} : (dport ? dport : pod_default_port(*p)), pod_label(*p), ""};
  if (const NodePlan* n = plan.node(name)) {
    if (!dport && proto != Proto::kIcmp) return fail(bad(to, "a node needs a port (its NodePort)", fmt::format("{}:30080", name)));
    return Destination{n->ip.addr, dport, fmt::format("node {} ({})", n->name, n->ip.addr.str()), ""};
  }
  if (by_dns) return fail(bad(to, "the lab has no cluster DNS", fmt::format("trace svc/{} instead", by_dns->spec.name)));
  return fail(bad(to, "not a pod, node, service, DNS name or IPv4 address of the lab",
                  "give a pod, svc/NAME[:PORT], NAME.NAMESPACE, NODE:NODEPORT or an address"));
}

Result<UrlTarget> resolve_url(const LabPlan& plan, const std::string& url, const std::string& host_header, const Source& from) {
  UrlTarget out;
  std::string rest;
  if (url.starts_with("http://")) rest = url.substr(7);
  else if (url.starts_with("https://")) rest = url.substr(8), out.http.https = true;
  else return fail(bad(url, "not an http:// or https:// URL", "http://HOST[:PORT]/PATH"));
  std::string authority = rest.substr(0, rest.find('/'));
  std::string target = authority.size() < rest.size() ? rest.substr(authority.size()) : "/";
  if (auto q = target.find('?'); q != std::string::npos) out.http.query = target.substr(q + 1), target.resize(q);
  out.http.path = target;
  auto [host, port] = split_port(authority);
  if (host.empty()) return fail(bad(url, "the URL has no host", "http://HOST[:PORT]/PATH"));
  std::uint16_t number = out.http.https ? 443 : 80;
  if (!port.empty()) {
    auto n = port_number(port);
    if (!n) return fail(bad(url, fmt::format("\"{}\" is not a port number (1-65535)", port), ""));
    number = *n;
  }
  out.http.host = host_header.empty() ? host : host_header;
  auto d = resolve_destination(plan, fmt::format("{}:{}", host, number), from, Proto::kTcp);
  if (!d)
    return fail(bad(url, fmt::format("\"{}\" is not an address, node or Service name of the lab", host),
                    fmt::format("put an address in the URL and the name in a header: http://NODE:PORT{} -H 'Host: {}'", target, host)));
  out.dst = *d;
  return out;
}

const DataPlanePlan* data_plane_of(const LabPlan& plan, const std::string& netns) {
  for (const PodPlan& p : plan.pods) {
    if (p.netns != netns) continue;
    for (const DataPlanePlan& dp : plan.data_planes)
      if (dp.ns == p.ns && dp.name == p.deployment) return &dp;
  }
  return nullptr;
}

}  // namespace knlab::trace
