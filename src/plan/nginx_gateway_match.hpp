// The Gateway writer's request matching. nginx cannot match headers, query parameters or the
// method in `location`, so an HTTP server has a single `location /` that picks the rule: every
// condition of every match is a `map` variable ("1" when it holds), a match is the conjunction
// of its conditions, and a per-server dispatch `map` over the string of all candidate matches
// (in Gateway API precedence order) yields the named location of the first one that holds.
// Internal to src/plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "plan/gateway_api.hpp"
#include "plan/nginx_syntax.hpp"
#include "plan/plan.hpp"

namespace knlab::nginx {

// One match of one rule of an attached HTTPRoute, a candidate for the requests of a server.
struct Candidate {
  const HttpRouteSpec* spec = nullptr;
  std::size_t route = 0, rule = 0, match = 0;  // route: index into plan.l7.http_routes
  HttpMatch m;                                 // path filled in
  bool host_exact = false;  // the route hostname that brought it here: exact, or wildcard/any
  std::size_t host_len = 0;
  const HttpRouteRule& rule_spec() const { return spec->rules[rule]; }
};

// "path PathPrefix /api, method GET, header X-Version = v2"
std::string describe_match(const HttpMatch& m);
// A RequestRedirect or URLRewrite of the rule replaces the matched prefix.
bool has_prefix_modifier(const HttpRouteRule& rule);
// The named location of a candidate's rule: @<ns>/<route>/rule<N>, and /match<M> when a filter
// replaces the matched prefix (which differs per match).
std::string location_name(const Candidate& cand);

// The candidates for the requests for `host` on listener `listener`.
struct ServerCandidates {
  std::vector<Candidate> cands;     // in Gateway API precedence order
  std::vector<std::string> routes;  // "HTTPRoute <ns>/<name>" of the routes that serve `host`
};
// Every match of every rule of the routes attached to the listener that serve `host`.
ServerCandidates candidates(const std::vector<HttpRouteSpec>& routes,
                            const gateway_api::HttpAttachments& attached, std::size_t listener,
                            const std::string& host);

// The condition and match variables of a configuration, each `map` written once.
class MatchVars {
 public:
  // "1", or a variable that is "1" when every condition of the match holds.
  std::string of(const Candidate& cand, VarNames& names);
  // The maps, in the order the variables were first needed.
  const Conf& maps() const { return maps_; }

 private:
  // A variable that is "1" when `source` matches `regex`, else "0".
  std::string condition(std::string_view kind, const std::string& source, const std::string& regex,
                        const std::string& what);
  std::vector<std::string> conditions_of(const HttpMatch& m);

  Conf maps_;
  std::map<std::pair<std::string, std::string>, std::string> conditions_;  // (source, regex)
  std::map<std::string, int> counters_;                                    // per kind
  std::map<std::tuple<std::size_t, std::size_t, std::size_t>, std::string> vars_;
};

// The match variables of `cands`, in order. A match without conditions always holds: the
// candidates after it are unreachable and dropped.
std::vector<std::string> match_vars(std::vector<Candidate>& cands, MatchVars& matches,
                                    VarNames& names);

// The dispatch map of one server (port, host) into `dispatch`, over the match variables `vars`
// of `cands`: its variable, or the first candidate's location when that one always holds.
std::string write_dispatch(Conf& dispatch, VarNames& names, std::uint16_t port,
                           const std::string& host, const std::vector<Candidate>& cands,
                           const std::vector<std::string>& vars);

}  // namespace knlab::nginx
