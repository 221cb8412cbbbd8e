// nginx as the L7 data plane: generated configurations against expected files
// (tests/unit/data/nginx/*.conf; KNLAB_UPDATE_GOLDEN=1 rewrites them), `nginx -t` on each, and
// the Gateway API status conditions.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "gateway_builders.hpp"
#include "plan/nginx.hpp"

using namespace knlab;
using knlab::test::listener;
using knlab::test::parent;

namespace {

const std::string kData = std::string(KNLAB_SOURCE_DIR) + "/tests/unit/data/nginx";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

ServicePortPlan sport(std::uint16_t port, std::uint16_t target, std::string name = {},
                      std::string protocol = "TCP") {
  ServicePortPlan p;
  p.name = std::move(name);
  p.protocol = std::move(protocol);
  p.port = port;
  p.target_port = target;
  return p;
}

ServicePlan service(std::string ns, std::string name, std::vector<ServicePortPlan> ports,
                    std::vector<const char*> ips, const char* cluster_ip = "10.96.0.100") {
  ServicePlan s;
  s.spec.ns = std::move(ns);
  s.spec.name = std::move(name);
  s.cluster_ip = ip(cluster_ip);
  s.ports = std::move(ports);
  int i = 0;
  for (const char* a : ips)
    s.endpoints.push_back(
        EndpointPlan{s.spec.name + "-pod-" + std::to_string(i++), "node1", ip(a)});
  return s;
}

ObjectMeta meta(std::string ns, std::string name) {
  ObjectMeta m;
  m.ns = std::move(ns);
  m.name = std::move(name);
  return m;
}

SecretSpec secret(std::string ns, std::string name) {
  SecretSpec s;
  s.meta = meta(std::move(ns), std::move(name));
  s.cert_pem = read_file(kData + "/tls.crt");
  s.key_pem = read_file(kData + "/tls.key");
  return s;
}

// The lab's Services, the data planes, and nothing else.
LabPlan base_plan() {
  LabPlan p;
  p.lab = "test";
  p.services.push_back(
      service("default", "api", {sport(80, 8080, "http")}, {"10.244.1.2", "10.244.2.2"}));
  p.services.push_back(service("default", "web", {sport(80, 80)}, {"10.244.1.3"}));
  p.services.push_back(service("default", "empty", {sport(80, 80)}, {}));
  p.services.push_back(service("default", "api-v1", {sport(80, 8080)}, {"10.244.1.4"}));
  p.services.push_back(
      service("default", "api-v2", {sport(80, 8080)}, {"10.244.2.4", "10.244.2.5"}));
  p.services.push_back(service("other", "shop", {sport(8080, 8080)}, {"10.244.1.6"}));
  p.services.push_back(
      service("default", "echo", {sport(9000, 9000)}, {"10.244.1.7", "10.244.2.7"}));
  p.services.push_back(service("default", "echo2", {sport(9000, 9001)}, {"10.244.1.8"}));
  p.services.push_back(service("default", "dns", {sport(53, 5353, "dns", "UDP")}, {"10.244.1.9"}));
  ServicePlan ingress_svc =
      service("ingress-nginx", "ingress-nginx-controller",
              {sport(80, 80, "http"), sport(443, 443, "https")}, {"10.244.1.10"}, "10.96.0.50");
  p.services.push_back(ingress_svc);
  ServicePlan gw_svc =
      service("default", "my-gateway-nginx", {sport(80, 80)}, {"10.244.1.11"}, "10.96.0.60");
  gw_svc.lb_ip = ip("192.168.56.200");
  p.services.push_back(gw_svc);

  DataPlanePlan ing;
  ing.kind = DataPlanePlan::Kind::kIngress;
  ing.ns = "ingress-nginx";
  ing.name = "ingress-nginx-controller";
  ing.dir = "/run/kn-lab/test/nginx/ingress-nginx.ingress-nginx-controller";
  p.data_planes.push_back(ing);
  DataPlanePlan gw;
  gw.kind = DataPlanePlan::Kind::kGateway;
  gw.ns = "default";
  gw.name = "my-gateway-nginx";
  gw.gateway = "my-gateway";
  gw.gateway_ns = "default";
  gw.dir = "/run/kn-lab/test/nginx/default.my-gateway-nginx";
  p.data_planes.push_back(gw);

  GatewayClassSpec gc;
  gc.meta = meta("", "kn-lab");
  gc.controller = kGatewayController;
  p.l7.gateway_classes.push_back(gc);
  return p;
}

const DataPlanePlan& ingress_dp(const LabPlan& p) {
  return p.data_planes[0];
}
const DataPlanePlan& gateway_dp(const LabPlan& p) {
  return p.data_planes[1];
}

IngressPath ipath(std::string path, IngressPathType type, std::string svc, std::uint16_t port,
                  std::string port_name = {}) {
  IngressPath p;
  p.path = std::move(path);
  p.type = type;
  p.backend.service = std::move(svc);
  p.backend.port = port;
  p.backend.port_name = std::move(port_name);
  return p;
}

IngressSpec ingress(std::string ns, std::string name, std::vector<IngressRule> rules) {
  IngressSpec i;
  i.meta = meta(std::move(ns), std::move(name));
  i.class_name = "nginx";
  i.rules = std::move(rules);
  return i;
}

// The course's Ingress: /api (Prefix) -> api:80, with rewrite-target "/".
IngressSpec course_ingress() {
  IngressSpec i = ingress("default", "ingress",
                          {IngressRule{"", {ipath("/api", IngressPathType::kPrefix, "api", 80)}}});
  i.meta.annotations["nginx.ingress.kubernetes.io/rewrite-target"] = "/";
  return i;
}

GatewaySpec gateway(std::vector<ListenerSpec> listeners, std::string name = "my-gateway") {
  GatewaySpec g;
  g.meta = meta("default", std::move(name));
  g.class_name = "kn-lab";
  g.listeners = std::move(listeners);
  return g;
}

BackendRef backend(std::string name, std::uint16_t port, int weight = 1, std::string ns = {}) {
  BackendRef b;
  b.name = std::move(name);
  b.port = port;
  b.weight = weight;
  b.ns = std::move(ns);
  return b;
}

HttpMatch prefix(std::string value) {
  HttpMatch m;
  m.path = PathMatch{PathMatchType::kPathPrefix, std::move(value)};
  return m;
}

HttpRouteRule rule(std::vector<HttpMatch> matches, std::vector<BackendRef> backends,
                   std::vector<HttpFilter> filters = {}) {
  HttpRouteRule r;
  r.matches = std::move(matches);
  r.backends = std::move(backends);
  r.filters = std::move(filters);
  return r;
}

HttpRouteSpec http_route(std::string ns, std::string name, std::vector<ParentRef> parents,
                         std::vector<HttpRouteRule> rules,
                         std::vector<std::string> hostnames = {}) {
  HttpRouteSpec r;
  r.meta = meta(std::move(ns), std::move(name));
  r.parents = std::move(parents);
  r.rules = std::move(rules);
  r.hostnames = std::move(hostnames);
  return r;
}

ReferenceGrantSpec grant(std::string ns, std::string from_kind, std::string from_ns,
                         std::string to_kind, std::string to_name = {}) {
  ReferenceGrantSpec g;
  g.meta = meta(std::move(ns), "allow-" + from_ns);
  g.from.push_back({"gateway.networking.k8s.io", std::move(from_kind), std::move(from_ns)});
  g.to.push_back({"", std::move(to_kind), std::move(to_name)});
  return g;
}

// --- the representative sets -----------------------------------------------------------------

LabPlan ingress_course() {
  LabPlan p = base_plan();
  p.l7.ingresses.push_back(course_ingress());
  return p;
}

LabPlan ingress_hosts() {
  LabPlan p = base_plan();
  IngressSpec a = ingress(
      "default", "app",
      {IngressRule{"app.example.com",
                   {ipath("/login", IngressPathType::kExact, "web", 80),
                    ipath("/api", IngressPathType::kPrefix, "api", 0, "http"),
                    ipath("/", IngressPathType::kPrefix, "web", 80)}},
       IngressRule{"shop.example.com",
                   {ipath("/", IngressPathType::kPrefix, "nope", 80),
                    ipath("/empty", IngressPathType::kPrefix, "empty", 80)}},
       IngressRule{"", {ipath("/web", IngressPathType::kImplementationSpecific, "web", 80)}}});
  a.meta.annotations["nginx.ingress.kubernetes.io/proxy-body-size"] = "8m";
  p.l7.ingresses.push_back(a);
  // A second Ingress on the same host: merged; its /api Exact wins over the exact location of
  // the first one's /api Prefix, its /login Exact loses to the first.
  IngressSpec b =
      ingress("default", "more",
              {IngressRule{"app.example.com",
                           {ipath("/static", IngressPathType::kImplementationSpecific, "web", 80),
                            ipath("/api", IngressPathType::kExact, "api-v1", 80),
                            ipath("/login", IngressPathType::kExact, "api", 80)}}});
  p.l7.ingresses.push_back(b);
  // Not ours: another class.
  IngressSpec c = ingress(
      "default", "traefik",
      {IngressRule{"other.example.com", {ipath("/", IngressPathType::kPrefix, "web", 80)}}});
  c.class_name = "traefik";
  p.l7.ingresses.push_back(c);
  return p;
}

LabPlan ingress_regex() {
  LabPlan p = base_plan();
  IngressSpec i = ingress("default", "capture",
                          {IngressRule{"",
                                       {ipath("/something(/|$)(.*)",
                                              IngressPathType::kImplementationSpecific, "api", 80),
                                        ipath("/web", IngressPathType::kExact, "web", 80)}}});
  i.meta.annotations["nginx.ingress.kubernetes.io/rewrite-target"] = "/$2";
  p.l7.ingresses.push_back(i);
  return p;
}

LabPlan ingress_tls() {
  LabPlan p = base_plan();
  p.l7.secrets.push_back(secret("default", "secure-tls"));
  IngressSpec a = ingress(
      "default", "secure",
      {IngressRule{"secure.example.com", {ipath("/", IngressPathType::kPrefix, "web", 80)}},
       IngressRule{"nocert.example.com", {ipath("/", IngressPathType::kPrefix, "web", 80)}}});
  a.tls.push_back(IngressTls{{"secure.example.com"}, "secure-tls"});
  a.tls.push_back(IngressTls{{"nocert.example.com"}, "missing-tls"});
  p.l7.ingresses.push_back(a);
  IngressSpec b =
      ingress("default", "plain",
              {IngressRule{"both.example.com", {ipath("/", IngressPathType::kPrefix, "api", 80)}}});
  b.tls.push_back(IngressTls{{}, "secure-tls"});
  b.meta.annotations["nginx.ingress.kubernetes.io/ssl-redirect"] = "false";
  p.l7.ingresses.push_back(b);
  return p;
}

LabPlan ingress_none() {
  return base_plan();
}

// The course's Gateway and HTTPRoute.
LabPlan gateway_course() {
  LabPlan p = base_plan();
  p.l7.gateways.push_back(gateway({listener("http", ListenerProtocol::kHTTP, 80)}));
  p.l7.http_routes.push_back(
      http_route("default", "api-route", {parent("my-gateway")},
                 {rule({prefix("/api")}, {backend("api", 80)}), rule({}, {backend("web", 80)})}));
  return p;
}

LabPlan gateway_headers() {
  LabPlan p = base_plan();
  p.l7.gateways.push_back(gateway({listener("http", ListenerProtocol::kHTTP, 80)}));
  HttpMatch v2 = prefix("/api");
  v2.headers.push_back(ValueMatch{"X-Version", "v2", false});
  HttpMatch mobile = prefix("/api");
  mobile.headers.push_back(ValueMatch{"User-Agent", ".*(Mobile|Android).*", true});
  mobile.query.push_back(ValueMatch{"debug", "1", false});
  mobile.method = "GET";
  HttpMatch exact;
  exact.path = PathMatch{PathMatchType::kExact, "/api/health"};
  HttpMatch re;
  re.path = PathMatch{PathMatchType::kRegularExpression, "/items/[0-9]+"};

  HttpFilter reqh;
  reqh.type = HttpFilter::Type::kRequestHeaderModifier;
  reqh.headers.set = {{"X-Team", "blue"}};
  reqh.headers.add = {{"X-Trace", "knlab"}};
  reqh.headers.remove = {"X-Debug"};
  HttpFilter resh;
  resh.type = HttpFilter::Type::kResponseHeaderModifier;
  resh.headers.set = {{"X-Served-By", "v2"}};
  resh.headers.add = {{"X-Price", "$5"}};
  resh.headers.remove = {"Server"};
  HttpFilter rewrite;
  rewrite.type = HttpFilter::Type::kURLRewrite;
  rewrite.path = PathModifier{PathModifier::Type::kReplacePrefixMatch, "/"};
  rewrite.hostname = "api.internal";
  HttpFilter full;
  full.type = HttpFilter::Type::kURLRewrite;
  full.path = PathModifier{PathModifier::Type::kReplaceFullPath, "/healthz"};
  HttpFilter redirect;
  redirect.type = HttpFilter::Type::kRequestRedirect;
  redirect.scheme = "https";
  redirect.status_code = 301;
  HttpFilter moved;
  moved.type = HttpFilter::Type::kRequestRedirect;
  moved.path = PathModifier{PathModifier::Type::kReplacePrefixMatch, "/new"};
  moved.port = 8080;

  p.l7.http_routes.push_back(http_route(
      "default", "api-route", {parent("my-gateway", "http")},
      {rule({v2}, {backend("api-v2", 80)}, {reqh, resh, rewrite}),
       rule({mobile}, {backend("api-v1", 80)}), rule({exact}, {backend("api", 80)}, {full}),
       rule({re}, {backend("web", 80)}), rule({prefix("/api")}, {backend("api", 80)})}));
  p.l7.http_routes.push_back(
      http_route("default", "redirects", {parent("my-gateway")},
                 {rule({prefix("/old")}, {}, {moved}), rule({prefix("/secure")}, {}, {redirect})}));
  // A route for one hostname: its own server, which also serves the catch-all route's rules.
  p.l7.http_routes.push_back(http_route("default", "shop-route", {parent("my-gateway")},
                                        {rule({prefix("/")}, {backend("web", 80)})},
                                        {"shop.example.com"}));
  return p;
}

LabPlan gateway_weights() {
  LabPlan p = base_plan();
  p.l7.gateways.push_back(gateway({listener("http", ListenerProtocol::kHTTP, 80)}));
  p.l7.http_routes.push_back(http_route(
      "default", "canary", {parent("my-gateway")},
      {rule({prefix("/")}, {backend("api-v1", 80, 90), backend("api-v2", 80, 10)}),
       rule({prefix("/zero")}, {backend("api-v1", 80, 1), backend("api-v2", 80, 0)}),
       rule({prefix("/broken")},
            {backend("api-v1", 80, 50), backend("missing", 80, 25), backend("empty", 80, 25)})}));
  return p;
}

LabPlan gateway_crossns() {
  LabPlan p = base_plan();
  ListenerSpec l = listener("http", ListenerProtocol::kHTTP, 80);
  l.allowed_from = "All";
  p.l7.gateways.push_back(gateway({l}));
  // From default: allowed by a ReferenceGrant in "other".
  p.l7.http_routes.push_back(
      http_route("default", "shop-granted", {parent("my-gateway")},
                 {rule({prefix("/shop")}, {backend("shop", 8080, 1, "other")})}));
  // From team: no ReferenceGrant for it -> 500.
  p.l7.http_routes.push_back(
      http_route("team", "shop-denied", {parent("my-gateway", "", "default")},
                 {rule({prefix("/team-shop")}, {backend("shop", 8080, 1, "other")})}));
  p.l7.reference_grants.push_back(grant("other", "HTTPRoute", "default", "Service", "shop"));
  return p;
}

LabPlan gateway_https() {
  LabPlan p = base_plan();
  p.l7.secrets.push_back(secret("default", "example-tls"));
  ListenerSpec https = listener("https", ListenerProtocol::kHTTPS, 443, "www.example.com");
  https.certificates.push_back(SecretRef{"example-tls", ""});
  ListenerSpec wild = listener("wildcard", ListenerProtocol::kHTTPS, 443, "*.example.com");
  wild.certificates.push_back(SecretRef{"example-tls", ""});
  ListenerSpec broken = listener("broken", ListenerProtocol::kHTTPS, 8443);
  broken.certificates.push_back(SecretRef{"nope-tls", ""});
  p.l7.gateways.push_back(
      gateway({listener("http", ListenerProtocol::kHTTP, 80), https, wild, broken}));
  HttpFilter redirect;
  redirect.type = HttpFilter::Type::kRequestRedirect;
  redirect.scheme = "https";
  redirect.status_code = 301;
  p.l7.http_routes.push_back(http_route("default", "to-https", {parent("my-gateway", "http")},
                                        {rule({}, {}, {redirect})}));
  p.l7.http_routes.push_back(http_route("default", "www", {parent("my-gateway", "https")},
                                        {rule({}, {backend("web", 80)})}));
  p.l7.http_routes.push_back(http_route("default", "apps", {parent("my-gateway", "wildcard")},
                                        {rule({}, {backend("api", 80)})},
                                        {"api.example.com", "*.example.com"}));
  return p;
}

LabPlan gateway_l4() {
  LabPlan p = base_plan();
  p.l7.gateways.push_back(gateway({listener("tcp", ListenerProtocol::kTCP, 9000),
                                   listener("udp", ListenerProtocol::kUDP, 5353),
                                   listener("tcp-idle", ListenerProtocol::kTCP, 9100)}));
  L4RouteSpec tcp;
  tcp.meta = meta("default", "echo");
  tcp.protocol = ListenerProtocol::kTCP;
  tcp.parents = {parent("my-gateway", "tcp")};
  tcp.backends = {backend("echo", 9000, 3), backend("echo2", 9000, 1)};
  p.l7.l4_routes.push_back(tcp);
  L4RouteSpec udp;
  udp.meta = meta("default", "dns");
  udp.protocol = ListenerProtocol::kUDP;
  udp.parents = {parent("my-gateway")};
  udp.backends = {backend("dns", 53)};
  p.l7.l4_routes.push_back(udp);
  return p;
}

// The data plane's Gateway was deleted: nginx serves nothing (and still starts).
LabPlan gateway_missing() {
  return base_plan();
}

struct Case {
  const char* name;
  LabPlan (*make)();
  bool gateway;
};

const Case kCases[] = {
    {"ingress_course", ingress_course, false},  {"ingress_hosts", ingress_hosts, false},
    {"ingress_regex", ingress_regex, false},    {"ingress_tls", ingress_tls, false},
    {"ingress_none", ingress_none, false},      {"gateway_course", gateway_course, true},
    {"gateway_headers", gateway_headers, true}, {"gateway_weights", gateway_weights, true},
    {"gateway_crossns", gateway_crossns, true}, {"gateway_https", gateway_https, true},
    {"gateway_l4", gateway_l4, true},           {"gateway_missing", gateway_missing, true},
};

std::string conf_of(const Case& c) {
  LabPlan p = c.make();
  auto files = nginx_files(p, c.gateway ? gateway_dp(p) : ingress_dp(p));
  REQUIRE(!files.empty());
  return files.front().second;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const Condition* find_condition(const std::vector<Condition>& cs, const std::string& type) {
  for (const Condition& c : cs)
    if (c.type == type) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("nginx configurations match the expected files (KNLAB_UPDATE_GOLDEN=1 rewrites them)") {
  const char* update = std::getenv("KNLAB_UPDATE_GOLDEN");
  for (const Case& c : kCases) {
    INFO(c.name);
    std::string path = kData + "/" + c.name + ".conf";
    std::string conf = conf_of(c);
    if (update != nullptr && std::string(update) == "1") {
      std::ofstream(path, std::ios::binary) << conf;
      continue;
    }
    std::string expected = read_file(path);
    CHECK_MESSAGE(conf == expected,
                  "generated config differs from " << path << " (KNLAB_UPDATE_GOLDEN=1 to update)");
  }
}

TEST_CASE(
    "nginx_files: nginx.conf first, then each TLS Secret used, under the data plane's directory") {
  LabPlan p = ingress_tls();
  auto files = nginx_files(p, ingress_dp(p));
  const std::string dir = ingress_dp(p).dir;
  REQUIRE(files.size() == 3);
  CHECK(files[0].first == dir + "/nginx.conf");
  CHECK(files[1].first == dir + "/certs/default-secure-tls.crt");
  CHECK(files[1].second == p.l7.secrets[0].cert_pem);
  CHECK(files[2].first == dir + "/certs/default-secure-tls.key");
  CHECK(files[2].second == p.l7.secrets[0].key_pem);
  for (const Case& c : kCases) {
    LabPlan q = c.make();
    const DataPlanePlan& dp = c.gateway ? gateway_dp(q) : ingress_dp(q);
    for (const auto& [path, content] : nginx_files(q, dp)) CHECK(path.starts_with(dp.dir + "/"));
  }
}

TEST_CASE("nginx_argv: foreground, own prefix and config") {
  LabPlan p = base_plan();
  const DataPlanePlan& dp = ingress_dp(p);
  CHECK(nginx_argv(dp) == std::vector<std::string>{"nginx", "-p", dp.dir + "/", "-c",
                                                   dp.dir + "/nginx.conf", "-g", "daemon off;"});
}

TEST_CASE("the configuration keeps its files under the data plane's directory") {
  for (const Case& c : kCases) {
    INFO(c.name);
    std::string conf = conf_of(c);
    std::string dir = c.gateway ? "/run/kn-lab/test/nginx/default.my-gateway-nginx"
                                : "/run/kn-lab/test/nginx/ingress-nginx.ingress-nginx-controller";
    CHECK(contains(conf, "pid " + dir + "/nginx.pid;"));
    CHECK(contains(conf, "error_log " + dir + "/logs/error.log notice;"));
    CHECK(contains(conf, "access_log " + dir + "/logs/access.log knlab;"));
    CHECK(contains(conf, "proxy_temp_path " + dir + "/temp/proxy;"));
    CHECK(contains(conf, "client_body_temp_path " + dir + "/temp/client_body;"));
    CHECK(contains(conf, "worker_processes 1;"));
    CHECK(contains(conf, "worker_shutdown_timeout 10s;"));
    CHECK(contains(conf, "$upstream_addr"));
    CHECK(!contains(conf, "daemon"));
    CHECK(contains(conf, "load_module") == (std::string(c.name) == "gateway_l4"));
  }
}

TEST_CASE(
    "ingress: the course's Ingress with rewrite-target / becomes a regex location that rewrites "
    "the whole URI") {
  std::string conf = conf_of(kCases[0]);
  CHECK(contains(conf, "location ~* \"^/api\" {"));
  CHECK(contains(conf, "rewrite \"(?i)/api\" / break;"));
  CHECK(contains(conf, "proxy_pass http://default_api_80;"));
  CHECK(contains(conf, "server 10.244.1.2:8080 max_fails=0;"));
  CHECK(contains(conf, "server 10.244.2.2:8080 max_fails=0;"));
  CHECK(contains(conf, "keepalive 32;"));
  CHECK(contains(conf, "return 404 \"default backend - 404\";"));
  CHECK(contains(conf, "location = /healthz"));
  CHECK(contains(conf, "# ingress default/ingress, path /api (Prefix) -> service api:80"));
  CHECK(!contains(conf, "listen 443"));
}

TEST_CASE(
    "ingress: hosts merge, Prefix is element-wise, Exact wins, missing and empty Services answer "
    "503") {
  std::string conf = conf_of(kCases[1]);
  CHECK(contains(conf, "server_name app.example.com;"));
  CHECK(contains(conf, "location /api/ {"));
  CHECK(contains(
      conf,
      "# ingress default/more, path /api (Exact) -> service api-v1:80\n    location = /api {"));
  CHECK(contains(
      conf,
      "# ingress default/app, path /login (Exact) -> service web:80\n    location = /login {"));
  CHECK(contains(conf, "return 503;  # Service default/nope does not exist"));
  CHECK(contains(conf, "return 503;  # Service default/empty has no endpoints"));
  CHECK(contains(conf,
                 "annotations kn-lab does not implement (ignored): "
                 "nginx.ingress.kubernetes.io/proxy-body-size"));
  CHECK(!contains(conf, "other.example.com"));  // class traefik
}

TEST_CASE("ingress: TLS hosts listen on 443 with their Secret and redirect port 80 with 308") {
  std::string conf = conf_of(kCases[3]);
  CHECK(contains(conf, "listen 443 ssl default_server;"));
  CHECK(contains(conf,
                 "ssl_certificate "
                 "/run/kn-lab/test/nginx/ingress-nginx.ingress-nginx-controller/certs/"
                 "default-secure-tls.crt;"));
  CHECK(contains(conf, "if ($scheme = http) { return 308 https://$host$request_uri; }"));
  CHECK(contains(conf, "Secret default/missing-tls (ingress default/secure) does not exist"));
  // ssl-redirect "false": TLS but no redirect
  auto both = conf.find("server_name both.example.com;");
  REQUIRE(both != std::string::npos);
  auto end = conf.find("\n  }\n", both);
  CHECK(conf.substr(both, end - both).find("return 308") == std::string::npos);
}

TEST_CASE("ingress_is_ours: class nginx, an IngressClass of ingress-nginx, or the default class") {
  LabPlan p = base_plan();
  IngressSpec i = ingress("default", "x", {});
  CHECK(ingress_is_ours(p, i));
  i.class_name = "";
  CHECK_FALSE(ingress_is_ours(p, i));
  IngressClassSpec c;
  c.meta = meta("", "public");
  c.controller = "k8s.io/ingress-nginx";
  c.is_default = true;
  p.l7.ingress_classes.push_back(c);
  CHECK(ingress_is_ours(p, i));
  i.class_name = "public";
  CHECK(ingress_is_ours(p, i));
  i.class_name = "traefik";
  CHECK_FALSE(ingress_is_ours(p, i));
  IngressClassSpec t;
  t.meta = meta("", "nginx");
  t.controller = "example.com/other";
  p.l7.ingress_classes.push_back(t);
  i.class_name = "nginx";
  CHECK_FALSE(ingress_is_ours(p, i));
}

TEST_CASE("gateway: the dispatch map lists matches in Gateway API precedence order") {
  std::string conf = conf_of(kCases[6]);
  auto pos = [&](const std::string& s) {
    auto at = conf.find(s);
    CHECK_MESSAGE(at != std::string::npos, s);
    return at;
  };
  // In the catch-all server's map: Exact /api/health, then the regex, then /secure (7 chars),
  // then the /api prefixes: method+header+query, one header, none; then /old.
  std::string start = "$knlab_route_80_any {";
  auto m = pos(start);
  auto exact = conf.find("# default/api-route rule 2 match 0: path Exact /api/health", m);
  auto regex = conf.find("# default/api-route rule 3 match 0: path RegularExpression", m);
  auto secure = conf.find("# default/redirects rule 1 match 0: path PathPrefix /secure", m);
  auto mobile = conf.find("# default/api-route rule 1 match 0", m);
  auto v2 = conf.find("# default/api-route rule 0 match 0", m);
  auto api = conf.find("# default/api-route rule 4 match 0", m);
  auto old = conf.find("# default/redirects rule 0 match 0", m);
  CHECK(exact < regex);
  CHECK(regex < secure);
  CHECK(secure < mobile);
  CHECK(mobile < v2);
  CHECK(v2 < api);
  CHECK(api < old);
  CHECK(contains(conf, "map $http_x_version $knlab_header_2 { default 0; \"~^v2$\" 1; }"));
  CHECK(contains(conf, "map $args $knlab_query_1 { default 0; \"~(^|&)debug=1(&|$)\" 1; }"));
  CHECK(contains(conf, "map $uri $knlab_path_4 { default 0; \"~^/api(/|$)\" 1; }"));
  // ReplacePrefixMatch /api -> /: /api/users reaches the backend as /users
  CHECK(contains(conf, "rewrite \"^/api(/.*)$\" \"$1\" break;"));
  CHECK(contains(conf, "proxy_set_header Host api.internal;"));
  CHECK(contains(conf, "add_header X-Price \"${knlab_dollar}5\" always;"));
  CHECK(contains(conf, "return 301 \"https://$host$request_uri\";"));
  CHECK(contains(conf, "return 302 \"http://$host:8080$knlab_path$is_args$args\";"));
  // The hostname's server: its route first, then the catch-all routes' rules.
  CHECK(contains(conf, "server_name shop.example.com;"));
}

TEST_CASE(
    "gateway: weights become split_clients; weight 0 gets nothing; unresolvable backends 500, "
    "empty ones 503") {
  std::string conf = conf_of(kCases[7]);
  CHECK(contains(conf, "90% default_api-v1_80;\n    * default_api-v2_80;"));
  CHECK(contains(conf, "50% default_api-v1_80;\n    25% knlab_500;\n    * knlab_503;"));
  CHECK(contains(conf, "if ($knlab_split_default_canary_r2 = knlab_500) { return 500; }"));
  CHECK(contains(conf, "default/api-v2:80: weight 0, no traffic"));
}

TEST_CASE("gateway: cross-namespace backends need a ReferenceGrant") {
  std::string conf = conf_of(kCases[8]);
  CHECK(contains(conf, "proxy_pass http://other_shop_8080;"));
  CHECK(contains(
      conf,
      "no ReferenceGrant in namespace other allows HTTPRoute from namespace team to Service shop"));
  auto denied = conf.find("location @team/shop-denied/rule0 {");
  REQUIRE(denied != std::string::npos);
  CHECK(conf.find("return 500;", denied) < conf.find("}", denied));
}

TEST_CASE("gateway: TCPRoute and UDPRoute are stream servers with weights") {
  std::string conf = conf_of(kCases[10]);
  CHECK(conf.starts_with("#"));
  CHECK(contains(conf, "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"));
  CHECK(contains(conf, "listen 9000;"));
  CHECK(contains(conf, "listen 5353 udp;"));
  // echo (weight 3, two endpoints) and echo2 (weight 1, one endpoint): 3:3:2 per endpoint
  CHECK(contains(conf, "server 10.244.1.7:9000 weight=3;"));
  CHECK(contains(conf, "server 10.244.2.7:9000 weight=3;"));
  CHECK(contains(conf, "server 10.244.1.8:9001 weight=2;"));
  CHECK(contains(conf, "server 10.244.1.9:5353;"));
  CHECK(!contains(conf, "listen 9100"));
}

// nginx -t binds the listening sockets: it runs in a network namespace of its own (never the
// host's), an unprivileged one when user namespaces allow it. nginx is a dependency of kn-lab
// (scripts/install-deps.sh installs it) and a private namespace is always available as root:
// the test fails, never skips, when either is missing.
namespace {

std::string private_netns_prefix() {
  if (std::system("unshare -rn true >/dev/null 2>&1") == 0) return "unshare -rn ";
  if (std::system("unshare -n true >/dev/null 2>&1") == 0) return "unshare -n ";
  return "";
}

std::string run(const std::string& cmd, int& rc) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) {
    rc = -1;
    return out;
  }
  char buf[4096];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  rc = pclose(f);
  return out;
}

}  // namespace

TEST_CASE("nginx -t accepts every generated configuration") {
  const char* nginx = "/usr/sbin/nginx";
  REQUIRE_MESSAGE(access(nginx, X_OK) == 0,
                  nginx << " is not installed: scripts/install-deps.sh installs nginx-light");
  const std::string netns = private_netns_prefix();
  REQUIRE_MESSAGE(!netns.empty(), "no private network namespace for nginx -t: run as root, or "
                                  "allow unprivileged user namespaces");
  char tmpl[] = "/tmp/knlab-nginx-test-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  for (const Case& c : kCases) {
    INFO(c.name);
    LabPlan p = c.make();
    DataPlanePlan dp = c.gateway ? gateway_dp(p) : ingress_dp(p);
    dp.dir = root + "/" + c.name;
    std::filesystem::create_directories(dp.dir + "/logs");
    std::filesystem::create_directories(dp.dir + "/temp");
    for (const auto& [path, content] : nginx_files(p, dp)) {
      std::filesystem::create_directories(std::filesystem::path(path).parent_path());
      std::ofstream(path, std::ios::binary) << content;
    }
    std::string cmd =
        netns + nginx + " -t -q -p " + dp.dir + "/ -c " + dp.conf() + " -g 'daemon off;' 2>&1";
    int rc = 0;
    std::string out = run(cmd, rc);
    std::istringstream lines(out);
    for (std::string l; std::getline(lines, l);) {
      if (contains(l, "\"user\" directive makes sense only")) continue;  // not root: expected
      CHECK_MESSAGE(!contains(l, "[warn]"), l);
    }
    CHECK_MESSAGE(rc == 0, cmd << "\n" << out);
  }
  std::filesystem::remove_all(root);
}

// --- status ----------------------------------------------------------------------------------

TEST_CASE("gateway_status: Accepted, Programmed with the LB IP, listeners with attached routes") {
  LabPlan p = gateway_course();
  GatewayStatus st = gateway_status(p, p.l7.gateways[0]);
  const Condition* accepted = find_condition(st.conditions, "Accepted");
  REQUIRE(accepted != nullptr);
  CHECK(accepted->status);
  CHECK(accepted->reason == "Accepted");
  const Condition* programmed = find_condition(st.conditions, "Programmed");
  REQUIRE(programmed != nullptr);
  CHECK(programmed->status);
  CHECK(st.addresses == std::vector<std::string>{"192.168.56.200"});
  REQUIRE(st.listeners.size() == 1);
  CHECK(st.listeners[0].name == "http");
  CHECK(st.listeners[0].attached_routes == 1);
  CHECK(find_condition(st.listeners[0].conditions, "Programmed")->status);
}

TEST_CASE("gateway_status: a missing or foreign GatewayClass is not accepted") {
  LabPlan p = gateway_course();
  p.l7.gateways[0].class_name = "nope";
  GatewayStatus st = gateway_status(p, p.l7.gateways[0]);
  CHECK_FALSE(find_condition(st.conditions, "Accepted")->status);
  CHECK(find_condition(st.conditions, "Accepted")->reason == "NoSuchGatewayClass");
  CHECK_FALSE(find_condition(st.conditions, "Programmed")->status);
  CHECK(st.addresses.empty());
  GatewayClassSpec other;
  other.meta = meta("", "istio");
  other.controller = "istio.io/gateway-controller";
  p.l7.gateway_classes.push_back(other);
  p.l7.gateways[0].class_name = "istio";
  st = gateway_status(p, p.l7.gateways[0]);
  CHECK(find_condition(st.conditions, "Accepted")->reason == "InvalidParameters");
  // and routes cannot attach to it
  auto rs = route_status(p, p.l7.http_routes[0]);
  CHECK(rs[0].conditions[0].reason == "NoMatchingParent");
}

TEST_CASE("gateway_status: HTTPS listeners with a missing or unpermitted certificate") {
  LabPlan p = gateway_https();
  GatewayStatus st = gateway_status(p, p.l7.gateways[0]);
  REQUIRE(st.listeners.size() == 4);
  CHECK(st.listeners[0].attached_routes == 1);  // http: to-https
  CHECK(st.listeners[1].attached_routes == 1);  // https: www
  CHECK(st.listeners[2].attached_routes == 1);  // wildcard: apps
  CHECK(find_condition(st.listeners[1].conditions, "ResolvedRefs")->status);
  const Condition* broken = find_condition(st.listeners[3].conditions, "ResolvedRefs");
  CHECK_FALSE(broken->status);
  CHECK(broken->reason == "InvalidCertificateRef");
  CHECK(contains(broken->message, "Secret default/nope-tls does not exist"));
  CHECK_FALSE(find_condition(st.listeners[3].conditions, "Programmed")->status);

  // A Secret in another namespace: RefNotPermitted until a ReferenceGrant allows it.
  p.l7.secrets.push_back(secret("certs", "shared-tls"));
  p.l7.gateways[0].listeners[3].certificates = {SecretRef{"shared-tls", "certs"}};
  st = gateway_status(p, p.l7.gateways[0]);
  broken = find_condition(st.listeners[3].conditions, "ResolvedRefs");
  CHECK_FALSE(broken->status);
  CHECK(broken->reason == "RefNotPermitted");
  CHECK(contains(broken->message,
                 "no ReferenceGrant in namespace certs allows Gateway from namespace default to "
                 "Secret shared-tls"));
  p.l7.reference_grants.push_back(grant("certs", "Gateway", "default", "Secret"));
  st = gateway_status(p, p.l7.gateways[0]);
  CHECK(find_condition(st.listeners[3].conditions, "ResolvedRefs")->status);
  CHECK(find_condition(st.listeners[3].conditions, "Programmed")->status);
  auto files = nginx_files(p, gateway_dp(p));
  CHECK(std::any_of(files.begin(), files.end(), [](const auto& f) {
    return f.first.ends_with("/certs/certs-shared-tls.crt");
  }));
}

TEST_CASE("gateway_status: conflicting listeners") {
  LabPlan p = gateway_course();
  p.l7.gateways[0].listeners.push_back(listener("tcp80", ListenerProtocol::kTCP, 80));
  p.l7.gateways[0].listeners.push_back(listener("http-again", ListenerProtocol::kHTTP, 80));
  p.l7.gateways[0].listeners.push_back(listener("udp80", ListenerProtocol::kUDP, 80));
  GatewayStatus st = gateway_status(p, p.l7.gateways[0]);
  REQUIRE(st.listeners.size() == 4);
  CHECK(find_condition(st.listeners[1].conditions, "Conflicted")->reason == "ProtocolConflict");
  CHECK(find_condition(st.listeners[2].conditions, "Conflicted")->reason == "HostnameConflict");
  CHECK(find_condition(st.listeners[3].conditions, "Conflicted") == nullptr);
  CHECK_FALSE(find_condition(st.listeners[1].conditions, "Programmed")->status);
}

TEST_CASE("route_status: Accepted and ResolvedRefs") {
  LabPlan p = gateway_course();
  auto st = route_status(p, p.l7.http_routes[0]);
  REQUIRE(st.size() == 1);
  CHECK(st[0].parent == "default/my-gateway");
  CHECK(st[0].conditions[0].type == "Accepted");
  CHECK(st[0].conditions[0].status);
  CHECK(st[0].conditions[0].reason == "Accepted");
  CHECK(st[0].conditions[1].type == "ResolvedRefs");
  CHECK(st[0].conditions[1].status);
  CHECK(st[0].conditions[1].reason == "ResolvedRefs");
}

TEST_CASE("route_status: NoMatchingParent (no gateway, no such listener, wrong port or protocol)") {
  LabPlan p = gateway_course();
  HttpRouteSpec r = p.l7.http_routes[0];
  r.parents = {parent("nope")};
  auto st = route_status(p, r);
  CHECK_FALSE(st[0].conditions[0].status);
  CHECK(st[0].conditions[0].reason == "NoMatchingParent");
  CHECK(contains(st[0].conditions[0].message, "Gateway default/nope does not exist"));
  r.parents = {parent("my-gateway", "https")};
  st = route_status(p, r);
  CHECK(st[0].parent == "default/my-gateway/https");
  CHECK(st[0].conditions[0].reason == "NoMatchingParent");
  r.parents = {parent("my-gateway")};
  r.parents[0].port = 8080;
  CHECK(route_status(p, r)[0].conditions[0].reason == "NoMatchingParent");
  L4RouteSpec tcp;
  tcp.meta = meta("default", "tcp");
  tcp.parents = {parent("my-gateway")};
  tcp.backends = {backend("echo", 9000)};
  st = route_status(p, tcp);
  CHECK(st[0].conditions[0].reason == "NoMatchingParent");
  CHECK(contains(st[0].conditions[0].message, "no TCP listener"));
}

TEST_CASE("route_status: NotAllowedByListeners (Same namespace) and All") {
  LabPlan p = gateway_course();
  HttpRouteSpec r = http_route("team", "x", {parent("my-gateway", "", "default")},
                               {rule({}, {backend("web", 80, 1, "default")})});
  auto st = route_status(p, r);
  CHECK(st[0].conditions[0].reason == "NotAllowedByListeners");
  p.l7.gateways[0].listeners[0].allowed_from = "All";
  st = route_status(p, r);
  CHECK(st[0].conditions[0].reason == "Accepted");
}

TEST_CASE("route_status: NoMatchingListenerHostname, wildcard intersections") {
  LabPlan p = gateway_course();
  p.l7.gateways[0].listeners[0].hostname = "*.example.com";
  HttpRouteSpec r = http_route("default", "x", {parent("my-gateway")},
                               {rule({}, {backend("web", 80)})}, {"example.org"});
  CHECK(route_status(p, r)[0].conditions[0].reason == "NoMatchingListenerHostname");
  r.hostnames = {"example.com"};  // *.example.com does not cover example.com itself
  CHECK(route_status(p, r)[0].conditions[0].reason == "NoMatchingListenerHostname");
  r.hostnames = {"a.b.example.com"};
  CHECK(route_status(p, r)[0].conditions[0].reason == "Accepted");
}

TEST_CASE("route_status: BackendNotFound and RefNotPermitted") {
  LabPlan p = gateway_crossns();
  p.l7.gateways[0].listeners[0].allowed_from = "All";
  auto st = route_status(p, p.l7.http_routes[0]);  // granted
  CHECK(st[0].conditions[1].status);
  st = route_status(p, p.l7.http_routes[1]);  // team -> other, no grant
  CHECK(st[0].conditions[0].status);          // still attached
  CHECK_FALSE(st[0].conditions[1].status);
  CHECK(st[0].conditions[1].reason == "RefNotPermitted");
  CHECK(contains(
      st[0].conditions[1].message,
      "no ReferenceGrant in namespace other allows HTTPRoute from namespace team to Service shop"));
  LabPlan q = gateway_weights();
  st = route_status(q, q.l7.http_routes[0]);
  CHECK(st[0].conditions[1].reason == "BackendNotFound");
  CHECK(contains(st[0].conditions[1].message, "Service default/missing does not exist"));
  HttpRouteSpec r = q.l7.http_routes[0];
  r.rules = {rule({}, {backend("api", 81)})};
  CHECK(contains(route_status(q, r)[0].conditions[1].message,
                 "Service default/api has no TCP port 81"));
  // a grant for another Service does not count
  LabPlan c = gateway_crossns();
  c.l7.reference_grants[0].to[0].name = "other-service";
  CHECK(route_status(c, c.l7.http_routes[0])[0].conditions[1].reason == "RefNotPermitted");
}

TEST_CASE("route_status: TCPRoute and UDPRoute") {
  LabPlan p = gateway_l4();
  auto st = route_status(p, p.l7.l4_routes[0]);
  REQUIRE(st.size() == 1);
  CHECK(st[0].parent == "default/my-gateway/tcp");
  CHECK(st[0].conditions[0].status);
  CHECK(st[0].conditions[1].status);
  st = route_status(p, p.l7.l4_routes[1]);
  CHECK(st[0].conditions[0].status);
  GatewayStatus gs = gateway_status(p, p.l7.gateways[0]);
  CHECK(gs.listeners[0].attached_routes == 1);
  CHECK(gs.listeners[1].attached_routes == 1);
  CHECK(gs.listeners[2].attached_routes == 0);
}

TEST_CASE("ingress: spec.defaultBackend answers what no rule matches") {
  LabPlan p = base_plan();
  IngressSpec i = ingress("default", "fallback", {});
  i.default_backend = IngressBackend{"web", 80, ""};
  p.l7.ingresses.push_back(i);
  std::string conf = nginx_files(p, ingress_dp(p)).front().second;
  CHECK(
      contains(conf,
               "# no rule matches: ingress default/fallback spec.defaultBackend -> service web:80\n"
               "    location / {\n      proxy_pass http://default_web_80;"));
  CHECK(!contains(conf, "default backend - 404"));
}

TEST_CASE("ingress: in regex mode an Exact path is anchored, a Prefix path is not") {
  std::string conf = conf_of(kCases[2]);
  CHECK(contains(conf, "location ~* \"^/web$\" {"));
  CHECK(contains(conf, "location ~* \"^/something(/|$)(.*)\" {"));
  CHECK(contains(conf, "rewrite \"(?i)/something(/|$)(.*)\" /$2 break;"));
}

TEST_CASE("gateway: without its Gateway, or of another class, the data plane serves nothing") {
  LabPlan p = base_plan();
  std::string conf = nginx_files(p, gateway_dp(p)).front().second;
  CHECK(contains(conf, "Gateway default/my-gateway does not exist: nothing to serve."));
  CHECK(!contains(conf, "server {"));
  p = gateway_course();
  p.l7.gateways[0].class_name = "other";
  conf = nginx_files(p, gateway_dp(p)).front().second;
  CHECK(contains(conf, "GatewayClass \"other\" does not exist: nothing to serve."));
  CHECK(!contains(conf, "server {"));
}

TEST_CASE("gateway: a request goes to the listener with the most specific hostname") {
  LabPlan p = gateway_course();
  p.l7.gateways[0].listeners.push_back(
      listener("shop", ListenerProtocol::kHTTP, 80, "*.example.com"));
  p.l7.http_routes.push_back(http_route("default", "shop", {parent("my-gateway", "shop")},
                                        {rule({prefix("/shop")}, {backend("web", 80)})}));
  std::string conf = nginx_files(p, gateway_dp(p)).front().second;
  // *.example.com: only the shop listener's route (api-route is on both listeners, but a request
  // for a.example.com belongs to the more specific one).
  auto at = conf.find("server_name *.example.com;");
  REQUIRE(at != std::string::npos);
  auto end = conf.find("\n  }\n", at);
  std::string server = conf.substr(at, end - at);
  CHECK(contains(server, "@default/shop/rule0"));
  CHECK(contains(server, "@default/api-route/rule0"));
  CHECK(contains(conf, "server_name _;"));
  GatewayStatus st = gateway_status(p, p.l7.gateways[0]);
  CHECK(st.listeners[0].attached_routes == 1);
  CHECK(st.listeners[1].attached_routes == 2);
}

TEST_CASE("gateway: a refused backend answers 500 even when the rule rewrites the path") {
  // `rewrite ... break` ends the rewrite module's directives: the 500 must come before it, or
  // nginx falls through to its static handler (a 404 that hides why the route fails).
  LabPlan p = gateway_crossns();
  HttpFilter rewrite;
  rewrite.type = HttpFilter::Type::kURLRewrite;
  rewrite.path = PathModifier{PathModifier::Type::kReplacePrefixMatch, "/"};
  p.l7.http_routes[1].rules[0].filters.push_back(rewrite);
  std::string conf = nginx_files(p, gateway_dp(p)).front().second;
  auto denied = conf.find("location @team/shop-denied/rule0");
  REQUIRE(denied != std::string::npos);
  auto end = conf.find("}", denied);
  auto ret = conf.find("return 500;", denied);
  REQUIRE(ret < end);
  auto rw = conf.find("rewrite ", denied);
  CHECK((rw == std::string::npos || rw > end));
}

TEST_CASE("upstreams of a-b/c and a/b-c are two upstreams ('-' is in names, '_' is not)") {
  LabPlan p = base_plan();
  p.services.push_back(service("a-b", "c", {sport(80, 80)}, {"10.244.1.20"}));
  p.services.push_back(service("a", "b-c", {sport(80, 80)}, {"10.244.1.21"}));
  IngressSpec one = ingress("a-b", "one", {IngressRule{"one.example", {ipath("/", IngressPathType::kPrefix, "c", 80)}}});
  IngressSpec two = ingress("a", "two", {IngressRule{"two.example", {ipath("/", IngressPathType::kPrefix, "b-c", 80)}}});
  p.l7.ingresses = {one, two};
  auto files = nginx_files(p, ingress_dp(p));
  REQUIRE(!files.empty());
  const std::string& conf = files.front().second;
  CHECK(contains(conf, "upstream a-b_c_80 {"));
  CHECK(contains(conf, "upstream a_b-c_80 {"));
  CHECK(contains(conf, "server 10.244.1.20:80"));
  CHECK(contains(conf, "server 10.244.1.21:80"));
}
