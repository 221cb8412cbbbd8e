// nginx configurations of the lab's L7 data planes. The parts:
//   nginx_syntax      quoting, regexes, the indented configuration builder
//   nginx_common      what both writers share (main and events, http {} basics, upstreams)
//   nginx_ingress     the ingress-nginx controller's configuration
//   nginx_gateway     a Gateway's data plane: the file and its stream servers, with
//   nginx_gateway_match   the match variables and dispatch maps, and
//   nginx_gateway_server  the HTTP servers and the named location of each rule
//   gateway_api       Gateway API semantics and status conditions (no nginx)
//   l7_common         lookups and text helpers they share
#include "plan/nginx.hpp"

#include "plan/nginx_common.hpp"
#include "plan/nginx_gateway.hpp"
#include "plan/nginx_ingress.hpp"

namespace knlab {

std::vector<std::pair<std::string, std::string>> nginx_files(const LabPlan& plan,
                                                             const DataPlanePlan& dp) {
  nginx::Ctx ctx{plan, dp, {}, {}, false};
  std::string conf = dp.kind == DataPlanePlan::Kind::kIngress ? nginx::ingress_conf(ctx)
                                                              : nginx::gateway_conf(ctx);
  std::vector<std::pair<std::string, std::string>> files;
  files.emplace_back(dp.conf(), std::move(conf));
  for (const auto& [key, s] : ctx.secrets) {
    std::string base = nginx::cert_base(dp, *s);
    files.emplace_back(base + ".crt", s->cert_pem);
    files.emplace_back(base + ".key", s->key_pem);
  }
  return files;
}

std::vector<std::string> nginx_argv(const DataPlanePlan& dp) {
  return {"nginx", "-p", dp.dir + "/", "-c", dp.conf(), "-g", "daemon off;"};
}

}  // namespace knlab
