// The readers of IngressClass, Ingress and the Gateway API kinds (GatewayClass, Gateway,
// HTTPRoute, TCPRoute, UDPRoute, ReferenceGrant): they become L7 objects (lab/l7.hpp).
#include <set>

#include "lab/manifest_read.hpp"
#include "lab/values.hpp"

namespace knlab {

Status read_ingress_class(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "an IngressClass needs spec.controller"));
  KN_TRY(spec.allow({"controller"}));
  IngressClassSpec c;
  c.controller = KN_TRY(read_controller(spec, "controller", "k8s.io/ingress-nginx"));
  auto it = r.meta.annotations.find("ingressclass.kubernetes.io/is-default-class");
  c.is_default = it != r.meta.annotations.end() && it->second == "true";
  c.meta = std::move(r.meta);
  r.m.l7.ingress_classes.push_back(std::move(c));
  return {};
}

static Result<IngressBackend> read_ingress_backend(const Fields& b) {
  KN_TRY(b.allow({"service"}));
  Fields svc = KN_TRY(b.required_object("service", "kn-lab's Ingress backends are Services: service: {name: web, port: {number: 80}}"));
  KN_TRY(svc.allow({"name", "port"}));
  IngressBackend out;
  out.service = KN_TRY(required_name(svc, "name", "the Service's name"));
  Fields port = KN_TRY(svc.required_object("port", "port: {number: 80} or port: {name: http}"));
  KN_TRY(port.allow({"number", "name"}));
  if (port.has("number") == port.has("name"))
    return fail(port.doc().error(port.mark(), fmt::format("{} needs exactly one of number and name", port.path()),
                                 "port: {number: 80} or port: {name: http}"));
  out.port = KN_TRY(port.port("number")).value_or(0);
  out.port_name = KN_TRY(optional_name(port, "name"));
  return out;
}

Status read_ingress(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "an Ingress needs spec.rules or spec.defaultBackend"));
  KN_TRY(spec.allow({"ingressClassName", "defaultBackend", "rules", "tls"}));
  IngressSpec ing;
  ing.class_name = KN_TRY(optional_name(spec, "ingressClassName"));
  auto annotation = r.meta.annotations.find("kubernetes.io/ingress.class");
  if (annotation != r.meta.annotations.end()) {
    if (spec.has("ingressClassName"))
      return fail(spec.error("ingressClassName", "metadata.annotations[kubernetes.io/ingress.class] can not be set when spec.ingressClassName is also set",
                             "keep spec.ingressClassName (the annotation is deprecated)"));
    if (auto problem = check_label(annotation->second, kMaxObjectNameLength))
      return fail(r.top.error("metadata", fmt::format("metadata.annotations[kubernetes.io/ingress.class] \"{}\" {}", annotation->second, *problem), kNameHint));
    ing.class_name = annotation->second;
  }
  if (spec.has("defaultBackend")) ing.default_backend = KN_TRY(read_ingress_backend(KN_TRY(spec.object("defaultBackend"))));
  for (const Fields& rule : KN_TRY(spec.objects("rules"))) {
    KN_TRY(rule.allow({"host", "http"}));
    IngressRule ir;
    ir.host = KN_TRY(read_hostname(rule, "host", true));
    if (rule.has("http")) {
      Fields http = KN_TRY(rule.object("http"));
      KN_TRY(http.allow({"paths"}));
      std::vector<Fields> paths = KN_TRY(http.objects("paths"));
      if (paths.empty()) return fail(http.missing("paths", "for example paths: [{path: /, pathType: Prefix, backend: {...}}]"));
      for (const Fields& p : paths) {
        KN_TRY(p.allow({"path", "pathType", "backend"}));
        IngressPath ip;
        ip.where = at(p.doc().file, p.mark());
        std::string type = KN_TRY(p.choice("pathType", {"Prefix", "Exact", "ImplementationSpecific"}, ""));
        ip.type = type == "Prefix" ? IngressPathType::kPrefix : type == "Exact" ? IngressPathType::kExact : IngressPathType::kImplementationSpecific;
        auto path = KN_TRY(p.string("path"));
        if (ip.type == IngressPathType::kImplementationSpecific) {
          ip.path = path && !path->empty() ? *path : "/";
          auto problem = ip.path.front() != '/' ? std::optional<std::string>("must be an absolute path (start with '/')") : check_free_text(ip.path, false);
          if (problem) return fail(p.error("path", fmt::format("{} \"{}\" {}", p.path("path"), ip.path, *problem)));
        } else {
          if (!path) return fail(p.missing("path", fmt::format("pathType {} needs a path, for example path: /", type)));
          if (auto problem = check_http_path(*path)) return fail(p.error("path", fmt::format("{} \"{}\" {}", p.path("path"), *path, *problem)));
          ip.path = *path;
        }
        ip.backend = KN_TRY(read_ingress_backend(KN_TRY(p.required_object("backend", "backend: {service: {name: web, port: {number: 80}}}"))));
        ir.paths.push_back(std::move(ip));
      }
    }
    ing.rules.push_back(std::move(ir));
  }
  if (ing.rules.empty() && !ing.default_backend)
    return fail(spec.missing("rules", "an Ingress needs spec.rules or spec.defaultBackend"));
  for (const Fields& t : KN_TRY(spec.objects("tls"))) {
    KN_TRY(t.allow({"hosts", "secretName"}));
    IngressTls tls;
    tls.hosts = KN_TRY(read_hostnames(t, "hosts"));
    tls.secret = KN_TRY(optional_name(t, "secretName"));
    ing.tls.push_back(std::move(tls));
  }
  ing.meta = std::move(r.meta);
  r.m.l7.ingresses.push_back(std::move(ing));
  return {};
}

Status read_gateway_class(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", fmt::format("a GatewayClass needs spec.controllerName ({})", kGatewayController)));
  KN_TRY(spec.allow({"controllerName", "description"}));
  KN_TRY(spec.string("description"));
  GatewayClassSpec c;
  c.controller = KN_TRY(read_controller(spec, "controllerName", kGatewayController));
  c.meta = std::move(r.meta);
  r.m.l7.gateway_classes.push_back(std::move(c));
  return {};
}

// A Gateway API section name (listener name): a DNS subdomain.
static Result<std::string> read_section_name(const Fields& f, std::string_view key, bool required) {
  auto v = KN_TRY(f.string(key));
  if (!v) {
    if (required) return fail(f.missing(key, "for example name: http"));
    return std::string{};
  }
  if (!is_dns_subdomain(*v))
    return fail(f.error(key, fmt::format("{} \"{}\" is not a valid section name", f.path(key), *v), "lowercase letters, digits, '-' and '.'"));
  return *v;
}

Status read_gateway(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Gateway needs spec.gatewayClassName and spec.listeners"));
  KN_TRY(spec.allow({"gatewayClassName", "listeners"}));
  GatewaySpec gw;
  gw.class_name = KN_TRY(required_name(spec, "gatewayClassName", "the GatewayClass, for example gatewayClassName: kn-lab"));
  std::vector<Fields> items = KN_TRY(spec.objects("listeners"));
  if (items.empty()) return fail(spec.missing("listeners", "for example listeners: [{name: http, port: 80, protocol: HTTP}]"));
  if (items.size() > 64) return fail(spec.error("listeners", "spec.listeners has more than 64 listeners"));
  std::set<std::string> names, combos;
  for (const Fields& l : items) {
    KN_TRY(l.allow({"name", "hostname", "port", "protocol", "tls", "allowedRoutes"}));
    ListenerSpec ls;
    ls.name = KN_TRY(read_section_name(l, "name", true));
    if (!names.insert(ls.name).second) return fail(l.error("name", fmt::format("{} \"{}\" is used by another listener", l.path("name"), ls.name)));
    ls.hostname = KN_TRY(read_hostname(l, "hostname", true));
    auto port = KN_TRY(l.port("port"));
    if (!port) return fail(l.missing("port", "for example port: 80"));
    ls.port = *port;
    auto protocol = KN_TRY(l.string("protocol"));
    if (protocol && *protocol == "TLS")
      return fail(l.error("protocol", fmt::format("{} TLS (TLS passthrough, for TLSRoutes) is not supported by kn-lab", l.path("protocol")),
                          "allowed: HTTP, HTTPS (TLS terminated by the gateway), TCP, UDP"));
    std::string proto = KN_TRY(l.choice("protocol", {"HTTP", "HTTPS", "TCP", "UDP"}, ""));
    ls.protocol = proto == "HTTP" ? ListenerProtocol::kHTTP : proto == "HTTPS" ? ListenerProtocol::kHTTPS
                  : proto == "TCP" ? ListenerProtocol::kTCP : ListenerProtocol::kUDP;
    if (!combos.insert(fmt::format("{}/{}/{}", ls.port, proto, ls.hostname)).second)
      return fail(l.error("port", fmt::format("{}: another listener has the same port, protocol and hostname", l.path())));
    if (ls.protocol == ListenerProtocol::kHTTPS) {
      Fields tls = KN_TRY(l.required_object("tls", "an HTTPS listener terminates TLS: tls: {mode: Terminate, certificateRefs: [{name: my-cert}]}"));
      KN_TRY(tls.allow({"mode", "certificateRefs"}));
      auto mode = KN_TRY(tls.string("mode"));
      if (mode && *mode == "Passthrough")
        return fail(tls.error("mode", fmt::format("{} Passthrough is not supported by kn-lab", tls.path("mode")), "allowed: Terminate"));
      KN_TRY(tls.choice("mode", {"Terminate"}, "Terminate"));
      std::vector<Fields> refs = KN_TRY(tls.objects("certificateRefs"));
      if (refs.empty()) return fail(tls.missing("certificateRefs", "the TLS Secret: certificateRefs: [{name: my-cert}]"));
      for (const Fields& ref : refs) {
        KN_TRY(ref.allow({"group", "kind", "name", "namespace"}));
        std::string group = KN_TRY(ref.string("group")).value_or("");
        if (!group.empty() && group != "core")
          return fail(ref.error("group", fmt::format("{} \"{}\" is not supported: certificates are core Secrets", ref.path("group"), group), "allowed: \"\" (core)"));
        KN_TRY(ref.choice("kind", {"Secret"}, "Secret"));
        SecretRef sr;
        sr.name = KN_TRY(required_name(ref, "name", "the TLS Secret's name"));
        sr.ns = KN_TRY(optional_name(ref, "namespace"));
        ls.certificates.push_back(std::move(sr));
      }
    } else if (l.has("tls")) {
      return fail(l.error("tls", fmt::format("{} must not be set for protocol {}", l.path("tls"), proto), "only HTTPS listeners terminate TLS"));
    }
    Fields allowed = KN_TRY(l.object("allowedRoutes"));
    KN_TRY(allowed.allow({"namespaces", "kinds"}));
    Fields nss = KN_TRY(allowed.object("namespaces"));
    KN_TRY(nss.allow({"from"}));
    auto from = KN_TRY(nss.string("from"));
    if (from && *from == "Selector")
      return fail(nss.error("from", fmt::format("{} Selector is not supported by kn-lab", nss.path("from")),
                            "allowed: Same (routes in the Gateway's namespace) or All (any namespace)"));
    ls.allowed_from = KN_TRY(nss.choice("from", {"Same", "All"}, "Same"));
    std::string_view route_kind = ls.protocol == ListenerProtocol::kTCP ? "TCPRoute" : ls.protocol == ListenerProtocol::kUDP ? "UDPRoute" : "HTTPRoute";
    for (const Fields& k : KN_TRY(allowed.objects("kinds"))) {
      KN_TRY(k.allow({"group", "kind"}));
      std::string group = KN_TRY(k.string("group")).value_or(std::string(kGatewayGroup));
      std::string kind = KN_TRY(k.required_string("kind", fmt::format("kind: {}", route_kind)));
      if (group != kGatewayGroup || kind != route_kind)
        return fail(k.error("kind", fmt::format("{} {} cannot attach to a {} listener", k.path("kind"), kind, proto),
                            fmt::format("allowed: {} (group {})", route_kind, kGatewayGroup)));
    }
    gw.listeners.push_back(std::move(ls));
  }
  gw.meta = std::move(r.meta);
  r.m.l7.gateways.push_back(std::move(gw));
  return {};
}

static Result<std::vector<ParentRef>> read_parent_refs(const Fields& spec) {
  std::vector<ParentRef> out;
  for (const Fields& p : KN_TRY(spec.objects("parentRefs"))) {
    KN_TRY(p.allow({"group", "kind", "namespace", "name", "sectionName", "port"}));
    std::string group = KN_TRY(p.string("group")).value_or(std::string(kGatewayGroup));
    if (group != kGatewayGroup)
      return fail(p.error("group", fmt::format("{} \"{}\" is not supported", p.path("group"), group), fmt::format("allowed: {}", kGatewayGroup)));
    KN_TRY(p.choice("kind", {"Gateway"}, "Gateway"));
    ParentRef ref;
    ref.name = KN_TRY(required_name(p, "name", "the Gateway's name"));
    ref.ns = KN_TRY(optional_name(p, "namespace"));
    ref.section_name = KN_TRY(read_section_name(p, "sectionName", false));
    ref.port = KN_TRY(p.port("port"));
    out.push_back(std::move(ref));
  }
  return out;
}

static Result<std::vector<BackendRef>> read_backend_refs(const Fields& rule) {
  std::vector<BackendRef> out;
  for (const Fields& b : KN_TRY(rule.objects("backendRefs"))) {
    KN_TRY(b.allow({"group", "kind", "name", "namespace", "port", "weight"}));
    std::string group = KN_TRY(b.string("group")).value_or("");
    std::string kind = KN_TRY(b.string("kind")).value_or("Service");
    if (!group.empty() || kind != "Service")
      return fail(b.error(b.has("kind") ? "kind" : "group",
                          fmt::format("{}: backendRef kind {}{} is not supported: kn-lab routes to Services", b.path(), group.empty() ? "" : group + "/", kind),
                          "allowed: kind: Service (group \"\")"));
    BackendRef ref;
    ref.name = KN_TRY(required_name(b, "name", "the Service's name"));
    ref.ns = KN_TRY(optional_name(b, "namespace"));
    auto port = KN_TRY(b.port("port"));
    if (!port) return fail(b.missing("port", "a Service backend needs the Service's port, for example port: 80"));
    ref.port = *port;
    ref.weight = static_cast<int>(KN_TRY(b.integer("weight", 0, 1000000)).value_or(1));
    out.push_back(std::move(ref));
  }
  return out;
}

static Result<std::vector<ValueMatch>> read_value_matches(const Fields& match, std::string_view key, bool case_insensitive) {
  std::vector<ValueMatch> out;
  std::set<std::string> names;
  for (const Fields& h : KN_TRY(match.objects(key))) {
    KN_TRY(h.allow({"type", "name", "value"}));
    ValueMatch v;
    v.regex = KN_TRY(h.choice("type", {"Exact", "RegularExpression"}, "Exact")) == "RegularExpression";
    v.name = KN_TRY(h.required_string("name", "for example name: x-env"));
    if (!is_header_name(v.name))
      return fail(h.error("name", fmt::format("{} \"{}\" is not a valid name", h.path("name"), v.name), "an HTTP token: letters, digits and !#$%&'*+-.^_`|~"));
    if (!names.insert(case_insensitive ? lower(v.name) : v.name).second)
      return fail(h.error("name", fmt::format("{} \"{}\" is matched twice in one match", h.path("name"), v.name)));
    v.value = KN_TRY(h.required_string("value"));
    if (auto problem = check_free_text(v.value, true)) return fail(h.error("value", fmt::format("{} {}", h.path("value"), *problem)));
    out.push_back(std::move(v));
  }
  return out;
}

static Result<PathModifier> read_path_modifier(const Fields& f) {
  KN_TRY(f.allow({"type", "replaceFullPath", "replacePrefixMatch"}));
  PathModifier m;
  std::string type = KN_TRY(f.choice("type", {"ReplaceFullPath", "ReplacePrefixMatch"}, ""));
  m.type = type == "ReplaceFullPath" ? PathModifier::Type::kReplaceFullPath : PathModifier::Type::kReplacePrefixMatch;
  std::string_view field = type == "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch";
  std::string_view other = type == "ReplaceFullPath" ? "replacePrefixMatch" : "replaceFullPath";
  if (f.has(other)) return fail(f.error(other, fmt::format("{} must not be set when type is {}", f.path(other), type)));
  m.value = KN_TRY(f.required_string(field, fmt::format("type {} takes {}: /new/path", type, field)));
  if (auto problem = check_http_path(m.value)) return fail(f.error(field, fmt::format("{} \"{}\" {}", f.path(field), m.value, *problem)));
  return m;
}

static Result<HeaderModifier> read_header_modifier(const Fields& f) {
  KN_TRY(f.allow({"set", "add", "remove"}));
  HeaderModifier hm;
  std::set<std::string> seen;
  auto check = [&](const Fields& where, std::string_view key, const std::string& name, YAML::Mark mark) -> Status {
    if (!is_header_name(name))
      return fail(where.doc().error(mark, fmt::format("{} \"{}\" is not a valid header name", where.path(key), name),
                                    "an HTTP token: letters, digits and !#$%&'*+-.^_`|~"));
    if (!seen.insert(lower(name)).second)
      return fail(where.doc().error(mark, fmt::format("{}: header \"{}\" is modified twice in one filter", where.path(key), name)));
    return {};
  };
  for (std::string_view list : {"set", "add"}) {
    for (const Fields& h : KN_TRY(f.objects(list))) {
      KN_TRY(h.allow({"name", "value"}));
      std::string name = KN_TRY(h.required_string("name", "for example name: x-env"));
      KN_TRY(check(h, "name", name, h.mark_of("name")));
      std::string value = KN_TRY(h.required_string("value"));
      if (auto problem = check_free_text(value, true)) return fail(h.error("value", fmt::format("{} {}", h.path("value"), *problem)));
      (list == "set" ? hm.set : hm.add).emplace_back(name, value);
    }
  }
  for (auto& [name, mark] : KN_TRY(f.strings("remove"))) {
    KN_TRY(check(f, "remove", name, mark));
    hm.remove.push_back(name);
  }
  return hm;
}

static Result<HttpFilter> read_filter(const Fields& f) {
  KN_TRY(f.allow({"type", "requestHeaderModifier", "responseHeaderModifier", "requestRedirect", "urlRewrite"}));
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"RequestHeaderModifier", "requestHeaderModifier"},
      {"ResponseHeaderModifier", "responseHeaderModifier"},
      {"RequestRedirect", "requestRedirect"},
      {"URLRewrite", "urlRewrite"},
  };
  auto type = KN_TRY(f.string("type"));
  if (type && (*type == "RequestMirror" || *type == "ExtensionRef" || *type == "CORS"))
    return fail(f.error("type", fmt::format("{} {} is not supported by kn-lab", f.path("type"), *type),
                        "allowed: RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite"));
  std::string t = KN_TRY(f.choice("type", {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"}, ""));
  std::string_view field;
  for (auto& [name, key] : kTypes) {
    if (name == t) field = key;
    else if (f.has(key)) return fail(f.error(key, fmt::format("{} must not be set when type is {}", f.path(key), t)));
  }
  HttpFilter out;
  Fields body = KN_TRY(f.required_object(field, fmt::format("type {} takes its settings in {}", t, field)));
  if (t == "RequestHeaderModifier" || t == "ResponseHeaderModifier") {
    out.type = t == "RequestHeaderModifier" ? HttpFilter::Type::kRequestHeaderModifier : HttpFilter::Type::kResponseHeaderModifier;
    out.headers = KN_TRY(read_header_modifier(body));
  } else if (t == "RequestRedirect") {
    out.type = HttpFilter::Type::kRequestRedirect;
    KN_TRY(body.allow({"scheme", "hostname", "path", "port", "statusCode"}));
    if (body.has("scheme")) out.scheme = KN_TRY(body.choice("scheme", {"http", "https"}, "http"));
    out.hostname = KN_TRY(read_hostname(body, "hostname", false));
    if (body.has("path")) out.path = KN_TRY(read_path_modifier(KN_TRY(body.object("path"))));
    out.port = KN_TRY(body.port("port"));
    auto code = KN_TRY(body.integer("statusCode", 0, 999));
    if (code && *code != 301 && *code != 302)
      return fail(body.error("statusCode", fmt::format("{} {} is not supported", body.path("statusCode"), *code), "allowed: 301, 302"));
    out.status_code = static_cast<int>(code.value_or(302));
  } else {
    out.type = HttpFilter::Type::kURLRewrite;
    KN_TRY(body.allow({"hostname", "path"}));
    out.hostname = KN_TRY(read_hostname(body, "hostname", false));
    if (body.has("path")) out.path = KN_TRY(read_path_modifier(KN_TRY(body.object("path"))));
  }
  return out;
}

Status read_http_route(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "an HTTPRoute needs spec.parentRefs and spec.rules"));
  KN_TRY(spec.allow({"parentRefs", "hostnames", "rules"}));
  HttpRouteSpec route;
  route.parents = KN_TRY(read_parent_refs(spec));
  route.hostnames = KN_TRY(read_hostnames(spec, "hostnames"));
  for (const Fields& rule : KN_TRY(spec.objects("rules"))) {
    KN_TRY(rule.allow({"matches", "filters", "backendRefs"}));
    HttpRouteRule hr;
    hr.where = at(rule.doc().file, rule.mark());
    for (const Fields& m : KN_TRY(rule.objects("matches"))) {
      KN_TRY(m.allow({"path", "headers", "queryParams", "method"}));
      HttpMatch match;
      if (m.has("path")) {
        Fields p = KN_TRY(m.object("path"));
        KN_TRY(p.allow({"type", "value"}));
        PathMatch pm;
        std::string type = KN_TRY(p.choice("type", {"Exact", "PathPrefix", "RegularExpression"}, "PathPrefix"));
        pm.type = type == "Exact" ? PathMatchType::kExact : type == "PathPrefix" ? PathMatchType::kPathPrefix : PathMatchType::kRegularExpression;
        pm.value = KN_TRY(p.string("value")).value_or("/");
        auto problem = pm.type == PathMatchType::kRegularExpression
                           ? (pm.value.empty() ? std::optional<std::string>("must not be empty") : check_free_text(pm.value, false))
                           : check_http_path(pm.value);
        if (problem) return fail(p.error("value", fmt::format("{} \"{}\" {}", p.path("value"), pm.value, *problem)));
        match.path = std::move(pm);
      }
      match.headers = KN_TRY(read_value_matches(m, "headers", true));
      match.query = KN_TRY(read_value_matches(m, "queryParams", false));
      if (m.has("method"))
        match.method = KN_TRY(m.choice("method", {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}, "GET"));
      hr.matches.push_back(std::move(match));
    }
    std::set<int> kinds;
    std::vector<Fields> filters = KN_TRY(rule.objects("filters"));
    for (const Fields& f : filters) {
      HttpFilter filter = KN_TRY(read_filter(f));
      if (!kinds.insert(static_cast<int>(filter.type)).second)
        return fail(f.error("type", fmt::format("{}: a rule may have one filter of each type", f.path("type"))));
      if (kinds.count(static_cast<int>(HttpFilter::Type::kRequestRedirect)) && kinds.count(static_cast<int>(HttpFilter::Type::kURLRewrite)))
        return fail(f.error("type", fmt::format("{}: RequestRedirect and URLRewrite cannot be used together", f.path("type"))));
      if (filter.path && filter.path->type == PathModifier::Type::kReplacePrefixMatch) {
        bool one_prefix = hr.matches.size() <= 1 &&
                          (hr.matches.empty() || !hr.matches[0].path || hr.matches[0].path->type == PathMatchType::kPathPrefix);
        if (!one_prefix)
          return fail(f.error("type", fmt::format("{}: ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix", f.path()),
                              "the prefix that is replaced is the one that matched"));
      }
      hr.filters.push_back(std::move(filter));
    }
    hr.backends = KN_TRY(read_backend_refs(rule));
    route.rules.push_back(std::move(hr));
  }
  route.meta = std::move(r.meta);
  r.m.l7.http_routes.push_back(std::move(route));
  return {};
}

Status read_l4_route(Reading& r) {
  std::string_view kind = r.info.kind;
  Fields spec = KN_TRY(r.top.required_object("spec", fmt::format("a {} needs spec.parentRefs and spec.rules", kind)));
  KN_TRY(spec.allow({"parentRefs", "rules"}));
  L4RouteSpec route;
  route.protocol = kind == "UDPRoute" ? ListenerProtocol::kUDP : ListenerProtocol::kTCP;
  route.parents = KN_TRY(read_parent_refs(spec));
  std::vector<Fields> rules = KN_TRY(spec.objects("rules"));
  if (rules.empty()) return fail(spec.missing("rules", "for example rules: [{backendRefs: [{name: db, port: 5432}]}]"));
  for (const Fields& rule : rules) {
    KN_TRY(rule.allow({"backendRefs"}));
    auto backends = KN_TRY(read_backend_refs(rule));
    if (backends.empty()) return fail(rule.missing("backendRefs", "for example backendRefs: [{name: db, port: 5432}]"));
    for (auto& b : backends) route.backends.push_back(std::move(b));
  }
  route.meta = std::move(r.meta);
  r.m.l7.l4_routes.push_back(std::move(route));
  return {};
}

Status read_reference_grant(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a ReferenceGrant needs spec.from and spec.to"));
  KN_TRY(spec.allow({"from", "to"}));
  ReferenceGrantSpec g;
  std::vector<Fields> from = KN_TRY(spec.objects("from"));
  if (from.empty()) return fail(spec.missing("from", "for example from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: web}]"));
  for (const Fields& f : from) {
    KN_TRY(f.allow({"group", "kind", "namespace"}));
    ReferenceGrantSpec::From x;
    x.group = KN_TRY(f.required_string("group", fmt::format("group: {}", kGatewayGroup)));
    if (x.group != kGatewayGroup)
      return fail(f.error("group", fmt::format("{} \"{}\" is not supported", f.path("group"), x.group), fmt::format("allowed: {}", kGatewayGroup)));
    x.kind = KN_TRY(f.choice("kind", {"HTTPRoute", "TCPRoute", "UDPRoute", "Gateway"}, ""));
    std::string ns = KN_TRY(f.required_string("namespace", "the namespace of the routes (or Gateways) that refer"));
    KN_TRY(check_name(f, "namespace", ns));
    x.ns = ns;
    g.from.push_back(std::move(x));
  }
  std::vector<Fields> to = KN_TRY(spec.objects("to"));
  if (to.empty()) return fail(spec.missing("to", "for example to: [{group: \"\", kind: Service}]"));
  for (const Fields& t : to) {
    KN_TRY(t.allow({"group", "kind", "name"}));
    ReferenceGrantSpec::To x;
    x.group = KN_TRY(t.required_string("group", "group: \"\" (the core group of Services and Secrets)"));
    if (!x.group.empty() && x.group != "core")
      return fail(t.error("group", fmt::format("{} \"{}\" is not supported", t.path("group"), x.group), "allowed: \"\" (core)"));
    x.group.clear();
    x.kind = KN_TRY(t.choice("kind", {"Service", "Secret"}, ""));
    x.name = KN_TRY(optional_name(t, "name"));
    g.to.push_back(std::move(x));
  }
  g.meta = std::move(r.meta);
  r.m.l7.reference_grants.push_back(std::move(g));
  return {};
}

}  // namespace knlab
