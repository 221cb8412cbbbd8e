// kube-proxy's nftables mode as text: names against kube-proxy's own test vectors
// (pkg/proxy/nftables/proxier_test.go), whole tables for ClusterIP, NodePort with
// externalTrafficPolicy Local, ClientIP affinity and a Service without endpoints, and the delta
// a live change writes.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "lab/loader.hpp"
#include "ops/nft.hpp"
#include "plan/kube_proxy_nft.hpp"

using namespace knlab;

namespace {

ImageCatalogue catalogue() {
  return *parse_images("[[image]]\nname = \"ghost\"\nrole = \"server\"\nport = 2368\n", "images.toml");
}

// Nodes node1..node<nodes> on the underlay, a Deployment ghost of `replicas`, one Service.
LabPlan nft_lab(const std::string& service_extra, int nodes, int replicas) {
  std::string t = "[lab]\nname = \"k\"\n[cluster]\ndns = false\nproxy_mode = \"nftables\"\n";
  for (int n = 1; n <= nodes; ++n) t += "[[node]]\nname = \"node" + std::to_string(n) + "\"\n";
  t += "[[deployment]]\nname = \"ghost\"\nimage = \"ghost:4\"\nreplicas = " + std::to_string(replicas) + "\n";
  t += "[[service]]\nname = \"ghost\"\nselector = { app = \"ghost\" }\nport = 80\ntarget_port = 2368\ncluster_ip = \"10.96.100.100\"\n" + service_extra;
  auto lab = parse_lab(t, "k.toml");
  REQUIRE(lab);
  auto plan = plan_lab(*lab, catalogue());
  REQUIRE(plan);
  return *plan;
}

// The commands of a table that are not kube-proxy's fixed part (which the ClusterIP test checks
// whole): those naming a service's chains, sets and the elements of the maps.
std::string service_part(const NftTable& t) {
  static const std::set<std::string> fixed = {"cluster-ips-check", "filter-prerouting-pre-dnat", "filter-output-pre-dnat", "filter-forward",
                                              "filter-input", "filter-output", "firewall-check", "mark-for-masquerade", "masquerading",
                                              "nat-output", "nat-postrouting", "nat-prerouting", "nodeport-endpoints-check", "reject-chain",
                                              "services", "service-endpoints-check"};
  std::string all = render_nft(t), out;
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\n', start);
    std::string line = all.substr(start, end - start);
    start = end + 1;
    // "add <kind> ip kube-proxy <name> ...": the fifth word names the object.
    std::istringstream words(line);
    std::string verb, kind, family, table, name;
    words >> verb >> kind >> family >> table >> name;
    bool base_set = (kind == "set" || kind == "map") && name.find('-') != std::string::npos && !name.starts_with("affinity-");
    if (kind == "table" || base_set || ((kind == "chain" || kind == "rule") && fixed.contains(name))) continue;
    out += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("nftables chain names are kube-proxy's: 8 base32 characters of sha256, then the name") {
  ServicePlan s;
  s.spec.ns = "ns1";
  s.spec.name = "svc1";
  ServicePortPlan p{"p80", "TCP", 80, 80, std::nullopt};
  EndpointPlan e{"pod", "node1", *Ipv4::parse("10.180.0.1")};
  CHECK(nft_service_chain(s, p) == "service-ULMVA6XW-ns1/svc1/tcp/p80");
  CHECK(nft_external_chain(s, p) == "external-ULMVA6XW-ns1/svc1/tcp/p80");
  CHECK(nft_endpoint_chain(s, p, e) == "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
  s.spec.ns = "ns5";
  s.spec.name = "svc5";
  e.ip = *Ipv4::parse("10.180.0.3");
  CHECK(nft_affinity_set(s, p, e) == "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80");
}

TEST_CASE("nftables ClusterIP: kube-proxy's base table, the service-ips entry, numgen over the endpoints, DNAT") {
  LabPlan plan = nft_lab("", 2, 2);
  NftTable t = kube_proxy_nft(plan, plan.nodes[0]);
  const ServicePlan& s = plan.services.front();
  REQUIRE(s.endpoints.size() == 2);
  std::string svc = nft_service_chain(s, s.ports[0]);
  std::string ep0 = nft_endpoint_chain(s, s.ports[0], s.endpoints[0]), ep1 = nft_endpoint_chain(s, s.ports[0], s.endpoints[0 + 1]);
  std::string ip0 = s.endpoints[0].ip.str(), ip1 = s.endpoints[1].ip.str();
  CHECK(svc == "service-QVXWRX6B-default/ghost/tcp/");
  std::string expected = R"(add table ip kube-proxy { comment "rules for kube-proxy" ; }
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy masquerading
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check
add chain ip kube-proxy )" + svc + R"(
add chain ip kube-proxy )" + ep0 + R"(
add chain ip kube-proxy )" + ep1 + R"(
add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
add rule ip kube-proxy )" + svc + R"( ip daddr 10.96.100.100 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
add rule ip kube-proxy )" + svc + " numgen random mod 2 vmap { 0 : goto " + ep0 + " , 1 : goto " + ep1 + R"( }
add rule ip kube-proxy )" + ep0 + " ip saddr " + ip0 + R"( jump mark-for-masquerade
add rule ip kube-proxy )" + ep0 + " meta l4proto tcp dnat to " + ip0 + R"(:2368
add rule ip kube-proxy )" + ep1 + " ip saddr " + ip1 + R"( jump mark-for-masquerade
add rule ip kube-proxy )" + ep1 + " meta l4proto tcp dnat to " + ip1 + R"(:2368
add element ip kube-proxy cluster-ips { 10.96.100.100 }
add element ip kube-proxy nodeport-ips { 192.168.56.11 }
add element ip kube-proxy service-ips { 10.96.100.100 . tcp . 80 : goto )" + svc + R"( }
)";
  CHECK(render_nft(t) == expected);
}

TEST_CASE("nftables NodePort with externalTrafficPolicy Local: short-circuits, a local- chain, drop where no endpoint is local") {
  LabPlan plan = nft_lab("type = \"NodePort\"\nnode_port = 30080\nexternal_traffic_policy = \"Local\"\n", 3, 2);
  const ServicePlan& s = plan.services.front();
  const ServicePortPlan& p = s.ports[0];
  std::string svc = nft_service_chain(s, p), ext = nft_external_chain(s, p), loc = nft_local_chain(s, p);
  const EndpointPlan& e0 = s.endpoints[0];
  REQUIRE(e0.node == "node1");
  std::string ep0 = nft_endpoint_chain(s, p, e0), ep1 = nft_endpoint_chain(s, p, s.endpoints[1]);
  std::string node1 = service_part(kube_proxy_nft(plan, plan.nodes[0]));
  CHECK(node1 == "add chain ip kube-proxy " + svc + "\n" + "add chain ip kube-proxy " + ext + "\n" + "add chain ip kube-proxy " + loc + "\n" +
                     "add chain ip kube-proxy " + ep0 + "\n" + "add chain ip kube-proxy " + ep1 + "\n" +
                     "add rule ip kube-proxy " + svc + " ip daddr 10.96.100.100 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade\n" +
                     "add rule ip kube-proxy " + svc + " numgen random mod 2 vmap { 0 : goto " + ep0 + " , 1 : goto " + ep1 + " }\n" +
                     "add rule ip kube-proxy " + ext + " ip saddr 10.244.0.0/16 goto " + svc + " comment \"short-circuit pod traffic\"\n" +
                     "add rule ip kube-proxy " + ext + " fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"\n" +
                     "add rule ip kube-proxy " + ext + " fib saddr type local goto " + svc + " comment \"short-circuit local traffic\"\n" +
                     "add rule ip kube-proxy " + ext + " goto " + loc + "\n" +
                     "add rule ip kube-proxy " + loc + " numgen random mod 1 vmap { 0 : goto " + ep0 + " }\n" +
                     "add rule ip kube-proxy " + ep0 + " ip saddr " + e0.ip.str() + " jump mark-for-masquerade\n" +
                     "add rule ip kube-proxy " + ep0 + " meta l4proto tcp dnat to " + e0.ip.str() + ":2368\n" +
                     "add rule ip kube-proxy " + ep1 + " ip saddr " + s.endpoints[1].ip.str() + " jump mark-for-masquerade\n" +
                     "add rule ip kube-proxy " + ep1 + " meta l4proto tcp dnat to " + s.endpoints[1].ip.str() + ":2368\n" +
                     "add element ip kube-proxy cluster-ips { 10.96.100.100 }\n" +
                     "add element ip kube-proxy nodeport-ips { 192.168.56.11 }\n" +
                     "add element ip kube-proxy service-ips { 10.96.100.100 . tcp . 80 : goto " + svc + " }\n" +
                     "add element ip kube-proxy service-nodeports { tcp . 30080 : goto " + ext + " }\n");
  // node3 has no endpoint: the NodePort still short-circuits pods and the node, and drops the rest.
  std::string node3 = service_part(kube_proxy_nft(plan, plan.nodes[2]));
  CHECK(node3.find(loc) == std::string::npos);
  CHECK(node3.find("add element ip kube-proxy no-endpoint-nodeports { tcp . 30080 comment \"default/ghost\" : drop }\n") != std::string::npos);
  CHECK(node3.find("add element ip kube-proxy service-nodeports { tcp . 30080 : goto " + ext + " }\n") != std::string::npos);
}

TEST_CASE("nftables ClientIP affinity: a dynamic set per endpoint, checked first, updated on DNAT") {
  LabPlan plan = nft_lab("session_affinity = \"ClientIP\"\n", 1, 1);
  const ServicePlan& s = plan.services.front();
  const ServicePortPlan& p = s.ports[0];
  const EndpointPlan& e = s.endpoints[0];
  std::string svc = nft_service_chain(s, p), ep = nft_endpoint_chain(s, p, e), aff = nft_affinity_set(s, p, e);
  std::string part = service_part(kube_proxy_nft(plan, plan.nodes[0]));
  CHECK(part.find("add set ip kube-proxy " + aff + " { type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }\n") != std::string::npos);
  CHECK(part.find("add rule ip kube-proxy " + svc + " ip saddr @" + aff + " goto " + ep + "\nadd rule ip kube-proxy " + svc + " numgen random mod 1") !=
        std::string::npos);
  CHECK(part.find("add rule ip kube-proxy " + ep + " ip saddr " + e.ip.str() + " jump mark-for-masquerade\nadd rule ip kube-proxy " + ep +
                  " update @" + aff + " { ip saddr }\nadd rule ip kube-proxy " + ep + " meta l4proto tcp dnat to " + e.ip.str() + ":2368\n") !=
        std::string::npos);
}

TEST_CASE("nftables Service without endpoints: no chains, the ClusterIP rejected through no-endpoint-services") {
  LabPlan plan = nft_lab("type = \"NodePort\"\nnode_port = 30080\n", 1, 0);
  CHECK(service_part(kube_proxy_nft(plan, plan.nodes[0])) ==
        "add element ip kube-proxy cluster-ips { 10.96.100.100 }\n"
        "add element ip kube-proxy nodeport-ips { 10.244.0.1 }\n"
        "add element ip kube-proxy no-endpoint-nodeports { tcp . 30080 comment \"default/ghost\" : goto reject-chain }\n"
        "add element ip kube-proxy no-endpoint-services { 10.96.100.100 . tcp . 80 comment \"default/ghost\" : goto reject-chain }\n");
}

TEST_CASE("a live change writes only the delta: new endpoint chain, the service chain rewritten, elements as they change") {
  LabPlan two = nft_lab("", 1, 2), three = nft_lab("", 1, 3), none = nft_lab("", 1, 0);
  NftTable t2 = kube_proxy_nft(two, two.nodes[0]), t3 = kube_proxy_nft(three, three.nodes[0]), t0 = kube_proxy_nft(none, none.nodes[0]);
  const ServicePlan& s = three.services.front();
  std::string svc = nft_service_chain(s, s.ports[0]), ep2 = nft_endpoint_chain(s, s.ports[0], s.endpoints[2]);
  std::string up = render_nft_delta(t2, t3);
  CHECK(up.starts_with("add chain ip kube-proxy " + ep2 + "\nflush chain ip kube-proxy " + svc + "\n"));
  CHECK(up.find("numgen random mod 3") != std::string::npos);
  CHECK(up.find("add element") == std::string::npos);  // the Service's entry is unchanged
  CHECK(std::count(up.begin(), up.end(), '\n') == 6);  // the new chain, the flush, the service chain's 2 rules, the endpoint's 2
  std::string down = render_nft_delta(t3, t2);
  CHECK(down.ends_with("flush chain ip kube-proxy " + ep2 + "\ndelete chain ip kube-proxy " + ep2 + "\n"));
  // The last endpoint gone: the entry moves from service-ips to no-endpoint-services, chains go.
  std::string empty = render_nft_delta(t2, t0);
  CHECK(empty.find("delete element ip kube-proxy service-ips { 10.96.100.100 . tcp . 80 }\n") != std::string::npos);
  CHECK(empty.find("add element ip kube-proxy no-endpoint-services { 10.96.100.100 . tcp . 80 comment \"default/ghost\" : goto reject-chain }\n") !=
        std::string::npos);
  CHECK(empty.find("delete chain ip kube-proxy " + svc + "\n") != std::string::npos);
  CHECK(empty.find("delete element") < empty.find("delete chain"));  // the map stops naming a chain before it goes
  CHECK(render_nft_delta(t3, t3).empty());
  CHECK(render_nft_delta(NftTable{}, t3) == render_nft(t3));
}

TEST_CASE("the counts of a script are those of its table") {
  LabPlan plan = nft_lab("session_affinity = \"ClientIP\"\n", 1, 2);
  NftTable t = kube_proxy_nft(plan, plan.nodes[0]);
  NftCounts c = nft_script_counts(render_nft_replace(t));
  CHECK(c.exists);
  CHECK(c.chain_rules.at("services") == 2);
  CHECK(c.chain_rules.at("mark-for-masquerade") == 1);
  CHECK(c.set_elements.at("service-ips") == 1);
  CHECK(c.set_elements.at("cluster-ips") == 1);
  CHECK(c.set_elements.at("firewall-ips") == 0);
  std::size_t rules = 0;
  for (auto& [chain, n] : c.chain_rules) rules += n;
  std::size_t elements = 0;
  for (auto& [set, n] : c.set_elements) elements += n;
  CHECK(rules + elements == nft_rule_count(t));
}

TEST_CASE("nodes with the same rules share one script, each adding its own address; Local policy: a script each") {
  auto sorted_lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    std::sort(out.begin(), out.end());
    return out;
  };
  LabPlan plan = nft_lab("type = \"NodePort\"\n", 3, 3);
  auto ops = kube_proxy_nft_ops(plan);
  REQUIRE(ops.size() == 3);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    CHECK(ops[i].netns == plan.nodes[i].netns);
    CHECK(ops[i].script == ops[0].script);  // one copy
    CHECK(ops[i].node_part == "add element ip kube-proxy nodeport-ips { " + plan.nodes[i].ip.addr.str() + " }\n");
    // The same transaction as the node's own table, replaced, in another order.
    CHECK(sorted_lines(ops[i].text()) == sorted_lines(render_nft_replace(kube_proxy_nft(plan, plan.nodes[i]))));
    CHECK(nft_script_counts(ops[i].text()) == nft_script_counts(render_nft_replace(kube_proxy_nft(plan, plan.nodes[i]))));
  }
  CHECK(ops[0].script->find("nodeport-ips {") != std::string::npos);  // the set is declared...
  CHECK(ops[0].script->find("add element ip kube-proxy nodeport-ips") == std::string::npos);  // ...empty

  LabPlan local = nft_lab("type = \"NodePort\"\nexternal_traffic_policy = \"Local\"\n", 3, 2);
  auto own = kube_proxy_nft_ops(local);
  REQUIRE(own.size() == 3);
  CHECK(own[0].script != own[1].script);
  for (std::size_t i = 0; i < own.size(); ++i) {
    CHECK(own[i].node_part.empty());
    CHECK(*own[i].script == render_nft_replace(kube_proxy_nft(local, local.nodes[i])));
  }
}
