// Which nginx server and location an HTTP request matches in a configuration kn-lab generated
// (ingress-nginx style or a Gateway's data plane), and where it goes from there: nginx's own
// rules (listen port, server_name, location precedence, the rewrite module's directives,
// error_page jumps to named locations, map / split_clients variables, proxy_pass to an
// upstream), evaluated over the text of nginx.conf. Pure: the configuration and the request come
// in as data. What nginx does that this matcher does not evaluate is said in a step.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace knlab::trace {

struct L7Request {
  bool https = false;
  std::uint16_t port = 80;  // the port nginx listens on, as the connection arrives
  std::string host;         // the Host header (or SNI), without port
  std::string path = "/";   // the URI path, percent-decoding not needed
  std::string query;        // without '?'
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, names case-insensitive
};

struct L7Server {
  std::string address;  // "10.244.0.2:8080"
  std::string comment;  // "pod api-x on node1"
  int weight = 1;
};

struct L7Upstream {
  std::string name;
  std::vector<L7Server> servers;
};

struct L7Match {
  int server_line = 0;      // 1-based line of the `server {` block chosen; 0: none
  std::string server;       // "listen 80 default_server; server_name _"
  int location_line = 0;    // of the location the request ends in; 0: none
  std::string location;     // "~* \"^/api\"", "= /healthz", "/", "@default/api-route/rule0"
  std::string comment;      // the generator's comment lines just above that location, joined by "; "
  std::vector<std::string> steps;  // how nginx got there, one line each
  std::string action;       // "proxy_pass http://default_api_80", "return 404 \"default backend - 404\""
  std::vector<L7Upstream> upstreams;  // where proxy_pass can go (several: split_clients, weights in steps)
  std::string rewritten_uri;  // the URI after `rewrite` (with its query, if any), else ""
};

// nginx's choice for `req` in the configuration `conf` (the text of an nginx.conf kn-lab
// generated). An error only for a configuration that cannot be parsed; "no server listens on
// that port" is a match with server_line 0 and a step saying so.
Result<L7Match> nginx_match(const std::string& conf, const L7Request& req);

}  // namespace knlab::trace
