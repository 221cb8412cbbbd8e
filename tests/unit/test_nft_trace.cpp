// kn-lab trace --probe in nftables mode: nftables' own tracing (net/nft_trace) is the evidence
// for kube-proxy's nftables rules, which have no counters. The kernel's side is tested end to
// end (test_trace.py); here the trace table's rules, the flows chosen from a prediction, and
// how the rules met mark the hops.
#include <doctest/doctest.h>
#include <linux/netfilter/nf_tables.h>

#include "net/nft_batch.hpp"
#include "net/nft_trace.hpp"
#include "trace/probe.hpp"

using namespace knlab;
using namespace knlab::trace;

namespace {

// A kernel with nothing in it: kube-proxy's nftables evidence needs none.
class EmptyKernel : public Kernel {
 public:
  Result<const NsState*> ns(const std::string& n) override { return fail(state_error("read", n)); }
  Result<const IptReadTable*> table(const std::string& n, const std::string&) override { return fail(state_error("read", n)); }
  Result<const std::vector<IpSet>*> ipsets(const std::string& n) override { return fail(state_error("read", n)); }
  Result<RouteLookup> route(const std::string& n, Ipv4, Ipv4, int, std::uint32_t) override { return fail(state_error("read", n)); }
  Result<std::optional<std::string>> peer_netns(const std::string& n, int) override { return fail(state_error("read", n)); }
  Result<std::vector<CtEntry>> conntrack(const std::string& n) override { return fail(state_error("read", n)); }
  Result<bool> listening(const std::string& n, Proto, std::uint16_t) override { return fail(state_error("read", n)); }
  const std::vector<std::string>& namespaces() const override { return none_; }

 private:
  std::vector<std::string> none_;
};

Hop nft_hop(const std::string& netns, std::vector<std::pair<std::string, int>> rules) {
  Hop h;
  h.netns = netns;
  h.kind = "netfilter";
  h.packet = Packet{Ipv4{0x0a000102u}, Ipv4{0x0a60000au}, Proto::kTcp, 40000, 80, 0, CtState::kNew, 0};
  for (auto& [chain, handle] : rules) h.evidence.push_back(Evidence{netns, "kube-proxy", chain, handle, 0, true});
  return h;
}

}  // namespace

TEST_CASE("nft trace: kn-lab's table sets nftrace on the flow's packets first, at prerouting and output") {
  std::string script = nft_trace_script("kn-lab-trace-7", {{Ipv4{0x0a60000au}, "tcp", 80}, {Ipv4{0x0a60000bu}, "icmp", 0}});
  CHECK(script ==
        "add table ip kn-lab-trace-7\n"
        "delete table ip kn-lab-trace-7\n"
        "add table ip kn-lab-trace-7\n"
        "add chain ip kn-lab-trace-7 prerouting { type filter hook prerouting priority -400 ; }\n"
        "add chain ip kn-lab-trace-7 output { type filter hook output priority -400 ; }\n"
        "add rule ip kn-lab-trace-7 prerouting ip daddr 10.96.0.10 tcp dport 80 meta nftrace set 1\n"
        "add rule ip kn-lab-trace-7 prerouting ip daddr 10.96.0.11 meta l4proto icmp meta nftrace set 1\n"
        "add rule ip kn-lab-trace-7 output ip daddr 10.96.0.10 tcp dport 80 meta nftrace set 1\n"
        "add rule ip kn-lab-trace-7 output ip daddr 10.96.0.11 meta l4proto icmp meta nftrace set 1\n");
  auto m = nft_compile(script);
  REQUIRE_MESSAGE(m, m.error().format());
  CHECK(m->count() == 9);
}

TEST_CASE("nft trace: the flows are the packets the prediction's kube-proxy nftables hops meet, once per namespace") {
  TraceResult predicted;
  predicted.forward.hops.push_back(nft_hop("kn-x.node1", {{"services", 5}}));
  predicted.forward.hops.push_back(nft_hop("kn-x.node1", {{"masquerading", 2}}));  // the same flow
  Hop ipt;
  ipt.netns = "kn-x.node2";
  ipt.evidence.push_back(Evidence{"kn-x.node2", "nat", "KUBE-SERVICES", 3, 0, true});
  predicted.forward.hops.push_back(ipt);
  auto flows = nft_trace_flows(predicted);
  REQUIRE(flows.size() == 1);
  REQUIRE(flows["kn-x.node1"].size() == 1);
  CHECK(flows["kn-x.node1"][0].dst == Ipv4{0x0a60000au});
  CHECK(flows["kn-x.node1"][0].proto == "tcp");
  CHECK(flows["kn-x.node1"][0].dport == 80);
}

TEST_CASE("nft trace: a hop is seen when the packets met every rule it names, NOT seen when one was missed") {
  std::vector<NftTraceEvent> events{
      {"kn-lab-trace-7", "prerouting", 4, NFT_TRACETYPE_RULE},
      {"kube-proxy", "services", 5, NFT_TRACETYPE_RULE},
      {"kube-proxy", "service-X", 9, NFT_TRACETYPE_RULE},
      {"kube-proxy", "endpoint-Y", 0, NFT_TRACETYPE_RETURN},
  };
  auto met = nft_rules_met(events);
  CHECK(met == std::set<std::pair<std::string, std::uint64_t>>{{"services", 5}, {"service-X", 9}});
  TraceResult r;
  r.forward.hops.push_back(nft_hop("kn-x.node1", {{"services", 5}, {"service-X", 9}}));
  r.forward.hops.push_back(nft_hop("kn-x.node1", {{"services", 5}, {"endpoint-Y", 12}}));
  r.forward.hops.push_back(nft_hop("kn-x.node2", {{"services", 5}}));  // not traced there
  EmptyKernel before, after;
  mark_seen(r, before, after, NftMet{{"kn-x.node1", met}});
  CHECK(r.forward.hops[0].seen == Seen::kSeen);
  CHECK(r.forward.hops[0].observed == "nftrace: services rule handle 5 met; nftrace: service-X rule handle 9 met");
  CHECK(r.forward.hops[1].seen == Seen::kNotSeen);
  CHECK(r.forward.hops[1].observed.find("endpoint-Y rule handle 12 NOT met") != std::string::npos);
  CHECK(r.forward.hops[2].seen == Seen::kPredicted);
}
