// trace/nginx_match: which server, location and upstream nginx picks for a request, on the
// configurations kn-lab generates (tests/unit/data/nginx/*.conf, built in test_nginx.cpp) and on
// hand-written ones for the nginx rules the generator does not use. The expected lines are found
// in the files by their text, so the tests name what they mean ("the server of
// app.example.com"). Checked against the real nginx by hand: the same statuses, Location
// headers, $uri and $upstream_addr for thousands of random requests to every file.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "trace/nginx_match.hpp"

using namespace knlab;
using namespace knlab::trace;

namespace {

const std::string kData = std::string(KNLAB_SOURCE_DIR) + "/tests/unit/data/nginx";

std::string conf_file(const std::string& name) {
  std::ifstream in(kData + "/" + name + ".conf", std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::string_view l : split(text, '\n')) out.emplace_back(l);
  return out;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

// The 1-based line at or after `from` that is `text` (leading spaces aside).
int line_of(const std::string& conf, std::string_view text, int from = 1) {
  std::vector<std::string> ls = lines_of(conf);
  for (auto i = static_cast<std::size_t>(from - 1); i < ls.size(); ++i)
    if (trimmed(ls[i]) == text) return static_cast<int>(i) + 1;
  FAIL("no line " << text);
  return 0;
}

// The `server {` line of the server block holding the line `marker` (after line `from`).
int server_with(const std::string& conf, std::string_view marker, int from = 1) {
  std::vector<std::string> ls = lines_of(conf);
  for (int i = line_of(conf, marker, from); i > 0; --i)
    if (trimmed(ls[static_cast<std::size_t>(i - 1)]) == "server {") return i;
  FAIL("no server around " << marker);
  return 0;
}

L7Request req(std::string host, std::string path, std::uint16_t port = 80, bool https = false) {
  L7Request r;
  r.host = std::move(host);
  r.port = port;
  r.https = https;
  if (auto q = path.find('?'); q != std::string::npos) {
    r.query = path.substr(q + 1);
    path.resize(q);
  }
  r.path = std::move(path);
  return r;
}

L7Match match(const std::string& conf, const L7Request& r) {
  Result<L7Match> m = nginx_match(conf, r);
  REQUIRE_MESSAGE(m.has_value(), m.error().format());
  return *m;
}

// "default_api_80 = 10.244.1.2:8080 10.244.2.2:8080" per upstream.
std::vector<std::string> upstreams(const L7Match& m) {
  std::vector<std::string> out;
  for (const L7Upstream& u : m.upstreams) {
    std::string s = u.name + " =";
    for (const L7Server& srv : u.servers) s += " " + srv.address;
    out.push_back(s);
  }
  return out;
}

void check_step(const L7Match& m, std::string_view part) {
  bool found = false;
  for (const std::string& s : m.steps) found = found || s.find(part) != std::string::npos;
  CHECK_MESSAGE(found, "no step with \"" << part << "\" in:\n" << join(m.steps, "\n"));
}

const std::vector<std::string> kApi = {"default_api_80 = 10.244.1.2:8080 10.244.2.2:8080"};
const std::vector<std::string> kWeb = {"default_web_80 = 10.244.1.3:80"};
const std::vector<std::string> kApiV1 = {"default_api-v1_80 = 10.244.1.4:8080"};
const std::vector<std::string> kApiV2 = {"default_api-v2_80 = 10.244.2.4:8080 10.244.2.5:8080"};
const std::vector<std::string> kNone = {};
const std::string kDefault404 = "return 404 \"default backend - 404\"";

}  // namespace

// --- Ingress -------------------------------------------------------------------------------------

TEST_CASE("nginx match: the course's Ingress (/api Prefix, rewrite-target /) on the default server") {
  const std::string c = conf_file("ingress_course");
  const int srv = line_of(c, "server {");

  L7Match m = match(c, req("demo.local", "/api/users?page=2"));
  CHECK(m.server_line == srv);
  CHECK(m.server == "listen 80 default_server; server_name _");
  CHECK(m.location_line == line_of(c, "location ~* \"^/api\" {"));
  CHECK(m.location == "~* \"^/api\"");
  CHECK(m.comment == "ingress default/ingress, path /api (Prefix) -> service api:80");
  CHECK(m.action == "proxy_pass http://default_api_80");
  CHECK(upstreams(m) == kApi);
  REQUIRE(m.upstreams.size() == 1);
  CHECK(m.upstreams[0].servers[0].comment == "pod api-pod-0 on node1");
  CHECK(m.upstreams[0].servers[0].weight == 1);
  CHECK(m.rewritten_uri == "/?page=2");  // the whole URI becomes the target, the query is kept
  check_step(m, "server: default_server for port 80");
  check_step(m, "no server_name matches demo.local");
  check_step(m, "the first regex location that matches /api/users");

  // ~*: any case; the regex is not anchored at the end (ingress-nginx's Prefix as a regex).
  m = match(c, req("demo.local", "/API"));
  CHECK(m.location == "~* \"^/api\"");
  CHECK(m.rewritten_uri == "/");
  m = match(c, req("demo.local", "/apix"));
  CHECK(m.location == "~* \"^/api\"");

  m = match(c, req("demo.local", "/healthz"));
  CHECK(m.location_line == line_of(c, "location = /healthz {"));
  CHECK(m.location == "= /healthz");
  CHECK(m.comment == "the controller's health check");
  CHECK(m.action == "return 200");
  CHECK(upstreams(m) == kNone);

  m = match(c, req("demo.local", "/other"));
  CHECK(m.location_line == line_of(c, "location / {"));
  CHECK(m.location == "/");
  CHECK(m.comment == "no rule matches: ingress-nginx's default backend");
  CHECK(m.action == kDefault404);
  CHECK(m.rewritten_uri.empty());
}

TEST_CASE("nginx match: Ingress hosts: exact server_name, Exact vs Prefix paths, the longest prefix") {
  const std::string c = conf_file("ingress_hosts");
  const int app = server_with(c, "server_name app.example.com;");
  const int shop = server_with(c, "server_name shop.example.com;");
  const int def = server_with(c, "server_name _;");

  L7Match m = match(c, req("app.example.com", "/login"));
  CHECK(m.server_line == app);
  CHECK(m.server == "listen 80; server_name app.example.com");
  CHECK(m.location == "= /login");
  CHECK(m.location_line == line_of(c, "location = /login {", app));
  CHECK(m.comment == "ingress default/app, path /login (Exact) -> service web:80");
  CHECK(upstreams(m) == kWeb);
  check_step(m, "server: server_name app.example.com (line");
  check_step(m, "matches app.example.com exactly");
  check_step(m, "an exact match of /login");

  // The second Ingress's /api Exact wins over the exact location of the first's /api Prefix.
  m = match(c, req("app.example.com", "/api"));
  CHECK(m.location == "= /api");
  CHECK(m.comment == "ingress default/more, path /api (Exact) -> service api-v1:80");
  CHECK(m.action == "proxy_pass http://default_api-v1_80");
  CHECK(upstreams(m) == kApiV1);

  m = match(c, req("app.example.com", "/api/v1/users"));
  CHECK(m.location == "/api/");
  CHECK(m.location_line == line_of(c, "location /api/ {", app));
  CHECK(upstreams(m) == kApi);
  check_step(m, "the longest prefix of /api/v1/users");

  // Prefix is element-wise: /apix is not under /api.
  m = match(c, req("app.example.com", "/apix"));
  CHECK(m.location == "/");
  CHECK(m.location_line == line_of(c, "location / {", app));
  CHECK(upstreams(m) == kWeb);

  m = match(c, req("App.Example.COM", "/static/site.css"));  // Host is case-insensitive
  CHECK(m.server_line == app);
  CHECK(m.location == "/static");
  CHECK(m.comment == "ingress default/more, path /static (ImplementationSpecific) -> service web:80");
  CHECK(upstreams(m) == kWeb);

  // A Service without endpoints, one that does not exist: 503.
  m = match(c, req("shop.example.com", "/empty"));
  CHECK(m.server_line == shop);
  CHECK(m.location == "= /empty");
  CHECK(m.action == "return 503");
  CHECK(upstreams(m) == kNone);
  m = match(c, req("shop.example.com", "/empty/x"));
  CHECK(m.location == "/empty/");
  CHECK(m.action == "return 503");
  m = match(c, req("shop.example.com", "/cart"));
  CHECK(m.location == "/");
  CHECK(m.comment == "ingress default/app, path / (Prefix) -> service nope:80");
  CHECK(m.action == "return 503");

  // Rules without host, and hosts no rule names (the traefik Ingress's is not ours): the
  // default server.
  m = match(c, req("other.example.com", "/web/page"));
  CHECK(m.server_line == def);
  CHECK(m.location == "/web");
  CHECK(upstreams(m) == kWeb);
  m = match(c, req("unknown.test", "/login"));
  CHECK(m.server_line == def);
  CHECK(m.location == "/");
  CHECK(m.action == kDefault404);
  m = match(c, req("unknown.test", "/healthz"));
  CHECK(m.location == "= /healthz");
  CHECK(m.action == "return 200");
  // /healthz is the default server's only: app.example.com's goes to its `location /`.
  m = match(c, req("app.example.com", "/healthz"));
  CHECK(m.server_line == app);
  CHECK(m.location == "/");
}

TEST_CASE("nginx match: Ingress regex paths with rewrite-target /$2 (captures, case, anchors)") {
  const std::string c = conf_file("ingress_regex");
  const int srv = line_of(c, "server {");

  L7Match m = match(c, req("demo.local", "/something/foo/bar?x=1"));
  CHECK(m.server_line == srv);
  CHECK(m.location == "~* \"^/something(/|$)(.*)\"");
  CHECK(m.location_line == line_of(c, "location ~* \"^/something(/|$)(.*)\" {"));
  CHECK(m.comment ==
        "ingress default/capture, path /something(/|$)(.*) (ImplementationSpecific) -> service "
        "api:80");
  CHECK(m.action == "proxy_pass http://default_api_80");
  CHECK(upstreams(m) == kApi);
  CHECK(m.rewritten_uri == "/foo/bar?x=1");
  check_step(m, "rewrite \"(?i)/something(/|$)(.*)\" /$2 break (line");
  check_step(m, "/something/foo/bar -> /foo/bar?x=1");

  m = match(c, req("demo.local", "/something"));
  CHECK(m.rewritten_uri == "/");
  m = match(c, req("demo.local", "/SomeThing/Upper"));  // (?i) in the rewrite, ~* in the location
  CHECK(m.location == "~* \"^/something(/|$)(.*)\"");
  CHECK(m.rewritten_uri == "/Upper");
  m = match(c, req("demo.local", "/somethingelse"));
  CHECK(m.location == "/");
  CHECK(m.action == kDefault404);

  // Exact as a regex: ^/web$; the target's $2 does not exist there: "/".
  m = match(c, req("demo.local", "/web"));
  CHECK(m.location == "~* \"^/web$\"");
  CHECK(upstreams(m) == kWeb);
  CHECK(m.rewritten_uri == "/");
  m = match(c, req("demo.local", "/web/x"));
  CHECK(m.location == "/");
  CHECK(m.action == kDefault404);

  m = match(c, req("demo.local", "/healthz"));
  CHECK(m.location == "= /healthz");
  CHECK(m.action == "return 200");
}

TEST_CASE("nginx match: Ingress TLS: 443 ssl servers, ssl-redirect 308 on 80, the default certificate server") {
  const std::string c = conf_file("ingress_tls");
  const int def = server_with(c, "server_name _;");
  const int both = server_with(c, "server_name both.example.com;");
  const int nocert = server_with(c, "server_name nocert.example.com;");
  const int secure = server_with(c, "server_name secure.example.com;");

  L7Match m = match(c, req("secure.example.com", "/account", 443, true));
  CHECK(m.server_line == secure);
  CHECK(m.server == "listen 80; listen 443 ssl; server_name secure.example.com");
  CHECK(m.location == "/");
  CHECK(m.location_line == line_of(c, "location / {", secure));
  CHECK(m.action == "proxy_pass http://default_web_80");
  CHECK(upstreams(m) == kWeb);
  check_step(m, "if ($scheme = http) (line");
  check_step(m, "): false");

  m = match(c, req("secure.example.com", "/account?tab=1"));
  CHECK(m.server_line == secure);
  CHECK(m.location == "/");
  CHECK(m.action == "return 308 https://secure.example.com/account?tab=1");
  CHECK(upstreams(m) == kNone);

  // ssl-redirect "false": no redirect on 80.
  m = match(c, req("both.example.com", "/", 80));
  CHECK(m.server_line == both);
  CHECK(upstreams(m) == kApi);
  m = match(c, req("both.example.com", "/", 443, true));
  CHECK(m.server_line == both);
  CHECK(upstreams(m) == kApi);

  // The missing Secret: no 443 for nocert.example.com, so HTTPS goes to the default server.
  m = match(c, req("nocert.example.com", "/", 443, true));
  CHECK(m.server_line == def);
  CHECK(m.server ==
        "listen 80 default_server; listen 443 ssl default_server; server_name _");
  CHECK(m.location == "/");
  CHECK(m.action == kDefault404);
  check_step(m, "default_server for port 443");
  m = match(c, req("nocert.example.com", "/", 80));
  CHECK(m.server_line == nocert);
  CHECK(upstreams(m) == kWeb);

  // TLS to the plain port, plain HTTP to the TLS port.
  m = match(c, req("secure.example.com", "/", 80, true));
  CHECK(m.action == "return 400");
  CHECK(m.location.empty());
  check_step(m, "port 80 has no `listen ... ssl`");
  m = match(c, req("secure.example.com", "/", 443, false));
  CHECK(m.server_line == secure);
  CHECK(m.action == "return 400 \"The plain HTTP request was sent to HTTPS port\"");
}

TEST_CASE("nginx match: no Ingress: the default server only; a port nginx does not listen on") {
  const std::string c = conf_file("ingress_none");
  L7Match m = match(c, req("demo.local", "/anything"));
  CHECK(m.server_line == line_of(c, "server {"));
  CHECK(m.location == "/");
  CHECK(m.action == kDefault404);
  m = match(c, req("demo.local", "/healthz"));
  CHECK(m.location == "= /healthz");
  CHECK(m.action == "return 200");

  m = match(c, req("demo.local", "/", 8080));
  CHECK(m.server_line == 0);
  CHECK(m.server.empty());
  CHECK(m.location_line == 0);
  CHECK(m.action == "connection refused (nothing listens on port 8080)");
  check_step(m, "no server listens on port 8080 (nginx listens on 80)");

  m = match(c, req("", "/"));
  CHECK(m.action == "return 400");
  check_step(m, "no Host header");
}

// --- Gateway API -----------------------------------------------------------------------------

TEST_CASE("nginx match: the course's HTTPRoute: the dispatch map and error_page 418 to named locations") {
  const std::string c = conf_file("gateway_course");
  const int srv = line_of(c, "server {");

  L7Match m = match(c, req("demo.local", "/api/items"));
  CHECK(m.server_line == srv);
  CHECK(m.server == "listen 80 default_server; server_name _");
  CHECK(m.location == "@default/api-route/rule0");
  CHECK(m.location_line == line_of(c, "location @default/api-route/rule0 {"));
  CHECK(m.comment == "HTTPRoute default/api-route rule 0");
  CHECK(m.action == "proxy_pass http://default_api_80");
  CHECK(upstreams(m) == kApi);
  check_step(m, "location / (line");
  check_step(m, "return 418 (line");
  check_step(m,
             "error_page 418 = $knlab_route_80_any (line " +
                 std::to_string(line_of(c, "error_page 418 = $knlab_route_80_any;")) +
                 ") -> @default/api-route/rule0 ($knlab_route_80_any = @default/api-route/rule0: "
                 "map \"${knlab_path_1}1\" (\"11\") \"~^1\"; $knlab_path_1 = 1: map $uri "
                 "(\"/api/items\") \"~^/api(/|$)\")");

  m = match(c, req("demo.local", "/api"));
  CHECK(m.location == "@default/api-route/rule0");
  for (const char* path : {"/", "/apix", "/web/api"}) {
    m = match(c, req("demo.local", path));
    CHECK(m.location == "@default/api-route/rule1");
    CHECK(m.action == "proxy_pass http://default_web_80");
    CHECK(upstreams(m) == kWeb);
  }
}

TEST_CASE("nginx match: HTTPRoute path, header, query and method matches and their precedence") {
  const std::string c = conf_file("gateway_headers");
  const int any = server_with(c, "server_name _;");
  const int shop = server_with(c, "server_name shop.example.com;");
  auto with = [](L7Request r, std::vector<std::pair<std::string, std::string>> headers,
                 std::string method = "GET") {
    r.headers = std::move(headers);
    r.method = std::move(method);
    return r;
  };
  const std::pair<std::string, std::string> v2{"X-Version", "v2"};
  const std::pair<std::string, std::string> mobile{"User-Agent", "Mozilla (Android 14)"};

  // Exact /api/health first, with its ReplaceFullPath.
  L7Match m = match(c, with(req("demo.local", "/api/health"), {v2}));
  CHECK(m.server_line == any);
  CHECK(m.location == "@default/api-route/rule2");
  CHECK(m.location_line == line_of(c, "location @default/api-route/rule2 {"));
  CHECK(m.action == "proxy_pass http://default_api_80");
  CHECK(m.rewritten_uri == "/healthz");
  CHECK(upstreams(m) == kApi);

  // RegularExpression /items/[0-9]+ (the whole path).
  m = match(c, req("demo.local", "/items/42"));
  CHECK(m.location == "@default/api-route/rule3");
  CHECK(upstreams(m) == kWeb);
  m = match(c, req("demo.local", "/items/42x"));
  CHECK(m.location == "@no_route");
  CHECK(m.location_line == line_of(c, "location @no_route { return 404; }"));
  CHECK(m.comment == "no rule matches");
  CHECK(m.action == "return 404");
  CHECK(upstreams(m) == kNone);

  // Method + header regex + query, all of them: rule 1.
  m = match(c, with(req("demo.local", "/api/x?a=b&debug=1"), {mobile}));
  CHECK(m.location == "@default/api-route/rule1");
  CHECK(m.comment == "HTTPRoute default/api-route rule 1");
  CHECK(m.action == "proxy_pass http://default_api-v1_80");
  CHECK(upstreams(m) == kApiV1);
  check_step(m, "$knlab_default_api_route_r1_m0 = 1: map");
  // ... not with POST, nor debug=10, nor without the User-Agent: the plain /api rule 4.
  for (const L7Request& r : {with(req("demo.local", "/api/x?debug=1"), {mobile}, "POST"),
                             with(req("demo.local", "/api/x?debug=10"), {mobile}),
                             with(req("demo.local", "/api/x?debug=1"), {})}) {
    m = match(c, r);
    CHECK(m.location == "@default/api-route/rule4");
    CHECK(upstreams(m) == kApi);
  }

  // Header X-Version: v2 (name in any case): rule 0's named location per match, with its
  // ReplacePrefixMatch / and header filters.
  m = match(c, with(req("demo.local", "/api/v/items?q=1"), {{"x-version", "v2"}}));
  CHECK(m.location == "@default/api-route/rule0/match0");
  CHECK(m.comment ==
        "HTTPRoute default/api-route rule 0 match 0 (path PathPrefix /api, header X-Version = v2)");
  CHECK(m.action == "proxy_pass http://default_api-v2_80");
  CHECK(upstreams(m) == kApiV2);
  CHECK(m.rewritten_uri == "/v/items?q=1");
  m = match(c, with(req("demo.local", "/api"), {v2}));
  CHECK(m.location == "@default/api-route/rule0/match0");
  CHECK(m.rewritten_uri == "/");
  m = match(c, with(req("demo.local", "/api/x"), {{"X-Version", "V2"}}));  // values: exact case
  CHECK(m.location == "@default/api-route/rule4");

  // Both rule 1 and rule 0 hold: the method match ranks first (Gateway API precedence), and the
  // first "1" of the dispatch string wins.
  m = match(c, with(req("demo.local", "/api/x?debug=1"), {v2, mobile}));
  CHECK(m.location == "@default/api-route/rule1");
  CHECK(upstreams(m) == kApiV1);
  check_step(m, "(\"0001110\") \"~^0001\"");

  // RequestRedirect: scheme https, 301; ReplacePrefixMatch /old -> /new on port 8080, 302.
  m = match(c, req("demo.local", "/secure/area?x=1"));
  CHECK(m.location == "@default/redirects/rule1");
  CHECK(m.action == "return 301 https://demo.local/secure/area?x=1");
  m = match(c, req("demo.local", "/old/page?x=1"));
  CHECK(m.location == "@default/redirects/rule0/match0");
  CHECK(m.action == "return 302 http://demo.local:8080/new/page?x=1");
  check_step(m, "set $knlab_path \"/new/page\"");
  m = match(c, req("demo.local", "/old"));
  CHECK(m.action == "return 302 http://demo.local:8080/new");

  // A route for one hostname: its own server, whose only rule always holds.
  m = match(c, with(req("shop.example.com", "/api/x"), {v2}));
  CHECK(m.server_line == shop);
  CHECK(m.server == "listen 80; server_name shop.example.com");
  CHECK(m.location == "@default/shop-route/rule0");
  CHECK(upstreams(m) == kWeb);
  check_step(m, "error_page 418 = @default/shop-route/rule0 (line");
}

TEST_CASE("nginx match: HTTPRoute weights: split_clients branches with their shares") {
  const std::string c = conf_file("gateway_weights");

  L7Match m = match(c, req("demo.local", "/"));
  CHECK(m.location == "@default/canary/rule0");
  CHECK(m.location_line == line_of(c, "location @default/canary/rule0 {"));
  CHECK(m.action == "proxy_pass http://$knlab_split_default_canary_r0");
  std::vector<std::string> both = kApiV1;
  both.push_back(kApiV2.front());
  CHECK(upstreams(m) == both);
  check_step(m,
             "split_clients \"$request_id\" $knlab_split_default_canary_r0 (line " +
                 std::to_string(line_of(
                     c, "split_clients \"$request_id\" $knlab_split_default_canary_r0 {")) +
                 "), random per request: 90% -> default_api-v1_80, 10% -> default_api-v2_80");
  check_step(m, "[10%: default_api-v2_80] proxy_pass http://$knlab_split_default_canary_r0 = "
                "http://default_api-v2_80");

  // Weight 0: one backend, no split.
  m = match(c, req("demo.local", "/zero/x"));
  CHECK(m.location == "@default/canary/rule1");
  CHECK(m.action == "proxy_pass http://default_api-v1_80");
  CHECK(upstreams(m) == kApiV1);

  // A missing Service (500) and one without endpoints (503) keep their share of the requests.
  m = match(c, req("demo.local", "/broken"));
  CHECK(m.location == "@default/canary/rule2");
  CHECK(m.action ==
        "proxy_pass http://$knlab_split_default_canary_r2 (50%); return 500 (25%); return 503 "
        "(25%)");
  CHECK(upstreams(m) == kApiV1);
  check_step(m, "random per request: 50% -> default_api-v1_80, 25% -> knlab_500, 25% -> knlab_503");
  check_step(m, "[25%: knlab_503] return 503 (line");
}

TEST_CASE("nginx match: HTTPRoute to another namespace: granted proxies, denied answers 500") {
  const std::string c = conf_file("gateway_crossns");
  L7Match m = match(c, req("demo.local", "/team-shop/cart"));
  CHECK(m.location == "@team/shop-denied/rule0");
  CHECK(m.comment == "HTTPRoute team/shop-denied rule 0");
  CHECK(m.action == "return 500");
  CHECK(upstreams(m) == kNone);
  m = match(c, req("demo.local", "/shop"));
  CHECK(m.location == "@default/shop-granted/rule0");
  CHECK(m.action == "proxy_pass http://other_shop_8080");
  CHECK(upstreams(m) == std::vector<std::string>{"other_shop_8080 = 10.244.1.6:8080"});
  m = match(c, req("demo.local", "/shopping"));
  CHECK(m.location == "@no_route");
  CHECK(m.action == "return 404");
}

TEST_CASE("nginx match: Gateway HTTPS listeners: exact vs wildcard hostnames, 80 redirects, unknown hosts") {
  const std::string c = conf_file("gateway_https");
  const int http = server_with(c, "listen 80 default_server;");
  const int unknown = server_with(c, "listen 443 ssl default_server;");
  const int wildcard = server_with(c, "server_name *.example.com;");
  const int api = server_with(c, "server_name api.example.com;");
  const int www = server_with(c, "server_name www.example.com;");

  L7Match m = match(c, req("www.example.com", "/docs?v=1", 80));
  CHECK(m.server_line == http);
  CHECK(m.location == "@default/to-https/rule0");
  CHECK(m.action == "return 301 https://www.example.com/docs?v=1");

  m = match(c, req("www.example.com", "/docs", 443, true));
  CHECK(m.server_line == www);
  CHECK(m.location == "@default/www/rule0");
  CHECK(upstreams(m) == kWeb);

  m = match(c, req("api.example.com", "/", 443, true));  // exact before *.example.com
  CHECK(m.server_line == api);
  CHECK(m.location_line == line_of(c, "location @default/apps/rule0 {", api));
  CHECK(upstreams(m) == kApi);

  m = match(c, req("shop.example.com", "/", 443, true));
  CHECK(m.server_line == wildcard);
  CHECK(m.server == "listen 443 ssl; server_name *.example.com");
  CHECK(m.location_line == line_of(c, "location @default/apps/rule0 {", wildcard));
  CHECK(upstreams(m) == kApi);
  check_step(m, "server_name *.example.com (line " + std::to_string(wildcard) +
                    "): the longest leading wildcard that matches shop.example.com");
  m = match(c, req("a.b.example.com", "/", 443, true));
  CHECK(m.server_line == wildcard);

  // No listener names example.org (nor example.com itself): the port's default server answers
  // 404 before any location.
  for (const char* host : {"example.org", "example.com"}) {
    m = match(c, req(host, "/", 443, true));
    CHECK(m.server_line == unknown);
    CHECK(m.location_line == 0);
    CHECK(m.location.empty());
    CHECK(m.action == "return 404");
    check_step(m, "return 404 (line " + std::to_string(line_of(c, "return 404;", unknown)) +
                      "): in the server, before any location");
  }

  // The listener with a missing certificate is not served.
  m = match(c, req("www.example.com", "/", 8443, true));
  CHECK(m.server_line == 0);
  check_step(m, "no server listens on port 8443 (nginx listens on 80, 443)");
}

TEST_CASE("nginx match: data planes without HTTP servers (TCP/UDP only, a deleted Gateway)") {
  for (const char* name : {"gateway_l4", "gateway_missing"}) {
    INFO(name);
    L7Match m = match(conf_file(name), req("demo.local", "/"));
    CHECK(m.server_line == 0);
    CHECK(m.action == "connection refused (nothing listens on port 80)");
    check_step(m, "no server listens on port 80 (nginx listens on no port)");
  }
}

// --- nginx rules the generator does not use -----------------------------------------------------

TEST_CASE("nginx match: server_name precedence: exact, longest *.x, longest x.*, first regex") {
  const std::string c = R"(http {
  server { listen 80; server_name *.example.com; return 200 "a"; }
  server { listen 80; server_name *.api.example.com; return 200 "b"; }
  server { listen 80; server_name www.example.*; return 200 "c"; }
  server { listen 80; server_name ~^www\d+\.; return 200 "d"; }
  server { listen 80; server_name .example.org exact.example.com; return 200 "e"; }
  server { listen 80; return 200 "f"; }
})";
  CHECK(match(c, req("x.api.example.com", "/")).action == "return 200 \"b\"");
  CHECK(match(c, req("www.example.com", "/")).action == "return 200 \"a\"");  // *. before .*
  CHECK(match(c, req("www.example.net", "/")).action == "return 200 \"c\"");
  CHECK(match(c, req("www2.test", "/")).action == "return 200 \"d\"");
  CHECK(match(c, req("example.org", "/")).action == "return 200 \"e\"");
  CHECK(match(c, req("exact.example.com", "/")).action == "return 200 \"e\"");
  L7Match m = match(c, req("nothing.test", "/"));
  CHECK(m.server_line == 2);  // no default_server: the first server of the port
  check_step(m, "the first server of port 80");
}

TEST_CASE("nginx match: location precedence: =, ^~, regexes in order, the longest prefix") {
  const std::string c = R"(http {
  upstream up { server 10.0.0.1:80 weight=3; server 10.0.0.2:80 backup;  # spare
  }
  server {
    listen 8080;
    location = /x { return 200 "exact"; }
    location ^~ /static/ { return 200 "noregex"; }
    location ~ \.png$ { return 200 "png"; }
    location ~* \.PNG$ { return 200 "png-i"; }
    location /img/ { return 200 "img"; }
    location / { proxy_pass http://up; }
    location /old/ { rewrite ^/old/(.*)$ /img/$1 last; }
  }
})";
  auto action = [&](const char* path) { return match(c, req("h", path, 8080)).action; };
  CHECK(action("/x") == "return 200 \"exact\"");
  CHECK(action("/static/a.png") == "return 200 \"noregex\"");
  CHECK(action("/img/a.png") == "return 200 \"png\"");
  CHECK(action("/img/A.PNG") == "return 200 \"png-i\"");
  CHECK(action("/img/a.gif") == "return 200 \"img\"");
  CHECK(action("/old/b.gif") == "return 200 \"img\"");  // rewrite ... last: the search again
  L7Match m = match(c, req("h", "/a//b/../c", 8080));
  CHECK(m.location == "/");
  check_step(m, "nginx normalizes the path /a//b/../c to /a/c");
  REQUIRE(m.upstreams.size() == 1);
  CHECK(m.upstreams[0].servers.size() == 2);
  CHECK(m.upstreams[0].servers[0].weight == 3);
  CHECK(m.upstreams[0].servers[1].comment == "spare");
  check_step(m, "10.0.0.2:80 is backup (not evaluated)");
}

TEST_CASE("nginx match: what is not evaluated is said, never guessed silently") {
  const std::string c = R"(http {
  geo $blocked { default 0; 10.0.0.0/8 1; }
  map $http_x_user $who { "~^(?<name>\w+)$" $name; default anonymous; }
  server {
    listen 80;
    allow 10.0.0.0/8;
    location / {
      if ($blocked) { return 403; }
      if (-f /tmp/maintenance) { return 503; }
      location /inner { return 200; }
      proxy_pass http://$who;
    }
  }
})";
  L7Request r = req("h", "/");
  r.headers = {{"X-User", "alice"}};
  L7Match m = match(c, r);
  check_step(m, "allow 10.0.0.0/8 (line 6): not evaluated by this matcher");
  check_step(m, "geo $blocked (line 2) depends on the client's address");
  check_step(m, "if (-f /tmp/maintenance) (line 9): a condition this matcher does not evaluate");
  check_step(m, "location /inner (line 10): a nested location, not evaluated");
  check_step(m, "PCRE's (?< is not run by this matcher");
  check_step(m, "anonymous is no upstream of this configuration");
  CHECK(m.action == "proxy_pass http://$who");
}

TEST_CASE("nginx match: a configuration nginx would not read is an error with its line") {
  for (const char* bad : {"http {\n  server {\n    listen 80;\n", "http {\n  server_name \"a;\n}",
                          "http { } }", "http { listen 80 }"}) {
    INFO(bad);
    Result<L7Match> m = nginx_match(bad, req("h", "/"));
    REQUIRE_FALSE(m.has_value());
    CHECK(m.error().where.line > 0);
  }
  Result<L7Match> quote = nginx_match("http {\n  server_name \"a;\n}", req("h", "/"));
  REQUIRE_FALSE(quote.has_value());
  CHECK(quote.error().where.str() == "nginx.conf:2:15");
  CHECK(quote.error().detail == "a quoted string is not closed");
  Result<L7Match> none = nginx_match("events { }\n", req("h", "/"));
  REQUIRE(none.has_value());
  CHECK(none->server_line == 0);
}
