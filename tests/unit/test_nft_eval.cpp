// trace's walk of kube-proxy's nftables table, on tables read from the kernel: lab 07
// (NodePort podinfo with Cluster policy on 30080, podinfo-local with Local on 30081; pods on
// node1 10.244.0.2 and node2 10.244.1.2) in nftables mode, `nft -j` and `nft -a` of node1 and node3.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "trace/nft_eval.hpp"

using namespace knlab;
using namespace knlab::trace;

namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(KNLAB_SOURCE_DIR) + "/tests/unit/data/nft/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

NftTableRead table_of(const std::string& node) {
  auto t = parse_nft_table(read("nodeport-" + node + ".json"), read("nodeport-" + node + ".txt"));
  REQUIRE(t);
  return *t;
}

Packet tcp(const char* src, const char* dst, std::uint16_t dport) {
  Packet p;
  p.src = *Ipv4::parse(src);
  p.dst = *Ipv4::parse(dst);
  p.sport = 40000;
  p.dport = dport;
  return p;
}

NfContext on(const char* node_ip, const char* cni0) {
  NfContext c;
  c.local_addresses = {*Ipv4::parse(node_ip), *Ipv4::parse(cni0)};
  return c;
}

}  // namespace

TEST_CASE("nft walk: a NodePort with Cluster policy is marked, balanced over both pods by numgen, DNATed") {
  NftTableRead t = table_of("node1");
  CHECK(t.name == "kube-proxy");
  NfContext ctx = on("192.168.56.11", "10.244.0.1");
  NfResult r = evaluate_nft(t, "nat-prerouting", tcp("192.168.56.2", "192.168.56.11", 30080), ctx);
  CHECK(r.verdict == Verdict::kAccept);
  REQUIRE(r.dnat);
  CHECK(r.packet.dst.str() == "10.244.0.2");
  CHECK(r.packet.dport == 9898);
  CHECK(r.packet.mark == 0x4000);  // Cluster: masqueraded on the way out
  REQUIRE(r.branches.size() == 2);
  CHECK(r.branches[0].chosen);
  CHECK(r.branches[1].to_ip->str() == "10.244.1.2");
  CHECK(r.branches[0].probability == doctest::Approx(0.5));
  CHECK(r.steps.front().chain == "nat-prerouting");
  CHECK(r.steps.front().text == "jump services");
  // The branch conntrack saw the kernel take is the one followed.
  ctx.backend = *Ipv4::parse("10.244.1.2");
  r = evaluate_nft(t, "nat-prerouting", tcp("192.168.56.2", "192.168.56.11", 30080), ctx);
  CHECK(r.packet.dst.str() == "10.244.1.2");
  CHECK(r.branches[1].chosen);
  // Marked packets are masqueraded in nat-postrouting, others pass.
  Packet marked = r.packet;
  NfResult post = evaluate_nft(t, "nat-postrouting", marked, ctx);
  CHECK(post.masquerade);
  CHECK(post.packet.mark == 0);
  marked.mark = 0;
  CHECK_FALSE(evaluate_nft(t, "nat-postrouting", marked, ctx).masquerade);
}

TEST_CASE("nft walk: Local policy keeps the client's address on a node with an endpoint, drops on one without") {
  NfResult r = evaluate_nft(table_of("node1"), "nat-prerouting", tcp("192.168.56.2", "192.168.56.11", 30081), on("192.168.56.11", "10.244.0.1"));
  CHECK(r.dnat);
  CHECK(r.packet.dst.str() == "10.244.0.2");
  CHECK(r.packet.mark == 0);  // no masquerade: the pod sees 192.168.56.2
  NftTableRead node3 = table_of("node3");
  NfContext ctx3 = on("192.168.56.13", "10.244.2.1");
  Packet p = tcp("192.168.56.2", "192.168.56.13", 30081);
  NfResult nat = evaluate_nft(node3, "nat-prerouting", p, ctx3);
  CHECK_FALSE(nat.dnat);  // nothing to DNAT to here: it goes on to the input hook
  NfResult in = evaluate_nft(node3, "filter-input", p, ctx3);
  CHECK(in.verdict == Verdict::kDrop);
  CHECK(in.steps.back().chain == "nodeport-endpoints-check");
  CHECK(in.why == "default/podinfo-local has no local endpoints");
  // A pod on node3 still reaches it (short-circuit to the service chain).
  NfResult from_pod = evaluate_nft(node3, "nat-prerouting", tcp("10.244.2.7", "192.168.56.13", 30081), ctx3);
  CHECK(from_pod.dnat);
}

TEST_CASE("nft walk: ClusterIPs: a port the Service lacks is rejected, an unallocated address dropped, replies pass") {
  NftTableRead t = table_of("node1");
  NfContext ctx = on("192.168.56.11", "10.244.0.1");
  NfResult wrong_port = evaluate_nft(t, "filter-forward", tcp("10.244.0.9", "10.96.191.5", 1234), ctx);
  CHECK(wrong_port.verdict == Verdict::kReject);
  CHECK(wrong_port.why == "Reject traffic to invalid ports of ClusterIPs");
  NfResult unallocated = evaluate_nft(t, "filter-forward", tcp("10.244.0.9", "10.96.0.99", 80), ctx);
  CHECK(unallocated.verdict == Verdict::kDrop);
  Packet reply = tcp("10.244.0.9", "10.96.0.99", 80);
  reply.ct = CtState::kEstablished;
  CHECK(evaluate_nft(t, "filter-forward", reply, ctx).verdict == Verdict::kAccept);
  // Hairpin: the pod behind the Service reaching itself through it is marked for masquerade.
  ctx.backend = *Ipv4::parse("10.244.0.2");
  NfResult self = evaluate_nft(t, "nat-prerouting", tcp("10.244.0.2", "10.96.191.5", 9898), ctx);
  CHECK(self.packet.dst.str() == "10.244.0.2");
  CHECK(self.packet.mark == 0x4000);
}

TEST_CASE("nft walk: an expression it does not know makes the walk undecided, not a guess") {
  std::string json = read("nodeport-node1.json");
  std::string from = R"({"jump": {"target": "services"}})";
  REQUIRE(json.find(from) != std::string::npos);
  json.replace(json.find(from), from.size(), R"({"quota": {"val": 5, "val_unit": "mbytes"}})");
  auto t = parse_nft_table(json, read("nodeport-node1.txt"));
  REQUIRE(t);
  NfResult r = evaluate_nft(*t, "nat-output", tcp("10.244.0.9", "10.96.191.5", 9898), on("192.168.56.11", "10.244.0.1"));
  CHECK(r.verdict == Verdict::kUndecided);
  CHECK(r.why.find("quota") != std::string::npos);
  CHECK_FALSE(parse_nft_table("not json", ""));
}
