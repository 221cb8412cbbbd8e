// The nginx.conf of a Gateway's data plane: one server per (listener port, hostname) for its
// HTTP and HTTPS listeners (nginx_gateway_server, nginx_gateway_match), and `stream` servers for
// TCPRoute and UDPRoute. Internal to src/plan (nginx.hpp is the public side).
#pragma once

#include <string>

#include "plan/nginx_common.hpp"

namespace knlab::nginx {

std::string gateway_conf(Ctx& ctx);

}  // namespace knlab::nginx
