#include "net/nftables.hpp"

#include <fmt/core.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <nftables/libnftables.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "net/child_jobs.hpp"

namespace knlab {

namespace {

struct CtxFree {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxFree>;

// A libnftables context made inside `ns` (its netlink socket is opened there), with its output
// and errors captured instead of printed.
Result<Ctx> context(const std::string& what) {
  Ctx c(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!c) return fail(sys_error(what, "libnftables", ENOMEM));
  nft_ctx_buffer_output(c.get());
  nft_ctx_buffer_error(c.get());
  return c;
}

// The first line of libnftables' error text (it quotes the command and marks the place).
std::string first_error(nft_ctx* c) {
  std::string text = nft_ctx_get_error_buffer(c) ? nft_ctx_get_error_buffer(c) : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? "libnftables refused the transaction" : text;
}

}  // namespace

Status nft_run_here(const std::string& script, const std::string& netns) {
  if (script.empty()) return {};
  Ctx c = KN_TRY(context("apply nftables transaction"));
  if (nft_run_cmd_from_buffer(c.get(), script.c_str()) == 0) return {};
  Error e = sys_error("apply nftables transaction", "table ip kube-proxy", 0, netns);
  e.detail = first_error(c.get());
  return fail(std::move(e));
}

std::size_t nft_at_once(const std::vector<const std::string*>& scripts) {
  // A whole table keeps a CPU busy (the kernel building it); a small delta is short, and its
  // commit may wait (the kernel validates every chain a changed rule or map can reach): more of
  // those run at once.
  constexpr std::size_t kSmall = 64 * 1024;
  bool all_small = std::all_of(scripts.begin(), scripts.end(), [](const std::string* s) { return s->size() < kSmall; });
  return cpu_count() * (all_small ? 4 : 1);
}

Status nft_apply(const NetnsRef& ns, const std::string& script) {
  if (script.empty()) return {};
  if (auto messages = nft_compile(script)) {
    auto inside = KN_TRY(ScopedNetns::enter(ns));
    return nft_send_here({NftPart{&*messages, &script}}, ns.name());
  }
  return run_in_children({ChildJob{&ns, [&] { return nft_run_here(script, ns.name()); }}}, 1).front();
}

namespace {
std::optional<NftMessages> compiled_or_none(const std::string& script, std::uint32_t first_seq) {
  auto m = nft_compile(script, first_seq);
  if (m) return std::move(*m);
  spdlog::debug("{}: libnftables runs it instead", m.error().format());
  return std::nullopt;
}
}  // namespace

ChildJob NftJobs::add(const NetnsRef& ns, const std::string& script, const std::string& node_part) {
  auto [it, fresh] = compiled_.try_emplace(&script);
  if (fresh) it->second = compiled_or_none(script, 1);
  std::vector<NftPart> parts;
  if (it->second) parts.push_back({&*it->second, &script});
  if (it->second && !node_part.empty()) {
    auto own = compiled_or_none(node_part, it->second->first_seq + static_cast<std::uint32_t>(it->second->count()));
    if (own) parts.push_back({&parts_.emplace_back(std::move(*own)), &node_part});
    else parts.clear();
  }
  if (parts.empty()) {
    const std::string& whole = texts_.emplace_back(script + node_part);
    return ChildJob{&ns, [&ns, &whole] { return nft_run_here(whole, ns.name()); }};
  }
  return ChildJob{&ns, [this, &ns, parts] { return nft_send_here(parts, ns.name(), &sockets_); }};
}

Result<std::optional<NftListing>> nft_listing(const NetnsRef& ns, const std::string& family, const std::string& table) {
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  std::string cmd = fmt::format("list table {} {}", family, table);
  NftListing out;
  for (unsigned flags : {unsigned{NFT_CTX_OUTPUT_JSON}, unsigned{NFT_CTX_OUTPUT_HANDLE}}) {
    Ctx c = KN_TRY(context("read nftables table"));
    nft_ctx_output_set_flags(c.get(), flags);
    if (nft_run_cmd_from_buffer(c.get(), cmd.c_str()) != 0) return std::optional<NftListing>();  // no such table
    const char* text = nft_ctx_get_output_buffer(c.get());
    (flags == NFT_CTX_OUTPUT_JSON ? out.json : out.text) = text ? text : "";
  }
  return std::optional<NftListing>(std::move(out));
}

namespace {

// One netlink dump of nf_tables objects (libmnl + libnftnl), each message handed to `parse`.
// The socket is made in the calling thread's namespace. ENOENT (no such table or set): no messages.
Status dump(mnl_socket* nl, nlmsghdr* request, const std::function<void(const nlmsghdr*)>& parse) {
  if (mnl_socket_sendto(nl, request, request->nlmsg_len) < 0) return fail(sys_error("dump nftables objects", "netlink", errno));
  std::vector<char> buf(32768);  // libmnl's MNL_SOCKET_DUMP_SIZE (newer than Debian 12's)
  unsigned portid = mnl_socket_get_portid(nl);
  auto cb = [](const nlmsghdr* nlh, void* data) -> int {
    (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(nlh);
    return MNL_CB_OK;
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) return fail(sys_error("dump nftables objects", "netlink", errno));
    int r = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), request->nlmsg_seq, portid, cb, const_cast<void*>(static_cast<const void*>(&parse)));
    if (r == MNL_CB_STOP) return {};
    if (r < 0) return errno == ENOENT ? Status{} : fail(sys_error("dump nftables objects", "netlink", errno));
  }
}

}  // namespace

Result<NftCounts> nft_counts(const NetnsRef& ns, const std::string& family, const std::string& table) {
  NftCounts counts;
  std::uint16_t fam = family == "ip" ? NFPROTO_IPV4 : family == "ip6" ? NFPROTO_IPV6 : family == "inet" ? NFPROTO_INET : NFPROTO_UNSPEC;
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  std::unique_ptr<mnl_socket, decltype(&mnl_socket_close)> nl(mnl_socket_open(NETLINK_NETFILTER), &mnl_socket_close);
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return fail(sys_error("open nftables socket", "netlink", errno, ns.name()));
  std::vector<char> buf(static_cast<std::size_t>(MNL_SOCKET_BUFFER_SIZE));
  std::uint32_t seq = 1;
  // Chains, then rules per chain (dumped for the table only).
  for (std::uint16_t type : {std::uint16_t{NFT_MSG_GETCHAIN}, std::uint16_t{NFT_MSG_GETRULE}}) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), type, fam, NLM_F_DUMP, seq++);
    if (type == NFT_MSG_GETRULE) {
      std::unique_ptr<nftnl_rule, decltype(&nftnl_rule_free)> r(nftnl_rule_alloc(), &nftnl_rule_free);
      nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
      nftnl_rule_nlmsg_build_payload(nlh, r.get());
    }
    KN_TRY(dump(nl.get(), nlh, [&](const nlmsghdr* m) {
      if (type == NFT_MSG_GETCHAIN) {
        std::unique_ptr<nftnl_chain, decltype(&nftnl_chain_free)> c(nftnl_chain_alloc(), &nftnl_chain_free);
        if (nftnl_chain_nlmsg_parse(m, c.get()) == 0 && table == nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE))
          counts.chain_rules[nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME)] += 0;
        return;
      }
      std::unique_ptr<nftnl_rule, decltype(&nftnl_rule_free)> r(nftnl_rule_alloc(), &nftnl_rule_free);
      if (nftnl_rule_nlmsg_parse(m, r.get()) == 0 && table == nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE))
        ++counts.chain_rules[nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)];
    }));
  }
  counts.exists = !counts.chain_rules.empty();
  // Named sets and maps (anonymous ones belong to their rules), then each one's elements; those
  // of dynamic sets (filled by traffic: affinity) are not counted.
  std::vector<std::pair<std::string, bool>> sets;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSET, fam, NLM_F_DUMP, seq++);
  KN_TRY(dump(nl.get(), nlh, [&](const nlmsghdr* m) {
    std::unique_ptr<nftnl_set, decltype(&nftnl_set_free)> st(nftnl_set_alloc(), &nftnl_set_free);
    if (nftnl_set_nlmsg_parse(m, st.get()) != 0 || table != nftnl_set_get_str(st.get(), NFTNL_SET_TABLE)) return;
    std::uint32_t flags = nftnl_set_get_u32(st.get(), NFTNL_SET_FLAGS);
    if (!(flags & NFT_SET_ANONYMOUS)) sets.emplace_back(nftnl_set_get_str(st.get(), NFTNL_SET_NAME), flags & NFT_SET_EVAL);
  }));
  for (const auto& [name, dynamic] : sets) {
    counts.set_elements[name] = 0;
    if (dynamic) continue;
    nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, fam, NLM_F_DUMP, seq++);
    std::unique_ptr<nftnl_set, decltype(&nftnl_set_free)> st(nftnl_set_alloc(), &nftnl_set_free);
    nftnl_set_set_str(st.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(st.get(), NFTNL_SET_NAME, name.c_str());
    nftnl_set_elems_nlmsg_build_payload(nlh, st.get());
    KN_TRY(dump(nl.get(), nlh, [&](const nlmsghdr* m) { nftnl_set_elems_nlmsg_parse(m, st.get()); }));
    std::size_t n = 0;
    nftnl_set_elem_foreach(st.get(), [](nftnl_set_elem*, void* data) { return ++*static_cast<std::size_t*>(data), 0; }, &n);
    counts.set_elements[name] = n;
  }
  return counts;
}

}  // namespace knlab
