#include "plan/nginx_gateway_server.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

#include "plan/l7_common.hpp"

namespace knlab::nginx {

std::string FilterMaps::add_var(const std::string& header, const std::string& value, Ctx& ctx,
                                VarNames& names) {
  auto key = std::pair{l7::lower(header), value};
  if (auto it = add_vars_.find(key); it != add_vars_.end()) return it->second;
  std::string var = names.unique(fmt::format("$knlab_add_{}", ident(header)));
  add_vars_.emplace(key, var);
  conf_.line(fmt::format("map {} {} {{ \"\" {}; default {}; }}  # RequestHeaderModifier add {}: {}",
                         header_var(header), var, quote(ctx.lit(value)),
                         quote(header_var(header) + "," + ctx.lit(value)), header, value));
  return var;
}

std::string FilterMaps::split(const Candidate& cand,
                              const std::vector<std::pair<std::string, int>>& buckets,
                              const std::string& what, VarNames& names) {
  auto key = std::pair{cand.route, cand.rule};
  if (auto it = splits_.find(key); it != splits_.end()) return it->second;
  const ObjectMeta& r = cand.spec->meta;
  std::string var =
      names.unique(fmt::format("$knlab_split_{}_{}_r{}", ident(r.ns), ident(r.name), cand.rule));
  splits_.emplace(key, var);
  long total = 0;
  for (const auto& [t, w] : buckets) total += w;
  conf_.blank();
  conf_.comment(fmt::format("{} rule {}: {} (weights), picked at random per request",
                            l7::object_id(r), cand.rule, what));
  conf_.open("split_clients \"$request_id\" " + var);
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto& [target, w] = buckets[i];
    if (i + 1 == buckets.size()) {
      conf_.line(fmt::format("* {};", target));
      break;
    }
    long hundredths = static_cast<long>(w) * 10000 / total;  // of a percent, rounded down
    std::string pct = hundredths % 100 == 0
                          ? fmt::format("{}%", hundredths / 100)
                          : fmt::format("{}.{:02}%", hundredths / 100, hundredths % 100);
    conf_.line(fmt::format("{} {};", pct, target));
  }
  conf_.close();
  return var;
}

namespace {

// --- a rule's named location -------------------------------------------------------------------

// The prefix a ReplacePrefixMatch replaces: the PathPrefix (or Exact) path of this match ("" for
// "/"), none for a RegularExpression.
std::optional<std::string> replaced_prefix(const HttpMatch& m) {
  if (m.path->type == PathMatchType::kRegularExpression) return std::nullopt;
  std::string prefix = l7::strip_trailing_slashes(m.path->value);
  if (prefix == "/") prefix.clear();
  return prefix;
}

// ReplacePrefixMatch as two quoted (regex, replacement) pairs: the prefix alone, and the prefix
// followed by a path under it.
std::array<std::pair<std::string, std::string>, 2> prefix_substitutions(
    const std::string& prefix, const std::string& replacement, Ctx& ctx) {
  std::string to = l7::strip_trailing_slashes(replacement);
  if (to == "/") to.clear();
  std::string re = regex_escape(prefix);
  return {{{quote("^" + re + "$"), quote(to.empty() ? "/" : ctx.lit(to))},
           {quote("^" + re + "(/.*)$"), quote(ctx.lit(to) + "$1")}}};
}

// What a rule's filters make of its location.
struct RuleFilters {
  HeaderList headers = proxy_headers();  // to the endpoints
  bool headers_changed = false;
  std::vector<std::string> response;     // add_header / proxy_hide_header lines
  std::vector<std::string> rewrites;     // URLRewrite path
  const HttpFilter* redirect = nullptr;  // the first RequestRedirect: the rule answers it

  void set_header(const std::string& n, std::string value) {
    headers_changed = true;
    for (auto& [hn, hv] : headers)
      if (l7::iequals(hn, n)) {
        hv = std::move(value);
        return;
      }
    headers.emplace_back(n, std::move(value));
  }
};

void modify_request_headers(RuleFilters& out, const HttpFilter& f, Ctx& ctx, HttpMaps& maps) {
  for (const auto& [n, v] : f.headers.set) out.set_header(n, ctx.lit(v));
  for (const auto& [n, v] : f.headers.add) {
    auto it = std::find_if(out.headers.begin(), out.headers.end(),
                           [&](const auto& h) { return l7::iequals(h.first, n); });
    if (it != out.headers.end()) {
      // A header this rule already sets (or removed): append to that value.
      out.set_header(n, it->second.empty() ? ctx.lit(v) : it->second + "," + ctx.lit(v));
    } else {
      out.set_header(n, maps.filters.add_var(n, v, ctx, maps.names));
    }
  }
  for (const std::string& n : f.headers.remove) out.set_header(n, "");
}

void modify_response_headers(std::vector<std::string>& out, const HttpFilter& f, Ctx& ctx) {
  for (const auto& [n, v] : f.headers.set) {
    out.push_back(fmt::format("proxy_hide_header {};", tok(n)));
    out.push_back(fmt::format("add_header {} {} always;", tok(n), quote(ctx.lit(v))));
  }
  for (const auto& [n, v] : f.headers.add)
    out.push_back(fmt::format("add_header {} {} always;", tok(n), quote(ctx.lit(v))));
  for (const std::string& n : f.headers.remove)
    out.push_back(fmt::format("proxy_hide_header {};", tok(n)));
}

void url_rewrite(RuleFilters& out, const HttpFilter& f, const std::optional<std::string>& prefix,
                 Ctx& ctx) {
  if (!f.hostname.empty()) out.set_header("Host", ctx.lit(f.hostname));
  if (f.path && f.path->type == PathModifier::Type::kReplaceFullPath) {
    out.rewrites.push_back(fmt::format("rewrite ^ {} break;  # URLRewrite ReplaceFullPath {}",
                                       quote(ctx.lit(f.path->value)), f.path->value));
  } else if (f.path && prefix) {
    out.rewrites.push_back(fmt::format("# URLRewrite ReplacePrefixMatch: {} -> {}",
                                       prefix->empty() ? "/" : *prefix, f.path->value));
    for (const auto& [from, to] : prefix_substitutions(*prefix, f.path->value, ctx))
      out.rewrites.push_back(fmt::format("rewrite {} {} break;", from, to));
  } else if (f.path) {
    out.rewrites.push_back("# URLRewrite ReplacePrefixMatch needs a PathPrefix match: ignored");
  }
}

RuleFilters rule_filters(const HttpRouteRule& rule, const std::optional<std::string>& prefix,
                         Ctx& ctx, HttpMaps& maps) {
  RuleFilters out;
  for (const HttpFilter& f : rule.filters) {
    switch (f.type) {
      case HttpFilter::Type::kRequestHeaderModifier:
        modify_request_headers(out, f, ctx, maps);
        break;
      case HttpFilter::Type::kResponseHeaderModifier:
        modify_response_headers(out.response, f, ctx);
        break;
      case HttpFilter::Type::kRequestRedirect:
        if (out.redirect == nullptr) out.redirect = &f;
        break;
      case HttpFilter::Type::kURLRewrite:
        url_rewrite(out, f, prefix, ctx);
        break;
    }
  }
  return out;
}

void write_redirect(Conf& c, const HttpFilter& f, const ListenerSpec& listener,
                    const std::optional<std::string>& prefix, Ctx& ctx) {
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
    c.comment(fmt::format("RequestRedirect ReplacePrefixMatch: {} -> {}",
                          prefix->empty() ? "/" : *prefix, f.path->value));
    for (const auto& [from, to] : prefix_substitutions(*prefix, f.path->value, ctx))
      c.line(fmt::format("if ($uri ~ {}) {{ set $knlab_path {}; }}", from, to));
    path = "$knlab_path$is_args$args";
  }
  c.line(fmt::format("return {} {};  # RequestRedirect", f.status_code,
                     quote(fmt::format("{}://{}{}{}", scheme, host,
                                       default_port ? "" : fmt::format(":{}", port), path))));
}

// Where a rule's requests go: (upstream, or knlab_500 / knlab_503; summed weight), in
// backendRefs order.
struct RuleBackends {
  std::vector<std::pair<std::string, int>> buckets;
  std::vector<std::string> notes;  // what is not an upstream, and why
};

// Weight 0 gets nothing; a backend that does not resolve gets 500 (its share of the requests),
// one without endpoints 503.
RuleBackends rule_backends(const Candidate& cand, Ctx& ctx) {
  RuleBackends out;
  for (const BackendRef& ref : cand.rule_spec().backends) {
    gateway_api::Backend b =
        gateway_api::resolve(ctx.plan, gateway_api::RouteKind::kHTTP, cand.spec->meta, ref);
    std::string target;
    if (!b.ok()) {
      target = "knlab_500";
      out.notes.push_back(fmt::format("{} -> 500: {}", b.display(), b.message));
    } else if (b.service->endpoints.empty()) {
      target = "knlab_503";
      out.notes.push_back(fmt::format("{} -> 503: no endpoints", b.display()));
    } else {
      target = ctx.upstream(*b.service, *b.port);
    }
    if (ref.weight <= 0) {
      out.notes.push_back(fmt::format("{}: weight 0, no traffic", b.display()));
      continue;
    }
    auto it = std::find_if(out.buckets.begin(), out.buckets.end(),
                           [&](const auto& x) { return x.first == target; });
    if (it != out.buckets.end())
      it->second += ref.weight;
    else
      out.buckets.emplace_back(target, ref.weight);
  }
  return out;
}

bool is_error_target(const std::string& target) {
  return target == "knlab_500" || target == "knlab_503";
}

// The notes, the 500/503 answers of the backends, and (returned) what proxy_pass goes to: an
// upstream or a split_clients variable, empty when the rule only answers.
std::string write_backend_choice(Conf& c, const Candidate& cand, const RuleBackends& backends,
                                 HttpMaps& maps) {
  const HttpRouteRule& rule = cand.rule_spec();
  for (const std::string& n : backends.notes) c.comment(n);
  const auto& buckets = backends.buckets;
  if (buckets.empty()) {
    c.line(rule.backends.empty() ? "return 500;  # no backendRefs"
                                 : "return 500;  # every backendRef has weight 0");
    return "";
  }
  if (buckets.size() == 1) {
    const std::string& target = buckets.front().first;
    if (!is_error_target(target)) return target;
    c.line(fmt::format("return {};", target.substr(6)));
    return "";
  }
  std::vector<std::string> what;
  for (const BackendRef& ref : rule.backends)
    if (ref.weight > 0) what.push_back(fmt::format("{}:{} {}", ref.name, ref.port, ref.weight));
  std::string var = maps.filters.split(cand, buckets, l7::join(what, " / "), maps.names);
  for (const auto& [t, w] : buckets)
    if (is_error_target(t))
      c.line(fmt::format("if ({} = {}) {{ return {}; }}", var, t, t.substr(6)));
  return var;
}

void write_rule_location(Conf& c, const Candidate& cand, const ListenerSpec& listener, Ctx& ctx,
                         HttpMaps& maps) {
  const HttpRouteRule& rule = cand.rule_spec();
  c.blank();
  c.comment(fmt::format("HTTPRoute {} rule {}{}{}", l7::object_id(cand.spec->meta), cand.rule,
                        has_prefix_modifier(rule)
                            ? fmt::format(" match {} ({})", cand.match, describe_match(cand.m))
                            : "",
                        rule.where.known() ? " (" + rule.where.str() + ")" : ""));
  c.open("location " + location_name(cand));
  std::optional<std::string> prefix = replaced_prefix(cand.m);
  RuleFilters filters = rule_filters(rule, prefix, ctx, maps);
  if (filters.redirect != nullptr) {
    write_redirect(c, *filters.redirect, listener, prefix, ctx);
    c.close();
    return;
  }
  // The 500/503 answers come before the URLRewrite's `rewrite ... break`, which ends the rewrite
  // module's directives (a `return` or `if` after it would never run).
  std::string pass = write_backend_choice(c, cand, rule_backends(cand, ctx), maps);
  if (!pass.empty()) {
    for (const std::string& l : filters.rewrites) c.line(l);
    if (filters.headers_changed) {
      c.comment("RequestHeaderModifier / URLRewrite hostname: every header again (see http {})");
      write_headers(c, filters.headers);
    }
    for (const std::string& l : filters.response) c.line(l);
    c.line(fmt::format("proxy_pass http://{};", pass));
  }
  c.close();
}

// --- a port's servers --------------------------------------------------------------------------

// The server names of a port: the listeners' hostnames and the routes' (intersected).
std::set<std::string> server_hosts(const GatewayHttp& in, const std::vector<std::size_t>& on_port) {
  std::set<std::string> hosts;
  for (std::size_t li : on_port) hosts.insert(in.gw.listeners[li].hostname);
  for (const auto& [key, hs] : in.attached)
    if (std::find(on_port.begin(), on_port.end(), key.second) != on_port.end())
      hosts.insert(hs.begin(), hs.end());
  return hosts;
}

// The default server of a port whose server names are all specific: 404.
void write_unknown_host_server(Conf& servers, Ctx& ctx, const GatewayHttp& in, std::uint16_t port,
                               std::size_t first_listener, bool https) {
  servers.blank();
  servers.comment(fmt::format("port {}: a Host no listener or route names", port));
  servers.open("server");
  servers.line(fmt::format("listen {}{} default_server;", port, https ? " ssl" : ""));
  if (https) ctx.tls(servers, *in.listeners[first_listener].cert);
  servers.line("server_name _;");
  servers.line("return 404;");
  servers.close();
}

// The comments, listen, certificate and server_name of the server of `host` on listener `li`,
// which is left open.
void write_server_head(Conf& servers, Ctx& ctx, const GatewayHttp& in, std::uint16_t port,
                       bool https, const std::string& host, std::size_t li,
                       const ServerCandidates& sc) {
  const ListenerSpec& l = in.gw.listeners[li];
  std::vector<std::string> served, shadowed;
  for (const std::string& n : sc.routes) {
    bool reachable = std::any_of(sc.cands.begin(), sc.cands.end(), [&](const Candidate& x) {
      return "HTTPRoute " + l7::object_id(x.spec->meta) == n;
    });
    (reachable ? served : shadowed).push_back(n);
  }
  servers.blank();
  servers.comment(fmt::format("port {}, hostname {}: listener {} ({}{}){}", port,
                              host.empty() ? "*" : host, l.name, to_string(l.protocol),
                              l.hostname.empty() ? "" : " " + l.hostname,
                              served.empty() ? ", no routes" : "; " + l7::join(served, ", ")));
  if (!shadowed.empty())
    servers.comment(
        fmt::format("(also attached, but a more specific rule always matches first: {})",
                    l7::join(shadowed, ", ")));
  servers.open("server");
  servers.line(fmt::format("listen {}{}{};", port, https ? " ssl" : "",
                           host.empty() ? " default_server" : ""));
  if (https) ctx.tls(servers, *in.listeners[li].cert);
  servers.line(fmt::format("server_name {};", host.empty() ? "_" : host));
}

// `location /` jumping to the rule `var` picks (error_page 418 keeps the request as it is), and
// the named location of each rule, once.
void write_server_locations(Conf& servers, Ctx& ctx, HttpMaps& maps,
                            const std::vector<Candidate>& cands, const std::string& var,
                            const ListenerSpec& listener) {
  std::vector<const Candidate*> targets;
  for (const Candidate& cand : cands)
    if (std::none_of(targets.begin(), targets.end(),
                     [&](const Candidate* t) { return location_name(*t) == location_name(cand); }))
      targets.push_back(&cand);
  servers.blank();
  servers.comment(
      var.starts_with('$')
          ? fmt::format("Every request: to the named location of the rule {} picks.", var)
          : "Every request: to the only rule (its match always holds).");
  servers.open("location /");
  servers.line(fmt::format("error_page 418 = {};", var));
  servers.line("return 418;");
  servers.close();
  for (const Candidate* t : targets) write_rule_location(servers, *t, listener, ctx, maps);
  if (var.starts_with('$')) {
    servers.blank();
    servers.comment("no rule matches");
    servers.line("location @no_route { return 404; }");
  }
}

// The server of one hostname of a port, on the listener that owns it.
void write_host_server(Conf& servers, HttpMaps& maps, Ctx& ctx, const GatewayHttp& in,
                       std::uint16_t port, const std::vector<std::size_t>& on_port, bool https,
                       const std::string& host) {
  std::optional<std::size_t> li = gateway_api::listener_for_host(in.gw, on_port, host);
  if (!li) return;
  ServerCandidates sc = candidates(ctx.plan.l7.http_routes, in.attached, *li, host);
  std::vector<std::string> vars = match_vars(sc.cands, maps.matches, maps.names);
  write_server_head(servers, ctx, in, port, https, host, *li, sc);
  if (sc.cands.empty()) {
    servers.line("return 404;");
    servers.close();
    return;
  }
  std::string var = write_dispatch(maps.dispatch, maps.names, port, host, sc.cands, vars);
  write_server_locations(servers, ctx, maps, sc.cands, var, in.gw.listeners[*li]);
  servers.close();
}

}  // namespace

void write_http_port(Conf& servers, HttpMaps& maps, Ctx& ctx, const GatewayHttp& in,
                     std::uint16_t port, const std::vector<std::size_t>& on_port) {
  const bool https = in.gw.listeners[on_port.front()].protocol == ListenerProtocol::kHTTPS;
  std::set<std::string> hosts = server_hosts(in, on_port);
  if (!hosts.contains(""))
    write_unknown_host_server(servers, ctx, in, port, on_port.front(), https);
  for (const std::string& h : hosts)
    write_host_server(servers, maps, ctx, in, port, on_port, https, h);
}

}  // namespace knlab::nginx
