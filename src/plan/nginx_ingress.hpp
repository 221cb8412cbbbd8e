// The ingress-nginx controller's nginx.conf, from the Ingresses of class "nginx". Internal to
// src/plan (nginx.hpp is the public side).
#pragma once

#include <string>

#include "plan/nginx_common.hpp"

namespace knlab::nginx {

std::string ingress_conf(Ctx& ctx);

}  // namespace knlab::nginx
