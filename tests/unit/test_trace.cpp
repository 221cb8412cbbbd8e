// trace's pure parts: netfilter walked as the kernel walks it, over tables as kn-lab plans them
// (read back as the kernel returns them); ipset membership; what FROM and TO name.
#include <doctest/doctest.h>

#include "lab/loader.hpp"
#include "plan/kube_proxy.hpp"
#include "trace/kernel.hpp"
#include "trace/netfilter.hpp"
#include "trace/target.hpp"

using namespace knlab;
using namespace knlab::trace;

namespace {

ImageCatalogue catalogue() {
  return *parse_images("[[image]]\nname = \"ghost\"\nrole = \"server\"\nport = 2368\n"
                       "[[image]]\nname = \"alpine\"\nrole = \"client\"\n", "images.toml");
}

LabPlan plan_of(const std::string& extra, int replicas) {
  std::string t = "[lab]\nname = \"k\"\n[cluster]\ndns = true\n[[node]]\nname = \"node1\"\n[[node]]\nname = \"node2\"\n"
                  "[[pod]]\nname = \"client\"\nnode = \"node1\"\nimage = \"alpine\"\n"
                  "[[deployment]]\nname = \"ghost\"\nimage = \"ghost:4\"\nreplicas = " + std::to_string(replicas) + "\n" +
                  "[[service]]\nname = \"ghost\"\nselector = { app = \"ghost\" }\nport = 2368\ncluster_ip = \"10.96.100.100\"\n" + extra;
  auto lab = parse_lab(t, "k.toml");
  REQUIRE(lab);
  auto plan = plan_lab(*lab, catalogue());
  REQUIRE(plan);
  return *plan;
}

// A planned table as the kernel gives it back: built-in chains (policy ACCEPT) holding the
// hooks, then the user chains.
IptReadTable as_read(const IptTable& t) {
  IptReadTable out;
  out.name = t.name;
  for (std::string_view c : builtin_chains(t.name)) out.chains.push_back(IptReadChain{std::string(c), true, "ACCEPT", {}, {}});
  for (const std::string& c : t.chains) out.chains.push_back(IptReadChain{c, false, "", {}, {}});
  for (const IptRule& r : t.rules)
    for (IptReadChain& c : out.chains)
      if (c.name == r.chain) c.rules.push_back(IptReadRule{r, {}, ""});
  return out;
}

IptReadTable table_of(const LabPlan& plan, const std::string& node, const std::string& name) {
  for (const IptTable& t : kube_proxy_tables(plan, *plan.node(node)))
    if (t.name == name) return as_read(t);
  FAIL("no table " << name);
  return {};
}

Packet to(Ipv4 src, const std::string& dst, std::uint16_t port) {
  return Packet{src, *Ipv4::parse(dst), Proto::kTcp, 40000, port, 0, CtState::kNew};
}

}  // namespace

TEST_CASE("trace: a ClusterIP is DNATed by one of kube-proxy's branches, each with its probability") {
  LabPlan plan = plan_of("", 3);
  IptReadTable nat = table_of(plan, "node1", "nat");
  Ipv4 client = plan.pod("client")->address.addr;
  NfContext ctx;
  ctx.in_iface = "cni0";
  NfResult r = evaluate(nat, "PREROUTING", to(client, "10.96.100.100", 2368), ctx);
  CHECK(r.verdict == Verdict::kAccept);
  CHECK(r.dnat);
  REQUIRE(r.branches.size() == 3);
  for (const NfBranch& b : r.branches) CHECK(b.probability == doctest::Approx(1.0 / 3).epsilon(1e-6));
  CHECK(r.branches[0].chosen);
  CHECK(r.packet.dst == r.branches[0].to_ip);
  CHECK(r.packet.dport == 2368);
  CHECK(r.steps.front().chain == "PREROUTING");
  CHECK(r.steps[1].chain == "KUBE-SERVICES");

  // The branch conntrack saw the kernel take is the one followed.
  ctx.backend = r.branches[2].to_ip;
  NfResult third = evaluate(nat, "PREROUTING", to(client, "10.96.100.100", 2368), ctx);
  CHECK(third.packet.dst == *r.branches[2].to_ip);
  CHECK(third.branches[2].chosen);
  CHECK_FALSE(third.branches[0].chosen);
}

TEST_CASE("trace: traffic to anything else passes the nat chains untouched") {
  LabPlan plan = plan_of("", 2);
  IptReadTable nat = table_of(plan, "node1", "nat");
  NfResult r = evaluate(nat, "PREROUTING", to(*Ipv4::parse("10.244.1.2"), "10.244.2.2", 80), NfContext{});
  CHECK(r.verdict == Verdict::kAccept);
  CHECK_FALSE(r.dnat);
  CHECK(r.steps.back().rule == 0);  // fell through to the policy
}

TEST_CASE("trace: a Service without endpoints is REJECTed in filter, with kube-proxy's comment") {
  LabPlan plan = plan_of("", 0);
  IptReadTable filter = table_of(plan, "node1", "filter");
  NfContext ctx;
  ctx.in_iface = "cni0";
  ctx.out_iface = "eth0";
  NfResult r = evaluate(filter, "FORWARD", to(*Ipv4::parse("10.244.1.2"), "10.96.100.100", 2368), ctx);
  CHECK(r.verdict == Verdict::kReject);
  CHECK(r.why == "default/ghost has no endpoints");
}

TEST_CASE("trace: a NodePort is DNATed and marked, and the mark makes POSTROUTING masquerade") {
  LabPlan plan = plan_of("type = \"NodePort\"\nnode_port = 30080\n", 2);
  IptReadTable nat = table_of(plan, "node1", "nat");
  NfContext ctx;
  ctx.in_iface = "eth0";
  Ipv4 node_ip = plan.node("node1")->ip.addr;
  ctx.local_addresses = {node_ip};
  NfResult r = evaluate(nat, "PREROUTING", to(*Ipv4::parse("192.168.56.2"), node_ip.str(), 30080), ctx);
  CHECK(r.dnat);
  CHECK(r.packet.mark == 0x4000);
  NfContext out;
  out.out_iface = "eth0";
  NfResult post = evaluate(nat, "POSTROUTING", r.packet, out);
  CHECK(post.masquerade);
  CHECK(post.packet.mark == 0);  // KUBE-POSTROUTING clears it (xor) before MASQUERADE
  // Without the mark: no masquerade.
  Packet plain = r.packet;
  plain.mark = 0;
  CHECK_FALSE(evaluate(nat, "POSTROUTING", plain, out).masquerade);
}

TEST_CASE("trace: a rule that cannot be decoded makes the walk undecided, saying why") {
  IptReadTable t{"filter", {IptReadChain{"FORWARD", true, "ACCEPT", {}, {}}}};
  IptRule r;
  r.chain = "FORWARD";
  r.jump = "DROP";
  t.chains[0].rules.push_back(IptReadRule{r, {}, "match multiport"});
  NfResult res = evaluate(t, "FORWARD", to(*Ipv4::parse("10.0.0.1"), "10.0.0.2", 80), NfContext{});
  CHECK(res.verdict == Verdict::kUndecided);
  CHECK(res.why.find("match multiport") != std::string::npos);
}

TEST_CASE("trace: ipset membership as the kernel matches it (hash:ip, hash:net with nomatch)") {
  IpSet ips{"KUBE-SRC-X", "hash:ip", {"10.244.1.2", "10.244.2.3"}};
  CHECK(ipset_contains(ips, *Ipv4::parse("10.244.2.3")));
  CHECK_FALSE(ipset_contains(ips, *Ipv4::parse("10.244.2.4")));
  IpSet nets{"KUBE-DST-Y", "hash:net", {"10.0.0.0/8", "10.1.0.0/16 nomatch", "10.1.2.3"}};
  CHECK(ipset_contains(nets, *Ipv4::parse("10.9.9.9")));
  CHECK_FALSE(ipset_contains(nets, *Ipv4::parse("10.1.9.9")));
  CHECK(ipset_contains(nets, *Ipv4::parse("10.1.2.3")));  // more specific than the nomatch
  CHECK_FALSE(ipset_contains(nets, *Ipv4::parse("11.0.0.1")));
}

TEST_CASE("trace: FROM and TO resolve against the lab") {
  LabPlan plan = plan_of("", 2);
  Source client = *resolve_source(plan, "client", "default");
  CHECK(client.netns == "kn-k.client");
  CHECK(resolve_source(plan, "node2", "default")->label == "node node2");
  CHECK(resolve_source(plan, "external", "default")->netns == "kn-k.external");
  auto bad = resolve_source(plan, "nobody", "default");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().detail.find("not a pod, node or namespace") != std::string::npos);

  Destination svc = *resolve_destination(plan, "svc/ghost", client, Proto::kTcp);
  CHECK(svc.ip == *Ipv4::parse("10.96.100.100"));
  CHECK(svc.port == 2368);
  Destination dns = *resolve_destination(plan, "ghost.default.svc.cluster.local", client, Proto::kTcp);
  CHECK(dns.ip == svc.ip);
  CHECK(dns.resolved.find("ghost.default.svc.cluster.local -> 10.96.100.100") != std::string::npos);
  CHECK(resolve_destination(plan, "ghost", client, Proto::kUdp)->ip == svc.ip);
  CHECK(resolve_destination(plan, "node2:30080", client, Proto::kTcp)->ip == plan.node("node2")->ip.addr);
  CHECK_FALSE(resolve_destination(plan, "node2", client, Proto::kTcp));
  CHECK_FALSE(resolve_destination(plan, "svc/ghost:99", client, Proto::kTcp));
  CHECK_FALSE(resolve_destination(plan, "client:80", client, Proto::kIcmp));
  CHECK(resolve_destination(plan, "client", client, Proto::kIcmp)->port == 0);
  CHECK(places_of(plan).at("kn-k.wire") == "wire");
}
