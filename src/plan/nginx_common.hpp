// What the ingress-nginx writer and the Gateway writer share: the state of one configuration
// being written (its upstreams, certificates, literal dollars), the main and events blocks, and
// the common part of http {}. Internal to src/plan.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plan/nginx_syntax.hpp"
#include "plan/plan.hpp"

namespace knlab::nginx {

// One configuration being written: its inputs, and what its writers collect on the way (written
// after them: the upstreams, the certificate files, the $knlab_dollar variable).
struct Ctx {
  const LabPlan& plan;
  const DataPlanePlan& dp;
  std::map<std::string, std::pair<const ServicePlan*, const ServicePortPlan*>> upstreams;  // http
  std::map<std::pair<std::string, std::string>, const SecretSpec*> secrets;  // used: (ns, name)
  bool dollar = false;  // ${knlab_dollar} is used

  // An nginx string value with a literal `$` (nginx has no escape for it outside variables).
  std::string lit(std::string_view s);
  // The name of the http upstream of a Service port (written by write_http_upstreams).
  std::string upstream(const ServicePlan& s, const ServicePortPlan& p);
  // ssl_certificate and ssl_certificate_key of a Secret (its files are written by nginx_files).
  void tls(Conf& c, const SecretSpec& s);
};

// The path of a Secret's certificate and key files in the data plane's directory, without
// .crt/.key.
std::string cert_base(const DataPlanePlan& dp, const SecretSpec& s);

// "Service ns/name port 80 (http) -> target port 8080, 2 endpoints"
std::string endpoints_comment(const ServicePlan& s, const ServicePortPlan& p);

// The main context and events {}; `stream` loads the stream module.
void write_main(Conf& c, const DataPlanePlan& dp, bool stream);

// (name, value) of the request headers nginx sends to the endpoints.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
HeaderList proxy_headers();
void write_headers(Conf& c, const HeaderList& headers);

// The start of http {}: logs, temp paths, hash sizes, how requests go to the endpoints.
void write_http_common(Conf& c, const DataPlanePlan& dp);
// The upstreams ctx.upstream() named.
void write_http_upstreams(Conf& c, const Ctx& ctx);
// $knlab_dollar, when ctx.lit() needed it.
void write_dollar(Conf& c, const Ctx& ctx);

}  // namespace knlab::nginx
