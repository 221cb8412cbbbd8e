#include "server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

namespace knlab::netexec {
namespace {

constexpr std::uint32_t kIn = EPOLLIN;
constexpr std::uint32_t kOut = EPOLLOUT;
constexpr std::size_t kMaxBody = 1024 * 1024;       // bodies are buffered whole: bound them
constexpr std::size_t kMaxPendingOut = 256 * 1024;  // stop reading a client that doesn't read
constexpr std::size_t kKeepCapacity = 64 * 1024;    // give back buffers grown by a burst
constexpr int kUdpBurst = 64;                       // datagrams per wakeup, for fairness

// One scratch buffer for every read: the loop is single-threaded, and only the pages the kernel
// actually writes into become resident.
std::array<char, 64 * 1024> g_io;

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  sockaddr* ptr() { return reinterpret_cast<sockaddr*>(&ss); }
};

std::optional<SockAddr> make_addr(const std::string& host, std::uint16_t port) {
  SockAddr a;
  sockaddr_in s4{};
  s4.sin_family = AF_INET;
  s4.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &s4.sin_addr) == 1) {
    std::memcpy(&a.ss, &s4, sizeof s4);
    a.len = sizeof s4;
    return a;
  }
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  s6.sin6_port = htons(port);
  if (::inet_pton(AF_INET6, host.c_str(), &s6.sin6_addr) == 1) {
    std::memcpy(&a.ss, &s6, sizeof s6);
    a.len = sizeof s6;
    return a;
  }
  return std::nullopt;
}

std::string peer_of(const sockaddr_storage& ss) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (ss.ss_family == AF_INET6) {
    sockaddr_in6 s6{};
    std::memcpy(&s6, &ss, sizeof s6);
    const auto* b = s6.sin6_addr.s6_addr;
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; show them as IPv4 like Go.
    const bool v4mapped =
        std::all_of(b, b + 10, [](auto x) { return x == 0; }) && b[10] == 0xff && b[11] == 0xff;
    if (v4mapped) {
      ::inet_ntop(AF_INET, b + 12, text.data(), text.size());
    } else {
      ::inet_ntop(AF_INET6, &s6.sin6_addr, text.data(), text.size());
    }
    return format_peer(text.data(), ntohs(s6.sin6_port));
  }
  sockaddr_in s4{};
  std::memcpy(&s4, &ss, sizeof s4);
  ::inet_ntop(AF_INET, &s4.sin_addr, text.data(), text.size());
  return format_peer(text.data(), ntohs(s4.sin_port));
}

std::string_view proto_name(Proto p) {
  switch (p) {
    case Proto::kHttp:
      return "http";
    case Proto::kTcp:
      return "tcp";
    case Proto::kUdp:
      return "udp";
  }
  return "?";
}

std::string errno_text(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

bool would_block() {
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

// epoll cookie of a connection: fd in the low half, generation in the high half. Listeners and
// the signalfd use generation 0.
std::uint64_t cookie(int fd, std::uint32_t gen) {
  return (std::uint64_t{gen} << 32) | static_cast<std::uint32_t>(fd);
}

void release_if_idle(std::string& s) {
  if (s.empty() && s.capacity() > kKeepCapacity) s.shrink_to_fit();
}

}  // namespace

std::expected<Server, std::string> Server::create(Identity id, const std::string& bind_addr,
                                                  const std::vector<ListenSpec>& specs) {
  Server s;
  s.id_ = std::move(id);
  s.epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!s.epoll_) return std::unexpected(errno_text("epoll_create1"));

  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGTERM);
  ::sigaddset(&set, SIGINT);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  s.signals_ = Fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!s.signals_) return std::unexpected(errno_text("signalfd"));

  auto watch = [&s](int fd) {
    epoll_event ev{};
    ev.events = kIn;
    ev.data.u64 = cookie(fd, 0);
    return ::epoll_ctl(s.epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
  };
  if (!watch(s.signals_.get())) return std::unexpected(errno_text("epoll_ctl"));

  for (const auto& spec : specs) {
    auto addr = make_addr(bind_addr, spec.port);
    if (!addr) return std::unexpected(fmt::format("--bind {}: not an IP address", bind_addr));
    const auto where =
        fmt::format("{} {}", proto_name(spec.proto), format_peer(bind_addr, spec.port));
    const int type =
        (spec.proto == Proto::kUdp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
    Fd fd(::socket(addr->ss.ss_family, type, 0));
    const int one = 1;
    if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd.get(), addr->ptr(), addr->len) != 0 ||
        (spec.proto != Proto::kUdp && ::listen(fd.get(), SOMAXCONN) != 0) || !watch(fd.get())) {
      return std::unexpected(errno_text(fmt::format("listen on {}", where)));
    }
    s.listeners_.push_back({std::move(fd), spec.proto});
    fmt::print(stderr, "kn-netexec: pod {} serving {}\n", s.id_.pod, where);
  }
  return s;
}

int Server::run() {
  std::array<epoll_event, 64> events{};
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fmt::print(stderr, "kn-netexec: {}\n", errno_text("epoll_wait"));
      return 1;
    }
    for (const auto& ev : std::span(events.data(), static_cast<std::size_t>(n))) {
      const auto fd = static_cast<int>(ev.data.u64 & 0xffffffffU);
      const auto gen = static_cast<std::uint32_t>(ev.data.u64 >> 32);
      if (fd == signals_.get()) {
        fmt::print(stderr, "kn-netexec: terminating on signal\n");
        return 0;  // every Fd closes on the way out
      }
      if (auto l = std::ranges::find(listeners_, fd, [](const Listener& x) { return x.fd.get(); });
          l != listeners_.end()) {
        l->proto == Proto::kUdp ? serve_udp(*l) : accept_all(*l);
      } else if (auto c = conns_.find(fd); c != conns_.end() && c->second.gen == gen) {
        // (A generation mismatch means the connection these events were for closed earlier
        // in this batch and an accept reused its fd: the events are stale.)
        on_conn_event(c->second, ev.events);
      }
    }
  }
}

void Server::accept_all(const Listener& l) {
  for (;;) {
    SockAddr a;
    a.len = sizeof a.ss;
    Fd fd(::accept4(l.fd.get(), a.ptr(), &a.len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == ECONNABORTED || errno == EINTR) continue;
      // Out of fds: level-triggered epoll would spin on the pending connection, so stop
      // watching listeners until a connection closes.
      if (errno == EMFILE || errno == ENFILE) pause_accepting(true);
      return;  // EAGAIN: backlog drained
    }
    const int one = 1;  // responses go out in one write; don't let Nagle hold back the next
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    const int raw = fd.get();
    Conn& c = conns_[raw];
    c.fd = std::move(fd);
    c.proto = l.proto;
    c.peer = peer_of(a.ss);
    c.gen = next_gen_++;
    epoll_event ev{};
    ev.events = c.events = kIn;
    ev.data.u64 = cookie(raw, c.gen);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) {
      conns_.erase(raw);
      continue;
    }
    if (l.proto == Proto::kTcp) {
      c.out = tcp_banner(id_);
      on_conn_event(c, 0);
    }
  }
}

void Server::serve_udp(const Listener& l) {
  for (int i = 0; i < kUdpBurst; ++i) {
    SockAddr a;
    a.len = sizeof a.ss;
    const ssize_t n = ::recvfrom(l.fd.get(), g_io.data(), g_io.size(), 0, a.ptr(), &a.len);
    if (n < 0) return;  // EAGAIN: drained
    const auto reply = udp_reply({g_io.data(), static_cast<std::size_t>(n)}, id_, peer_of(a.ss));
    // Best effort, like UDP itself: a full socket buffer drops the reply.
    ::sendto(l.fd.get(), reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL, a.ptr(), a.len);
  }
}

void Server::on_conn_event(Conn& c, std::uint32_t events) {
  if ((events & EPOLLERR) != 0) return close_conn(c);
  // EPOLLHUP comes without EPOLLIN when the peer reset; the read then reports it.
  if ((events & (kIn | EPOLLHUP)) != 0) {
    const ssize_t n = ::recv(c.fd.get(), g_io.data(), g_io.size(), 0);
    if (n > 0 && !c.closing) c.in.append(g_io.data(), static_cast<std::size_t>(n));
    if (n == 0) c.peer_eof = true;
    if (n < 0 && !would_block()) return close_conn(c);
  }
  if (c.proto == Proto::kTcp) {
    c.out += c.in;  // raw TCP port: echo everything
    c.in.clear();
  } else {
    serve_http(c);  // before honouring EOF: a half-closed client still gets its answers
  }
  release_if_idle(c.in);
  if (c.peer_eof) c.closing = true;
  if (!flush(c) || (c.closing && c.out.empty())) return close_conn(c);
  update_interest(c);
}

void Server::serve_http(Conn& c) {
  const std::string_view buf = c.in;
  std::size_t used = 0;
  const auto fail = [&](int status) {
    append_http_error(c.out, status, id_);
    c.closing = true;
  };
  while (!c.closing && used < buf.size()) {
    const auto rest = buf.substr(used);
    const auto req = http::parse_request(rest);
    if (!req) {
      if (req.error() != http::ParseError::kNeedMore) {
        fail(req.error() == http::ParseError::kHeadTooLarge ? 431 : 400);
      }
      break;
    }
    if (req->has_transfer_encoding) {
      fail(501);
      break;
    }
    if (req->content_length > kMaxBody) {
      fail(413);
      break;
    }
    const std::size_t total = req->head_size + req->content_length;
    if (rest.size() < total) {
      // curl holds back a large body for a second unless told to go ahead.
      if (req->expect_continue && !c.sent_continue) {
        c.out += "HTTP/1.1 100 Continue\r\n\r\n";
        c.sent_continue = true;
      }
      break;
    }
    c.sent_continue = false;
    c.closing = !req->keep_alive;
    append_http_response(c.out, *req, rest.substr(req->head_size, req->content_length), id_, c.peer,
                         c.closing);
    used += total;  // pipelined requests: go on with the next one in the buffer
  }
  c.in.erase(0, used);
}

bool Server::flush(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return would_block();
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  release_if_idle(c.out);
  return true;
}

void Server::update_interest(Conn& c) {
  std::uint32_t want = 0;
  if (!c.closing && c.out.size() < kMaxPendingOut) want |= kIn;  // backpressure
  if (!c.out.empty()) want |= kOut;
  if (want == c.events) return;  // the common keep-alive case: no syscall
  epoll_event ev{};
  ev.events = c.events = want;
  ev.data.u64 = cookie(c.fd.get(), c.gen);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0) close_conn(c);
}

void Server::close_conn(Conn& c) {
  if (!c.peer_eof) {
    // Closing with unread input makes the kernel send RST, which can destroy a 400/431 still
    // in flight to the client. Send FIN, then discard what has already arrived.
    ::shutdown(c.fd.get(), SHUT_WR);
    for (int i = 0; i < 16 && ::recv(c.fd.get(), g_io.data(), g_io.size(), 0) > 0; ++i) {
    }
  }
  conns_.erase(c.fd.get());  // closing the fd also removes it from the epoll set
  if (accept_paused_) pause_accepting(false);
}

void Server::pause_accepting(bool pause) {
  accept_paused_ = pause;
  for (const auto& l : listeners_) {
    if (l.proto == Proto::kUdp) continue;
    epoll_event ev{};
    ev.events = pause ? 0 : kIn;
    ev.data.u64 = cookie(l.fd.get(), 0);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, l.fd.get(), &ev);
  }
}

}  // namespace knlab::netexec
