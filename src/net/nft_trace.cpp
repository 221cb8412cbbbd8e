#include "net/nft_trace.hpp"

#include <fmt/core.h>
#include <libmnl/libmnl.h>
#include <libnftnl/trace.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/nft_batch.hpp"

namespace knlab {

std::string nft_trace_script(const std::string& table, const std::vector<NftTraceFlow>& flows) {
  std::string out = fmt::format("add table ip {0}\ndelete table ip {0}\nadd table ip {0}\n", table);
  for (const char* hook : {"prerouting", "output"})
    out += fmt::format("add chain ip {} {} {{ type filter hook {} priority -400 ; }}\n", table, hook, hook);
  for (const char* hook : {"prerouting", "output"})
    for (const NftTraceFlow& f : flows) {
      std::string match = f.proto == "icmp" ? "meta l4proto icmp" : fmt::format("{} dport {}", f.proto, f.dport);
      out += fmt::format("add rule ip {} {} ip daddr {} {} meta nftrace set 1\n", table, hook, f.dst.str(), match);
    }
  return out;
}

NftTraceWatch::NftTraceWatch(const NetnsRef& ns, mnl_socket* socket)
    : ns_(&ns), netns_(ns.name()), table_(fmt::format("kn-lab-trace-{}", ::getpid())), socket_(socket) {}

NftTraceWatch::NftTraceWatch(NftTraceWatch&& o) noexcept
    : ns_(o.ns_), netns_(std::move(o.netns_)), table_(std::move(o.table_)), socket_(o.socket_), table_added_(o.table_added_) {
  o.socket_ = nullptr;
  o.table_added_ = false;
}

NftTraceWatch::~NftTraceWatch() {
  if (table_added_) (void)remove_table();
  if (socket_) mnl_socket_close(socket_);
}

namespace {
Status send_script(const NetnsRef& ns, const std::string& script) {
  NftMessages m = KN_TRY(nft_compile(script));
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  return nft_send_here({NftPart{&m, &script}}, ns.name());
}
}  // namespace

Status NftTraceWatch::remove_table() {
  table_added_ = false;
  return send_script(*ns_, fmt::format("delete table ip {}\n", table_));
}

Result<NftTraceWatch> NftTraceWatch::start(const NetnsRef& ns, const std::vector<NftTraceFlow>& flows) {
  mnl_socket* s = nullptr;
  {
    auto inside = KN_TRY(ScopedNetns::enter(ns));
    s = mnl_socket_open(NETLINK_NETFILTER);
  }
  if (!s) return fail(sys_error("listen to nftables traces", "netlink", errno, ns.name()));
  NftTraceWatch w(ns, s);
  int group = NFNLGRP_NFTRACE, size = 4 << 20;
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ||
      mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
    return fail(sys_error("listen to nftables traces", "netlink", errno, ns.name()));
  ::setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  KN_TRY(send_script(ns, nft_trace_script(w.table_, flows)));
  w.table_added_ = true;
  return w;
}

Result<std::vector<NftTraceEvent>> NftTraceWatch::stop() {
  std::vector<NftTraceEvent> out;
  int err = nft_drain(mnl_socket_get_fd(socket_), [&](const nlmsghdr* h) {
    if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE)) return;
    std::unique_ptr<nftnl_trace, decltype(&nftnl_trace_free)> t(nftnl_trace_alloc(), &nftnl_trace_free);
    if (nftnl_trace_nlmsg_parse(h, t.get()) != 0) return;
    NftTraceEvent e;
    e.table = nftnl_trace_is_set(t.get(), NFTNL_TRACE_TABLE) ? nftnl_trace_get_str(t.get(), NFTNL_TRACE_TABLE) : "";
    e.chain = nftnl_trace_is_set(t.get(), NFTNL_TRACE_CHAIN) ? nftnl_trace_get_str(t.get(), NFTNL_TRACE_CHAIN) : "";
    e.type = nftnl_trace_get_u32(t.get(), NFTNL_TRACE_TYPE);
    if (nftnl_trace_is_set(t.get(), NFTNL_TRACE_RULE_HANDLE)) e.handle = nftnl_trace_get_u64(t.get(), NFTNL_TRACE_RULE_HANDLE);
    out.push_back(std::move(e));
  });
  if (err) return fail(sys_error("read nftables traces", "netlink", err, netns_).with_hint("more packets were traced than kn-lab could read"));
  KN_TRY(remove_table());
  return out;
}

}  // namespace knlab
