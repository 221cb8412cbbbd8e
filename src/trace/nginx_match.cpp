// nginx's choice for one request: the server (listen port, ssl, server_name), then the rest in
// nginx_run; split_clients choices are followed one by one and merged (steps they share once,
// each choice's own with its share).
#include "trace/nginx_match.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <string_view>

#include "core/text.hpp"
#include "trace/nginx_eval.hpp"
#include "trace/nginx_run.hpp"

namespace knlab::trace {

namespace {

using ngx::Directive;
using ngx::Eval;
using ngx::Outcome;

// --- servers -----------------------------------------------------------------------------------

struct Listen {
  std::string address;  // "" for all of them
  std::uint16_t port = 80;
  bool ssl = false;
  bool default_server = false;
};

struct Server {
  const Directive* d = nullptr;
  std::vector<Listen> listens;
  std::vector<std::string> names;  // lower-case
};

// `listen 80`, `listen 10.0.0.1:443 ssl default_server`, `listen [::]:80`; nullopt for a unix
// socket.
std::optional<Listen> parse_listen(const Directive& d) {
  std::string_view a = d.arg(1);
  if (a.starts_with("unix:")) return std::nullopt;
  std::string_view port = a;
  Listen l;
  if (a.starts_with('[')) {
    auto close = a.find("]:");
    port = close == std::string_view::npos ? "" : a.substr(close + 2);
    l.address = a.substr(0, a.find(']') + 1);
  } else if (auto colon = a.rfind(':'); colon != std::string_view::npos) {
    port = a.substr(colon + 1);
    l.address = a.substr(0, colon);
  } else if (!std::all_of(a.begin(), a.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    port = "";
    l.address = a;
  }
  if (l.address == "*" || l.address == "[::]") l.address.clear();
  if (!port.empty()) std::from_chars(port.data(), port.data() + port.size(), l.port);
  for (std::size_t i = 2; i < d.args.size(); ++i) {
    if (d.arg(i) == "ssl") l.ssl = true;
    if (d.arg(i) == "default_server" || d.arg(i) == "default") l.default_server = true;
  }
  return l;
}

std::vector<Server> servers_of(const ngx::Http& h) {
  std::vector<Server> out;
  for (const Directive* d : h.servers) {
    Server s{d, {}, {}};
    std::vector<const Directive*> listens = ngx::named(d->block, "listen");
    for (const Directive* l : listens)
      if (auto x = parse_listen(*l)) s.listens.push_back(*x);
    if (listens.empty()) s.listens.push_back(Listen{});  // nginx's default: *:80
    for (const Directive* n : ngx::named(d->block, "server_name"))
      for (std::size_t i = 1; i < n->args.size(); ++i)  // regexes as written: \D is not \d
        s.names.push_back(n->arg(i).starts_with('~') ? n->arg(i) : lower(n->arg(i)));
    out.push_back(std::move(s));
  }
  return out;
}

std::string describe(const Server& s) {
  std::vector<std::string> parts;
  for (const Directive& d : s.d->block)
    if (d.name() == "listen" || d.name() == "server_name") parts.push_back(d.text());
  return join(parts, "; ");
}

bool listens_on(const Server& s, std::uint16_t port, bool want_default = false) {
  return std::any_of(s.listens.begin(), s.listens.end(), [&](const Listen& l) {
    return l.port == port && (!want_default || l.default_server);
  });
}

// How a server_name matches `host`, nginx's order: 0 exact, 1 the longest leading wildcard
// (*.x, .x), 2 the longest trailing wildcard (x.*); 4 not at all. Regexes are tried apart.
std::pair<int, std::size_t> name_rank(const std::string& name, const std::string& host) {
  if (name.starts_with('~')) return {4, 0};
  if (name == host) return {0, name.size()};
  if (name.starts_with("*.") && host.size() > name.size() - 1 && host.ends_with(name.substr(1)))
    return {1, name.size()};
  if (name.starts_with('.') && (host == name.substr(1) || host.ends_with(name)))
    return {1, name.size()};
  if (name.ends_with(".*") && host.size() > name.size() - 1 &&
      host.starts_with(name.substr(0, name.size() - 1)))
    return {2, name.size()};
  return {4, 0};
}

// The server whose server_name matches `host` (steps say which and why), or nullptr.
const Server* by_name(Eval& e, const std::vector<const Server*>& on, const std::string& host) {
  const Server* best = nullptr;
  std::pair<int, std::size_t> rank{4, 0};
  std::string name;
  for (const Server* s : on)
    for (const std::string& n : s->names) {
      auto r = name_rank(n, host);
      if (r.first > rank.first || (r.first == rank.first && (r.first == 4 || r.second <= rank.second)))
        continue;
      best = s;
      rank = r;
      name = n;
    }
  if (best != nullptr) {
    std::string why = rank.first == 0   ? "matches " + host + " exactly"
                      : rank.first == 1 ? "the longest leading wildcard that matches " + host
                                        : "the longest trailing wildcard that matches " + host;
    e.step(fmt::format("server: server_name {} (line {}): {}", name, best->d->line, why));
    return best;
  }
  for (const Server* s : on)
    for (const std::string& n : s->names) {
      if (!n.starts_with('~')) continue;
      bool icase = std::any_of(n.begin(), n.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
      std::string where = fmt::format("server_name {} (line {})", n, s->d->line);
      if (!e.search(std::string_view(n).substr(1), icase, host, where).value_or(false)) continue;
      e.step(fmt::format("server: {}: the first regex server_name that matches {}", where, host));
      return s;
    }
  return nullptr;
}

// nginx's server for the request's port and Host: by name, else the port's default_server, else
// its first server; nullptr (and a step) when nothing listens on the port.
const Server* choose_server(Eval& e, const std::vector<Server>& all, const L7Request& req) {
  std::vector<const Server*> on;
  std::set<std::uint16_t> ports;
  for (const Server& s : all) {
    if (listens_on(s, req.port)) on.push_back(&s);
    for (const Listen& l : s.listens) ports.insert(l.port);
  }
  if (on.empty()) {
    std::vector<std::string> listened;
    for (std::uint16_t p : ports) listened.push_back(std::to_string(p));
    e.step(fmt::format("no server listens on port {} (nginx listens on {})", req.port,
                       listened.empty() ? "no port" : join(listened)));
    return nullptr;
  }
  for (const Server* s : on)
    for (const Listen& l : s->listens)
      if (l.port == req.port && !l.address.empty())
        e.note("address:" + l.address,
               fmt::format("listen {}:{} (server line {}): the address the connection arrives at "
                           "is not known here, taken as matching",
                           l.address, l.port, s->d->line));
  if (const Server* s = by_name(e, on, req.host)) return s;
  std::string host = req.host.empty() ? "an empty Host" : req.host;
  for (const Server* s : on)
    if (listens_on(*s, req.port, true)) {
      e.step(fmt::format("server: default_server for port {} (line {}; no server_name matches {})",
                         req.port, s->d->line, host));
      return s;
    }
  e.step(fmt::format("server: the first server of port {} (line {}; no server_name matches {}, "
                     "none is default_server)",
                     req.port, on.front()->d->line, host));
  return on.front();
}

// TLS to a port without `ssl`, or plain HTTP to one with it: nginx's answer, or "".
std::string ssl_mismatch(Eval& e, const std::vector<Server>& all, const L7Request& req) {
  bool ssl = false;
  for (const Server& s : all)
    for (const Listen& l : s.listens) ssl = ssl || (l.port == req.port && l.ssl);
  if (req.https && !ssl) {
    e.step(fmt::format("port {} has no `listen ... ssl`: nginx reads the TLS handshake as a bad "
                       "HTTP request (the handshake fails)",
                       req.port));
    return "return 400";
  }
  if (!req.https && ssl) {
    e.step(fmt::format("port {} is `listen ... ssl`: a plain HTTP request gets 400 (error_page 497 "
                       "is not evaluated)",
                       req.port));
    return "return 400 \"The plain HTTP request was sent to HTTPS port\"";
  }
  return "";
}

// --- the request -------------------------------------------------------------------------------

// The path as nginx sees it: slashes merged, `.` and `..` resolved; nullopt when `..` goes above
// the root (nginx answers 400).
std::optional<std::string> normal_path(std::string_view path) {
  std::vector<std::string_view> segs;
  for (std::string_view s : split(path, '/')) {
    if (s.empty() || s == ".") continue;
    if (s == "..") {
      if (segs.empty()) return std::nullopt;
      segs.pop_back();
      continue;
    }
    segs.push_back(s);
  }
  bool dir = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
  std::string out = "/" + join(segs, "/");
  if (dir && !segs.empty()) out += '/';
  return out;
}

// --- split_clients: one run per choice, merged ---------------------------------------------------

std::vector<Outcome> branches(const Eval& base, const Directive& server,
                              std::vector<std::pair<std::string, std::string>> chosen, long share) {
  Eval e = base;
  Outcome o = ngx::run_server(e, server);
  o.share = share;
  o.chosen = chosen;
  if (e.unchosen.empty()) return {std::move(o)};
  const std::string var = e.unchosen.front();
  if (chosen.size() == 4) {
    o.steps.push_back(fmt::format("${}: more random choices than this matcher follows: its first "
                                  "value only",
                                  var));
    return {std::move(o)};
  }
  std::vector<Outcome> out;
  for (const ngx::Bucket& b : ngx::buckets(*base.http.vars.at(var))) {
    if (b.share <= 0) continue;
    Eval next = base;
    next.choice[var] = b.value;
    auto c = chosen;
    c.emplace_back(var, b.value);
    for (Outcome& x : branches(next, server, c, share * b.share / 10000)) out.push_back(std::move(x));
  }
  return out;
}

std::string shown(const std::string& v) { return v.empty() ? "\"\"" : v; }

// "90%: default_api-v1_80", or "45%: $a = x, $b = y" for several variables.
std::string label(const Outcome& o) {
  std::vector<std::string> parts;
  for (const auto& [var, value] : o.chosen)
    parts.push_back(o.chosen.size() == 1 ? shown(value) : fmt::format("${} = {}", var, shown(value)));
  return fmt::format("{}: {}", ngx::percent(o.share), join(parts));
}

std::string split_summary(const std::vector<Outcome>& outs, const ngx::Http& h) {
  std::set<std::string> vars;
  for (const Outcome& o : outs)
    for (const auto& [var, value] : o.chosen) vars.insert(var);
  std::vector<std::string> parts;
  for (const Outcome& o : outs) {
    std::string l = label(o);
    parts.push_back(l.replace(l.find(": "), 2, " -> "));
  }
  if (vars.size() != 1)
    return fmt::format("split_clients, random per request: {}", join(parts));
  const Directive& d = *h.vars.at(*vars.begin());
  return fmt::format("split_clients {} ${} (line {}), random per request: {}", d.args[1].raw,
                     *vars.begin(), d.line, join(parts));
}

void set_location(L7Match& m, const Outcome& o) {
  if (o.location == nullptr) return;
  m.location_line = o.location->line;
  m.location = o.location->text(1);
  m.comment = o.location->comment;
}

void merge(L7Match& m, std::vector<Outcome> outs, const ngx::Http& h) {
  const Outcome& first = outs.front();
  set_location(m, first);
  if (outs.size() == 1) {
    m.steps = first.steps;
    m.action = first.action;
    m.upstreams = first.upstreams;
    m.rewritten_uri = first.rewritten_uri;
    return;
  }
  std::size_t common = 0;
  while (std::all_of(outs.begin(), outs.end(), [&](const Outcome& o) {
    return common < o.steps.size() && o.steps[common] == first.steps[common];
  }))
    ++common;
  m.steps.assign(first.steps.begin(), first.steps.begin() + static_cast<long>(common));
  m.steps.push_back(split_summary(outs, h));
  std::vector<std::string> actions;
  for (const Outcome& o : outs) {
    for (std::size_t i = common; i < o.steps.size(); ++i)
      m.steps.push_back(fmt::format("[{}] {}", label(o), o.steps[i]));
    actions.push_back(fmt::format("{} ({})", o.action, ngx::percent(o.share)));
    for (const L7Upstream& u : o.upstreams)
      if (std::none_of(m.upstreams.begin(), m.upstreams.end(),
                       [&](const L7Upstream& x) { return x.name == u.name; }))
        m.upstreams.push_back(u);
  }
  bool same = std::all_of(outs.begin(), outs.end(),
                          [&](const Outcome& o) { return o.action == first.action; });
  m.action = same ? first.action : join(actions, "; ");
  if (std::all_of(outs.begin(), outs.end(),
                  [&](const Outcome& o) { return o.rewritten_uri == first.rewritten_uri; }))
    m.rewritten_uri = first.rewritten_uri;
}

// The request as nginx parses it: the query apart, the path normalized, the host lower-case.
std::optional<L7Request> parsed(const L7Request& req, std::vector<std::string>& steps) {
  L7Request r = req;
  if (auto q = r.path.find('?'); q != std::string::npos) {
    if (r.query.empty()) r.query = r.path.substr(q + 1);
    r.path.resize(q);
  }
  r.host = lower(r.host);
  if (auto colon = r.host.rfind(':'); colon != std::string::npos && !r.host.ends_with(']'))
    r.host.resize(colon);  // Host: name:port
  while (r.host.ends_with('.')) r.host.pop_back();
  std::optional<std::string> p = r.path.starts_with('/') ? normal_path(r.path) : std::nullopt;
  if (!p) {
    steps.push_back(fmt::format("the path {} is not one nginx accepts: 400 Bad Request", req.path));
    return std::nullopt;
  }
  if (*p != r.path) steps.push_back(fmt::format("nginx normalizes the path {} to {}", r.path, *p));
  r.path = *p;
  return r;
}

}  // namespace

Result<L7Match> nginx_match(const std::string& conf, const L7Request& req) {
  std::vector<Directive> top = KN_TRY(ngx::parse_conf(conf));
  L7Match m;
  const Directive* http = ngx::first_named(top, "http");
  if (http == nullptr) {
    m.steps.push_back("the configuration has no http {} block: nginx serves no HTTP");
    return m;
  }
  std::optional<L7Request> r = parsed(req, m.steps);
  if (!r) {
    m.action = "return 400";
    return m;
  }
  ngx::Http h = ngx::index_http(*http);
  Eval e(*r, h);
  e.request_uri = req.path.find('?') != std::string::npos || req.query.empty()
                      ? req.path
                      : req.path + "?" + req.query;
  e.steps = std::move(m.steps);
  for (const std::string& n : h.notes) e.step(n);
  std::vector<Server> servers = servers_of(h);
  const Server* s = choose_server(e, servers, *r);
  if (s == nullptr) {
    m.steps = std::move(e.steps);
    m.action = fmt::format("connection refused (nothing listens on port {})", r->port);
    return m;
  }
  m.server_line = s->d->line;
  m.server = describe(*s);
  if (!s->names.empty()) e.server_name = s->names.front();
  std::string answer = ssl_mismatch(e, servers, *r);
  if (answer.empty() && r->host.empty()) {
    e.step("no Host header: nginx answers 400 to an HTTP/1.1 request");
    answer = "return 400";
  }
  if (!answer.empty()) {
    m.steps = std::move(e.steps);
    m.action = std::move(answer);
    return m;
  }
  merge(m, branches(e, *s->d, {}, 10000), h);
  return m;
}

}  // namespace knlab::trace
