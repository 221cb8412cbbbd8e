// kn-netexec: the test server that kn-lab runs inside pods, modelled on Kubernetes' agnhost
// netexec. Curling it shows WHICH pod answered and WHAT that pod saw (client address, path,
// headers), which is how a learner sees SNAT, load balancing and ingress rewrites.
#include <fmt/format.h>
#include <sys/resource.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "handlers.hpp"
#include "server.hpp"

namespace {

using knlab::netexec::ListenSpec;
using knlab::netexec::Proto;

constexpr std::string_view kUsage =
    "usage: kn-netexec [--http-port N]... [--udp-port N]... [--tcp-port N]... [--bind ADDR]\n"
    "  --http-port N  serve HTTP on port N (repeatable; 8080 if no port flag is given)\n"
    "  --udp-port N   answer UDP datagrams on port N: hostname | clientip | echo X | anything\n"
    "  --tcp-port N   raw TCP on port N: send \"pod: NAME\\n\", then echo every byte\n"
    "  --bind ADDR    local address to listen on (default 0.0.0.0)\n"
    "Identity: POD_NAME, POD_NAMESPACE, POD_IP, NODE_NAME from the environment.\n"
    "HTTP: / /hostname /clientip /echo?msg=X /headers /healthz\n";

struct Options {
  std::string bind = "0.0.0.0";
  std::vector<ListenSpec> listen;
  bool help = false;
};

std::expected<Options, std::string> parse_args(std::span<char*> args) {
  Options opts;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    if (flag == "-h" || flag == "--help") {
      opts.help = true;
      continue;
    }
    // Both "--flag value" and "--flag=value", as Go's flag package (agnhost) accepts.
    std::string_view value;
    if (const auto eq = flag.find('='); eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return std::unexpected(fmt::format("{}: missing value", flag));
    }
    if (flag == "--bind") {
      opts.bind = value;
      continue;
    }
    Proto proto{};
    if (flag == "--http-port") {
      proto = Proto::kHttp;
    } else if (flag == "--udp-port") {
      proto = Proto::kUdp;
    } else if (flag == "--tcp-port") {
      proto = Proto::kTcp;
    } else {
      return std::unexpected(fmt::format("unknown flag {}", flag));
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
    if (ec != std::errc{} || end != value.data() + value.size() || port == 0 || port > 65535) {
      return std::unexpected(fmt::format("{} {}: not a port number (1-65535)", flag, value));
    }
    opts.listen.push_back({proto, static_cast<std::uint16_t>(port)});
  }
  if (opts.listen.empty()) opts.listen.push_back({Proto::kHttp, 8080});
  return opts;
}

// Every idle keep-alive client holds an fd; the usual soft limit of 1024 is too low for a
// load test, and the hard limit costs nothing to use.
void raise_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto opts = parse_args(std::span(argv, static_cast<std::size_t>(argc)).subspan(1));
  if (!opts) {
    fmt::print(stderr, "kn-netexec: {}\n{}", opts.error(), kUsage);
    return 2;
  }
  if (opts->help) {
    fmt::print("{}", kUsage);
    return 0;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanishes mid-write must not kill the pod
  raise_fd_limit();

  auto server = knlab::netexec::Server::create(knlab::netexec::Identity::from_environment(),
                                               opts->bind, opts->listen);
  if (!server) {
    fmt::print(stderr, "kn-netexec: {}\n", server.error());
    return 1;
  }
  return server->run();
}
