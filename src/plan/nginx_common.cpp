#include "plan/nginx_common.hpp"

#include <fmt/core.h>

namespace knlab::nginx {

namespace {

constexpr std::string_view kStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";

}  // namespace

std::string Ctx::lit(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '$') {
      out += "${knlab_dollar}";
      dollar = true;
    } else {
      out += c;
    }
  }
  return out;
}

std::string Ctx::upstream(const ServicePlan& s, const ServicePortPlan& p) {
  // '_' is in no namespace or name (DNS labels): "a-b"/"c" and "a"/"b-c" get two upstreams.
  std::string name = fmt::format("{}_{}_{}", s.spec.ns, s.spec.name, p.port);
  upstreams.emplace(name, std::pair{&s, &p});
  return name;
}

void Ctx::tls(Conf& c, const SecretSpec& s) {
  secrets.emplace(std::pair{s.meta.ns, s.meta.name}, &s);
  std::string base = cert_base(dp, s);
  c.line(fmt::format("ssl_certificate {};", tok(base + ".crt")));
  c.line(fmt::format("ssl_certificate_key {};", tok(base + ".key")));
}

std::string cert_base(const DataPlanePlan& dp, const SecretSpec& s) {
  return fmt::format("{}/certs/{}-{}", dp.dir, s.meta.ns, s.meta.name);
}

std::string endpoints_comment(const ServicePlan& s, const ServicePortPlan& p) {
  return fmt::format("Service {}/{} port {}{} -> target port {}, {} endpoint{}", s.spec.ns,
                     s.spec.name, p.port, p.name.empty() ? "" : " (" + p.name + ")", p.target_port,
                     s.endpoints.size(), s.endpoints.size() == 1 ? "" : "s");
}

void write_main(Conf& c, const DataPlanePlan& dp, bool stream) {
  if (stream) {
    c.comment("TCPRoute/UDPRoute listeners: the stream module (libnginx-mod-stream)");
    c.line(fmt::format("load_module {};", kStreamModule));
    c.blank();
  }
  c.comment("The pod's container runs this nginx as root (kn-lab's state directory is root's).");
  c.line("user root;");
  c.line("worker_processes 1;");
  c.line("worker_shutdown_timeout 10s;");
  c.line(fmt::format("pid {};", tok(dp.dir + "/nginx.pid")));
  c.line(fmt::format("lock_file {};", tok(dp.dir + "/nginx.lock")));
  c.line(fmt::format("error_log {} notice;", tok(dp.dir + "/logs/error.log")));
  c.blank();
  c.open("events");
  c.line("worker_connections 1024;");
  c.close();
}

HeaderList proxy_headers() {
  return {{"Host", "$host"},
          {"X-Real-IP", "$remote_addr"},
          {"X-Forwarded-For", "$proxy_add_x_forwarded_for"},
          {"X-Forwarded-Host", "$host"},
          {"X-Forwarded-Port", "$server_port"},
          {"X-Forwarded-Proto", "$scheme"},
          {"X-Request-ID", "$request_id"},
          {"Connection", "$connection_upgrade"},
          {"Upgrade", "$http_upgrade"}};
}

void write_headers(Conf& c, const HeaderList& headers) {
  for (const auto& [name, value] : headers)
    c.line(fmt::format("proxy_set_header {} {};", tok(name), value.empty() ? "\"\"" : tok(value)));
}

void write_http_common(Conf& c, const DataPlanePlan& dp) {
  c.comment("Access log: the request, its status, and which endpoint (pod IP:port) answered.");
  c.line(
      "log_format knlab '$remote_addr - [$time_local] \"$request\" $status $body_bytes_sent "
      "host=$host "
      "upstream=$upstream_addr upstream_status=$upstream_status request_time=$request_time "
      "request_id=$request_id';");
  c.line(fmt::format("access_log {} knlab;", tok(dp.dir + "/logs/access.log")));
  for (std::string_view t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    c.line(fmt::format("{}_temp_path {};", t, tok(dp.dir + "/temp/" + std::string(t))));
  c.line("default_type text/plain;");
  c.line("server_names_hash_bucket_size 256;");
  c.line("variables_hash_max_size 4096;");
  c.line("proxy_headers_hash_bucket_size 128;");
  c.blank();
  c.comment(
      "How requests go to the endpoints (locations that set headers of their own repeat these:\n"
      "proxy_set_header in a location replaces the inherited ones).");
  c.line("map $http_upgrade $connection_upgrade { default upgrade; \"\" \"\"; }");
  c.line("proxy_http_version 1.1;");
  c.line("proxy_connect_timeout 5s;");
  c.line("proxy_next_upstream error timeout;");
  write_headers(c, proxy_headers());
}

void write_http_upstreams(Conf& c, const Ctx& ctx) {
  for (const auto& [name, sp] : ctx.upstreams) {
    const auto& [s, p] = sp;
    c.blank();
    c.comment(endpoints_comment(*s, *p));
    c.open("upstream " + name);
    for (const EndpointPlan& e : s->endpoints)
      c.line(fmt::format("server {}:{} max_fails=0;  # pod {}{}", e.ip.str(), p->target_port, e.pod,
                         e.node.empty() ? "" : " on " + e.node));
    c.line("keepalive 32;");
    c.close();
  }
}

void write_dollar(Conf& c, const Ctx& ctx) {
  if (!ctx.dollar) return;
  c.blank();
  c.comment("A literal \"$\" in values (nginx has no escape for it).");
  c.line("geo $knlab_dollar { default \"$\"; }");
}

}  // namespace knlab::nginx
