// What kn-netexec answers: the HTTP endpoints, the UDP commands and the raw TCP banner, as
// pure functions of (request, identity, peer). No sockets here, so the contract is testable.
//
// Deliberately absent: agnhost's /shell, /exec and /exit. A learner's pod must not hand out a
// shell or a kill switch to whoever can reach it.
#pragma once

#include <string>
#include <string_view>

#include "http_parser.hpp"

namespace knlab::netexec {

// Who this pod is, from the downward-API style environment that kn-lab sets.
struct Identity {
  std::string pod;         // POD_NAME, else gethostname()
  std::string namespace_;  // POD_NAMESPACE, else "default"
  std::string ip;          // POD_IP, else first non-loopback IPv4, else "unknown"
  std::string node;        // NODE_NAME, else "unknown"
  std::string hostname;    // gethostname(), for /hostname

  static Identity from_environment();
};

// The peer as agnhost prints it: "10.0.0.5:41234", "[fd00::5]:41234".
std::string format_peer(std::string_view ip, unsigned port);

// Percent-decoding of a query component ('+' is a space, as in Go's url.ParseQuery). Invalid
// escapes are kept literally: learners' hand-typed URLs should echo, not fail.
std::string url_decode(std::string_view s);

// Appends the complete HTTP response (status line, headers with Content-Length, body) for one
// parsed request whose body has fully arrived. `close` adds "Connection: close".
void append_http_response(std::string& out, const http::Request& req, std::string_view body,
                          const Identity& id, std::string_view peer, bool close);

// Appends an error response (400, 413, 431, 501) for a request that could not be served; the
// caller closes the connection after it.
void append_http_error(std::string& out, int status, const Identity& id);

// The reply datagram for one UDP datagram.
std::string udp_reply(std::string_view payload, const Identity& id, std::string_view peer);

// The line a raw TCP port sends on accept, before echoing.
std::string tcp_banner(const Identity& id);

}  // namespace knlab::netexec
