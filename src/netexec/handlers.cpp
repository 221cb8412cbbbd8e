#include "handlers.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace knlab::netexec {
namespace {

// Identity values go into response headers: drop control bytes so no environment value can
// break the header block.
std::string sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  }
  return out;
}

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return sanitize((v != nullptr && *v != '\0') ? std::string_view(v) : std::string_view(fallback));
}

std::string host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0) return "unknown";
  return buf.data();
}

// The pod's address when POD_IP is not set: inside a pod's network namespace the only
// non-loopback IPv4 is eth0's, which is what the downward API would have said.
std::string first_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "unknown";
  std::string found = "unknown";
  for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_addr->sa_family != AF_INET) continue;
    sockaddr_in sin{};
    std::memcpy(&sin, ifa->ifa_addr, sizeof sin);  // no reinterpret_cast of sockaddr
    if ((ntohl(sin.sin_addr.s_addr) >> 24) == 127) continue;
    std::array<char, INET_ADDRSTRLEN> text{};
    if (::inet_ntop(AF_INET, &sin.sin_addr, text.data(), text.size()) != nullptr) {
      found = text.data();
      break;
    }
  }
  ::freeifaddrs(list);
  return found;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of `key` in a query string ("a=1&msg=hi"), decoded; empty if absent.
std::string query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == key) {
      return eq == std::string_view::npos ? std::string{} : url_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    default:
      return "Unknown";
  }
}

void append_response(std::string& out, int status, std::string_view body, bool send_body,
                     const Identity& id, std::string_view path, std::string_view connection) {
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: {}\r\nX-Pod-Name: {}\r\nX-Pod-IP: {}\r\nX-Request-Path: {}\r\n",
                 status, reason(status), body.size(), id.pod, id.ip, path);
  if (!connection.empty()) fmt::format_to(it, "Connection: {}\r\n", connection);
  out += "\r\n";
  if (send_body) out += body;
}

}  // namespace

Identity Identity::from_environment() {
  Identity id;
  id.hostname = sanitize(host_name());
  id.pod = env_or("POD_NAME", id.hostname);
  id.namespace_ = env_or("POD_NAMESPACE", "default");
  id.ip = env_or("POD_IP", first_ipv4());
  id.node = env_or("NODE_NAME", "unknown");
  return id;
}

std::string format_peer(std::string_view ip, unsigned port) {
  return ip.find(':') != std::string_view::npos ? fmt::format("[{}]:{}", ip, port)
                                                : fmt::format("{}:{}", ip, port);
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void append_http_response(std::string& out, const http::Request& req, std::string_view body,
                          const Identity& id, std::string_view peer, bool close) {
  // Route on the path only; an absolute-form target (sent to proxies) is reduced to its path.
  std::string_view path = req.target;
  if (const auto scheme = path.find("://"); scheme != std::string_view::npos && path[0] != '/') {
    const auto slash = path.find('/', scheme + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  const auto qmark = path.find('?');
  const auto query = qmark == std::string_view::npos ? std::string_view{} : path.substr(qmark + 1);
  path = path.substr(0, qmark);

  int status = 200;
  std::string reply;
  const bool agnhost_danger = path == "/shell" || path == "/exec" || path == "/exit";
  if (agnhost_danger) {
    // agnhost's shell, exec and exit endpoints: deliberately not served (see the header).
    status = 404;
    reply = "404 page not found\n";
  } else if (path == "/hostname") {
    reply = id.hostname;
  } else if (path == "/clientip") {
    reply = peer;
  } else if (path == "/echo") {
    // POST/PUT bodies are echoed as sent; otherwise ?msg= is, like agnhost.
    reply = body.empty() ? query_param(query, "msg") : std::string(body);
  } else if (path == "/headers") {
    reply = fmt::format("{}\n", req.request_line);
    for (auto line : req.header_lines) fmt::format_to(std::back_inserter(reply), "{}\n", line);
  } else if (path == "/healthz") {
    reply = "ok";
  } else {
    // "/" and any other path: who answered and what it received (the path after an Ingress's
    // or an HTTPRoute's rewrite), like traefik/whoami, so that L7 routing is visible.
    reply = fmt::format("pod: {}\nnamespace: {}\nip: {}\nnode: {}\npath: {}\nclient: {}\n", id.pod,
                        id.namespace_, id.ip, id.node, req.target, peer);
  }
  // Responses are HTTP/1.1 (allowed for 1.0 requests); a 1.0 client that asked for
  // keep-alive must be told it got it, since 1.0 closes by default.
  const std::string_view connection =
      close ? "close" : (req.version == "HTTP/1.0" ? "keep-alive" : "");
  append_response(out, status, reply, req.method != "HEAD", id, req.target, connection);
}

void append_http_error(std::string& out, int status, const Identity& id) {
  append_response(out, status, fmt::format("{} {}\n", status, reason(status)), true, id, "",
                  "close");
}

std::string udp_reply(std::string_view payload, const Identity& id, std::string_view peer) {
  // Commands are matched with surrounding whitespace trimmed, so `echo hostname | nc -u` works.
  auto cmd = payload;
  while (!cmd.empty() && std::string_view(" \t\r\n").find(cmd.front()) != std::string_view::npos) {
    cmd.remove_prefix(1);
  }
  while (!cmd.empty() && std::string_view(" \t\r\n").find(cmd.back()) != std::string_view::npos) {
    cmd.remove_suffix(1);
  }
  if (cmd == "hostname") return id.pod;
  if (cmd == "clientip") return std::string(peer);  // SNAT made visible for UDP too
  if (cmd.starts_with("echo ")) return std::string(cmd.substr(5));
  return std::string(payload);
}

std::string tcp_banner(const Identity& id) {
  return fmt::format("pod: {}\n", id.pod);
}

}  // namespace knlab::netexec
