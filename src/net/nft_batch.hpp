// nftables scripts of kn-lab's own dialect (ops/nft: one `nft -f` command per line) compiled
// into nf_tables netlink messages with libnftnl, and sent as one transaction.
//
// Why: libnftables parses and evaluates every line, and first reads the namespace's whole
// ruleset into its cache; at 20 nodes x 300 Services that was most of `up` (the same script
// parsed once per node) and 100 ms of a one-Service change (3,300 chains cached per node). The
// messages here are built once per script, need nothing from the kernel, and go to every node
// that shares the script. They are the messages nft sends for the same text (same expressions,
// sets and user data), so `nft list table` shows the same table; tests compare the two ways.
//
// The dialect is what ops/nft renders for kube-proxy's layout: add/delete table, add set/map,
// add/flush/delete chain, add rule, add/delete element, delete set/map; rules made of the
// matches and statements kube-proxy's nftables mode writes. Anything else is refused with the
// line that has it (a script that came from somewhere else goes to libnftables).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "net/netns.hpp"

struct mnl_socket;
struct nlmsghdr;

namespace knlab {

// A script's messages, one after another, without the batch's begin and end. Each message's
// sequence number is its place (from `first_seq`), and `lines` gives the script line (from 1)
// it came from, for errors.
struct NftMessages {
  std::vector<char> bytes;
  std::uint32_t first_seq = 1;
  std::vector<std::uint32_t> lines;
  std::size_t count() const { return lines.size(); }
};

// Compiles `script` (ops/nft's dialect). The error names the line and what was not understood.
Result<NftMessages> nft_compile(std::string_view script, std::uint32_t first_seq = 1);

// One part of a transaction: messages and the script they came from (for error messages).
struct NftPart {
  const NftMessages* messages;
  const std::string* script;
};

// Sockets kept open until a batch of nodes is done. Closing an nf_tables socket waits for the
// kernel to free what the commits before it deleted (nf_tables' destroy work: an RCU grace
// period, about 10 ms here); closed together at the end, the nodes wait for one grace period
// instead of one each.
class NftSockets {
 public:
  NftSockets() = default;
  NftSockets(const NftSockets&) = delete;
  NftSockets& operator=(const NftSockets&) = delete;
  ~NftSockets();
  void keep(mnl_socket* socket);

 private:
  std::mutex mutex_;
  std::vector<mnl_socket*> sockets_;
};

// Sends the parts as one transaction in the calling thread's namespace (a net/child_jobs job
// is already inside it; `netns` names it in errors): all of it or nothing. The error quotes the
// script line the kernel refused and its errno. With `sockets`, the socket is closed with them.
Status nft_send_here(const std::vector<NftPart>& parts, const std::string& netns, NftSockets* sockets = nullptr);

// Every netlink message already queued on socket `fd`, each handed to `each`, without waiting
// for more: 0, or the errno that stopped the reading (ENOBUFS: more arrived than it held).
int nft_drain(int fd, const std::function<void(const nlmsghdr*)>& each);

}  // namespace knlab
