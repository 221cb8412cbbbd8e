// net/nft_batch: kn-lab's nftables dialect compiled into nf_tables messages with libnftnl.
// The messages are parsed back with libnftnl and printed as `nft --debug=netlink` prints what
// nft itself sends for the same line (the expected expressions below are nft 1.0.6's); the
// end-to-end tests (test_nft_ruleset.py) compare the kernel's tables made both ways.
#include <doctest/doctest.h>
#include <fmt/core.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <memory>
#include <string>
#include <vector>

#include "net/nft_batch.hpp"

using namespace knlab;

namespace {

// Each message: its nf_tables type, and for a rule its expressions as libnftnl prints them.
struct Message {
  int type;
  std::string text;
};

std::vector<Message> messages_of(const NftMessages& m) {
  std::vector<Message> out;
  int left = static_cast<int>(m.bytes.size());
  for (auto* h = reinterpret_cast<const nlmsghdr*>(m.bytes.data()); mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
    int type = h->nlmsg_type & 0xff;
    std::string text;
    if (type == NFT_MSG_NEWRULE) {
      std::unique_ptr<nftnl_rule, decltype(&nftnl_rule_free)> r(nftnl_rule_alloc(), &nftnl_rule_free);
      REQUIRE(nftnl_rule_nlmsg_parse(h, r.get()) == 0);
      char buf[4096];
      nftnl_rule_snprintf(buf, sizeof buf, r.get(), NFTNL_OUTPUT_DEFAULT, 0);
      text = buf;
    }
    out.push_back({type, text});
  }
  return out;
}

// The expressions of the one rule `line` compiles to.
std::string rule_of(const std::string& line) {
  auto m = nft_compile(line);
  REQUIRE_MESSAGE(m, m.error().format());
  auto msgs = messages_of(*m);
  REQUIRE(msgs.back().type == NFT_MSG_NEWRULE);
  std::string text = msgs.back().text;
  return text.substr(text.find('\n') + 1);  // without "ip kube-proxy CHAIN handle ..."
}

}  // namespace

TEST_CASE("nft_compile: a message per command, element lines of one set in one message, each named by its line") {
  std::string script =
      "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\n"
      "add set ip kube-proxy cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }\n"
      "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"x\" ; }\n"
      "add chain ip kube-proxy services\n"
      "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\n"
      "add element ip kube-proxy cluster-ips { 10.96.0.10 }\n"
      "add element ip kube-proxy cluster-ips { 10.96.0.11 }\n"
      "add element ip kube-proxy service-ips { 10.96.0.10 . tcp . 80 : goto services }\n"
      "delete element ip kube-proxy service-ips { 10.96.0.11 . udp . 53 }\n";
  auto m = nft_compile(script, 7);
  REQUIRE_MESSAGE(m, m.error().format());
  CHECK(m->first_seq == 7);
  CHECK(m->lines == std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6, 8, 9});
  std::vector<int> types;
  for (const Message& msg : messages_of(*m)) types.push_back(msg.type);
  CHECK(types == std::vector<int>{NFT_MSG_NEWTABLE, NFT_MSG_NEWSET, NFT_MSG_NEWSET, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE,
                                  NFT_MSG_NEWSETELEM, NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM});
  // Sequence numbers follow the messages from first_seq.
  auto* h = reinterpret_cast<const nlmsghdr*>(m->bytes.data());
  CHECK(h->nlmsg_seq == 7);
}

TEST_CASE("nft_compile: kube-proxy's rules are the expressions nft makes of them") {
  CHECK(rule_of("add rule ip kube-proxy s ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade") ==
        "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
        "  [ cmp eq reg 1 0x0a00600a ]\n"
        "  [ meta load l4proto => reg 1 ]\n"
        "  [ cmp eq reg 1 0x00000006 ]\n"
        "  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
        "  [ cmp eq reg 1 0x00005000 ]\n"
        "  [ payload load 2b @ network header + 12 => reg 1 ]\n"
        "  [ cmp neq reg 1 0x0000f40a ]\n"
        "  [ immediate reg 0 jump -> mark-for-masquerade ]\n");
  CHECK(rule_of("add rule ip kube-proxy s ip daddr { 10.96.0.0/12 } drop comment \"Drop traffic\"").starts_with(
      "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
      "  [ bitwise reg 1 = ( reg 1 & 0x0000f0ff ) ^ 0x00000000 ]\n"
      "  [ cmp eq reg 1 0x0000600a ]\n"
      "  [ immediate reg 0 drop ]\n"));
  CHECK(rule_of("add rule ip kube-proxy s ct state new jump firewall-check") ==
        "  [ ct load state => reg 1 ]\n"
        "  [ bitwise reg 1 = ( reg 1 & 0x00000008 ) ^ 0x00000000 ]\n"
        "  [ cmp neq reg 1 0x00000000 ]\n"
        "  [ immediate reg 0 jump -> firewall-check ]\n");
  CHECK(rule_of("add rule ip kube-proxy s mark set mark or 0x4000") ==
        "  [ meta load mark => reg 1 ]\n"
        "  [ bitwise reg 1 = ( reg 1 & 0xffffbfff ) ^ 0x00004000 ]\n"
        "  [ meta set mark with reg 1 ]\n");
  CHECK(rule_of("add rule ip kube-proxy s ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports") ==
        "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
        "  [ lookup reg 1 set nodeport-ips ]\n"
        "  [ meta load l4proto => reg 1 ]\n"
        "  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
        "  [ lookup reg 1 set service-nodeports dreg 0 ]\n");
  CHECK(rule_of("add rule ip kube-proxy e meta l4proto udp dnat to 10.244.1.5:53") ==
        "  [ meta load l4proto => reg 1 ]\n"
        "  [ cmp eq reg 1 0x00000011 ]\n"
        "  [ immediate reg 1 0x0501f40a ]\n"
        "  [ immediate reg 2 0x00003500 ]\n"
        "  [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]\n");
  CHECK(rule_of("add rule ip kube-proxy e fib saddr type local goto s comment \"short-circuit local traffic\"").starts_with(
      "  [ fib saddr type => reg 1 ]\n"
      "  [ cmp eq reg 1 0x00000002 ]\n"
      "  [ immediate reg 0 goto -> s ]\n"));
  // kn-lab trace --probe's own rule.
  CHECK(rule_of("add rule ip kn-lab-trace pre ip daddr 10.96.0.10 meta l4proto icmp meta nftrace set 1") ==
        "  [ payload load 4b @ network header + 16 => reg 1 ]\n"
        "  [ cmp eq reg 1 0x0a00600a ]\n"
        "  [ meta load l4proto => reg 1 ]\n"
        "  [ cmp eq reg 1 0x00000001 ]\n"
        "  [ immediate reg 1 0x00000001 ]\n"
        "  [ meta set nftrace with reg 1 ]\n");
  CHECK(rule_of("add rule ip kube-proxy e update @aff { ip saddr }") ==
        "  [ payload load 4b @ network header + 12 => reg 1 ]\n"
        "  [ dynset update reg_key 1 set aff ]\n");
}

TEST_CASE("nft_compile: numgen's vmap is an anonymous map sent before its rule") {
  auto m = nft_compile("add rule ip kube-proxy s numgen random mod 2 vmap { 0 : goto a , 1 : goto b }");
  REQUIRE(m);
  auto msgs = messages_of(*m);
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0].type == NFT_MSG_NEWSET);
  CHECK(msgs[1].type == NFT_MSG_NEWSETELEM);
  CHECK(msgs[2].text.ends_with("  [ numgen reg 1 = random mod 2 ]\n  [ lookup reg 1 set __map%d dreg 0 ]\n"));
  CHECK(m->lines == std::vector<std::uint32_t>{1, 1, 1});

  // 300 endpoints: their elements in messages of 128 at most (a netlink attribute holds 64 KiB).
  std::string vmap;
  for (int i = 0; i < 300; ++i) vmap += fmt::format("{}{} : goto endpoint-{:0>200}", i ? " , " : "", i, i);
  auto big = nft_compile("add rule ip kube-proxy s numgen random mod 300 vmap { " + vmap + " }");
  REQUIRE(big);
  std::vector<int> types;
  for (const Message& msg : messages_of(*big)) types.push_back(msg.type);
  CHECK(types == std::vector<int>{NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_MSG_NEWSETELEM, NFT_MSG_NEWSETELEM, NFT_MSG_NEWRULE});
  int left = static_cast<int>(big->bytes.size());
  std::size_t elements = 0;
  for (auto* h = reinterpret_cast<const nlmsghdr*>(big->bytes.data()); mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
    CHECK(h->nlmsg_len < 65536);
    if ((h->nlmsg_type & 0xff) != NFT_MSG_NEWSETELEM) continue;
    // NFTA_SET_ELEM_LIST_ELEMENTS: one nested attribute per element (libnftnl numbers them).
    auto list = [](const nlattr* a, void* n) -> int {
      if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS) return MNL_CB_OK;
      auto elem = [](const nlattr*, void* count) -> int { return ++*static_cast<std::size_t*>(count), MNL_CB_OK; };
      return mnl_attr_parse_nested(a, elem, n);
    };
    mnl_attr_parse(h, sizeof(nfgenmsg), list, &elements);
  }
  CHECK(elements == 300);
}

TEST_CASE("nft_compile: what is not kn-lab's dialect is refused with its line") {
  auto bad = [](const std::string& script) {
    auto m = nft_compile(script);
    REQUIRE_FALSE(m);
    return m.error().format();
  };
  CHECK(bad("add table ip t\nadd rule ip t c ip daddr 10.0.0.1 counter\n") ==
        "error: compile nftables script line 2: not in kn-lab's nftables dialect at word 9 (\"counter\"): "
        "add rule ip t c ip daddr 10.0.0.1 counter");
  CHECK(bad("add rule ip t c ip daddr 10.0.0.300 drop").find("expected an IPv4 address or prefix") != std::string::npos);
  CHECK(bad("add element ip t s { fe80::1 }").find("an element key kn-lab does not write") != std::string::npos);
  CHECK(bad("add table inet t").find("kn-lab writes tables of family ip") != std::string::npos);
  CHECK(bad("list table ip t").find("list table is not in kn-lab's nftables dialect") != std::string::npos);
  CHECK(bad("add set ip t s { type ether_addr ; }").find("a set key type kn-lab does not write: ether_addr") != std::string::npos);
}
