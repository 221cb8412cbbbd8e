#include "plan/nginx_gateway_match.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <optional>
#include <set>

#include "plan/l7_common.hpp"

namespace knlab::nginx {

namespace {

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

std::string host_label(const std::string& h) {
  if (h.empty()) return "any";
  return gateway_api::is_wildcard(h) ? "wildcard_" + ident(h.substr(2)) : ident(h);
}

}  // namespace

std::string describe_match(const HttpMatch& m) {
  std::vector<std::string> parts;
  parts.push_back(fmt::format("path {} {}", to_string(m.path->type), m.path->value));
  if (!m.method.empty()) parts.push_back("method " + m.method);
  for (const ValueMatch& h : m.headers)
    parts.push_back(fmt::format("header {} {} {}", h.name, h.regex ? "~" : "=", h.value));
  for (const ValueMatch& q : m.query)
    parts.push_back(fmt::format("query {} {} {}", q.name, q.regex ? "~" : "=", q.value));
  return l7::join(parts, ", ");
}

bool has_prefix_modifier(const HttpRouteRule& rule) {
  return std::any_of(rule.filters.begin(), rule.filters.end(), [](const HttpFilter& f) {
    return (f.type == HttpFilter::Type::kRequestRedirect ||
            f.type == HttpFilter::Type::kURLRewrite) &&
           f.path && f.path->type == PathModifier::Type::kReplacePrefixMatch;
  });
}

std::string location_name(const Candidate& cand) {
  std::string name = fmt::format("@{}/rule{}", l7::object_id(cand.spec->meta), cand.rule);
  if (has_prefix_modifier(cand.rule_spec())) name += fmt::format("/match{}", cand.match);
  return name;
}

ServerCandidates candidates(const std::vector<HttpRouteSpec>& routes,
                            const gateway_api::HttpAttachments& attached, std::size_t listener,
                            const std::string& host) {
  ServerCandidates out;
  for (const auto& [key, route_hosts] : attached) {
    if (key.second != listener) continue;
    // The route's most specific hostname that covers `host` ranks its matches.
    std::optional<std::pair<bool, std::size_t>> best;
    for (const std::string& rh : route_hosts) {
      if (!gateway_api::host_covers(rh, host)) continue;
      if (!best || gateway_api::host_rank(rh) > *best) best = gateway_api::host_rank(rh);
    }
    if (!best) continue;
    const HttpRouteSpec& r = routes[key.first];
    out.routes.push_back("HTTPRoute " + l7::object_id(r.meta));
    for (std::size_t ri = 0; ri < r.rules.size(); ++ri) {
      std::vector<HttpMatch> ms = r.rules[ri].matches;
      if (ms.empty()) ms.emplace_back();
      for (std::size_t mi = 0; mi < ms.size(); ++mi) {
        Candidate cand{&r, key.first, ri, mi, ms[mi], best->first, best->second};
        if (!cand.m.path) cand.m.path = PathMatch{};
        out.cands.push_back(std::move(cand));
      }
    }
  }
  stable_order(out.cands, precedes);
  return out;
}

std::string MatchVars::condition(std::string_view kind, const std::string& source,
                                 const std::string& regex, const std::string& what) {
  auto key = std::pair{source, regex};
  if (auto it = conditions_.find(key); it != conditions_.end()) return it->second;
  std::string var = fmt::format("$knlab_{}_{}", kind, ++counters_[std::string(kind)]);
  conditions_.emplace(key, var);
  maps_.line(fmt::format("map {} {} {{ default 0; {} 1; }}  # {}", tok(source), var,
                         quote("~" + regex), what));
  return var;
}

std::vector<std::string> MatchVars::conditions_of(const HttpMatch& m) {
  std::vector<std::string> conds;
  const PathMatch& p = *m.path;
  switch (p.type) {
    case PathMatchType::kExact:
      conds.push_back(
          condition("path", "$uri", "^" + regex_escape(p.value) + "$", "path Exact " + p.value));
      break;
    case PathMatchType::kPathPrefix: {
      std::string prefix = l7::strip_trailing_slashes(p.value);
      if (prefix != "/")
        conds.push_back(condition("path", "$uri", "^" + regex_escape(prefix) + "(/|$)",
                                  "path PathPrefix " + p.value));
      break;
    }
    case PathMatchType::kRegularExpression:
      conds.push_back(
          condition("path", "$uri", "^(?:" + p.value + ")$", "path RegularExpression " + p.value));
      break;
  }
  if (!m.method.empty())
    conds.push_back(condition("method", "$request_method", "^" + regex_escape(m.method) + "$",
                              "method " + m.method));
  // Of several matches of one header (or query parameter) name, only the first counts.
  std::set<std::string> seen;
  for (const ValueMatch& h : m.headers) {
    if (!seen.insert(l7::lower(h.name)).second) continue;
    std::string re = h.regex ? "^(?:" + h.value + ")$" : "^" + regex_escape(h.value) + "$";
    conds.push_back(
        condition("header", header_var(h.name), re,
                  fmt::format("header {} {} {}", h.name, h.regex ? "~" : "=", h.value)));
  }
  seen.clear();
  for (const ValueMatch& q : m.query) {
    if (!seen.insert(q.name).second) continue;
    std::string value = q.regex ? "(?:" + q.value + ")" : regex_escape(q.value);
    conds.push_back(condition("query", "$args",
                              "(^|&)" + regex_escape(q.name) + "=" + value + "(&|$)",
                              fmt::format("query {} {} {}", q.name, q.regex ? "~" : "=", q.value)));
  }
  return conds;
}

std::string MatchVars::of(const Candidate& cand, VarNames& names) {
  auto key = std::tuple{cand.route, cand.rule, cand.match};
  if (auto it = vars_.find(key); it != vars_.end()) return it->second;
  std::vector<std::string> conds = conditions_of(cand.m);
  std::string var;
  if (conds.empty()) {
    var = "1";
  } else if (conds.size() == 1) {
    var = conds.front();
  } else {
    const ObjectMeta& r = cand.spec->meta;
    var = names.unique(
        fmt::format("$knlab_{}_{}_r{}_m{}", ident(r.ns), ident(r.name), cand.rule, cand.match));
    std::string all;
    for (const std::string& cv : conds) all += braced(cv);
    maps_.line(fmt::format("map {} {} {{ default 0; {} 1; }}  # {} rule {} match {}: all of them",
                           quote(all), var, std::string(conds.size(), '1'), l7::object_id(r),
                           cand.rule, cand.match));
  }
  vars_.emplace(key, var);
  return var;
}

std::vector<std::string> match_vars(std::vector<Candidate>& cands, MatchVars& matches,
                                    VarNames& names) {
  std::vector<std::string> vars;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    vars.push_back(matches.of(cands[i], names));
    if (vars.back() == "1") {
      cands.resize(i + 1);
      break;
    }
  }
  return vars;
}

std::string write_dispatch(Conf& dispatch, VarNames& names, std::uint16_t port,
                           const std::string& host, const std::vector<Candidate>& cands,
                           const std::vector<std::string>& vars) {
  if (vars.front() == "1") return location_name(cands.front());
  std::string var = names.unique(fmt::format("$knlab_route_{}_{}", port, host_label(host)));
  std::string source;
  for (const std::string& v : vars) source += braced(v);
  dispatch.blank();
  dispatch.comment(fmt::format(
      "port {}, hostname {}: the rule of a request. Each character is one match of a rule\n"
      "(\"1\" when it holds), in Gateway API precedence order; the first \"1\" wins.",
      port, host.empty() ? "*" : host));
  dispatch.open(fmt::format("map {} {}", quote(source), var));
  for (std::size_t i = 0; i < cands.size(); ++i) {
    const Candidate& cand = cands[i];
    std::string zeros = i <= 3 ? std::string(i, '0') : fmt::format("0{{{}}}", i);
    dispatch.line(fmt::format("{} {};  # {} rule {} match {}: {}", quote("~^" + zeros + "1"),
                              location_name(cand), l7::object_id(cand.spec->meta), cand.rule,
                              cand.match, describe_match(cand.m)));
  }
  dispatch.line("default @no_route;");
  dispatch.close();
  return var;
}

}  // namespace knlab::nginx
