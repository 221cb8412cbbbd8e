// The Gateway writer's HTTP servers: per listener port, one server per hostname whose single
// `location /` sends every request to the named location of its rule: `error_page 418 =
// $dispatch; return 418;` jumps there with the request untouched (method, URI and body), and the
// named location applies the rule's filters and proxies. Internal to src/plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "plan/gateway_api.hpp"
#include "plan/nginx_common.hpp"
#include "plan/nginx_gateway_match.hpp"

namespace knlab::nginx {

// The maps and split_clients of the rules' filters and weighted backends, each written once.
class FilterMaps {
 public:
  // RequestHeaderModifier add: a variable with the client's value and `value` appended (just
  // `value` when the client sent none).
  std::string add_var(const std::string& header, const std::string& value, Ctx& ctx,
                      VarNames& names);
  // The split_clients variable of a rule with several weighted backends: (target, weight).
  std::string split(const Candidate& cand, const std::vector<std::pair<std::string, int>>& buckets,
                    const std::string& what, VarNames& names);
  const Conf& conf() const { return conf_; }

 private:
  Conf conf_;
  std::map<std::pair<std::size_t, std::size_t>, std::string> splits_;    // (route, rule)
  std::map<std::pair<std::string, std::string>, std::string> add_vars_;  // (header, value)
};

// What a Gateway's HTTP servers add to http {} besides themselves.
struct HttpMaps {
  VarNames names;      // of all the variables below
  MatchVars matches;   // the conditions of the routes' matches
  FilterMaps filters;  // split_clients, header maps of filters
  Conf dispatch;       // per server: the rule of a request
};

// The inputs of a Gateway's HTTP servers.
struct GatewayHttp {
  const GatewaySpec& gw;
  const std::vector<gateway_api::ListenerInfo>& listeners;  // of gw, in its order
  const gateway_api::HttpAttachments& attached;
};

// The servers of one port into `servers`: its HTTP or HTTPS listeners `on_port` (indexes into
// gw.listeners, usable ones), one server per hostname of theirs and of their routes.
void write_http_port(Conf& servers, HttpMaps& maps, Ctx& ctx, const GatewayHttp& in,
                     std::uint16_t port, const std::vector<std::size_t>& on_port);

}  // namespace knlab::nginx
