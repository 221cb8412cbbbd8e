// The L7 stage of a trace through an Ingress or a Gateway: what the data plane's nginx does with
// the request (server, location, upstream, from the configuration kn-lab generated for it), and,
// after a probe, which endpoint it really used (its access log).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "plan/plan.hpp"
#include "trace/nginx_match.hpp"
#include "trace/target.hpp"

namespace knlab::trace {

struct L7Stage {
  std::string data_plane;  // "ingress-nginx/ingress-nginx-controller"
  std::string conf;        // the nginx.conf read
  L7Request request;
  L7Match match;
  std::optional<L7Server> endpoint;  // the endpoint followed: the one nginx logged, or the first
  std::string logged;                // the access log line of the probe's request
};

Result<L7Stage> l7_stage(const DataPlanePlan& dp, const HttpTarget& http, std::uint16_t port);

// Where the data plane's access log ends now (a probe's line comes after).
std::uintmax_t access_log_end(const DataPlanePlan& dp);
// The probe's request in the access log written since `from`: its line and upstream address.
std::optional<std::pair<std::string, std::string>> logged_upstream(const DataPlanePlan& dp, std::uintmax_t from,
                                                                   const HttpTarget& http);

}  // namespace knlab::trace
