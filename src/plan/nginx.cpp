// nginx configurations of the lab's L7 data planes, and the Gateway API status conditions.
//
// Ingress (ingress-nginx semantics): one server per host (rules of several Ingresses merge),
// the rules without host and unknown hosts on the default server, prefix/exact locations (or
// case-insensitive regex locations for a host with rewrite-target / use-regex), upstreams of pod
// IP:target port per Service port.
//
// Gateway: one server per (listener port, hostname). nginx cannot match headers, query
// parameters or the method in `location`, so an HTTP server has a single `location /` that picks
// the rule: every condition of every match is a `map` variable ("1" when it holds), a match is
// the conjunction of its conditions, and a per-server dispatch `map` over the string of all
// candidate matches (in Gateway API precedence order) yields the named location of the first one
// that holds. `error_page 418 = $dispatch; return 418;` jumps there with the request untouched
// (method, URI and body), and the named location applies the rule's filters and proxies.
// TCPRoute and UDPRoute are `stream` servers.
#include "plan/nginx.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

namespace knlab {

namespace {

constexpr std::string_view kIngressControllerName = "k8s.io/ingress-nginx";
constexpr std::string_view kGatewayApiGroup = "gateway.networking.k8s.io";
constexpr std::string_view kStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";
constexpr std::string_view kAnnotationPrefix = "nginx.ingress.kubernetes.io/";

// Local names of the enums (lab/l7.cpp has to_string too; these keep this file self-contained).
std::string_view protocol_name(ListenerProtocol p) {
  switch (p) {
    case ListenerProtocol::kHTTP:
      return "HTTP";
    case ListenerProtocol::kHTTPS:
      return "HTTPS";
    case ListenerProtocol::kTCP:
      return "TCP";
    case ListenerProtocol::kUDP:
      return "UDP";
  }
  return "HTTP";
}

std::string_view ingress_path_type_name(IngressPathType t) {
  switch (t) {
    case IngressPathType::kPrefix:
      return "Prefix";
    case IngressPathType::kExact:
      return "Exact";
    case IngressPathType::kImplementationSpecific:
      return "ImplementationSpecific";
  }
  return "Prefix";
}

std::string_view path_match_name(PathMatchType t) {
  switch (t) {
    case PathMatchType::kExact:
      return "Exact";
    case PathMatchType::kPathPrefix:
      return "PathPrefix";
    case PathMatchType::kRegularExpression:
      return "RegularExpression";
  }
  return "PathPrefix";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

// --- nginx syntax ---------------------------------------------------------------------------

// A token nginx reads as is, without quotes.
bool plain_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (std::string_view("_-./:@*=,+%~&?!$").find(c) != std::string_view::npos) continue;
    return false;
  }
  return true;
}

// A double-quoted nginx string whose value is exactly `s`. Inside quotes nginx turns a backslash
// followed by a quote, a backslash, t, r or n into one character and keeps other backslashes, so
// a backslash is doubled only where it would be read that way (regexes like \. stay readable).
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      char next = i + 1 < s.size() ? s[i + 1] : '\0';
      bool special = next == '\0' || next == '"' || next == '\'' || next == '\\' || next == 't' ||
                     next == 'r' || next == 'n';
      out += special ? "\\\\" : "\\";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string tok(std::string_view s) {
  return plain_token(s) ? std::string(s) : quote(s);
}

// PCRE: a literal string as a regex.
std::string regex_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Part of an nginx variable name.
std::string ident(std::string_view s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
               : '_';
  return out;
}

// The nginx variable of a request header: $http_x_version for X-Version.
std::string header_var(std::string_view name) {
  return "$http_" + ident(name);
}

// "$var" as "${var}", to be followed by other text in a string.
std::string braced(std::string_view var) {
  return var.starts_with('$') ? "${" + std::string(var.substr(1)) + "}" : std::string(var);
}

// An indented nginx configuration.
class Conf {
 public:
  void line(std::string_view text) {
    if (text.empty()) {
      out_ += '\n';
      return;
    }
    out_.append(static_cast<std::size_t>(depth_) * 2, ' ');
    out_ += text;
    out_ += '\n';
  }
  void comment(std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      std::string_view l = text.substr(start, end - start);
      line(l.empty() ? "#" : "# " + std::string(l));
      start = end + 1;
    }
  }
  void open(std::string_view head) {
    line(std::string(head) + " {");
    ++depth_;
  }
  void close() {
    --depth_;
    line("}");
  }
  void blank() {
    if (!out_.empty() && !out_.ends_with("\n\n") && !out_.ends_with("{\n")) out_ += '\n';
  }
  // Another Conf's text, indented at this level.
  void append(const Conf& other) {
    std::size_t start = 0;
    const std::string& t = other.out_;
    while (start < t.size()) {
      std::size_t end = t.find('\n', start);
      if (end == std::string::npos) end = t.size();
      line(std::string_view(t).substr(start, end - start));
      start = end + 1;
    }
  }
  bool empty() const { return out_.empty(); }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
  int depth_ = 0;
};

// --- lookups --------------------------------------------------------------------------------

const ServicePlan* find_service(const LabPlan& plan, std::string_view ns, std::string_view name) {
  for (const ServicePlan& s : plan.services)
    if (s.spec.ns == ns && s.spec.name == name) return &s;
  return nullptr;
}

// A Service port by number, or by name when number is 0. `protocol` "TCP" or "UDP".
const ServicePortPlan* find_port(const ServicePlan& s, std::uint16_t number, std::string_view name,
                                 std::string_view protocol) {
  for (const ServicePortPlan& p : s.ports) {
    if (!iequals(p.protocol.empty() ? "TCP" : p.protocol, protocol)) continue;
    if (number != 0 ? p.port == number : (!name.empty() && p.name == name)) return &p;
  }
  return nullptr;
}

const SecretSpec* find_secret(const LabPlan& plan, std::string_view ns, std::string_view name) {
  for (const SecretSpec& s : plan.l7.secrets)
    if (s.meta.ns == ns && s.meta.name == name) return &s;
  return nullptr;
}

const GatewaySpec* find_gateway(const LabPlan& plan, std::string_view ns, std::string_view name) {
  for (const GatewaySpec& g : plan.l7.gateways)
    if (g.meta.ns == ns && g.meta.name == name) return &g;
  return nullptr;
}

const GatewayClassSpec* find_gateway_class(const LabPlan& plan, std::string_view name) {
  for (const GatewayClassSpec& c : plan.l7.gateway_classes)
    if (c.meta.name == name) return &c;
  return nullptr;
}

bool gateway_is_ours(const LabPlan& plan, const GatewaySpec& gw) {
  const GatewayClassSpec* c = find_gateway_class(plan, gw.class_name);
  return c != nullptr && c->controller == kGatewayController;
}

// A reference from a Gateway API object (kind `from_kind` in `from_ns`) to a core object in
// another namespace is allowed by a ReferenceGrant in the target's namespace.
bool reference_granted(const LabPlan& plan, std::string_view from_kind, std::string_view from_ns,
                       std::string_view to_kind, std::string_view to_ns, std::string_view to_name) {
  if (from_ns == to_ns) return true;
  for (const ReferenceGrantSpec& g : plan.l7.reference_grants) {
    if (g.meta.ns != to_ns) continue;
    bool from = std::any_of(g.from.begin(), g.from.end(), [&](const ReferenceGrantSpec::From& f) {
      return f.group == kGatewayApiGroup && f.kind == from_kind && f.ns == from_ns;
    });
    bool to = std::any_of(g.to.begin(), g.to.end(), [&](const ReferenceGrantSpec::To& t) {
      return (t.group.empty() || t.group == "core") && t.kind == to_kind &&
             (t.name.empty() || t.name == to_name);
    });
    if (from && to) return true;
  }
  return false;
}

std::string missing_grant(std::string_view from_kind, std::string_view from_ns,
                          std::string_view to_kind, std::string_view to_ns,
                          std::string_view to_name) {
  return fmt::format("no ReferenceGrant in namespace {} allows {} from namespace {} to {} {}",
                     to_ns, from_kind, from_ns, to_kind, to_name);
}

// --- hostnames (Gateway API) ----------------------------------------------------------------

bool is_wildcard(std::string_view h) {
  return h.starts_with("*.");
}

// `pattern` (a listener or route hostname: exact, "*.suffix", or empty for any) covers `host`
// (an exact hostname or a narrower wildcard).
bool host_covers(std::string_view pattern, std::string_view host) {
  if (pattern.empty()) return true;
  if (host.empty()) return false;
  if (pattern == host) return true;
  if (!is_wildcard(pattern)) return false;
  std::string_view suffix = pattern.substr(1);  // ".example.com"
  std::string_view h = is_wildcard(host) ? host.substr(1) : host;
  return h.size() > suffix.size() && h.ends_with(suffix);
}

// The hostnames a route serves on a listener: the intersection of theirs (empty: any).
std::optional<std::string> host_intersection(std::string_view listener, std::string_view route) {
  if (host_covers(listener, route)) return std::string(route);
  if (host_covers(route, listener)) return std::string(listener);
  return std::nullopt;
}

// --- Gateway listeners ----------------------------------------------------------------------

enum class RouteKind { kHTTP, kTCP, kUDP };

std::string_view kind_name(RouteKind k) {
  switch (k) {
    case RouteKind::kHTTP:
      return "HTTPRoute";
    case RouteKind::kTCP:
      return "TCPRoute";
    case RouteKind::kUDP:
      return "UDPRoute";
  }
  return "HTTPRoute";
}

bool listener_takes(ListenerProtocol p, RouteKind k) {
  switch (k) {
    case RouteKind::kHTTP:
      return p == ListenerProtocol::kHTTP || p == ListenerProtocol::kHTTPS;
    case RouteKind::kTCP:
      return p == ListenerProtocol::kTCP;
    case RouteKind::kUDP:
      return p == ListenerProtocol::kUDP;
  }
  return false;
}

bool is_http(ListenerProtocol p) {
  return p == ListenerProtocol::kHTTP || p == ListenerProtocol::kHTTPS;
}

struct ListenerInfo {
  const ListenerSpec* spec = nullptr;
  std::string conflict;  // ProtocolConflict | HostnameConflict, empty when none
  std::string conflict_message;
  const SecretSpec* cert = nullptr;  // HTTPS: the certificate it serves
  Condition resolved{"ResolvedRefs", true, "ResolvedRefs", "all references are resolved"};
  // Served by the data plane: not conflicted, and an HTTPS listener has a certificate.
  bool usable() const {
    return conflict.empty() && (spec->protocol != ListenerProtocol::kHTTPS || cert != nullptr);
  }
};

std::vector<ListenerInfo> listener_infos(const LabPlan& plan, const GatewaySpec& gw) {
  std::vector<ListenerInfo> out;
  for (const ListenerSpec& l : gw.listeners) {
    ListenerInfo info;
    info.spec = &l;
    // Listeners share a port when the protocols are compatible: HTTP with HTTP and HTTPS with
    // HTTPS by hostname; TCP and UDP are different sockets.
    for (const ListenerInfo& before : out) {
      const ListenerSpec& b = *before.spec;
      if (!before.conflict.empty() || b.port != l.port) continue;
      bool udp_a = l.protocol == ListenerProtocol::kUDP,
           udp_b = b.protocol == ListenerProtocol::kUDP;
      if (udp_a != udp_b) continue;
      if (b.protocol != l.protocol) {
        info.conflict = "ProtocolConflict";
        info.conflict_message =
            fmt::format("port {} is already used by listener {} with protocol {}", l.port, b.name,
                        protocol_name(b.protocol));
      } else if (!is_http(l.protocol) || b.hostname == l.hostname) {
        info.conflict = "HostnameConflict";
        info.conflict_message =
            fmt::format("listener {} already serves port {}{}", b.name, l.port,
                        is_http(l.protocol) ? fmt::format(" for hostname \"{}\"", l.hostname) : "");
      }
      if (!info.conflict.empty()) break;
    }
    if (l.protocol == ListenerProtocol::kHTTPS) {
      std::vector<std::string> problems;
      std::string reason;
      if (l.certificates.empty()) {
        reason = "InvalidCertificateRef";
        problems.push_back("an HTTPS listener needs tls.certificateRefs");
      }
      for (const SecretRef& ref : l.certificates) {
        std::string ns = ref.ns.empty() ? gw.meta.ns : ref.ns;
        const SecretSpec* s = nullptr;
        if (!reference_granted(plan, "Gateway", gw.meta.ns, "Secret", ns, ref.name)) {
          if (reason.empty()) reason = "RefNotPermitted";
          problems.push_back(
              fmt::format("certificateRef {}/{}: {}", ns, ref.name,
                          missing_grant("Gateway", gw.meta.ns, "Secret", ns, ref.name)));
        } else if ((s = find_secret(plan, ns, ref.name)) == nullptr) {
          if (reason.empty()) reason = "InvalidCertificateRef";
          problems.push_back(fmt::format("certificateRef {}/{}: Secret {}/{} does not exist", ns,
                                         ref.name, ns, ref.name));
        } else if (s->cert_pem.empty() || s->key_pem.empty()) {
          if (reason.empty()) reason = "InvalidCertificateRef";
          problems.push_back(
              fmt::format("certificateRef {}/{}: Secret {}/{} has no tls.crt and tls.key", ns,
                          ref.name, ns, ref.name));
        } else if (info.cert == nullptr) {
          info.cert = s;
        }
      }
      if (!problems.empty())
        info.resolved = Condition{"ResolvedRefs", false, reason, join(problems, "; ")};
    }
    out.push_back(std::move(info));
  }
  return out;
}

// --- route attachment -----------------------------------------------------------------------

struct Attachment {
  std::string parent;  // ns/gateway[/section]
  Condition accepted;
  const GatewaySpec* gateway = nullptr;
  // The listeners (indexes into the gateway's) the route is attached to, with the hostnames it
  // serves on each ("" = any).
  std::vector<std::pair<std::size_t, std::vector<std::string>>> listeners;
};

Attachment attach(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                  const std::vector<std::string>& hostnames, const ParentRef& ref) {
  Attachment a;
  std::string ns = ref.ns.empty() ? route.ns : ref.ns;
  a.parent = ns + "/" + ref.name + (ref.section_name.empty() ? "" : "/" + ref.section_name);
  auto no = [&](std::string reason, std::string message) {
    a.accepted = Condition{"Accepted", false, std::move(reason), std::move(message)};
    a.listeners.clear();
    return a;
  };
  const GatewaySpec* gw = find_gateway(plan, ns, ref.name);
  if (gw == nullptr)
    return no("NoMatchingParent", fmt::format("Gateway {}/{} does not exist", ns, ref.name));
  if (!gateway_is_ours(plan, *gw))
    return no("NoMatchingParent",
              fmt::format("Gateway {}/{} is not of a GatewayClass with controllerName {}", ns,
                          ref.name, kGatewayController));
  a.gateway = gw;
  std::vector<std::size_t> fit;
  for (std::size_t i = 0; i < gw->listeners.size(); ++i) {
    const ListenerSpec& l = gw->listeners[i];
    if (!ref.section_name.empty() && l.name != ref.section_name) continue;
    if (ref.port && l.port != *ref.port) continue;
    fit.push_back(i);
  }
  if (fit.empty()) {
    std::string what = !ref.section_name.empty() ? fmt::format("named {}", ref.section_name) : "";
    if (ref.port) what += fmt::format("{}on port {}", what.empty() ? "" : " ", *ref.port);
    return no("NoMatchingParent",
              fmt::format("Gateway {}/{} has no listener {}", ns, ref.name, what));
  }
  std::erase_if(fit,
                [&](std::size_t i) { return !listener_takes(gw->listeners[i].protocol, kind); });
  if (fit.empty())
    return no("NoMatchingParent",
              fmt::format("Gateway {}/{} has no {} listener for a {}", ns, ref.name,
                          kind == RouteKind::kHTTP  ? "HTTP or HTTPS"
                          : kind == RouteKind::kTCP ? "TCP"
                                                    : "UDP",
                          kind_name(kind)));
  std::vector<std::string> refused;
  std::erase_if(fit, [&](std::size_t i) {
    const ListenerSpec& l = gw->listeners[i];
    if (l.allowed_from == "All" || route.ns == gw->meta.ns) return false;
    refused.push_back(l.name);
    return true;
  });
  if (fit.empty())
    return no("NotAllowedByListeners",
              fmt::format("listener {} of Gateway {}/{} allows routes only from namespace {} "
                          "(allowedRoutes.namespaces.from: Same), the route is in {}",
                          join(refused, ", "), ns, ref.name, gw->meta.ns, route.ns));
  for (std::size_t i : fit) {
    const ListenerSpec& l = gw->listeners[i];
    std::vector<std::string> hosts;
    if (hostnames.empty()) {
      hosts.push_back(l.hostname);
    } else {
      for (const std::string& h : hostnames)
        if (auto x = host_intersection(l.hostname, h);
            x && std::find(hosts.begin(), hosts.end(), *x) == hosts.end())
          hosts.push_back(*x);
    }
    if (!hosts.empty()) a.listeners.emplace_back(i, std::move(hosts));
  }
  if (a.listeners.empty())
    return no("NoMatchingListenerHostname",
              fmt::format("no hostname of the route ({}) matches a listener of Gateway {}/{}",
                          join(hostnames, ", "), ns, ref.name));
  a.accepted = Condition{"Accepted", true, "Accepted",
                         fmt::format("attached to Gateway {}/{} (listener {})", ns, ref.name, [&] {
                           std::vector<std::string> names;
                           for (auto& [i, h] : a.listeners) names.push_back(gw->listeners[i].name);
                           return join(names, ", ");
                         }())};
  return a;
}

// --- backends -------------------------------------------------------------------------------

struct Backend {
  const BackendRef* ref = nullptr;
  std::string ns;
  const ServicePlan* service = nullptr;
  const ServicePortPlan* port = nullptr;
  std::string reason;  // empty: resolved; BackendNotFound | RefNotPermitted
  std::string message;
  bool ok() const { return reason.empty(); }
  std::string display() const { return fmt::format("{}/{}:{}", ns, ref->name, ref->port); }
};

Backend resolve(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                const BackendRef& ref) {
  Backend b;
  b.ref = &ref;
  b.ns = ref.ns.empty() ? route.ns : ref.ns;
  if (!reference_granted(plan, kind_name(kind), route.ns, "Service", b.ns, ref.name)) {
    b.reason = "RefNotPermitted";
    b.message = missing_grant(kind_name(kind), route.ns, "Service", b.ns, ref.name);
    return b;
  }
  b.service = find_service(plan, b.ns, ref.name);
  if (b.service == nullptr) {
    b.reason = "BackendNotFound";
    b.message = fmt::format("Service {}/{} does not exist", b.ns, ref.name);
    return b;
  }
  b.port = find_port(*b.service, ref.port, {}, kind == RouteKind::kUDP ? "UDP" : "TCP");
  if (b.port == nullptr) {
    b.reason = "BackendNotFound";
    b.message = fmt::format("Service {}/{} has no {} port {}", b.ns, ref.name,
                            kind == RouteKind::kUDP ? "UDP" : "TCP", ref.port);
  }
  return b;
}

Condition resolved_refs(const LabPlan& plan, RouteKind kind, const ObjectMeta& route,
                        const std::vector<const BackendRef*>& refs) {
  std::string reason;
  std::vector<std::string> problems;
  for (const BackendRef* r : refs) {
    Backend b = resolve(plan, kind, route, *r);
    if (b.ok()) continue;
    if (reason.empty()) reason = b.reason;
    problems.push_back(fmt::format("backendRef {}: {}", b.display(), b.message));
  }
  if (problems.empty())
    return Condition{"ResolvedRefs", true, "ResolvedRefs", "all backend references are resolved"};
  return Condition{"ResolvedRefs", false, reason, join(problems, "; ")};
}

std::vector<ParentStatus> route_status_of(const LabPlan& plan, RouteKind kind,
                                          const ObjectMeta& meta,
                                          const std::vector<ParentRef>& parents,
                                          const std::vector<std::string>& hostnames,
                                          const std::vector<const BackendRef*>& refs) {
  std::vector<ParentStatus> out;
  Condition resolved = resolved_refs(plan, kind, meta, refs);
  for (const ParentRef& p : parents) {
    Attachment a = attach(plan, kind, meta, hostnames, p);
    out.push_back(ParentStatus{a.parent, {a.accepted, resolved}});
  }
  return out;
}

// --- shared generation state -----------------------------------------------------------------

struct Ctx {
  const LabPlan& plan;
  const DataPlanePlan& dp;
  std::map<std::string, std::pair<const ServicePlan*, const ServicePortPlan*>> upstreams;  // http
  std::map<std::pair<std::string, std::string>, const SecretSpec*> secrets;  // used: (ns, name)
  bool dollar = false;  // ${knlab_dollar} is used

  // An nginx string value with a literal `$` (nginx has no escape for it outside variables).
  std::string lit(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '$') {
        out += "${knlab_dollar}";
        dollar = true;
      } else {
        out += c;
      }
    }
    return out;
  }
  std::string upstream(const ServicePlan& s, const ServicePortPlan& p) {
    std::string name = fmt::format("{}-{}-{}", s.spec.ns, s.spec.name, p.port);
    upstreams.emplace(name, std::pair{&s, &p});
    return name;
  }
  std::string cert_base(const SecretSpec& s) {
    secrets.emplace(std::pair{s.meta.ns, s.meta.name}, &s);
    return fmt::format("{}/certs/{}-{}", dp.dir, s.meta.ns, s.meta.name);
  }
  void tls(Conf& c, const SecretSpec& s) {
    std::string base = cert_base(s);
    c.line(fmt::format("ssl_certificate {};", tok(base + ".crt")));
    c.line(fmt::format("ssl_certificate_key {};", tok(base + ".key")));
  }
};

std::string endpoints_comment(const ServicePlan& s, const ServicePortPlan& p) {
  return fmt::format("Service {}/{} port {}{} -> target port {}, {} endpoint{}", s.spec.ns,
                     s.spec.name, p.port, p.name.empty() ? "" : " (" + p.name + ")", p.target_port,
                     s.endpoints.size(), s.endpoints.size() == 1 ? "" : "s");
}

void write_main(Conf& c, const DataPlanePlan& dp, bool stream) {
  if (stream) {
    c.comment("TCPRoute/UDPRoute listeners: the stream module (libnginx-mod-stream)");
    c.line(fmt::format("load_module {};", kStreamModule));
    c.blank();
  }
  c.comment("The pod's container runs this nginx as root (kn-lab's state directory is root's).");
  c.line("user root;");
  c.line("worker_processes 1;");
  c.line("worker_shutdown_timeout 10s;");
  c.line(fmt::format("pid {};", tok(dp.dir + "/nginx.pid")));
  c.line(fmt::format("lock_file {};", tok(dp.dir + "/nginx.lock")));
  c.line(fmt::format("error_log {} notice;", tok(dp.dir + "/logs/error.log")));
  c.blank();
  c.open("events");
  c.line("worker_connections 1024;");
  c.close();
}

// (name, value) of the request headers nginx sends to the endpoints.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

HeaderList proxy_headers() {
  return {{"Host", "$host"},
          {"X-Real-IP", "$remote_addr"},
          {"X-Forwarded-For", "$proxy_add_x_forwarded_for"},
          {"X-Forwarded-Host", "$host"},
          {"X-Forwarded-Port", "$server_port"},
          {"X-Forwarded-Proto", "$scheme"},
          {"X-Request-ID", "$request_id"},
          {"Connection", "$connection_upgrade"},
          {"Upgrade", "$http_upgrade"}};
}

void write_headers(Conf& c, const HeaderList& headers) {
  for (const auto& [name, value] : headers)
    c.line(fmt::format("proxy_set_header {} {};", tok(name), value.empty() ? "\"\"" : tok(value)));
}

void write_http_common(Conf& c, const DataPlanePlan& dp) {
  c.comment("Access log: the request, its status, and which endpoint (pod IP:port) answered.");
  c.line(
      "log_format knlab '$remote_addr - [$time_local] \"$request\" $status $body_bytes_sent "
      "host=$host "
      "upstream=$upstream_addr upstream_status=$upstream_status request_time=$request_time "
      "request_id=$request_id';");
  c.line(fmt::format("access_log {} knlab;", tok(dp.dir + "/logs/access.log")));
  for (std::string_view t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    c.line(fmt::format("{}_temp_path {};", t, tok(dp.dir + "/temp/" + std::string(t))));
  c.line("default_type text/plain;");
  c.line("server_names_hash_bucket_size 256;");
  c.line("variables_hash_max_size 4096;");
  c.line("proxy_headers_hash_bucket_size 128;");
  c.blank();
  c.comment(
      "How requests go to the endpoints (locations that set headers of their own repeat these:\n"
      "proxy_set_header in a location replaces the inherited ones).");
  c.line("map $http_upgrade $connection_upgrade { default upgrade; \"\" \"\"; }");
  c.line("proxy_http_version 1.1;");
  c.line("proxy_connect_timeout 5s;");
  c.line("proxy_next_upstream error timeout;");
  write_headers(c, proxy_headers());
}

void write_http_upstreams(Conf& c, const Ctx& ctx) {
  for (const auto& [name, sp] : ctx.upstreams) {
    const auto& [s, p] = sp;
    c.blank();
    c.comment(endpoints_comment(*s, *p));
    c.open("upstream " + name);
    for (const EndpointPlan& e : s->endpoints)
      c.line(fmt::format("server {}:{} max_fails=0;  # pod {}{}", e.ip.str(), p->target_port, e.pod,
                         e.node.empty() ? "" : " on " + e.node));
    c.line("keepalive 32;");
    c.close();
  }
}

void write_dollar(Conf& c, const Ctx& ctx) {
  if (!ctx.dollar) return;
  c.blank();
  c.comment("A literal \"$\" in values (nginx has no escape for it).");
  c.line("geo $knlab_dollar { default \"$\"; }");
}

// --- Ingress --------------------------------------------------------------------------------

const std::string* annotation(const IngressSpec& ing, std::string_view key) {
  auto it = ing.meta.annotations.find(std::string(kAnnotationPrefix) + std::string(key));
  return it == ing.meta.annotations.end() ? nullptr : &it->second;
}

bool wants_regex(const IngressSpec& ing) {
  const std::string* re = annotation(ing, "use-regex");
  const std::string* rt = annotation(ing, "rewrite-target");
  return (re != nullptr && *re == "true") || (rt != nullptr && !rt->empty());
}

bool ssl_redirect(const IngressSpec& ing) {
  const std::string* v = annotation(ing, "ssl-redirect");
  return v == nullptr || *v != "false";
}

std::vector<std::string> ignored_annotations(const IngressSpec& ing) {
  std::vector<std::string> out;
  for (const auto& [k, v] : ing.meta.annotations) {
    if (!k.starts_with(kAnnotationPrefix)) continue;
    std::string_view name = std::string_view(k).substr(kAnnotationPrefix.size());
    if (name == "rewrite-target" || name == "use-regex" || name == "ssl-redirect") continue;
    out.push_back(k);
  }
  return out;
}

std::string ingress_id(const IngressSpec& ing) {
  return ing.meta.ns + "/" + ing.meta.name;
}

std::string backend_display(const IngressBackend& b) {
  return fmt::format("service {}:{}", b.service,
                     b.port != 0 ? std::to_string(b.port) : b.port_name);
}

// proxy_pass to an Ingress backend, or 503 as ingress-nginx answers when it has no endpoint.
void ingress_proxy(Conf& c, Ctx& ctx, const IngressSpec& ing, const IngressBackend& b) {
  const ServicePlan* s = find_service(ctx.plan, ing.meta.ns, b.service);
  if (s == nullptr) {
    c.line(fmt::format("return 503;  # Service {}/{} does not exist", ing.meta.ns, b.service));
    return;
  }
  const ServicePortPlan* p = find_port(*s, b.port, b.port_name, "TCP");
  if (p == nullptr) {
    c.line(fmt::format("return 503;  # Service {}/{} has no port {}", ing.meta.ns, b.service,
                       b.port != 0 ? std::to_string(b.port) : b.port_name));
    return;
  }
  if (s->endpoints.empty()) {
    c.line(fmt::format("return 503;  # Service {}/{} has no endpoints", ing.meta.ns, b.service));
    return;
  }
  c.line(fmt::format("proxy_pass http://{};", ctx.upstream(*s, *p)));
}

struct IngressServer {
  std::string host;  // "" for the default server
  std::vector<const IngressSpec*> ingresses;
  std::vector<std::pair<const IngressSpec*, const IngressPath*>> paths;
  const IngressSpec* tls_ingress = nullptr;
  std::string tls_secret;
  const SecretSpec* cert = nullptr;
  bool regex = false;
};

struct IngressLocation {
  std::string key;     // what follows `location`
  std::string path;    // for ordering: the path, without trailing slashes for Prefix
  bool exact = false;  // pathType Exact
  std::size_t order = 0;
  const IngressSpec* ing = nullptr;
  const IngressPath* path_spec = nullptr;
};

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.ends_with('/')) p.pop_back();
  return p;
}

void write_ingress_server(Conf& c, Ctx& ctx, const IngressServer& srv,
                          const SecretSpec* default_cert, const IngressSpec* default_backend) {
  bool is_default = srv.host.empty();
  c.blank();
  if (is_default) {
    c.comment(
        "The default server: requests whose Host matches no rule's host, and the rules without "
        "host.");
  } else {
    std::vector<std::string> ids;
    for (const IngressSpec* i : srv.ingresses) ids.push_back("ingress " + ingress_id(*i));
    c.comment(fmt::format("host {}: {}", srv.host, join(ids, ", ")));
  }
  if (srv.regex)
    c.comment(
        "rewrite-target or use-regex on an Ingress of this host: all its paths are "
        "case-insensitive regexes\n"
        "(~*, checked in order, longest first), as ingress-nginx does");
  if (!srv.tls_secret.empty() && srv.cert == nullptr)
    c.comment(
        fmt::format("TLS: Secret {}/{} (ingress {}) does not exist: no HTTPS for this host "
                    "(ingress-nginx would serve its fake certificate)",
                    srv.tls_ingress->meta.ns, srv.tls_secret, ingress_id(*srv.tls_ingress)));
  c.open("server");
  c.line(is_default ? "listen 80 default_server;" : "listen 80;");
  if (is_default && default_cert != nullptr) {
    c.line("listen 443 ssl default_server;");
    c.comment(
        "ingress-nginx presents its \"Kubernetes Ingress Controller Fake Certificate\" here; "
        "kn-lab\n"
        "presents the first certificate of the Ingresses instead.");
    ctx.tls(c, *default_cert);
  } else if (srv.cert != nullptr) {
    c.line("listen 443 ssl;");
    c.comment(fmt::format("TLS: Secret {}/{} (ingress {})", srv.cert->meta.ns, srv.cert->meta.name,
                          ingress_id(*srv.tls_ingress)));
    ctx.tls(c, *srv.cert);
  }
  c.line(fmt::format("server_name {};", is_default ? "_" : srv.host));

  // Locations, longest path first; the first Ingress (plan order) wins a location both define,
  // and an Exact path wins over the exact location a Prefix path adds.
  std::vector<IngressLocation> locs;
  for (std::size_t i = 0; i < srv.paths.size(); ++i) {
    const auto& [ing, p] = srv.paths[i];
    const bool exact = p->type == IngressPathType::kExact;
    const std::string path =
        p->type == IngressPathType::kPrefix ? strip_trailing_slashes(p->path) : p->path;
    auto add = [&](std::string key) {
      locs.push_back(IngressLocation{std::move(key), path, exact, i, ing, p});
    };
    if (srv.regex) {
      add("~* " + quote("^" + p->path + (exact ? "$" : "")));
    } else if (exact) {
      add("= " + tok(p->path));
    } else if (p->type == IngressPathType::kPrefix) {
      // Element-wise: /api is /api and /api/..., not /apix.
      if (path == "/") {
        add("/");
      } else {
        add("= " + tok(path));
        add(tok(path + "/"));
      }
    } else {
      add(tok(p->path));
    }
  }
  std::stable_sort(locs.begin(), locs.end(),
                   [](const IngressLocation& a, const IngressLocation& b) {
                     if (a.path.size() != b.path.size()) return a.path.size() > b.path.size();
                     if (a.exact != b.exact) return a.exact;
                     return a.order < b.order;
                   });
  std::set<std::string> taken;
  std::vector<std::string> shadowed;
  for (const IngressLocation& l : locs) {
    const IngressSpec& ing = *l.ing;
    const IngressPath& p = *l.path_spec;
    std::string origin = fmt::format("ingress {}, path {} ({})", ingress_id(ing), p.path,
                                     ingress_path_type_name(p.type));
    if (!taken.insert(l.key).second) {
      shadowed.push_back(fmt::format("{}: location {} is already defined above", origin, l.key));
      continue;
    }
    c.blank();
    c.comment(fmt::format("{} -> {}", origin, backend_display(p.backend)));
    c.open("location " + l.key);
    if (srv.cert != nullptr && ssl_redirect(ing))
      c.line("if ($scheme = http) { return 308 https://$host$request_uri; }");
    if (const std::string* target = annotation(ing, "rewrite-target");
        target != nullptr && !target->empty()) {
      c.comment(fmt::format(
          "rewrite-target {}: the whole URI becomes the target (captures of the path: $1, $2...)",
          *target));
      c.line(fmt::format("rewrite {} {} break;", quote("(?i)" + p.path), tok(*target)));
    }
    ingress_proxy(c, ctx, ing, p.backend);
    c.close();
  }
  if (!shadowed.empty()) {
    c.blank();
    c.comment("ignored (an earlier Ingress or a longer rule defines the same location):\n" +
              join(shadowed, "\n"));
  }
  if (is_default && taken.insert("= /healthz").second) {
    c.blank();
    c.comment("the controller's health check");
    c.open("location = /healthz");
    c.line("access_log off;");
    c.line("return 200;");
    c.close();
  }
  if (taken.insert("/").second) {
    c.blank();
    if (default_backend != nullptr && default_backend->default_backend) {
      c.comment(fmt::format("no rule matches: ingress {} spec.defaultBackend -> {}",
                            ingress_id(*default_backend),
                            backend_display(*default_backend->default_backend)));
      c.open("location /");
      ingress_proxy(c, ctx, *default_backend, *default_backend->default_backend);
      c.close();
    } else {
      c.comment("no rule matches: ingress-nginx's default backend");
      c.open("location /");
      c.line("return 404 \"default backend - 404\";");
      c.close();
    }
  }
  c.close();
}

std::string ingress_conf(Ctx& ctx) {
  const LabPlan& plan = ctx.plan;
  std::vector<const IngressSpec*> ours;
  for (const IngressSpec& ing : plan.l7.ingresses)
    if (ingress_is_ours(plan, ing)) ours.push_back(&ing);

  std::map<std::string, IngressServer> servers;  // by host, "" first
  servers[""];
  for (const IngressSpec* ing : ours)
    for (const IngressRule& rule : ing->rules) {
      IngressServer& s = servers[rule.host];
      s.host = rule.host;
      if (std::find(s.ingresses.begin(), s.ingresses.end(), ing) == s.ingresses.end())
        s.ingresses.push_back(ing);
      for (const IngressPath& p : rule.paths) s.paths.emplace_back(ing, &p);
      if (wants_regex(*ing)) s.regex = true;
    }
  // TLS: the first Ingress (plan order) whose tls[] lists a host gives its certificate; a tls
  // entry without hosts covers the Ingress's rule hosts.
  for (const IngressSpec* ing : ours)
    for (const IngressTls& t : ing->tls) {
      std::vector<std::string> hosts = t.hosts;
      if (hosts.empty())
        for (const IngressRule& r : ing->rules) hosts.push_back(r.host);
      for (const std::string& h : hosts) {
        auto it = servers.find(h);
        if (h.empty() || it == servers.end() || it->second.tls_ingress != nullptr) continue;
        it->second.tls_ingress = ing;
        it->second.tls_secret = t.secret;
        const SecretSpec* s = find_secret(plan, ing->meta.ns, t.secret);
        if (s != nullptr && !s->cert_pem.empty() && !s->key_pem.empty()) it->second.cert = s;
      }
    }
  const SecretSpec* default_cert = nullptr;
  for (const auto& [h, s] : servers)
    if (s.cert != nullptr &&
        (default_cert == nullptr || std::tie(s.cert->meta.ns, s.cert->meta.name) <
                                        std::tie(default_cert->meta.ns, default_cert->meta.name)))
      default_cert = s.cert;
  const IngressSpec* default_backend_ing = nullptr;
  for (const IngressSpec* ing : ours)
    if (ing->default_backend && default_backend_ing == nullptr) default_backend_ing = ing;

  Conf servers_conf;
  for (const auto& [host, srv] : servers) {
    const IngressSpec* db = nullptr;
    if (host.empty()) {
      db = default_backend_ing;
    } else {
      for (const IngressSpec* ing : srv.ingresses)
        if (ing->default_backend) {
          db = ing;
          break;
        }
    }
    write_ingress_server(servers_conf, ctx, srv, default_cert, db);
  }

  Conf c;
  c.comment(
      fmt::format("nginx of the ingress-nginx controller ({}/{}), generated by kn-lab\n"
                  "from the Ingresses of controller {} (class \"nginx\"):",
                  ctx.dp.ns, ctx.dp.name, kIngressControllerName));
  if (ours.empty()) c.comment("  (none: only the default server)");
  for (const IngressSpec* ing : ours) {
    std::vector<std::string> hosts;
    for (const IngressRule& r : ing->rules) hosts.push_back(r.host.empty() ? "*" : r.host);
    c.comment(fmt::format("  ingress {}: hosts {}{}", ingress_id(*ing),
                          hosts.empty() ? "-" : join(hosts, " "),
                          ing->tls.empty() ? "" : ", with TLS"));
    std::vector<std::string> ignored = ignored_annotations(*ing);
    if (!ignored.empty())
      c.comment("    annotations kn-lab does not implement (ignored): " + join(ignored, ", "));
  }
  c.blank();
  write_main(c, ctx.dp, false);
  c.blank();
  c.open("http");
  write_http_common(c, ctx.dp);
  write_dollar(c, ctx);
  write_http_upstreams(c, ctx);
  c.blank();
  c.append(servers_conf);
  c.close();
  return c.str();
}

// --- Gateway: HTTP --------------------------------------------------------------------------

// One match of one rule of an attached HTTPRoute, a candidate for the requests of a server.
struct Candidate {
  std::size_t route = 0, rule = 0, match = 0;
  HttpMatch m;              // path filled in
  bool host_exact = false;  // the route hostname that brought it here: exact, or wildcard/any
  std::size_t host_len = 0;
};

int path_rank(const PathMatch& p) {
  switch (p.type) {
    case PathMatchType::kExact:
      return 2;
    case PathMatchType::kRegularExpression:
      return 1;
    case PathMatchType::kPathPrefix:
      return 0;
  }
  return 0;
}

// Gateway API precedence: the most specific hostname, then Exact path, (RegularExpression:
// implementation-specific, kn-lab puts it before prefixes as Envoy Gateway does), the longest
// prefix, a method match, more header matches, more query matches, then route order (the oldest
// route: plan order), rule order, match order.
bool precedes(const Candidate& a, const Candidate& b) {
  if (a.host_exact != b.host_exact) return a.host_exact;
  if (a.host_len != b.host_len) return a.host_len > b.host_len;
  const PathMatch& pa = *a.m.path;
  const PathMatch& pb = *b.m.path;
  if (path_rank(pa) != path_rank(pb)) return path_rank(pa) > path_rank(pb);
  if (pa.value.size() != pb.value.size()) return pa.value.size() > pb.value.size();
  if (a.m.method.empty() != b.m.method.empty()) return !a.m.method.empty();
  if (a.m.headers.size() != b.m.headers.size()) return a.m.headers.size() > b.m.headers.size();
  if (a.m.query.size() != b.m.query.size()) return a.m.query.size() > b.m.query.size();
  return std::tie(a.route, a.rule, a.match) < std::tie(b.route, b.rule, b.match);
}

std::string describe_match(const HttpMatch& m) {
  std::vector<std::string> parts;
  parts.push_back(fmt::format("path {} {}", path_match_name(m.path->type), m.path->value));
  if (!m.method.empty()) parts.push_back("method " + m.method);
  for (const ValueMatch& h : m.headers)
    parts.push_back(fmt::format("header {} {} {}", h.name, h.regex ? "~" : "=", h.value));
  for (const ValueMatch& q : m.query)
    parts.push_back(fmt::format("query {} {} {}", q.name, q.regex ? "~" : "=", q.value));
  return join(parts, ", ");
}

bool has_prefix_modifier(const HttpRouteRule& rule) {
  return std::any_of(rule.filters.begin(), rule.filters.end(), [](const HttpFilter& f) {
    return (f.type == HttpFilter::Type::kRequestRedirect ||
            f.type == HttpFilter::Type::kURLRewrite) &&
           f.path && f.path->type == PathModifier::Type::kReplacePrefixMatch;
  });
}

struct GatewayGen {
  GatewayGen(Ctx& c, const GatewaySpec& g) : ctx(c), gw(g), listeners(listener_infos(c.plan, g)) {}

  Ctx& ctx;
  const GatewaySpec& gw;
  std::vector<ListenerInfo> listeners;
  Conf cond_maps;  // condition and match maps
  Conf dispatch;   // per server: the rule of a request
  Conf extra;      // split_clients, header maps of filters
  Conf stream;     // stream upstreams and servers
  std::map<std::pair<std::string, std::string>, std::string>
      conditions;  // (source, regex) -> variable
  std::map<std::string, int> counters;
  std::map<std::tuple<std::size_t, std::size_t, std::size_t>, std::string> match_vars;
  std::map<std::pair<std::size_t, std::size_t>, std::string> splits;  // (route, rule) -> variable
  std::set<std::string> used_names;
  std::map<std::pair<std::string, std::string>, std::string> add_vars;  // (header, value) -> var

  // RequestHeaderModifier add: a variable with the client's value and `value` appended (just
  // `value` when the client sent none).
  std::string add_var(const std::string& header, const std::string& value) {
    auto key = std::pair{lower(header), value};
    if (auto it = add_vars.find(key); it != add_vars.end()) return it->second;
    std::string var = unique(fmt::format("$knlab_add_{}", ident(header)));
    add_vars.emplace(key, var);
    extra.line(
        fmt::format("map {} {} {{ \"\" {}; default {}; }}  # RequestHeaderModifier add {}: {}",
                    header_var(header), var, quote(ctx.lit(value)),
                    quote(header_var(header) + "," + ctx.lit(value)), header, value));
    return var;
  }

  std::string unique(std::string name) {
    std::string n = name;
    for (int i = 2; !used_names.insert(n).second; ++i) n = fmt::format("{}_{}", name, i);
    return n;
  }

  const HttpRouteSpec& route(std::size_t i) const { return ctx.plan.l7.http_routes[i]; }
  std::string route_id(std::size_t i) const { return route(i).meta.ns + "/" + route(i).meta.name; }

  // A variable that is "1" when `source` matches `regex`, else "0".
  std::string condition(std::string_view kind, const std::string& source, const std::string& regex,
                        const std::string& what) {
    auto key = std::pair{source, regex};
    if (auto it = conditions.find(key); it != conditions.end()) return it->second;
    std::string var = fmt::format("$knlab_{}_{}", kind, ++counters[std::string(kind)]);
    conditions.emplace(key, var);
    cond_maps.line(fmt::format("map {} {} {{ default 0; {} 1; }}  # {}", tok(source), var,
                               quote("~" + regex), what));
    return var;
  }

  // "1", or a variable that is "1" when every condition of the match holds.
  std::string match_var(const Candidate& cand) {
    auto key = std::tuple{cand.route, cand.rule, cand.match};
    if (auto it = match_vars.find(key); it != match_vars.end()) return it->second;
    const HttpMatch& m = cand.m;
    std::vector<std::string> conds;
    const PathMatch& p = *m.path;
    switch (p.type) {
      case PathMatchType::kExact:
        conds.push_back(
            condition("path", "$uri", "^" + regex_escape(p.value) + "$", "path Exact " + p.value));
        break;
      case PathMatchType::kPathPrefix: {
        std::string prefix = strip_trailing_slashes(p.value);
        if (prefix != "/")
          conds.push_back(condition("path", "$uri", "^" + regex_escape(prefix) + "(/|$)",
                                    "path PathPrefix " + p.value));
        break;
      }
      case PathMatchType::kRegularExpression:
        conds.push_back(condition("path", "$uri", "^(?:" + p.value + ")$",
                                  "path RegularExpression " + p.value));
        break;
    }
    if (!m.method.empty())
      conds.push_back(condition("method", "$request_method", "^" + regex_escape(m.method) + "$",
                                "method " + m.method));
    // Of several matches of one header (or query parameter) name, only the first counts.
    std::set<std::string> seen;
    for (const ValueMatch& h : m.headers) {
      if (!seen.insert(lower(h.name)).second) continue;
      std::string re = h.regex ? "^(?:" + h.value + ")$" : "^" + regex_escape(h.value) + "$";
      conds.push_back(
          condition("header", header_var(h.name), re,
                    fmt::format("header {} {} {}", h.name, h.regex ? "~" : "=", h.value)));
    }
    seen.clear();
    for (const ValueMatch& q : m.query) {
      if (!seen.insert(q.name).second) continue;
      std::string value = q.regex ? "(?:" + q.value + ")" : regex_escape(q.value);
      conds.push_back(
          condition("query", "$args", "(^|&)" + regex_escape(q.name) + "=" + value + "(&|$)",
                    fmt::format("query {} {} {}", q.name, q.regex ? "~" : "=", q.value)));
    }
    std::string var;
    if (conds.empty()) {
      var = "1";
    } else if (conds.size() == 1) {
      var = conds.front();
    } else {
      var = unique(fmt::format("$knlab_{}_{}_r{}_m{}", ident(route(cand.route).meta.ns),
                               ident(route(cand.route).meta.name), cand.rule, cand.match));
      std::string all;
      for (const std::string& cv : conds) all += braced(cv);
      cond_maps.line(fmt::format(
          "map {} {} {{ default 0; {} 1; }}  # {} rule {} match {}: all of them", quote(all), var,
          std::string(conds.size(), '1'), route_id(cand.route), cand.rule, cand.match));
    }
    match_vars.emplace(key, var);
    return var;
  }

  std::string location_name(const Candidate& cand) const {
    const HttpRouteRule& rule = route(cand.route).rules[cand.rule];
    std::string name = fmt::format("@{}/rule{}", route_id(cand.route), cand.rule);
    if (has_prefix_modifier(rule)) name += fmt::format("/match{}", cand.match);
    return name;
  }

  // The split_clients variable of a rule with several weighted backends.
  std::string split(std::size_t r, std::size_t rule,
                    const std::vector<std::pair<std::string, int>>& buckets,
                    const std::string& what) {
    auto key = std::pair{r, rule};
    if (auto it = splits.find(key); it != splits.end()) return it->second;
    std::string var = unique(fmt::format("$knlab_split_{}_{}_r{}", ident(route(r).meta.ns),
                                         ident(route(r).meta.name), rule));
    splits.emplace(key, var);
    long total = 0;
    for (const auto& [t, w] : buckets) total += w;
    extra.blank();
    extra.comment(fmt::format("{} rule {}: {} (weights), picked at random per request", route_id(r),
                              rule, what));
    extra.open("split_clients \"$request_id\" " + var);
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      const auto& [target, w] = buckets[i];
      if (i + 1 == buckets.size()) {
        extra.line(fmt::format("* {};", target));
        break;
      }
      long hundredths = static_cast<long>(w) * 10000 / total;  // of a percent, rounded down
      std::string pct = hundredths % 100 == 0
                            ? fmt::format("{}%", hundredths / 100)
                            : fmt::format("{}.{:02}%", hundredths / 100, hundredths % 100);
      extra.line(fmt::format("{} {};", pct, target));
    }
    extra.close();
    return var;
  }

  void write_rule_location(Conf& c, const Candidate& cand, const ListenerSpec& listener);
  void write_http_port(
      Conf& servers, std::uint16_t port, const std::vector<std::size_t>& on_port,
      const std::map<std::pair<std::size_t, std::size_t>, std::vector<std::string>>& attached);
  void write_stream(const std::vector<std::pair<std::size_t, std::vector<std::size_t>>>& l4);
};

void GatewayGen::write_rule_location(Conf& c, const Candidate& cand, const ListenerSpec& listener) {
  const HttpRouteSpec& r = route(cand.route);
  const HttpRouteRule& rule = r.rules[cand.rule];
  std::string name = location_name(cand);
  const bool per_match = has_prefix_modifier(rule);
  c.blank();
  c.comment(fmt::format(
      "HTTPRoute {} rule {}{}{}", route_id(cand.route), cand.rule,
      per_match ? fmt::format(" match {} ({})", cand.match, describe_match(cand.m)) : "",
      rule.where.known() ? " (" + rule.where.str() + ")" : ""));
  c.open("location " + name);

  // The prefix a ReplacePrefixMatch replaces: the PathPrefix (or Exact) path of this match.
  std::optional<std::string> prefix;
  if (cand.m.path->type != PathMatchType::kRegularExpression) {
    prefix = strip_trailing_slashes(cand.m.path->value);
    if (*prefix == "/") *prefix = "";
  }

  HeaderList headers = proxy_headers();
  bool headers_changed = false;
  auto set_header = [&](const std::string& n, std::string value) {
    headers_changed = true;
    for (auto& [hn, hv] : headers)
      if (iequals(hn, n)) {
        hv = std::move(value);
        return;
      }
    headers.emplace_back(n, std::move(value));
  };
  std::vector<std::string> response;  // add_header / proxy_hide_header lines
  std::vector<std::string> rewrites;  // URLRewrite path
  const HttpFilter* redirect = nullptr;
  for (const HttpFilter& f : rule.filters) {
    switch (f.type) {
      case HttpFilter::Type::kRequestHeaderModifier:
        for (const auto& [n, v] : f.headers.set) set_header(n, ctx.lit(v));
        for (const auto& [n, v] : f.headers.add) {
          auto it = std::find_if(headers.begin(), headers.end(),
                                 [&](const auto& h) { return iequals(h.first, n); });
          if (it != headers.end()) {
            // A header this rule already sets (or removed): append to that value.
            set_header(n, it->second.empty() ? ctx.lit(v) : it->second + "," + ctx.lit(v));
          } else {
            set_header(n, add_var(n, v));
          }
        }
        for (const std::string& n : f.headers.remove) set_header(n, "");
        break;
      case HttpFilter::Type::kResponseHeaderModifier:
        for (const auto& [n, v] : f.headers.set) {
          response.push_back(fmt::format("proxy_hide_header {};", tok(n)));
          response.push_back(fmt::format("add_header {} {} always;", tok(n), quote(ctx.lit(v))));
        }
        for (const auto& [n, v] : f.headers.add)
          response.push_back(fmt::format("add_header {} {} always;", tok(n), quote(ctx.lit(v))));
        for (const std::string& n : f.headers.remove)
          response.push_back(fmt::format("proxy_hide_header {};", tok(n)));
        break;
      case HttpFilter::Type::kRequestRedirect:
        if (redirect == nullptr) redirect = &f;
        break;
      case HttpFilter::Type::kURLRewrite:
        if (!f.hostname.empty()) set_header("Host", ctx.lit(f.hostname));
        if (f.path && f.path->type == PathModifier::Type::kReplaceFullPath) {
          rewrites.push_back(fmt::format("rewrite ^ {} break;  # URLRewrite ReplaceFullPath {}",
                                         quote(ctx.lit(f.path->value)), f.path->value));
        } else if (f.path && prefix) {
          std::string to = strip_trailing_slashes(f.path->value);
          if (to == "/") to.clear();
          std::string re = regex_escape(*prefix);
          rewrites.push_back(fmt::format("# URLRewrite ReplacePrefixMatch: {} -> {}",
                                         prefix->empty() ? "/" : *prefix, f.path->value));
          rewrites.push_back(fmt::format("rewrite {} {} break;", quote("^" + re + "$"),
                                         quote(to.empty() ? "/" : ctx.lit(to))));
          rewrites.push_back(fmt::format("rewrite {} {} break;", quote("^" + re + "(/.*)$"),
                                         quote(ctx.lit(to) + "$1")));
        } else if (f.path) {
          rewrites.push_back("# URLRewrite ReplacePrefixMatch needs a PathPrefix match: ignored");
        }
        break;
    }
  }

  if (redirect != nullptr) {
    const HttpFilter& f = *redirect;
    bool https_listener = listener.protocol == ListenerProtocol::kHTTPS;
    std::string scheme = f.scheme.empty() ? (https_listener ? "https" : "http") : f.scheme;
    int port = listener.port;
    if (f.port) {
      port = *f.port;
    } else if (!f.scheme.empty()) {
      port = scheme == "http" ? 80 : scheme == "https" ? 443 : listener.port;
    }
    bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
    std::string host = f.hostname.empty() ? "$host" : ctx.lit(f.hostname);
    std::string path = "$request_uri";
    if (f.path && f.path->type == PathModifier::Type::kReplaceFullPath) {
      path = ctx.lit(f.path->value) + "$is_args$args";
    } else if (f.path && prefix) {
      std::string to = strip_trailing_slashes(f.path->value);
      if (to == "/") to.clear();
      std::string re = regex_escape(*prefix);
      c.comment(fmt::format("RequestRedirect ReplacePrefixMatch: {} -> {}",
                            prefix->empty() ? "/" : *prefix, f.path->value));
      c.line(fmt::format("if ($uri ~ {}) {{ set $knlab_path {}; }}", quote("^" + re + "$"),
                         quote(to.empty() ? "/" : ctx.lit(to))));
      c.line(fmt::format("if ($uri ~ {}) {{ set $knlab_path {}; }}", quote("^" + re + "(/.*)$"),
                         quote(ctx.lit(to) + "$1")));
      path = "$knlab_path$is_args$args";
    }
    c.line(fmt::format("return {} {};  # RequestRedirect", f.status_code,
                       quote(fmt::format("{}://{}{}{}", scheme, host,
                                         default_port ? "" : fmt::format(":{}", port), path))));
    c.close();
    return;
  }

  // Backends: weight 0 gets nothing; a backend that does not resolve gets 500 (its share of
  // the requests), one without endpoints 503.
  std::vector<std::pair<std::string, int>> buckets;
  std::vector<std::string> notes;
  for (const BackendRef& ref : rule.backends) {
    Backend b = resolve(ctx.plan, RouteKind::kHTTP, r.meta, ref);
    std::string target;
    if (!b.ok()) {
      target = "knlab_500";
      notes.push_back(fmt::format("{} -> 500: {}", b.display(), b.message));
    } else if (b.service->endpoints.empty()) {
      target = "knlab_503";
      notes.push_back(fmt::format("{} -> 503: no endpoints", b.display()));
    } else {
      target = ctx.upstream(*b.service, *b.port);
    }
    if (ref.weight <= 0) {
      notes.push_back(fmt::format("{}: weight 0, no traffic", b.display()));
      continue;
    }
    auto it = std::find_if(buckets.begin(), buckets.end(),
                           [&](const auto& x) { return x.first == target; });
    if (it != buckets.end())
      it->second += ref.weight;
    else
      buckets.emplace_back(target, ref.weight);
  }
  for (const std::string& n : notes) c.comment(n);
  // The 500/503 answers come before the URLRewrite's `rewrite ... break`, which ends the rewrite
  // module's directives (a `return` or `if` after it would never run).
  std::string pass;
  if (buckets.empty()) {
    c.line(rule.backends.empty() ? "return 500;  # no backendRefs"
                                 : "return 500;  # every backendRef has weight 0");
  } else if (buckets.size() == 1) {
    const std::string& target = buckets.front().first;
    if (target == "knlab_500" || target == "knlab_503")
      c.line(fmt::format("return {};", target.substr(6)));
    else
      pass = target;
  } else {
    std::vector<std::string> what;
    for (const BackendRef& ref : rule.backends)
      if (ref.weight > 0) what.push_back(fmt::format("{}:{} {}", ref.name, ref.port, ref.weight));
    std::string var = split(cand.route, cand.rule, buckets, join(what, " / "));
    for (const auto& [t, w] : buckets)
      if (t == "knlab_500" || t == "knlab_503")
        c.line(fmt::format("if ({} = {}) {{ return {}; }}", var, t, t.substr(6)));
    pass = var;
  }
  if (!pass.empty()) {
    for (const std::string& l : rewrites) c.line(l);
    if (headers_changed) {
      c.comment("RequestHeaderModifier / URLRewrite hostname: every header again (see http {})");
      write_headers(c, headers);
    }
    for (const std::string& l : response) c.line(l);
    c.line(fmt::format("proxy_pass http://{};", pass));
  }
  c.close();
}

std::string host_label(const std::string& h) {
  if (h.empty()) return "any";
  return is_wildcard(h) ? "wildcard_" + ident(h.substr(2)) : ident(h);
}

void GatewayGen::write_http_port(
    Conf& servers, std::uint16_t port, const std::vector<std::size_t>& on_port,
    const std::map<std::pair<std::size_t, std::size_t>, std::vector<std::string>>& attached) {
  const bool https = gw.listeners[on_port.front()].protocol == ListenerProtocol::kHTTPS;
  // The server names of this port: the listeners' hostnames and the routes' (intersected).
  std::set<std::string> hosts;
  for (std::size_t li : on_port) hosts.insert(gw.listeners[li].hostname);
  for (const auto& [key, hs] : attached)
    if (std::find(on_port.begin(), on_port.end(), key.second) != on_port.end())
      hosts.insert(hs.begin(), hs.end());

  // A request goes to the listener with the most specific hostname that covers it.
  auto owner = [&](const std::string& h) {
    std::optional<std::size_t> best;
    for (std::size_t li : on_port) {
      const std::string& lh = gw.listeners[li].hostname;
      if (!host_covers(lh, h)) continue;
      if (!best) {
        best = li;
        continue;
      }
      const std::string& bh = gw.listeners[*best].hostname;
      auto rank = [](const std::string& x) {
        return std::pair{!x.empty() && !is_wildcard(x), x.size()};
      };
      if (rank(lh) > rank(bh)) best = li;
    }
    return best;
  };

  if (!hosts.contains("")) {
    servers.blank();
    servers.comment(fmt::format("port {}: a Host no listener or route names", port));
    servers.open("server");
    servers.line(fmt::format("listen {}{} default_server;", port, https ? " ssl" : ""));
    if (https) ctx.tls(servers, *listeners[on_port.front()].cert);
    servers.line("server_name _;");
    servers.line("return 404;");
    servers.close();
  }

  for (const std::string& h : hosts) {
    std::optional<std::size_t> li = owner(h);
    if (!li) continue;
    const ListenerSpec& l = gw.listeners[*li];
    // Candidates: every match of every rule of the routes on that listener that serve h.
    std::vector<Candidate> cands;
    std::vector<std::string> route_names;
    for (const auto& [key, rhs] : attached) {
      if (key.second != *li) continue;
      std::optional<std::pair<bool, std::size_t>> best;
      for (const std::string& rh : rhs) {
        if (!host_covers(rh, h)) continue;
        std::pair<bool, std::size_t> rank{!rh.empty() && !is_wildcard(rh), rh.size()};
        if (!best || rank > *best) best = rank;
      }
      if (!best) continue;
      const HttpRouteSpec& r = route(key.first);
      route_names.push_back("HTTPRoute " + route_id(key.first));
      for (std::size_t ri = 0; ri < r.rules.size(); ++ri) {
        std::vector<HttpMatch> ms = r.rules[ri].matches;
        if (ms.empty()) ms.emplace_back();
        for (std::size_t mi = 0; mi < ms.size(); ++mi) {
          Candidate cand{key.first, ri, mi, ms[mi], best->first, best->second};
          if (!cand.m.path) cand.m.path = PathMatch{};
          cands.push_back(std::move(cand));
        }
      }
    }
    std::stable_sort(cands.begin(), cands.end(), precedes);
    // A match without conditions always holds: the candidates after it are unreachable.
    std::vector<std::string> vars;
    for (std::size_t i = 0; i < cands.size(); ++i) {
      vars.push_back(match_var(cands[i]));
      if (vars.back() == "1") {
        cands.resize(i + 1);
        break;
      }
    }
    std::vector<std::string> served, shadowed;
    for (const std::string& n : route_names) {
      bool reachable = std::any_of(cands.begin(), cands.end(), [&](const Candidate& x) {
        return "HTTPRoute " + route_id(x.route) == n;
      });
      (reachable ? served : shadowed).push_back(n);
    }

    servers.blank();
    servers.comment(fmt::format("port {}, hostname {}: listener {} ({}{}){}", port,
                                h.empty() ? "*" : h, l.name, protocol_name(l.protocol),
                                l.hostname.empty() ? "" : " " + l.hostname,
                                served.empty() ? ", no routes" : "; " + join(served, ", ")));
    if (!shadowed.empty())
      servers.comment(
          fmt::format("(also attached, but a more specific rule always matches first: {})",
                      join(shadowed, ", ")));
    servers.open("server");
    servers.line(fmt::format("listen {}{}{};", port, https ? " ssl" : "",
                             h.empty() ? " default_server" : ""));
    if (https) ctx.tls(servers, *listeners[*li].cert);
    servers.line(fmt::format("server_name {};", h.empty() ? "_" : h));
    if (cands.empty()) {
      servers.line("return 404;");
      servers.close();
      continue;
    }

    // The dispatch map: one character per candidate, in precedence order (none when the first
    // candidate always holds).
    std::string var = location_name(cands.front());
    std::vector<const Candidate*> targets;
    for (const Candidate& cand : cands)
      if (std::none_of(targets.begin(), targets.end(), [&](const Candidate* t) {
            return location_name(*t) == location_name(cand);
          }))
        targets.push_back(&cand);
    if (vars.front() != "1") {
      var = unique(fmt::format("$knlab_route_{}_{}", port, host_label(h)));
      std::string source;
      for (const std::string& v : vars) source += braced(v);
      dispatch.blank();
      dispatch.comment(fmt::format(
          "port {}, hostname {}: the rule of a request. Each character is one match of a rule\n"
          "(\"1\" when it holds), in Gateway API precedence order; the first \"1\" wins.",
          port, h.empty() ? "*" : h));
      dispatch.open(fmt::format("map {} {}", quote(source), var));
      for (std::size_t i = 0; i < cands.size(); ++i) {
        const Candidate& cand = cands[i];
        std::string zeros = i <= 3 ? std::string(i, '0') : fmt::format("0{{{}}}", i);
        dispatch.line(fmt::format("{} {};  # {} rule {} match {}: {}", quote("~^" + zeros + "1"),
                                  location_name(cand), route_id(cand.route), cand.rule, cand.match,
                                  describe_match(cand.m)));
      }
      dispatch.line("default @no_route;");
      dispatch.close();
    }

    servers.blank();
    servers.comment(
        var.starts_with('$')
            ? fmt::format("Every request: to the named location of the rule {} picks.", var)
            : "Every request: to the only rule (its match always holds).");
    servers.open("location /");
    servers.line(fmt::format("error_page 418 = {};", var));
    servers.line("return 418;");
    servers.close();
    for (const Candidate* t : targets) write_rule_location(servers, *t, l);
    if (var.starts_with('$')) {
      servers.blank();
      servers.comment("no rule matches");
      servers.line("location @no_route { return 404; }");
    }
    servers.close();
  }
}

void GatewayGen::write_stream(
    const std::vector<std::pair<std::size_t, std::vector<std::size_t>>>& l4) {
  // l4: listener index -> attached L4 routes (indexes into plan.l7.l4_routes), plan order.
  std::map<std::string, Conf> upstream_blocks;  // by name
  Conf servers;
  for (const auto& [li, routes] : l4) {
    const ListenerSpec& l = gw.listeners[li];
    const bool udp = l.protocol == ListenerProtocol::kUDP;
    servers.blank();
    if (routes.empty()) {
      servers.comment(fmt::format("listener {} ({} port {}): no route attached, not listening",
                                  l.name, protocol_name(l.protocol), l.port));
      continue;
    }
    const L4RouteSpec& r = ctx.plan.l7.l4_routes[routes.front()];
    std::string kind(kind_name(udp ? RouteKind::kUDP : RouteKind::kTCP));
    std::string rid = r.meta.ns + "/" + r.meta.name;
    servers.comment(fmt::format("listener {} ({} port {}): {} {}", l.name,
                                protocol_name(l.protocol), l.port, kind, rid));
    for (std::size_t i = 1; i < routes.size(); ++i) {
      const L4RouteSpec& o = ctx.plan.l7.l4_routes[routes[i]];
      servers.comment(fmt::format(
          "  {} {}/{} is attached too but ignored: one route per {} listener (the oldest)", kind,
          o.meta.ns, o.meta.name, protocol_name(l.protocol)));
    }
    struct Bucket {
      const ServicePlan* s;
      const ServicePortPlan* p;
      int weight;
    };
    std::vector<Bucket> buckets;
    for (const BackendRef& ref : r.backends) {
      Backend b = resolve(ctx.plan, udp ? RouteKind::kUDP : RouteKind::kTCP, r.meta, ref);
      if (!b.ok()) {
        servers.comment(fmt::format("  {}: not used: {}", b.display(), b.message));
      } else if (ref.weight <= 0) {
        servers.comment(fmt::format("  {}: weight 0, no traffic", b.display()));
      } else if (b.service->endpoints.empty()) {
        servers.comment(fmt::format("  {}: no endpoints", b.display()));
      } else {
        buckets.push_back(Bucket{b.service, b.port, ref.weight});
      }
    }
    if (buckets.empty()) {
      servers.comment("  no backend with endpoints: not listening (connections are refused)");
      continue;
    }
    std::string name;
    Conf up;
    if (buckets.size() == 1) {
      const Bucket& b = buckets.front();
      name = fmt::format("{}-{}-{}{}", b.s->spec.ns, b.s->spec.name, b.p->port, udp ? "-udp" : "");
      up.comment(endpoints_comment(*b.s, *b.p));
      up.open("upstream " + name);
      for (const EndpointPlan& e : b.s->endpoints)
        up.line(fmt::format("server {}:{};  # pod {}", e.ip.str(), b.p->target_port, e.pod));
      up.close();
    } else {
      // Each endpoint's weight: its backend's weight shared among the backend's endpoints.
      std::size_t l_all = 1;
      for (const Bucket& b : buckets) l_all = std::lcm(l_all, b.s->endpoints.size());
      std::vector<long long> w;
      for (const Bucket& b : buckets)
        for (std::size_t i = 0; i < b.s->endpoints.size(); ++i)
          w.push_back(static_cast<long long>(b.weight) *
                      static_cast<long long>(l_all / b.s->endpoints.size()));
      long long g = 0;
      for (long long x : w) g = std::gcd(g, x);
      name = fmt::format("{}-{}-{}", r.meta.ns, r.meta.name, lower(kind));
      up.comment(fmt::format("{} {}: backends by weight", kind, rid));
      up.open("upstream " + name);
      std::size_t k = 0;
      for (const Bucket& b : buckets)
        for (const EndpointPlan& e : b.s->endpoints)
          up.line(fmt::format("server {}:{} weight={};  # {}/{} (weight {}), pod {}", e.ip.str(),
                              b.p->target_port, w[k++] / g, b.s->spec.ns, b.s->spec.name, b.weight,
                              e.pod));
      up.close();
    }
    upstream_blocks.emplace(name, std::move(up));
    servers.open("server");
    servers.line(fmt::format("listen {}{};", l.port, udp ? " udp" : ""));
    if (udp) servers.line("proxy_timeout 10s;");
    servers.line(fmt::format("proxy_pass {};", name));
    servers.close();
  }
  stream.comment("Access log: the connection, and which endpoint (pod IP:port) served it.");
  stream.line(
      "log_format knlab_stream '$remote_addr [$time_local] $protocol $server_port $status "
      "$bytes_sent "
      "$bytes_received $session_time upstream=$upstream_addr';");
  stream.line(fmt::format("access_log {} knlab_stream;", tok(ctx.dp.dir + "/logs/access.log")));
  stream.line("proxy_connect_timeout 5s;");
  for (const auto& [n, block] : upstream_blocks) {
    stream.blank();
    stream.append(block);
  }
  stream.blank();
  stream.append(servers);
}

std::string gateway_conf(Ctx& ctx) {
  const LabPlan& plan = ctx.plan;
  const DataPlanePlan& dp = ctx.dp;
  const GatewaySpec* gw = find_gateway(plan, dp.ns, dp.gateway);
  std::string problem;
  if (gw == nullptr) {
    problem = fmt::format("Gateway {}/{} does not exist", dp.ns, dp.gateway);
  } else if (!gateway_is_ours(plan, *gw)) {
    problem =
        fmt::format("Gateway {}/{}: GatewayClass \"{}\" {}", dp.ns, dp.gateway, gw->class_name,
                    find_gateway_class(plan, gw->class_name) == nullptr
                        ? "does not exist"
                        : fmt::format("is not of controller {}", kGatewayController));
  }
  if (!problem.empty()) {
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

  GatewayGen g(ctx, *gw);

  // Attached routes: (route, listener) -> hostnames.
  std::map<std::pair<std::size_t, std::size_t>, std::vector<std::string>> http_attached;
  for (std::size_t ri = 0; ri < plan.l7.http_routes.size(); ++ri) {
    const HttpRouteSpec& r = plan.l7.http_routes[ri];
    for (const ParentRef& p : r.parents) {
      Attachment a = attach(plan, RouteKind::kHTTP, r.meta, r.hostnames, p);
      if (a.gateway != gw || !a.accepted.status) continue;
      for (auto& [li, hosts] : a.listeners) {
        auto& v = http_attached[{ri, li}];
        for (const std::string& h : hosts)
          if (std::find(v.begin(), v.end(), h) == v.end()) v.push_back(h);
      }
    }
  }
  std::vector<std::pair<std::size_t, std::vector<std::size_t>>> l4;  // listener -> routes
  std::map<std::uint16_t, std::vector<std::size_t>> http_ports;
  for (std::size_t li = 0; li < gw->listeners.size(); ++li) {
    const ListenerInfo& info = g.listeners[li];
    if (!info.usable()) continue;
    if (is_http(info.spec->protocol)) {
      http_ports[info.spec->port].push_back(li);
      continue;
    }
    RouteKind kind =
        info.spec->protocol == ListenerProtocol::kUDP ? RouteKind::kUDP : RouteKind::kTCP;
    std::vector<std::size_t> routes;
    for (std::size_t ri = 0; ri < plan.l7.l4_routes.size(); ++ri) {
      const L4RouteSpec& r = plan.l7.l4_routes[ri];
      if ((r.protocol == ListenerProtocol::kUDP) != (kind == RouteKind::kUDP)) continue;
      bool on = false;
      for (const ParentRef& p : r.parents) {
        Attachment a = attach(plan, kind, r.meta, {}, p);
        if (a.gateway == gw && a.accepted.status)
          for (auto& [i, hosts] : a.listeners) on = on || i == li;
      }
      if (on) routes.push_back(ri);
    }
    l4.emplace_back(li, std::move(routes));
  }

  Conf servers;
  for (const auto& [port, lis] : http_ports) g.write_http_port(servers, port, lis, http_attached);
  bool stream = !l4.empty();
  if (stream) g.write_stream(l4);

  Conf c;
  c.comment(fmt::format(
      "nginx of the data plane {}/{} of Gateway {}/{} (GatewayClass {}),\ngenerated by kn-lab.",
      dp.ns, dp.name, gw->meta.ns, gw->meta.name, gw->class_name));
  c.comment("Listeners:");
  for (const ListenerInfo& info : g.listeners) {
    const ListenerSpec& l = *info.spec;
    std::string state;
    if (!info.conflict.empty())
      state = fmt::format(" -- not served: {} ({})", info.conflict, info.conflict_message);
    else if (!info.usable())
      state = " -- not served: " + info.resolved.message;
    c.comment(fmt::format("  {}: {} port {}{}{}", l.name, protocol_name(l.protocol), l.port,
                          l.hostname.empty() ? "" : " hostname " + l.hostname, state));
  }
  if (!http_ports.empty())
    c.comment(
        "HTTP routing: see the maps in http {} (the conditions of each match, then per server the "
        "rule a\n"
        "request goes to) and each server's named locations (@<namespace>/<route>/rule<N>).");
  c.blank();
  write_main(c, dp, stream);
  c.blank();
  c.open("http");
  write_http_common(c, dp);
  write_dollar(c, ctx);
  write_http_upstreams(c, ctx);
  if (!g.cond_maps.empty()) {
    c.blank();
    c.comment(
        "The conditions of the routes' matches: \"1\" when it holds (a match of several "
        "conditions:\n"
        "when all of them hold).");
    c.append(g.cond_maps);
  }
  if (!g.extra.empty()) {
    c.blank();
    c.append(g.extra);
  }
  if (!g.dispatch.empty()) {
    c.blank();
    c.append(g.dispatch);
  }
  c.blank();
  c.append(servers);
  c.close();
  if (stream) {
    c.blank();
    c.open("stream");
    c.append(g.stream);
    c.close();
  }
  return c.str();
}

}  // namespace

bool ingress_is_ours(const LabPlan& plan, const IngressSpec& ing) {
  const auto& classes = plan.l7.ingress_classes;
  if (ing.class_name.empty())
    return std::any_of(classes.begin(), classes.end(), [](const IngressClassSpec& c) {
      return c.is_default && c.controller == kIngressControllerName;
    });
  for (const IngressClassSpec& c : classes)
    if (c.meta.name == ing.class_name) return c.controller == kIngressControllerName;
  return ing.class_name ==
         "nginx";  // the course's controller's class, even without its IngressClass
}

std::vector<std::pair<std::string, std::string>> nginx_files(const LabPlan& plan,
                                                             const DataPlanePlan& dp) {
  Ctx ctx{plan, dp, {}, {}, false};
  std::string conf =
      dp.kind == DataPlanePlan::Kind::kIngress ? ingress_conf(ctx) : gateway_conf(ctx);
  std::vector<std::pair<std::string, std::string>> files;
  files.emplace_back(dp.conf(), std::move(conf));
  for (const auto& [key, s] : ctx.secrets) {
    std::string base = fmt::format("{}/certs/{}-{}", dp.dir, key.first, key.second);
    files.emplace_back(base + ".crt", s->cert_pem);
    files.emplace_back(base + ".key", s->key_pem);
  }
  return files;
}

std::vector<std::string> nginx_argv(const DataPlanePlan& dp) {
  return {"nginx", "-p", dp.dir + "/", "-c", dp.conf(), "-g", "daemon off;"};
}

GatewayStatus gateway_status(const LabPlan& plan, const GatewaySpec& gw) {
  GatewayStatus st;
  const GatewayClassSpec* cls = find_gateway_class(plan, gw.class_name);
  bool accepted = cls != nullptr && cls->controller == kGatewayController;
  if (cls == nullptr)
    st.conditions.push_back(
        Condition{"Accepted", false, "NoSuchGatewayClass",
                  fmt::format("GatewayClass \"{}\" does not exist", gw.class_name)});
  else if (!accepted)
    st.conditions.push_back(
        Condition{"Accepted", false, "InvalidParameters",
                  fmt::format("GatewayClass \"{}\" has controllerName {}, not {}", gw.class_name,
                              cls->controller, kGatewayController)});
  else
    st.conditions.push_back(
        Condition{"Accepted", true, "Accepted",
                  "the Gateway is accepted by " + std::string(kGatewayController)});

  const DataPlanePlan* dp = nullptr;
  for (const DataPlanePlan& d : plan.data_planes)
    if (d.kind == DataPlanePlan::Kind::kGateway && d.ns == gw.meta.ns && d.gateway == gw.meta.name)
      dp = &d;
  const ServicePlan* svc = dp != nullptr ? find_service(plan, dp->ns, dp->name) : nullptr;
  if (!accepted)
    st.conditions.push_back(
        Condition{"Programmed", false, "Invalid", "the Gateway is not accepted"});
  else if (dp == nullptr)
    st.conditions.push_back(
        Condition{"Programmed", false, "Pending", "no nginx data plane for this Gateway"});
  else if (svc == nullptr)
    st.conditions.push_back(
        Condition{"Programmed", false, "AddressNotAssigned",
                  fmt::format("the data plane's Service {}/{} does not exist", dp->ns, dp->name)});
  else {
    st.addresses.push_back(svc->lb_ip ? svc->lb_ip->str() : svc->cluster_ip.str());
    st.conditions.push_back(Condition{"Programmed", true, "Programmed",
                                      fmt::format("nginx {}/{} serves the listeners at {}", dp->ns,
                                                  dp->name, st.addresses.front())});
  }

  std::vector<ListenerInfo> infos = listener_infos(plan, gw);
  std::vector<int> counts(gw.listeners.size(), 0);
  auto count = [&](RouteKind kind, const ObjectMeta& meta,
                   const std::vector<std::string>& hostnames,
                   const std::vector<ParentRef>& parents) {
    std::set<std::size_t> on;
    for (const ParentRef& p : parents) {
      Attachment a = attach(plan, kind, meta, hostnames, p);
      if (a.gateway != &gw || !a.accepted.status) continue;
      for (const auto& [li, h] : a.listeners) on.insert(li);
    }
    for (std::size_t li : on) ++counts[li];
  };
  if (accepted) {
    for (const HttpRouteSpec& r : plan.l7.http_routes)
      count(RouteKind::kHTTP, r.meta, r.hostnames, r.parents);
    for (const L4RouteSpec& r : plan.l7.l4_routes)
      count(r.protocol == ListenerProtocol::kUDP ? RouteKind::kUDP : RouteKind::kTCP, r.meta, {},
            r.parents);
  }
  for (std::size_t i = 0; i < infos.size(); ++i) {
    const ListenerInfo& info = infos[i];
    GatewayStatus::Listener l;
    l.name = info.spec->name;
    l.attached_routes = counts[i];
    l.conditions.push_back(Condition{"Accepted", true, "Accepted", "the listener is valid"});
    if (!info.conflict.empty())
      l.conditions.push_back(Condition{"Conflicted", true, info.conflict, info.conflict_message});
    l.conditions.push_back(info.resolved);
    if (!accepted)
      l.conditions.push_back(
          Condition{"Programmed", false, "Invalid", "the Gateway is not accepted"});
    else if (!info.conflict.empty())
      l.conditions.push_back(
          Condition{"Programmed", false, "Invalid", "the listener conflicts with another"});
    else if (!info.usable())
      l.conditions.push_back(Condition{"Programmed", false, "Invalid",
                                       "no usable certificate: " + info.resolved.message});
    else
      l.conditions.push_back(
          Condition{"Programmed", true, "Programmed", "nginx serves the listener"});
    st.listeners.push_back(std::move(l));
  }
  return st;
}

std::vector<ParentStatus> route_status(const LabPlan& plan, const HttpRouteSpec& route) {
  std::vector<const BackendRef*> refs;
  for (const HttpRouteRule& rule : route.rules)
    for (const BackendRef& b : rule.backends) refs.push_back(&b);
  return route_status_of(plan, RouteKind::kHTTP, route.meta, route.parents, route.hostnames, refs);
}

std::vector<ParentStatus> route_status(const LabPlan& plan, const L4RouteSpec& route) {
  std::vector<const BackendRef*> refs;
  for (const BackendRef& b : route.backends) refs.push_back(&b);
  RouteKind kind = route.protocol == ListenerProtocol::kUDP ? RouteKind::kUDP : RouteKind::kTCP;
  return route_status_of(plan, kind, route.meta, route.parents, {}, refs);
}

}  // namespace knlab
