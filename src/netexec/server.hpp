// Server: kn-netexec's single-threaded epoll loop over HTTP, raw-TCP and UDP listeners.
//
// One thread, non-blocking sockets, level-triggered epoll: a pod's test server must stay tiny
// (hundreds of kB RSS, dozens of pods per VM) yet answer thousands of keep-alive requests per
// second, which rules out a thread per connection.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/fd.hpp"
#include "handlers.hpp"

namespace knlab::netexec {

using knlab::Fd;  // the same move-only fd owner as kn-lab's

enum class Proto { kHttp, kTcp, kUdp };

struct ListenSpec {
  Proto proto = Proto::kHttp;
  std::uint16_t port = 0;
};

class Server {
 public:
  // Blocks SIGTERM/SIGINT (they are read from a signalfd instead, which also works when the
  // server is PID 1 of a pod, where default signal actions do not apply) and opens every
  // listener on `bind_addr` (IPv4 or IPv6 literal) with SO_REUSEADDR.
  static std::expected<Server, std::string> create(Identity id, const std::string& bind_addr,
                                                   const std::vector<ListenSpec>& specs);

  // Serves until SIGTERM/SIGINT (returns 0) or a fatal epoll error (returns 1).
  int run();

 private:
  struct Listener {
    Fd fd;
    Proto proto;
  };
  struct Conn {
    Fd fd;
    Proto proto = Proto::kHttp;
    std::string peer;            // "ip:port", computed once at accept
    std::string in, out;         // unparsed input, unsent output
    std::uint32_t gen = 0;       // tells this connection from an earlier one on the same fd
    std::uint32_t events = 0;    // epoll mask currently registered
    bool closing = false;        // accept no more requests: flush `out`, then close
    bool peer_eof = false;       // peer shut down its side (read returned 0)
    bool sent_continue = false;  // "100 Continue" already sent for the pending request
  };

  Server() = default;
  void accept_all(const Listener& l);
  void serve_udp(const Listener& l);
  void on_conn_event(Conn& c, std::uint32_t events);
  void serve_http(Conn& c);
  bool flush(Conn& c);
  void update_interest(Conn& c);
  void close_conn(Conn& c);
  void pause_accepting(bool pause);

  Identity id_;
  Fd epoll_;
  Fd signals_;
  std::vector<Listener> listeners_;
  std::unordered_map<int, Conn> conns_;  // keyed by fd
  std::uint32_t next_gen_ = 1;
  bool accept_paused_ = false;
};

}  // namespace knlab::netexec
