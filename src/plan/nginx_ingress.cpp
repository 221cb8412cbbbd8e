// Ingress with ingress-nginx semantics: one server per host (rules of several Ingresses merge),
// the rules without host and unknown hosts on the default server, prefix/exact locations (or
// case-insensitive regex locations for a host with rewrite-target / use-regex), upstreams of pod
// IP:target port per Service port.
#include "plan/nginx_ingress.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include "plan/l7_common.hpp"
#include "plan/nginx.hpp"

namespace knlab {

namespace {

constexpr std::string_view kIngressControllerName = "k8s.io/ingress-nginx";
constexpr std::string_view kAnnotationPrefix = "nginx.ingress.kubernetes.io/";

}  // namespace

namespace nginx {

namespace {

using l7::join;

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

std::string backend_display(const IngressBackend& b) {
  return fmt::format("service {}:{}", b.service,
                     b.port != 0 ? std::to_string(b.port) : b.port_name);
}

// proxy_pass to an Ingress backend, or 503 as ingress-nginx answers when it has no endpoint.
void ingress_proxy(Conf& c, Ctx& ctx, const IngressSpec& ing, const IngressBackend& b) {
  const ServicePlan* s = l7::find_service(ctx.plan, ing.meta.ns, b.service);
  if (s == nullptr) {
    c.line(fmt::format("return 503;  # Service {}/{} does not exist", ing.meta.ns, b.service));
    return;
  }
  const ServicePortPlan* p = l7::find_port(*s, b.port, b.port_name, "TCP");
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

// The first Ingress with a spec.defaultBackend.
const IngressSpec* first_with_default_backend(const std::vector<const IngressSpec*>& ingresses) {
  for (const IngressSpec* ing : ingresses)
    if (ing->default_backend) return ing;
  return nullptr;
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

// Comments, listen, certificate and server_name of a server, which is left open.
void write_server_head(Conf& c, Ctx& ctx, const IngressServer& srv,
                       const SecretSpec* default_cert) {
  bool is_default = srv.host.empty();
  c.blank();
  if (is_default) {
    c.comment(
        "The default server: requests whose Host matches no rule's host, and the rules without "
        "host.");
  } else {
    std::vector<std::string> ids;
    for (const IngressSpec* i : srv.ingresses) ids.push_back("ingress " + l7::object_id(i->meta));
    c.comment(fmt::format("host {}: {}", srv.host, join(ids, ", ")));
  }
  if (srv.regex)
    c.comment(
        "rewrite-target or use-regex on an Ingress of this host: all its paths are "
        "case-insensitive regexes\n"
        "(~*, checked in order, longest first), as ingress-nginx does");
  if (!srv.tls_secret.empty() && srv.cert == nullptr)
    c.comment(fmt::format(
        "TLS: Secret {}/{} (ingress {}) does not exist: no HTTPS for this host "
        "(ingress-nginx would serve its fake certificate)",
        srv.tls_ingress->meta.ns, srv.tls_secret, l7::object_id(srv.tls_ingress->meta)));
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
                          l7::object_id(srv.tls_ingress->meta)));
    ctx.tls(c, *srv.cert);
  }
  c.line(fmt::format("server_name {};", is_default ? "_" : srv.host));
}

// The locations of a server's paths, longest path first; the first Ingress (plan order) wins a
// location both define, and an Exact path wins over the exact location a Prefix path adds.
std::vector<IngressLocation> ingress_locations(const IngressServer& srv) {
  std::vector<IngressLocation> locs;
  for (std::size_t i = 0; i < srv.paths.size(); ++i) {
    const auto& [ing, p] = srv.paths[i];
    const bool exact = p->type == IngressPathType::kExact;
    const std::string path =
        p->type == IngressPathType::kPrefix ? l7::strip_trailing_slashes(p->path) : p->path;
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
  stable_order(locs, [](const IngressLocation& a, const IngressLocation& b) {
                     if (a.path.size() != b.path.size()) return a.path.size() > b.path.size();
                     if (a.exact != b.exact) return a.exact;
                     return a.order < b.order;
                   });
  return locs;
}

// The locations in order, each key once (the others are listed as ignored); the keys written.
std::set<std::string> write_locations(Conf& c, Ctx& ctx, const IngressServer& srv,
                                      const std::vector<IngressLocation>& locs) {
  std::set<std::string> taken;
  std::vector<std::string> shadowed;
  for (const IngressLocation& l : locs) {
    const IngressSpec& ing = *l.ing;
    const IngressPath& p = *l.path_spec;
    std::string origin =
        fmt::format("ingress {}, path {} ({})", l7::object_id(ing.meta), p.path, to_string(p.type));
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
  return taken;
}

// What no rule defines: the controller's /healthz on the default server, and location / (the
// defaultBackend of `default_backend`, or ingress-nginx's 404).
void write_fallbacks(Conf& c, Ctx& ctx, bool is_default, std::set<std::string>& taken,
                     const IngressSpec* default_backend) {
  if (is_default && taken.insert("= /healthz").second) {
    c.blank();
    c.comment("the controller's health check");
    c.open("location = /healthz");
    c.line("access_log off;");
    c.line("return 200;");
    c.close();
  }
  if (!taken.insert("/").second) return;
  c.blank();
  if (default_backend != nullptr && default_backend->default_backend) {
    c.comment(fmt::format("no rule matches: ingress {} spec.defaultBackend -> {}",
                          l7::object_id(default_backend->meta),
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

void write_ingress_server(Conf& c, Ctx& ctx, const IngressServer& srv,
                          const SecretSpec* default_cert, const IngressSpec* default_backend) {
  write_server_head(c, ctx, srv, default_cert);
  std::set<std::string> taken = write_locations(c, ctx, srv, ingress_locations(srv));
  write_fallbacks(c, ctx, srv.host.empty(), taken, default_backend);
  c.close();
}

// One server per host of the rules, by host ("" first: the default server, always there), with
// its certificate.
std::map<std::string, IngressServer> ingress_servers(const LabPlan& plan,
                                                     const std::vector<const IngressSpec*>& ours) {
  std::map<std::string, IngressServer> servers;
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
        const SecretSpec* s = l7::find_secret(plan, ing->meta.ns, t.secret);
        if (s != nullptr && !s->cert_pem.empty() && !s->key_pem.empty()) it->second.cert = s;
      }
    }
  return servers;
}

// The default server's certificate: the first (by namespace and name) of the hosts'.
const SecretSpec* default_certificate(const std::map<std::string, IngressServer>& servers) {
  const SecretSpec* cert = nullptr;
  for (const auto& [h, s] : servers)
    if (s.cert != nullptr && (cert == nullptr || std::tie(s.cert->meta.ns, s.cert->meta.name) <
                                                     std::tie(cert->meta.ns, cert->meta.name)))
      cert = s.cert;
  return cert;
}

// The file's opening comment: the Ingresses it serves.
void write_summary(Conf& c, const Ctx& ctx, const std::vector<const IngressSpec*>& ours) {
  c.comment(
      fmt::format("nginx of the ingress-nginx controller ({}/{}), generated by kn-lab\n"
                  "from the Ingresses of controller {} (class \"nginx\"):",
                  ctx.dp.ns, ctx.dp.name, kIngressControllerName));
  if (ours.empty()) c.comment("  (none: only the default server)");
  for (const IngressSpec* ing : ours) {
    std::vector<std::string> hosts;
    for (const IngressRule& r : ing->rules) hosts.push_back(r.host.empty() ? "*" : r.host);
    c.comment(fmt::format("  ingress {}: hosts {}{}", l7::object_id(ing->meta),
                          hosts.empty() ? "-" : join(hosts, " "),
                          ing->tls.empty() ? "" : ", with TLS"));
    std::vector<std::string> ignored = ignored_annotations(*ing);
    if (!ignored.empty())
      c.comment("    annotations kn-lab does not implement (ignored): " + join(ignored, ", "));
  }
}

}  // namespace

std::string ingress_conf(Ctx& ctx) {
  std::vector<const IngressSpec*> ours;
  for (const IngressSpec& ing : ctx.plan.l7.ingresses)
    if (ingress_is_ours(ctx.plan, ing)) ours.push_back(&ing);
  std::map<std::string, IngressServer> servers = ingress_servers(ctx.plan, ours);
  const SecretSpec* default_cert = default_certificate(servers);

  // The servers first: they name the upstreams and certificates http {} needs.
  Conf servers_conf;
  for (const auto& [host, srv] : servers)
    write_ingress_server(servers_conf, ctx, srv, default_cert,
                         first_with_default_backend(host.empty() ? ours : srv.ingresses));

  Conf c;
  write_summary(c, ctx, ours);
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

}  // namespace nginx

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

}  // namespace knlab
