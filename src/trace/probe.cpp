#include "trace/probe.hpp"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/text.hpp"
#include "net/fd.hpp"
#include "net/netns.hpp"

namespace knlab::trace {

namespace {

using Clock = std::chrono::steady_clock;

Result<Fd> socket_in(const std::string& netns, int type, int proto) {
  NetnsRef ref = KN_TRY(NetnsRef::open(netns));
  auto inside = KN_TRY(ScopedNetns::enter(ref));
  Fd s(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto));
  if (!s) return fail(sys_error("socket", "probe", errno));
  return s;
}

sockaddr_in address(Ipv4 ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = ip.network_order();
  a.sin_port = htons(port);
  return a;
}

int left_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, left_ms(deadline)) > 0;
}

void local_name(int fd, ProbeResult& r) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    r.src = Ipv4{ntohl(a.sin_addr.s_addr)};
    r.sport = ntohs(a.sin_port);
  }
}

std::string read_all(int fd, Clock::time_point deadline) {
  std::string out;
  char buf[4096];
  while (out.size() < 65536 && wait_for(fd, POLLIN, deadline)) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void failed(ProbeResult& r, int err, int timeout_ms) {
  r.refused = err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH;
  r.error = err == 0 || err == ETIMEDOUT ? fmt::format("no answer within {} ms", timeout_ms) : std::string(std::strerror(err));
}

Result<ProbeResult> tcp_probe(const std::string& netns, const Packet& p, const std::string& request, int timeout_ms,
                              Clock::time_point deadline) {
  ProbeResult r;
  Fd s = KN_TRY(socket_in(netns, SOCK_STREAM, 0));
  sockaddr_in to = address(p.dst, p.dport);
  int rc = ::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to);
  local_name(s.get(), r);
  if (rc != 0 && errno != EINPROGRESS) return failed(r, errno, timeout_ms), r;
  if (!wait_for(s.get(), POLLOUT, deadline)) return failed(r, 0, timeout_ms), r;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) return failed(r, err, timeout_ms), r;
  r.answered = true;
  if (!request.empty() && ::write(s.get(), request.data(), request.size()) > 0) r.reply = read_all(s.get(), deadline);
  return r;
}

Result<ProbeResult> udp_probe(const std::string& netns, const Packet& p, int timeout_ms, Clock::time_point deadline) {
  ProbeResult r;
  Fd s = KN_TRY(socket_in(netns, SOCK_DGRAM, 0));
  sockaddr_in to = address(p.dst, p.dport);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return failed(r, errno, timeout_ms), r;
  local_name(s.get(), r);
  if (::send(s.get(), "hostname", 8, 0) < 0) return failed(r, errno, timeout_ms), r;
  if (!wait_for(s.get(), POLLIN, deadline)) return failed(r, 0, timeout_ms), r;
  char buf[2048];
  ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
  if (n < 0) return failed(r, errno, timeout_ms), r;
  r.answered = true;
  r.reply.assign(buf, static_cast<std::size_t>(n));
  return r;
}

Result<ProbeResult> icmp_probe(const std::string& netns, const Packet& p, int timeout_ms, Clock::time_point deadline) {
  ProbeResult r;
  Fd s = KN_TRY(socket_in(netns, SOCK_RAW, IPPROTO_ICMP));
  sockaddr_in to = address(p.dst, 0);
  // An echo request of p.size bytes in all (20 of IPv4 header, 8 of ICMP, the rest payload).
  std::vector<std::uint8_t> msg(p.size > 28 ? p.size - 20u : sizeof(icmphdr), 0);
  auto* echo = reinterpret_cast<icmphdr*>(msg.data());
  echo->type = ICMP_ECHO;
  echo->un.echo.id = htons(static_cast<std::uint16_t>(::getpid()));
  echo->un.echo.sequence = htons(1);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < msg.size(); i += 2) {
    std::uint16_t word = 0;
    std::memcpy(&word, &msg[i], 2);  // the one's complement sum is the same in either byte order
    sum += word;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  echo->checksum = static_cast<std::uint16_t>(~sum);
  int df = IP_PMTUDISC_DO;  // Don't Fragment, as the trace assumes
  if (p.size) ::setsockopt(s.get(), IPPROTO_IP, IP_MTU_DISCOVER, &df, sizeof df);
  if (::sendto(s.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return failed(r, errno, timeout_ms), r;
  while (wait_for(s.get(), POLLIN, deadline)) {
    char buf[65536];
    ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
    if (n < 28) continue;
    std::size_t ihl = static_cast<std::size_t>(buf[0] & 0x0f) * 4;
    const auto* reply = reinterpret_cast<const icmphdr*>(buf + ihl);
    if (static_cast<std::size_t>(n) < ihl + sizeof(icmphdr)) continue;
    if (reply->type == ICMP_ECHOREPLY && reply->un.echo.id == echo->un.echo.id) {
      r.answered = true;
      r.reply = "echo reply";
      return r;
    }
    if (reply->type == ICMP_DEST_UNREACH) return failed(r, EHOSTUNREACH, timeout_ms), r;
  }
  return failed(r, 0, timeout_ms), r;
}

}  // namespace

std::string http_request(const std::string& host, const std::string& target) {
  return fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: kn-lab-trace\r\n\r\n", target, host);
}

Result<ProbeResult> send_probe(const std::string& netns, const Packet& p, int timeout_ms, const std::string& request) {
  auto start = Clock::now();
  auto deadline = start + std::chrono::milliseconds(timeout_ms);
  ProbeResult r = p.proto == Proto::kTcp   ? KN_TRY(tcp_probe(netns, p, request, timeout_ms, deadline))
                  : p.proto == Proto::kUdp ? KN_TRY(udp_probe(netns, p, timeout_ms, deadline))
                                           : KN_TRY(icmp_probe(netns, p, timeout_ms, deadline));
  r.ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  return r;
}

std::string answer_hostname(const std::string& reply) {
  std::string body = reply;
  if (auto at = reply.find("\r\n\r\n"); reply.starts_with("HTTP/") && at != std::string::npos) body = reply.substr(at + 4);
  // kn-netexec's page for any other path starts with "pod: NAME"
  if (body.starts_with("pod: ")) return body.substr(5, body.find('\n') - 5);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) body.pop_back();
  return body.find_first_of(" \n<") == std::string::npos ? body : std::string();
}

namespace {

std::optional<std::uint64_t> rule_packets(Kernel& k, const Evidence& e) {
  auto t = k.table(e.netns, e.table);
  if (!t) return std::nullopt;
  const IptReadChain* c = (*t)->chain(e.chain);
  if (!c) return std::nullopt;
  if (e.rule == 0) return c->builtin ? std::optional(c->policy_counters.packets) : std::nullopt;
  if (static_cast<std::size_t>(e.rule) > c->rules.size()) return std::nullopt;
  return c->rules[static_cast<std::size_t>(e.rule) - 1].counters.packets;
}

std::optional<std::uint64_t> link_packets(Kernel& k, const Evidence& e) {
  auto s = k.ns(e.netns);
  if (!s) return std::nullopt;
  const LinkInfo* l = (*s)->link(e.ifindex);
  if (!l) return std::nullopt;
  return e.tx ? l->tx_packets : l->rx_packets;
}

void mark_hop(Hop& h, Kernel& before, Kernel& after, const NftMet& nft) {
  if (h.evidence.empty()) return;
  std::vector<std::string> seen;
  bool all = true;
  for (const Evidence& e : h.evidence) {
    if (e.table == "kube-proxy") {  // nftables' tracing, in the namespaces traced
      auto traced = nft.find(e.netns);
      if (traced == nft.end()) continue;
      bool met = traced->second.contains({e.chain, static_cast<std::uint64_t>(e.rule)});
      seen.push_back(fmt::format("nftrace: {} rule handle {} {}", e.chain, e.rule, met ? "met" : "NOT met"));
      all = all && met;
      continue;
    }
    auto b = e.table.empty() ? link_packets(before, e) : rule_packets(before, e);
    auto a = e.table.empty() ? link_packets(after, e) : rule_packets(after, e);
    if (!b || !a) continue;
    std::string what = e.table.empty() ? fmt::format("{} packets", e.tx ? "tx" : "rx")
                                       : (e.rule ? fmt::format("{} rule {}", e.chain, e.rule) : fmt::format("{} policy", e.chain));
    seen.push_back(fmt::format("{} {} -> {}", what, *b, *a));
    all = all && *a > *b;
  }
  if (seen.empty()) return;
  h.seen = all ? Seen::kSeen : Seen::kNotSeen;
  h.observed = join(seen, "; ");
}

}  // namespace

std::optional<Ipv4> counted_branch(Kernel& before, Kernel& after, const std::string& netns, const std::vector<NfBranch>& branches) {
  std::optional<Ipv4> found;
  for (const NfBranch& b : branches) {
    Evidence e{netns, "nat", b.chain, b.rule, 0, true};
    auto x = rule_packets(before, e), y = rule_packets(after, e);
    if (x && y && *y > *x) {
      if (found) return std::nullopt;  // two branches moved: other traffic, no answer
      found = b.to_ip;
    }
  }
  return found;
}

void mark_seen(TraceResult& r, Kernel& before, Kernel& after, const NftMet& nft) {
  for (Hop& h : r.forward.hops) mark_hop(h, before, after, nft);
  if (r.reply)
    for (Hop& h : r.reply->hops) mark_hop(h, before, after, nft);
}

std::map<std::string, std::vector<NftTraceFlow>> nft_trace_flows(const TraceResult& predicted) {
  std::map<std::string, std::vector<NftTraceFlow>> out;
  for (const Hop& h : predicted.forward.hops) {
    bool nft = std::any_of(h.evidence.begin(), h.evidence.end(), [](const Evidence& e) { return e.table == "kube-proxy"; });
    if (!nft) continue;
    const Packet& p = h.packet;
    NftTraceFlow f{p.dst, std::string(proto_name(p.proto)), p.proto == Proto::kIcmp ? std::uint16_t{0} : p.dport};
    auto& flows = out[h.netns];
    if (std::none_of(flows.begin(), flows.end(), [&](const NftTraceFlow& g) { return g.dst == f.dst && g.proto == f.proto && g.dport == f.dport; }))
      flows.push_back(f);
  }
  return out;
}

std::set<std::pair<std::string, std::uint64_t>> nft_rules_met(const std::vector<NftTraceEvent>& events) {
  std::set<std::pair<std::string, std::uint64_t>> out;
  for (const NftTraceEvent& e : events)
    if (e.table == "kube-proxy" && e.type == NFT_TRACETYPE_RULE && e.handle) out.insert({e.chain, e.handle});
  return out;
}

Result<std::optional<Ipv4>> conntrack_backend(Kernel& k, const std::string& netns, const Packet& at) {
  std::vector<CtEntry> all = KN_TRY(k.conntrack(netns));
  std::uint8_t proto = static_cast<std::uint8_t>(at.proto);
  const CtEntry* best = nullptr;
  for (const CtEntry& e : all) {
    if (e.orig.proto != proto || e.orig.dst != at.dst || e.orig.src != at.src || !e.dnat()) continue;
    if (at.proto != Proto::kIcmp && e.orig.dport != at.dport) continue;
    if (at.proto != Proto::kIcmp && e.orig.sport == at.sport) return std::optional<Ipv4>(e.reply.src);
    if (!best || e.timeout > best->timeout) best = &e;
  }
  return best ? std::optional<Ipv4>(best->reply.src) : std::nullopt;
}

}  // namespace knlab::trace
