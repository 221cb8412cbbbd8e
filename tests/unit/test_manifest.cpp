#include <doctest/doctest.h>
#include <fmt/core.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lab/manifest.hpp"

using namespace knlab;

namespace {

std::string data_dir() { return std::string(KNLAB_SOURCE_DIR) + "/tests/data/manifests"; }

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Manifest load(const std::string& name) {
  auto m = load_manifests(data_dir() + "/" + name);
  if (!m) FAIL(m.error().format());
  return *m;
}

// Parses `text` expecting an input error; returns it.
Error bad(const std::string& text) {
  auto r = parse_manifests(text, "bad.yaml");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::kInput);
  CHECK(r.error().where.file == "bad.yaml");
  return r.error();
}

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// Every field of the L7 objects but their positions, for comparing what two parses produced.
std::string summary(const L7Objects& l7) {
  std::string out;
  auto meta = [&](const ObjectMeta& m) {
    out += fmt::format("[{}/{}", m.ns, m.name);
    for (auto& [k, v] : m.labels) out += fmt::format(" l:{}={}", k, v);
    for (auto& [k, v] : m.annotations) out += fmt::format(" a:{}={}", k, v);
    out += "]";
  };
  auto parent = [&](const ParentRef& p) { out += fmt::format(" parent {}/{}/{}/{}", p.ns, p.name, p.section_name, p.port ? *p.port : 0); };
  auto backend = [&](const BackendRef& b) { out += fmt::format(" backend {}/{}:{}*{}", b.ns, b.name, b.port, b.weight); };
  auto ibackend = [&](const IngressBackend& b) { out += fmt::format(" svc {}:{}/{}", b.service, b.port, b.port_name); };
  for (auto& n : l7.namespaces) out += "ns " + n.meta.name + "\n";
  for (auto& s : l7.secrets) {
    out += "secret ";
    meta(s.meta);
    out += s.type + s.cert_pem + s.key_pem + "\n";
  }
  for (auto& c : l7.ingress_classes) {
    out += "ingressclass ";
    meta(c.meta);
    out += fmt::format(" {} {}\n", c.controller, c.is_default);
  }
  for (auto& i : l7.ingresses) {
    out += "ingress ";
    meta(i.meta);
    out += " class " + i.class_name;
    if (i.default_backend) ibackend(*i.default_backend);
    for (auto& r : i.rules) {
      out += " rule " + r.host;
      for (auto& p : r.paths) {
        out += fmt::format(" path {} {}", p.path, to_string(p.type));
        ibackend(p.backend);
      }
    }
    for (auto& t : i.tls) {
      out += " tls " + t.secret;
      for (auto& h : t.hosts) out += " " + h;
    }
    out += "\n";
  }
  for (auto& c : l7.gateway_classes) {
    out += "gatewayclass ";
    meta(c.meta);
    out += " " + c.controller + "\n";
  }
  for (auto& g : l7.gateways) {
    out += "gateway ";
    meta(g.meta);
    out += " " + g.class_name;
    for (auto& l : g.listeners) {
      out += fmt::format(" listener {} {} {} {} {}", l.name, l.hostname, l.port, to_string(l.protocol), l.allowed_from);
      for (auto& c : l.certificates) out += fmt::format(" cert {}/{}", c.ns, c.name);
    }
    out += "\n";
  }
  for (auto& r : l7.http_routes) {
    out += "httproute ";
    meta(r.meta);
    for (auto& p : r.parents) parent(p);
    for (auto& h : r.hostnames) out += " host " + h;
    for (auto& rule : r.rules) {
      out += " rule";
      for (auto& m : rule.matches) {
        out += " match";
        if (m.path) out += fmt::format(" {} {}", to_string(m.path->type), m.path->value);
        for (auto& h : m.headers) out += fmt::format(" h:{}={}{}", h.name, h.value, h.regex ? "~" : "");
        for (auto& q : m.query) out += fmt::format(" q:{}={}{}", q.name, q.value, q.regex ? "~" : "");
        out += " " + m.method;
      }
      for (auto& f : rule.filters) {
        out += fmt::format(" filter {} {} {} {} {}", static_cast<int>(f.type), f.scheme, f.hostname, f.port ? *f.port : 0, f.status_code);
        for (auto& [k, v] : f.headers.set) out += fmt::format(" set {}={}", k, v);
        for (auto& [k, v] : f.headers.add) out += fmt::format(" add {}={}", k, v);
        for (auto& k : f.headers.remove) out += " remove " + k;
        if (f.path) out += fmt::format(" pathmod {} {}", static_cast<int>(f.path->type), f.path->value);
      }
      for (auto& b : rule.backends) backend(b);
    }
    out += "\n";
  }
  for (auto& r : l7.l4_routes) {
    out += fmt::format("{}route ", to_string(r.protocol));
    meta(r.meta);
    for (auto& p : r.parents) parent(p);
    for (auto& b : r.backends) backend(b);
    out += "\n";
  }
  for (auto& g : l7.reference_grants) {
    out += "referencegrant ";
    meta(g.meta);
    for (auto& f : g.from) out += fmt::format(" from {}/{}/{}", f.group, f.kind, f.ns);
    for (auto& t : g.to) out += fmt::format(" to {}/{}/{}", t.group, t.kind, t.name);
    out += "\n";
  }
  return out;
}

constexpr const char* kCert = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
constexpr const char* kKey = "-----BEGIN EC PRIVATE KEY-----\nMHcfake\n-----END EC PRIVATE KEY-----\n";

}  // namespace

TEST_CASE("the course's Ingress parses as written") {
  Manifest m = load("ingress.yaml");
  REQUIRE(m.objects.size() == 1);
  CHECK(m.objects[0].display() == "ingress.networking.k8s.io/ingress");
  CHECK(m.objects[0].where.line == 2);  // after the comment line
  REQUIRE(m.l7.ingresses.size() == 1);
  const IngressSpec& ing = m.l7.ingresses[0];
  CHECK(ing.meta.name == "ingress");
  CHECK(ing.meta.ns == "default");
  CHECK(ing.meta.annotations.at("nginx.ingress.kubernetes.io/rewrite-target") == "/");
  CHECK(ing.class_name == "nginx");
  CHECK_FALSE(ing.default_backend);
  REQUIRE(ing.rules.size() == 1);
  CHECK(ing.rules[0].host.empty());
  REQUIRE(ing.rules[0].paths.size() == 1);
  const IngressPath& p = ing.rules[0].paths[0];
  CHECK(p.path == "/api");
  CHECK(p.type == IngressPathType::kPrefix);
  CHECK(p.backend.service == "api");
  CHECK(p.backend.port == 80);
  CHECK(p.backend.port_name.empty());
  CHECK(p.where.line == 13);
  CHECK(ing.tls.empty());
  CHECK(m.pods.empty());
  CHECK(m.services.empty());
}

TEST_CASE("the course's HTTPRoute parses as written") {
  Manifest m = load("httproute.yaml");
  REQUIRE(m.l7.http_routes.size() == 1);
  const HttpRouteSpec& r = m.l7.http_routes[0];
  CHECK(m.objects[0].display() == "httproute.gateway.networking.k8s.io/api-route");
  CHECK(r.meta.name == "api-route");
  CHECK(r.meta.ns == "default");
  REQUIRE(r.parents.size() == 1);
  CHECK(r.parents[0].name == "my-gateway");
  CHECK(r.parents[0].ns.empty());
  CHECK(r.parents[0].section_name.empty());
  CHECK_FALSE(r.parents[0].port);
  CHECK(r.hostnames.empty());
  REQUIRE(r.rules.size() == 1);
  REQUIRE(r.rules[0].matches.size() == 1);
  REQUIRE(r.rules[0].matches[0].path);
  CHECK(r.rules[0].matches[0].path->type == PathMatchType::kPathPrefix);
  CHECK(r.rules[0].matches[0].path->value == "/api");
  CHECK(r.rules[0].filters.empty());
  REQUIRE(r.rules[0].backends.size() == 1);
  CHECK(r.rules[0].backends[0].name == "api");
  CHECK(r.rules[0].backends[0].port == 80);
  CHECK(r.rules[0].backends[0].weight == 1);
}

TEST_CASE("the course's manifests are kept unchanged in manifests/course") {
  for (const char* name : {"ingress.yaml", "httproute.yaml"})
    CHECK(read(std::string(KNLAB_SOURCE_DIR) + "/manifests/course/" + name) == read(data_dir() + "/" + name));
}

TEST_CASE("a Deployment, its Service, a Namespace and a pinned Pod") {
  Manifest m = load("app.yaml");
  REQUIRE(m.objects.size() == 4);
  CHECK(m.objects[0].display() == "namespace/shop");
  CHECK(m.objects[1].display() == "deployment.apps/web");
  CHECK(m.objects[2].display() == "service/web");
  CHECK(m.objects[3].display() == "pod/client");
  REQUIRE(m.l7.namespaces.size() == 1);
  CHECK(m.l7.namespaces[0].meta.name == "shop");

  REQUIRE(m.deployments.size() == 1);
  const DeploymentSpec& d = m.deployments[0];
  CHECK(d.name == "web");
  CHECK(d.ns == "shop");
  CHECK(d.replicas == 3);
  CHECK(d.image == "stefanprodan/podinfo");
  CHECK(d.labels == std::map<std::string, std::string>{{"app", "web"}, {"tier", "front"}});
  CHECK(d.port == std::optional<std::uint16_t>{9898});
  CHECK(d.where.line == 8);

  REQUIRE(m.services.size() == 1);
  const ServiceSpec& s = m.services[0];
  CHECK(s.name == "web");
  CHECK(s.ns == "shop");
  CHECK(s.type == ServiceType::kNodePort);
  CHECK(s.selector == std::map<std::string, std::string>{{"app", "web"}});
  REQUIRE(s.ports.size() == 2);
  CHECK(s.ports[0].name == "http");
  CHECK(s.ports[0].protocol == "TCP");
  CHECK(s.ports[0].port == 80);
  CHECK(s.ports[0].target_port == 9898);
  CHECK(s.ports[0].node_port == std::optional<std::uint16_t>{30080});
  CHECK(s.ports[1].name == "dns");
  CHECK(s.ports[1].protocol == "UDP");
  CHECK(s.ports[1].port == 53);
  CHECK(s.ports[1].target_port == 53);
  CHECK_FALSE(s.ports[1].node_port);
  CHECK(s.session_affinity);
  CHECK(s.local_traffic_policy);
  CHECK_FALSE(s.cluster_ip);

  REQUIRE(m.pods.size() == 1);
  CHECK(m.pods[0].name == "client");
  CHECK(m.pods[0].ns == "default");
  CHECK(m.pods[0].node == "node2");
  CHECK(m.pods[0].image == "alpine");
  CHECK(m.pods[0].labels.at("run") == "client");
  CHECK(m.pods[0].containers.empty());
}

TEST_CASE("a Gateway with HTTP, HTTPS, TCP and UDP listeners, its class, Secret and ReferenceGrant") {
  Manifest m = load("gateway.yaml");
  REQUIRE(m.l7.gateway_classes.size() == 1);
  CHECK(m.l7.gateway_classes[0].controller == kGatewayController);
  CHECK(m.l7.gateway_classes[0].meta.ns.empty());
  REQUIRE(m.l7.gateways.size() == 1);
  const GatewaySpec& g = m.l7.gateways[0];
  CHECK(g.meta.name == "my-gateway");
  CHECK(g.class_name == "kn-lab");
  REQUIRE(g.listeners.size() == 4);
  CHECK(g.listeners[0].name == "http");
  CHECK(g.listeners[0].protocol == ListenerProtocol::kHTTP);
  CHECK(g.listeners[0].port == 80);
  CHECK(g.listeners[0].allowed_from == "All");
  CHECK(g.listeners[1].name == "https");
  CHECK(g.listeners[1].protocol == ListenerProtocol::kHTTPS);
  CHECK(g.listeners[1].hostname == "*.example.com");
  CHECK(g.listeners[1].port == 443);
  CHECK(g.listeners[1].allowed_from == "Same");
  REQUIRE(g.listeners[1].certificates.size() == 1);
  CHECK(g.listeners[1].certificates[0].name == "example-tls");
  CHECK(g.listeners[1].certificates[0].ns == "certs");
  CHECK(g.listeners[2].protocol == ListenerProtocol::kTCP);
  CHECK(g.listeners[2].port == 5432);
  CHECK(g.listeners[3].protocol == ListenerProtocol::kUDP);
  CHECK(to_string(g.listeners[3].protocol) == "UDP");

  REQUIRE(m.l7.secrets.size() == 1);
  const SecretSpec& s = m.l7.secrets[0];
  CHECK(s.meta.ns == "certs");
  CHECK(s.type == "kubernetes.io/tls");
  CHECK(s.cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  CHECK(s.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));

  REQUIRE(m.l7.reference_grants.size() == 1);
  const ReferenceGrantSpec& rg = m.l7.reference_grants[0];
  CHECK(rg.meta.ns == "certs");
  REQUIRE(rg.from.size() == 1);
  CHECK(rg.from[0].group == "gateway.networking.k8s.io");
  CHECK(rg.from[0].kind == "Gateway");
  CHECK(rg.from[0].ns == "default");
  REQUIRE(rg.to.size() == 1);
  CHECK(rg.to[0].group.empty());
  CHECK(rg.to[0].kind == "Secret");
  CHECK(rg.to[0].name == "example-tls");
}

TEST_CASE("an HTTPRoute with header, query and method matches, filters and weighted backends") {
  Manifest m = load("routes.yaml");
  REQUIRE(m.l7.http_routes.size() == 1);
  const HttpRouteSpec& r = m.l7.http_routes[0];
  CHECK(r.meta.ns == "shop");
  REQUIRE(r.parents.size() == 1);
  CHECK(r.parents[0].ns == "default");
  CHECK(r.parents[0].section_name == "https");
  CHECK(r.hostnames == std::vector<std::string>{"shop.example.com", "*.shop.example.com"});
  REQUIRE(r.rules.size() == 3);

  const HttpRouteRule& cart = r.rules[0];
  CHECK(cart.where.line == 15);
  REQUIRE(cart.matches.size() == 1);
  const HttpMatch& match = cart.matches[0];
  REQUIRE(match.path);
  CHECK(match.path->type == PathMatchType::kExact);
  CHECK(match.path->value == "/cart");
  REQUIRE(match.headers.size() == 2);
  CHECK(match.headers[0].name == "X-Env");
  CHECK(match.headers[0].value == "canary");
  CHECK_FALSE(match.headers[0].regex);
  CHECK(match.headers[1].name == "user-agent");
  CHECK(match.headers[1].value == ".*Firefox.*");
  CHECK(match.headers[1].regex);
  REQUIRE(match.query.size() == 1);
  CHECK(match.query[0].name == "debug");
  CHECK(match.query[0].value == "1");
  CHECK(match.method == "POST");
  REQUIRE(cart.filters.size() == 3);
  CHECK(cart.filters[0].type == HttpFilter::Type::kRequestHeaderModifier);
  CHECK(cart.filters[0].headers.set == std::vector<std::pair<std::string, std::string>>{{"X-Lab", "kn-lab"}});
  CHECK(cart.filters[0].headers.add == std::vector<std::pair<std::string, std::string>>{{"X-Trace", "on"}});
  CHECK(cart.filters[0].headers.remove == std::vector<std::string>{"X-Internal"});
  CHECK(cart.filters[1].type == HttpFilter::Type::kResponseHeaderModifier);
  CHECK(cart.filters[1].headers.add.size() == 1);
  CHECK(cart.filters[2].type == HttpFilter::Type::kURLRewrite);
  CHECK(cart.filters[2].hostname == "cart.internal");
  REQUIRE(cart.filters[2].path);
  CHECK(cart.filters[2].path->type == PathModifier::Type::kReplaceFullPath);
  CHECK(cart.filters[2].path->value == "/v2/cart");
  REQUIRE(cart.backends.size() == 2);
  CHECK(cart.backends[0].name == "cart-v1");
  CHECK(cart.backends[0].port == 8080);
  CHECK(cart.backends[0].weight == 90);
  CHECK(cart.backends[1].weight == 10);

  const HttpRouteRule& old = r.rules[1];
  REQUIRE(old.filters.size() == 1);
  const HttpFilter& redirect = old.filters[0];
  CHECK(redirect.type == HttpFilter::Type::kRequestRedirect);
  CHECK(redirect.scheme == "https");
  CHECK(redirect.hostname == "shop.example.com");
  CHECK(redirect.port == std::optional<std::uint16_t>{443});
  CHECK(redirect.status_code == 301);
  REQUIRE(redirect.path);
  CHECK(redirect.path->type == PathModifier::Type::kReplacePrefixMatch);
  CHECK(redirect.path->value == "/new");
  CHECK(old.backends.empty());

  REQUIRE(r.rules[2].matches[0].path);
  CHECK(r.rules[2].matches[0].path->type == PathMatchType::kRegularExpression);
  CHECK(r.rules[2].matches[0].path->value == "/api/v[0-9]+/.*");
  CHECK(r.rules[2].backends[0].ns == "backend");

  REQUIRE(m.l7.l4_routes.size() == 2);
  const L4RouteSpec& tcp = m.l7.l4_routes[0];
  CHECK(tcp.protocol == ListenerProtocol::kTCP);
  CHECK(tcp.parents[0].section_name == "db");
  REQUIRE(tcp.backends.size() == 2);  // the rules' backends, flattened
  CHECK(tcp.backends[1].name == "postgres-replica");
  CHECK(tcp.backends[1].weight == 0);
  const L4RouteSpec& udp = m.l7.l4_routes[1];
  CHECK(udp.protocol == ListenerProtocol::kUDP);
  CHECK(udp.parents[0].port == std::optional<std::uint16_t>{53});
  CHECK(udp.backends[0].name == "coredns");

  REQUIRE(m.l7.reference_grants.size() == 1);
  CHECK(m.l7.reference_grants[0].from[0].kind == "HTTPRoute");
  CHECK(m.l7.reference_grants[0].to[0].kind == "Service");
  CHECK(m.l7.reference_grants[0].to[0].name.empty());
}

TEST_CASE("an IngressClass, an Ingress with TLS and every path type, a Secret from stringData") {
  Manifest m = load("ingress-tls.yaml");
  REQUIRE(m.l7.ingress_classes.size() == 1);
  CHECK(m.l7.ingress_classes[0].controller == "k8s.io/ingress-nginx");
  CHECK(m.l7.ingress_classes[0].is_default);
  CHECK(m.l7.ingress_classes[0].meta.ns.empty());
  REQUIRE(m.l7.ingresses.size() == 1);
  const IngressSpec& ing = m.l7.ingresses[0];
  CHECK(ing.class_name == "nginx");  // from the kubernetes.io/ingress.class annotation
  REQUIRE(ing.default_backend);
  CHECK(ing.default_backend->service == "web");
  CHECK(ing.default_backend->port == 0);
  CHECK(ing.default_backend->port_name == "http");
  REQUIRE(ing.tls.size() == 1);
  CHECK(ing.tls[0].hosts == std::vector<std::string>{"shop.example.com"});
  CHECK(ing.tls[0].secret == "shop-tls");
  REQUIRE(ing.rules.size() == 2);
  CHECK(ing.rules[0].host == "shop.example.com");
  REQUIRE(ing.rules[0].paths.size() == 3);
  CHECK(ing.rules[0].paths[1].type == IngressPathType::kExact);
  CHECK(ing.rules[0].paths[2].type == IngressPathType::kImplementationSpecific);
  CHECK(ing.rules[0].paths[2].path == "/img/.*\\.png");
  CHECK(ing.rules[0].paths[2].backend.port == 8080);
  CHECK(ing.rules[1].host == "*.example.com");
  REQUIRE(m.l7.secrets.size() == 1);
  CHECK(m.l7.secrets[0].cert_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  CHECK(m.l7.secrets[0].cert_pem.ends_with("-----END CERTIFICATE-----\n"));
  CHECK(m.l7.secrets[0].key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
}

TEST_CASE("l7_yaml reads back as the same objects") {
  auto all = load_manifests(data_dir());  // every file of the directory, by name
  REQUIRE(all.has_value());
  CHECK(all->objects.size() == 17);
  CHECK(all->objects.front().display() == "namespace/shop");  // app.yaml comes first
  std::string record = l7_yaml(all->l7);
  auto again = parse_manifests(record, "record.yaml");
  if (!again) FAIL(again.error().format());
  CHECK(summary(again->l7) == summary(all->l7));
  REQUIRE(again->l7.namespaces.size() == all->l7.namespaces.size());
  for (std::size_t i = 0; i < all->l7.namespaces.size(); ++i) CHECK(again->l7.namespaces[i].meta.yaml == all->l7.namespaces[i].meta.yaml);
  // The recorded documents are canonical: they come back byte for byte.
  CHECK(l7_yaml(again->l7) == record);
  REQUIRE(again->l7.ingresses.size() == 2);
  CHECK(again->l7.ingresses[0].meta.yaml == all->l7.ingresses[0].meta.yaml);
  // Strings that look like other types stay strings.
  CHECK(has(record, "value: \"on\""));
  CHECK(has(record, "ingressclass.kubernetes.io/is-default-class: \"true\""));
  // Pods, Deployments and Services are the lab's own, not in the L7 record.
  CHECK(again->pods.empty());
  CHECK(again->deployments.empty());
  CHECK(summary(L7Objects{}).empty());
  CHECK(l7_yaml(L7Objects{}).empty());
  CHECK(parse_manifests("", "empty.yaml")->objects.empty());
}

TEST_CASE("empty documents are skipped, a List is read item by item") {
  auto m = parse_manifests("# nothing here\n---\n---\n# still nothing\n---\n"
                           "apiVersion: v1\nkind: List\nitems:\n"
                           "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: team-a}\n"
                           "- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: team-a}\n"
                           "  spec: {containers: [{name: c, image: nginx}]}\n"
                           "...\n",
                           "list.yaml");
  if (!m) FAIL(m.error().format());
  REQUIRE(m->objects.size() == 2);
  CHECK(m->objects[0].where.line == 9);
  CHECK(m->objects[1].display() == "pod/p");
  CHECK(m->objects[1].where.line == 12);
  CHECK(m->pods[0].ns == "team-a");
  CHECK(m->pods[0].node.empty());
}

TEST_CASE("fields the API server writes are ignored, as is status") {
  auto m = parse_manifests(R"(apiVersion: v1
kind: Service
metadata:
  name: web
  uid: 4a3b
  resourceVersion: "123"
  creationTimestamp: "2024-01-01T00:00:00Z"
  generation: 2
  managedFields: [{manager: kubectl}]
spec:
  ports: [{port: 80}]
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
status:
  loadBalancer: {}
)",
                           "svc.yaml");
  if (!m) FAIL(m.error().format());
  REQUIRE(m->services.size() == 1);
  CHECK(m->services[0].cluster_ip->str() == "10.96.0.20");
  CHECK(m->services[0].ports[0].target_port == 80);
}

TEST_CASE("a TLS Secret from PEM files") {
  auto yaml = tls_secret_yaml("site-tls", "web", kCert, kKey);
  REQUIRE(yaml.has_value());
  CHECK(yaml->starts_with("apiVersion: v1\nkind: Secret\n"));
  CHECK(has(*yaml, "type: kubernetes.io/tls"));
  auto m = parse_manifests(*yaml, "secret.yaml");
  if (!m) FAIL(m.error().format());
  REQUIRE(m->l7.secrets.size() == 1);
  CHECK(m->l7.secrets[0].meta.name == "site-tls");
  CHECK(m->l7.secrets[0].meta.ns == "web");
  CHECK(m->l7.secrets[0].cert_pem == kCert);
  CHECK(m->l7.secrets[0].key_pem == kKey);
  CHECK(m->l7.secrets[0].meta.yaml == *yaml);  // already canonical

  auto not_pem = tls_secret_yaml("site-tls", "web", "hello", kKey);
  REQUIRE_FALSE(not_pem);
  CHECK(not_pem.error().kind == ErrorKind::kInput);
  CHECK(has(not_pem.error().detail, "not PEM: expected a -----BEGIN CERTIFICATE----- block"));
  auto no_key = tls_secret_yaml("site-tls", "web", kCert, kCert);
  REQUIRE_FALSE(no_key);
  CHECK(has(no_key.error().detail, "PRIVATE KEY"));
  CHECK_FALSE(tls_secret_yaml("site/tls", "web", kCert, kKey));
}

TEST_CASE("bad input: each error names the line, the object and the field") {
  SUBCASE("unknown kind") {
    Error e = bad("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
    CHECK(e.where.line == 2);
    CHECK(has(e.detail, "kind ConfigMap is not supported by kn-lab; supported: Namespace, Pod"));
  }
  SUBCASE("a misspelt kind gets a suggestion") {
    Error e = bad("apiVersion: networking.k8s.io/v1\nkind: Ingres\nmetadata: {name: x}\n");
    CHECK(e.where.line == 2);
    CHECK(has(e.hint, "did you mean 'Ingress'?"));
  }
  SUBCASE("wrong apiVersion for the kind") {
    Error e = bad("kind: Ingress\napiVersion: networking.k8s.io/v1beta1\nmetadata: {name: x}\n");
    CHECK(e.where.line == 2);
    CHECK(has(e.detail, "Ingress: apiVersion \"networking.k8s.io/v1beta1\" is not served for kind Ingress"));
    CHECK(has(e.hint, "networking.k8s.io/v1"));
  }
  SUBCASE("unknown field with a suggestion") {
    Error e = bad("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ingress\nspec:\n  rules:\n"
                  "  - host: a.example.com\n    htp:\n      paths: []\n");
    CHECK(e.where.line == 8);
    CHECK(e.where.column == 5);
    CHECK(has(e.detail, "Ingress default/ingress: field spec.rules[0].htp is unknown"));
    CHECK(has(e.hint, "did you mean 'http'?"));
  }
  SUBCASE("pathType is required") {
    Error e = bad(R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ingress
spec:
  rules:
  - http:
      paths:
      - path: /api
        backend:
          service: {name: api, port: {number: 80}}
)");
    CHECK(e.where.line == 9);
    CHECK(has(e.detail, "spec.rules[0].http.paths[0].pathType is required"));
    CHECK(has(e.hint, "Prefix, Exact, ImplementationSpecific"));
  }
  SUBCASE("a port out of range") {
    Error e = bad("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n  - name: b\n    port: 81\n");
    CHECK(e.where.line == 6);  // the first port has no name, and with several ports it needs one
    CHECK(has(e.detail, "Service default/web: port 80 has no name"));
    Error range = bad("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 70000\n");
    CHECK(range.where.line == 6);
    CHECK(has(range.detail, "spec.ports[0].port = 70000 is out of range"));
    CHECK(has(range.hint, "1 to 65535"));
  }
  SUBCASE("a string where a number is expected") {
    Error e = bad("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: \"80\"\n");
    CHECK(e.where.line == 6);
    CHECK(has(e.detail, "spec.ports[0].port must be a number, not the string \"80\""));
  }
  SUBCASE("negative replicas") {
    Error e = bad("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: -1\n");
    CHECK(e.where.line == 5);
    CHECK(has(e.detail, "Deployment default/web: spec.replicas = -1 is out of range"));
  }
  SUBCASE("selector does not match the template's labels") {
    Error e = bad(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: web, image: nginx}]
)");
    CHECK(e.where.line == 6);
    CHECK(has(e.detail, "`selector` {app=web} does not match template `labels`"));
    CHECK(has(e.detail, "spec.template.metadata.labels"));
  }
  SUBCASE("a named targetPort") {
    Error e = bad("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n    targetPort: http\n");
    CHECK(e.where.line == 7);
    CHECK(has(e.detail, "spec.ports[0].targetPort \"http\" is a named port: named target ports are not supported"));
  }
  SUBCASE("YAML syntax") {
    Error e = bad("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web\n");
    CHECK(e.where.line == 5);
    CHECK(has(e.detail, "YAML syntax error"));
    Error stray = bad("apiVersion: v1\n---\n, kind: Pod\n");  // yaml-cpp alone would loop forever here
    CHECK(stray.where.line == 3);
    CHECK(has(stray.detail, "YAML syntax error"));
  }
  SUBCASE("a name with '/'") {
    Error e = bad("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web/1\n");
    CHECK(e.where.line == 4);
    CHECK(has(e.detail, "metadata.name \"web/1\" must not contain '/'"));
  }
  SUBCASE("a TLS listener") {
    Error e = bad(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kn-lab
  listeners:
  - name: tls
    port: 443
    protocol: TLS
)");
    CHECK(e.where.line == 9);
    CHECK(has(e.detail, "Gateway default/gw: spec.listeners[0].protocol TLS"));
    CHECK(has(e.hint, "HTTP, HTTPS"));
  }
  SUBCASE("allowedRoutes from Selector") {
    Error e = bad(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kn-lab
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Selector
)");
    CHECK(e.where.line == 12);
    CHECK(has(e.detail, "spec.listeners[0].allowedRoutes.namespaces.from Selector is not supported"));
    CHECK(has(e.hint, "Same"));
  }
  SUBCASE("a backendRef that is not a Service") {
    Error e = bad(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: web}
spec:
  rules:
  - backendRefs:
    - name: api
      kind: Pod
      port: 80
)");
    CHECK(e.where.line == 8);
    CHECK(has(e.detail, "HTTPRoute web/r: spec.rules[0].backendRefs[0]: backendRef kind Pod is not supported"));
  }
  SUBCASE("two containers") {
    Error e = bad(R"(apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: a
    image: nginx
  - name: b
    image: alpine
)");
    CHECK(e.where.line == 8);
    CHECK(has(e.detail, "spec.containers has 2 containers: a manifest gives one image per pod"));
    CHECK(has(e.hint, "lab file"));
  }
  SUBCASE("a Secret that is not PEM") {
    Error e = bad(R"(apiVersion: v1
kind: Secret
metadata: {name: site}
type: kubernetes.io/tls
stringData:
  tls.key: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"
  tls.crt: hello
)");
    CHECK(e.where.line == 7);
    CHECK(has(e.detail, "stringData[tls.crt]: not PEM: expected a -----BEGIN CERTIFICATE----- block"));
  }
  SUBCASE("Secret data that is not base64") {
    Error e = bad("apiVersion: v1\nkind: Secret\nmetadata: {name: site}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: \"!!\"\n");
    CHECK(e.where.line == 6);
    CHECK(has(e.detail, "data[tls.crt] is not valid base64"));
  }
  SUBCASE("an Opaque Secret") {
    Error e = bad("apiVersion: v1\nkind: Secret\nmetadata: {name: site}\ntype: Opaque\n");
    CHECK(e.where.line == 4);
    CHECK(has(e.detail, "type \"Opaque\" is not supported"));
  }
  SUBCASE("a nodePort on a ClusterIP Service") {
    Error e = bad("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n    nodePort: 30001\n");
    CHECK(e.where.line == 7);
    CHECK(has(e.detail, "Service default/web: a node port is set on a ClusterIP service"));
  }
  SUBCASE("a map where a string is expected") {
    Error e = bad("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  nodeName: {a: b}\n  containers: [{name: a, image: nginx}]\n");
    CHECK(e.where.line == 5);
    CHECK(has(e.detail, "spec.nodeName must be a string, not a mapping"));
  }
  SUBCASE("an HTTPS listener without certificates") {
    Error e = bad(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kn-lab
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls:
      mode: Terminate
)");
    CHECK(e.where.line == 11);
    CHECK(has(e.detail, "spec.listeners[0].tls.certificateRefs is required"));
  }
  SUBCASE("a path that is not absolute") {
    Error e = bad(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - matches:
    - path: {type: PathPrefix, value: api}
)");
    CHECK(e.where.line == 7);
    CHECK(has(e.detail, "spec.rules[0].matches[0].path.value \"api\" must be an absolute path"));
  }
  SUBCASE("ReplacePrefixMatch without a PathPrefix match") {
    Error e = bad(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - matches:
    - path: {type: Exact, value: /a}
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}
)");
    CHECK(e.where.line == 9);
    CHECK(has(e.detail, "spec.rules[0].filters[0]: ReplacePrefixMatch needs"));
  }
  SUBCASE("a duplicate field") {
    Error e = bad("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n");
    CHECK(e.where.line == 5);
    CHECK(has(e.detail, "field metadata.name appears twice"));
  }
  SUBCASE("an object defined twice") {
    Error e = bad("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
    CHECK(e.where.line == 5);
    CHECK(has(e.detail, "Namespace a: defined twice"));
    CHECK(has(e.hint, "bad.yaml:1:1"));
  }
  SUBCASE("an alias inside its own anchor") {
    Error e = bad("apiVersion: v1\nkind: Namespace\nmetadata: &m {name: a, x: *m}\n");
    CHECK(e.where.line == 3);
    CHECK(has(e.detail, "nested more than"));
  }
  SUBCASE("aliases that expand a few lines into very many values") {
    std::string text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nstatus:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'g'; ++c) {
      std::string ten;
      for (int i = 0; i < 10; ++i) ten += fmt::format("{}*{}", i ? ", " : "", static_cast<char>(c - 1));
      text += fmt::format("  {}: &{} [{}]\n", c, c, ten);  // g: 10^7 values
    }
    Error e = bad(text);
    CHECK(has(e.detail, "more than 20000 values"));
  }
  SUBCASE("text that is not UTF-8") {
    Error e = bad("apiVersion: v1\nkind: Namespace\nmetadata: {name: caf\xe9}\n");
    CHECK(e.where.line == 3);
    CHECK(e.where.column == 21);
    CHECK(has(e.detail, "not valid UTF-8"));
  }
}

TEST_CASE("apply_manifest: replace by identity, nodes for pods, nothing changed on failure") {
  Lab lab;
  lab.nodes.resize(3);
  lab.nodes[0].name = "node1";
  lab.nodes[1].name = "node2";
  lab.nodes[2].name = "node3";
  PodSpec existing;
  existing.name = "old";
  existing.node = "node1";
  lab.pods.push_back(existing);
  ServiceSpec svc;
  svc.name = "web";
  lab.services.push_back(svc);

  auto m = parse_manifests(R"(apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: NodePort, ports: [{port: 8080}]}
)",
                           "apply.yaml");
  REQUIRE(m.has_value());
  Manifest first = *load_manifests(data_dir() + "/httproute.yaml");
  REQUIRE(apply_manifest(lab, *m));
  REQUIRE(apply_manifest(lab, first));
  REQUIRE(lab.pods.size() == 4);
  CHECK(lab.pods[1].node == "node2");  // fewest pods: node2 and node3 have none, node2 comes first
  CHECK(lab.pods[2].node == "node3");
  CHECK(lab.pods[3].node == "node1");  // all have one: the first
  REQUIRE(lab.services.size() == 1);   // replaced, not added
  CHECK(lab.services[0].type == ServiceType::kNodePort);
  CHECK(lab.services[0].ports[0].port == 8080);
  REQUIRE(lab.l7.http_routes.size() == 1);

  // Applying again changes nothing: same identities, pods stay on their nodes.
  REQUIRE(apply_manifest(lab, *m));
  REQUIRE(apply_manifest(lab, first));
  CHECK(lab.pods.size() == 4);
  CHECK(lab.pods[1].node == "node2");
  CHECK(lab.pods[3].node == "node1");
  CHECK(lab.l7.http_routes.size() == 1);

  auto pinned = parse_manifests("apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec:\n  nodeName: node9\n"
                                "  containers: [{name: c, image: nginx}]\n---\n"
                                "apiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n",
                                "pinned.yaml");
  REQUIRE(pinned.has_value());
  auto r = apply_manifest(lab, *pinned);
  REQUIRE_FALSE(r);
  CHECK(r.error().where.line == 1);
  CHECK(has(r.error().detail, "\"node9\""));
  CHECK(has(r.error().hint, "node1, node2, node3"));
  CHECK(lab.pods.size() == 4);  // unchanged
  CHECK(lab.l7.namespaces.empty());

  std::vector<std::string> missing;
  delete_manifest(lab, *m, missing);
  CHECK(missing.empty());
  CHECK(lab.pods.size() == 1);
  CHECK(lab.services.empty());
  delete_manifest(lab, *m, missing);
  CHECK(missing == std::vector<std::string>{"pod/a", "pod/b", "pod/c", "service/web"});
}

TEST_CASE("deleting a Namespace deletes what is in it") {
  Lab lab;
  lab.nodes.resize(2);
  lab.nodes[0].name = "node1";
  lab.nodes[1].name = "node2";
  Manifest app = load("app.yaml");
  Manifest routes = load("routes.yaml");
  REQUIRE(apply_manifest(lab, app));
  REQUIRE(apply_manifest(lab, routes));
  CHECK(lab.pods[0].node == "node2");  // its spec.nodeName
  auto ns = parse_manifests("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n", "ns.yaml");
  std::vector<std::string> missing;
  delete_manifest(lab, *ns, missing);
  CHECK(missing.empty());
  CHECK(lab.deployments.empty());
  CHECK(lab.services.empty());
  CHECK(lab.l7.http_routes.empty());      // it was in shop
  CHECK(lab.l7.l4_routes.size() == 2);    // in default
  CHECK(lab.pods.size() == 1);            // client, in default
}

TEST_CASE("load_manifests: missing files and empty directories are input errors") {
  auto missing = load_manifests(data_dir() + "/nope.yaml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::kInput);
  auto empty = load_manifests(std::string(KNLAB_SOURCE_DIR) + "/src/core");
  REQUIRE_FALSE(empty);
  CHECK(has(empty.error().detail, "no *.yaml"));
}

TEST_CASE("the manifest parser survives arbitrary bytes (fuzz smoke)") {
  std::string s = read(data_dir() + "/routes.yaml");
  unsigned seed = 4242;
  int accepted = 0, refused = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string t = s;
    for (int k = 0; k < 4; ++k) {
      seed = seed * 1103515245u + 12345u;
      std::size_t pos = (seed >> 8) % t.size();
      t[pos] = static_cast<char>((seed >> 16) & 0xff);
    }
    auto m = parse_manifests(t, "fuzz.yaml");  // must not crash or throw
    if (m) {
      CHECK(parse_manifests(l7_yaml(m->l7), "record.yaml").has_value());
      ++accepted;
    } else {
      CHECK(m.error().kind == ErrorKind::kInput);
      CHECK(m.error().where.file == "fuzz.yaml");
      ++refused;
    }
  }
  CHECK(refused > 0);
  CHECK(accepted + refused == 1500);
}
