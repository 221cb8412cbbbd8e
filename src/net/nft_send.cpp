// net/nft_batch.hpp's sending half: compiled messages as one nf_tables transaction.
#include <fmt/core.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>

#include "core/text.hpp"
#include "net/nft_batch.hpp"

namespace knlab {

namespace {

// The kernel's answers to a batch just sent: nothing when all of it was taken (the kernel runs a
// batch inside sendmsg, so its errors are queued by then), else the first refused message's
// sequence number and errno.
struct Refusal {
  std::uint32_t seq = 0;
  int err = 0;
};
std::optional<Refusal> refusal(int fd) {
  std::optional<Refusal> first;
  int err = nft_drain(fd, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != NLMSG_ERROR) return;
    auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(h));
    if (e->error != 0 && (!first || e->msg.nlmsg_seq < first->seq)) first = Refusal{e->msg.nlmsg_seq, -e->error};
  });
  if (err && !first) first = Refusal{0, err};  // more errors than the buffer held
  return first;
}

// The script line a sequence number came from.
std::string refused_line(const std::vector<NftPart>& parts, std::uint32_t seq) {
  for (const NftPart& p : parts) {
    const NftMessages& m = *p.messages;
    if (seq < m.first_seq || seq >= m.first_seq + m.count()) continue;
    std::uint32_t line = m.lines[seq - m.first_seq];
    auto lines = split(*p.script, '\n');
    if (line == 0 || line > lines.size()) break;
    return fmt::format("line {}: {}", line, lines[line - 1]);
  }
  return "the transaction's commit";
}

}  // namespace

int nft_drain(int fd, const std::function<void(const nlmsghdr*)>& each) {
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) each(h);
  }
}

NftSockets::~NftSockets() {
  for (mnl_socket* s : sockets_) mnl_socket_close(s);
}

void NftSockets::keep(mnl_socket* socket) {
  std::lock_guard lock(mutex_);
  sockets_.push_back(socket);
}

Status nft_send_here(const std::vector<NftPart>& parts, const std::string& netns, NftSockets* sockets) {
  std::size_t total = 0;
  for (const NftPart& p : parts) total += p.messages->bytes.size();
  if (total == 0) return {};
  auto error = [&](int err, std::string detail = {}) {
    Error e = sys_error("apply nftables transaction", "table ip kube-proxy", err, netns);
    e.detail = std::move(detail);
    return fail(std::move(e));
  };
  std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)> nl(mnl_socket_open(NETLINK_NETFILTER), &mnl_socket_close);
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return error(errno, "open nftables netlink socket");
  int fd = mnl_socket_get_fd(nl.get());
  // The whole batch goes in one message to the kernel: the send buffer must hold it.
  int size = static_cast<int>(std::min<std::size_t>(total + (1 << 16), 1u << 30));
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  std::array<char, 64> begin{}, end{};
  std::uint32_t last = parts.back().messages->first_seq + static_cast<std::uint32_t>(parts.back().messages->count());
  nlmsghdr* b = nftnl_batch_begin(begin.data(), 0);
  nlmsghdr* e = nftnl_batch_end(end.data(), last);
  std::vector<iovec> iov{{b, b->nlmsg_len}};
  for (const NftPart& p : parts)
    if (!p.messages->bytes.empty()) iov.push_back({const_cast<char*>(p.messages->bytes.data()), p.messages->bytes.size()});
  iov.push_back({e, e->nlmsg_len});
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  if (::sendmsg(fd, &msg, 0) < 0) return error(errno, "send the transaction");
  auto refused = refusal(fd);
  if (sockets) sockets->keep(nl.release());
  if (refused) return error(refused->err, "the kernel refused " + refused_line(parts, refused->seq));
  return {};
}

}  // namespace knlab
