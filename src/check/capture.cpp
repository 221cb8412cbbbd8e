#include "check/capture.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "net/netns.hpp"

namespace knlab::check {

namespace {

constexpr std::uint16_t kVxlanPorts[] = {8472, 4789};

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

// An IPv4 packet at `ip` (len bytes): does it belong to the flow (client port, protocol)?
bool in_flow(const std::uint8_t* ip, std::size_t len, std::uint16_t client_port, std::uint8_t proto) {
  if (len < 20 || (ip[0] >> 4) != 4 || ip[9] != proto) return false;
  std::size_t ihl = (ip[0] & 0x0f) * 4u;
  if (proto == IPPROTO_ICMP) return len >= ihl + 1 && (ip[ihl] == 8 || ip[ihl] == 0);
  if (len < ihl + 4) return false;
  return be16(ip + ihl) == client_port || be16(ip + ihl + 2) == client_port;
}

// The inner IPv4 packet of a VXLAN frame's IPv4 payload, if it is one.
const std::uint8_t* vxlan_inner(const std::uint8_t* ip, std::size_t len, std::size_t& inner_len) {
  if (len < 20 || (ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP) return nullptr;
  std::size_t ihl = (ip[0] & 0x0f) * 4u;
  if (len < ihl + 8 + 8 + 14 + 20) return nullptr;
  std::uint16_t dport = be16(ip + ihl + 2);
  if (std::find(std::begin(kVxlanPorts), std::end(kVxlanPorts), dport) == std::end(kVxlanPorts)) return nullptr;
  const std::uint8_t* eth = ip + ihl + 8 + 8;
  if (be16(eth + 12) != ETH_P_IP) return nullptr;
  inner_len = len - (ihl + 8 + 8 + 14);
  return eth + 14;
}

}  // namespace

Result<Capture> Capture::open(const std::string& netns, const std::string& link) {
  NetnsRef ref = KN_TRY(NetnsRef::open(netns));
  auto inside = KN_TRY(ScopedNetns::enter(ref));
  Fd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
  if (!s) return fail(sys_error("socket(AF_PACKET)", link, errno));
  unsigned index = ::if_nametoindex(link.c_str());
  if (index == 0) return fail(sys_error("capture", fmt::format("{} in {}", link, netns), errno));
  sockaddr_ll at{};
  at.sll_family = AF_PACKET;
  at.sll_protocol = htons(ETH_P_ALL);
  at.sll_ifindex = static_cast<int>(index);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) return fail(sys_error("bind(AF_PACKET)", link, errno));
  int size = 4 << 20;
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return Capture(std::move(s));
}

Seen Capture::drain(std::uint16_t client_port, std::uint8_t proto) {
  Seen seen;
  std::uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    ++seen.frames;
    auto len = static_cast<std::size_t>(n);
    if (len < 14 + 20 || be16(buf + 12) != ETH_P_IP) continue;
    const std::uint8_t* ip = buf + 14;
    std::size_t inner_len = 0;
    if (const std::uint8_t* inner = vxlan_inner(ip, len - 14, inner_len)) {
      if (in_flow(inner, inner_len, client_port, proto)) ++seen.vxlan;
    } else if (in_flow(ip, len - 14, client_port, proto)) {
      ++seen.plain;
    }
  }
  return seen;
}

}  // namespace knlab::check
