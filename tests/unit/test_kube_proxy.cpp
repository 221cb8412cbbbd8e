#include <doctest/doctest.h>
#include <fmt/core.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/hash.hpp"
#include "lab/loader.hpp"
#include "plan/kube_proxy.hpp"
#include "plan/netpol.hpp"

using namespace knlab;

namespace {

ImageCatalogue catalogue() {
  return *parse_images("[[image]]\nname = \"ghost\"\nrole = \"server\"\nport = 2368\n"
                       "[[image]]\nname = \"alpine\"\nrole = \"client\"\n", "images.toml");
}

// The plan of a lab of `nodes` nodes with a Deployment ghost of `replicas` pods, and `services`.
LabPlan plan_of(const std::string& services, int nodes, int replicas) {
  std::string t = "[lab]\nname = \"k\"\n[cluster]\ndns = false\n";
  for (int n = 1; n <= nodes; ++n) t += "[[node]]\nname = \"node" + std::to_string(n) + "\"\n";
  t += "[[deployment]]\nname = \"ghost\"\nimage = \"ghost:4\"\nreplicas = " + std::to_string(replicas) + "\n" + services;
  auto lab = parse_lab(t, "k.toml");
  REQUIRE(lab);
  auto plan = plan_lab(*lab, catalogue());
  REQUIRE(plan);
  return *plan;
}

LabPlan service_lab(const std::string& service_extra, int replicas = 3) {
  return plan_of("[[service]]\nname = \"ghost\"\nselector = { app = \"ghost\" }\nport = 2368\ncluster_ip = \"10.96.100.100\"\n" +
                     service_extra,
                 3, replicas);
}

LabPlan service_lab_text(const std::string& services) { return plan_of(services, 1, 2); }

std::vector<std::string> lines_of(const IptTable& t) {
  std::vector<std::string> out;
  for (auto& r : t.rules) out.push_back(render_rule(r));
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("sha256 and base32 match their test vectors") {
  auto d = sha256("abc");
  CHECK(hex(d.data(), d.size()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto e = sha256("");
  CHECK(hex(e.data(), e.size()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string foobar = "foobar";
  CHECK(base32(reinterpret_cast<const std::uint8_t*>(foobar.data()), foobar.size()) == "MZXW6YTBOI======");
}

TEST_CASE("chain names follow kube-proxy: KUBE-SVC-<16 base32 of sha256(ns/name + proto)>") {
  LabPlan plan = service_lab("");
  const ServicePlan& s = plan.services.front();
  auto digest = sha256("default/ghosttcp");
  CHECK(svc_chain(s, s.ports[0]) == "KUBE-SVC-" + base32(digest.data(), digest.size()).substr(0, 16));
  CHECK(ext_chain(s, s.ports[0]).substr(9) == svc_chain(s, s.ports[0]).substr(9));
  auto sep = sha256("default/ghosttcp" + s.endpoints[0].ip.str() + ":2368");
  CHECK(sep_chain(s, s.ports[0], s.endpoints[0]) == "KUBE-SEP-" + base32(sep.data(), sep.size()).substr(0, 16));
  CHECK(svc_chain(s, s.ports[0]).size() == 25);  // fits iptables' 28-character chain names
}

TEST_CASE("ClusterIP: portal, masquerade from outside the pod network, 1/3 1/2 1 balancing, DNAT") {
  LabPlan plan = service_lab("");
  const ServicePlan& s = plan.services.front();
  REQUIRE(s.endpoints.size() == 3);
  auto tables = kube_proxy_tables(plan, plan.nodes[0]);
  REQUIRE(tables.size() == 2);
  auto nat = lines_of(tables[0]);
  std::string svc = svc_chain(s, s.ports[0]);
  CHECK(has(nat, "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"));
  CHECK(has(nat, "-A KUBE-SERVICES -d 10.96.100.100/32 -p tcp -m comment --comment \"default/ghost cluster IP\" -m tcp --dport 2368 -j " + svc));
  CHECK(has(nat, "-A " + svc + " ! -s 10.244.0.0/16 -d 10.96.100.100/32 -p tcp -m comment --comment \"default/ghost cluster IP\" -m tcp --dport 2368 -j KUBE-MARK-MASQ"));
  std::vector<std::string> balance;
  for (auto& l : nat)
    if (l.starts_with("-A " + svc + " -m comment --comment \"default/ghost -> ")) balance.push_back(l);
  REQUIRE(balance.size() == 3);
  CHECK(balance[0].find("--probability 0.33333333349") != std::string::npos);
  CHECK(balance[1].find("--probability 0.50000000000") != std::string::npos);
  CHECK(balance[2].find("statistic") == std::string::npos);
  const EndpointPlan& e = s.endpoints[1];
  std::string sep = sep_chain(s, s.ports[0], e);
  CHECK(has(nat, "-A " + sep + " -s " + e.ip.str() + "/32 -m comment --comment \"default/ghost\" -j KUBE-MARK-MASQ"));
  CHECK(has(nat, "-A " + sep + " -p tcp -m comment --comment \"default/ghost\" -m tcp -j DNAT --to-destination " + e.ip.str() + ":2368"));
  // The node-ports rule closes KUBE-SERVICES.
  auto last = std::find_if(nat.rbegin(), nat.rend(), [](auto& l) { return l.starts_with("-A KUBE-SERVICES "); });
  CHECK(last->find("this must be the last rule in this chain") != std::string::npos);
}

TEST_CASE("no endpoints: REJECT in filter, no KUBE-SVC chain") {
  LabPlan plan = service_lab("", 0);
  auto tables = kube_proxy_tables(plan, plan.nodes[0]);
  auto filter = lines_of(tables[1]);
  CHECK(has(filter, "-A KUBE-SERVICES -d 10.96.100.100/32 -p tcp -m comment --comment \"default/ghost has no endpoints\" -m tcp --dport 2368 -j REJECT --reject-with icmp-port-unreachable"));
  CHECK(std::none_of(tables[0].chains.begin(), tables[0].chains.end(), [](auto& c) { return c.starts_with("KUBE-SVC-"); }));
}

TEST_CASE("NodePort with externalTrafficPolicy Local: local endpoints only, DROP where none") {
  LabPlan plan = service_lab("type = \"NodePort\"\nnode_port = 30080\nexternal_traffic_policy = \"Local\"\n", 2);
  const ServicePlan& s = plan.services.front();
  auto node1 = kube_proxy_tables(plan, plan.nodes[0]);
  auto nat1 = lines_of(node1[0]);
  CHECK(has(nat1, "-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/ghost\" -m tcp --dport 30080 -j " + ext_chain(s, s.ports[0])));
  CHECK(has(nat1, "-A " + ext_chain(s, s.ports[0]) + " -j " + svl_chain(s, s.ports[0])));
  CHECK(std::none_of(nat1.begin(), nat1.end(), [&](auto& l) { return l == "-A " + ext_chain(s, s.ports[0]) + " -m comment --comment \"masquerade traffic for default/ghost external destinations\" -j KUBE-MARK-MASQ"; }));
  auto node3 = kube_proxy_tables(plan, plan.nodes[2]);  // replicas on node1 and node2 only
  CHECK(has(lines_of(node3[1]), "-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment \"default/ghost has no local endpoints\" -m tcp --dport 30080 -m addrtype --dst-type LOCAL -j DROP"));
}

TEST_CASE("NodePort with Cluster policy masquerades; ClientIP affinity uses the recent match") {
  LabPlan plan = service_lab("type = \"NodePort\"\nnode_port = 30080\nsession_affinity = \"ClientIP\"\n");
  const ServicePlan& s = plan.services.front();
  auto nat = lines_of(kube_proxy_tables(plan, plan.nodes[0])[0]);
  CHECK(has(nat, "-A " + ext_chain(s, s.ports[0]) + " -m comment --comment \"masquerade traffic for default/ghost external destinations\" -j KUBE-MARK-MASQ"));
  std::string sep = sep_chain(s, s.ports[0], s.endpoints[0]);
  CHECK(has(nat, "-A " + svc_chain(s, s.ports[0]) + " -m comment --comment \"default/ghost -> " + s.endpoints[0].ip.str() +
                     ":2368\" -m recent --rcheck --seconds 10800 --reap --name " + sep + " --mask 255.255.255.255 --rsource -j " + sep));
  CHECK(has(nat, "-A " + sep + " -p tcp -m comment --comment \"default/ghost\" -m tcp -m recent --set --name " + sep +
                     " --mask 255.255.255.255 --rsource -j DNAT --to-destination " + s.endpoints[0].ip.str() + ":2368"));
}

TEST_CASE("service addresses: given ones kept, others stable, DNS address reserved") {
  LabPlan a = service_lab("");
  LabPlan b = service_lab("");
  CHECK(a.services[0].cluster_ip.str() == "10.96.100.100");
  auto lab = parse_lab("[lab]\nname = \"x\"\n[[node]]\nname = \"n\"\n[[service]]\nname = \"s\"\nport = 80\ntype = \"NodePort\"\n", "x.toml");
  REQUIRE(lab);
  auto p1 = plan_lab(*lab, catalogue());
  auto p2 = plan_lab(*lab, catalogue());
  REQUIRE(p1);
  REQUIRE(p2);
  CHECK(p1->services[0].cluster_ip == p2->services[0].cluster_ip);
  CHECK(*p1->services[0].ports[0].node_port >= 30000);
  CHECK(*p1->services[0].ports[0].node_port <= 32767);
  // DNS is on by default with Services: kube-dns at 10.96.0.10, UDP 53, in kube-system.
  REQUIRE(p1->services.size() == 2);
  CHECK(p1->services[1].spec.name == "kube-dns");
  CHECK(p1->services[1].cluster_ip.str() == "10.96.0.10");
  CHECK(p1->services[1].endpoints.size() == 1);
  CHECK(pod_resolv_conf(*p1, p1->pods[0]).find("nameserver 10.96.0.10\nsearch kube-system.svc.cluster.local") != std::string::npos);
}

TEST_CASE("deployment pods: Kubernetes-style names, spread over nodes, labels app=<name>") {
  LabPlan plan = service_lab("");
  std::vector<const PodPlan*> ghosts;
  for (auto& p : plan.pods)
    if (p.deployment == "ghost") ghosts.push_back(&p);
  REQUIRE(ghosts.size() == 3);
  CHECK(ghosts[0]->name.size() == std::string("ghost-").size() + 10 + 1 + 5);
  CHECK(ghosts[0]->name.starts_with("ghost-" + pod_template_hash(plan.deployments[0]) + "-"));
  CHECK(ghosts[0]->node == "node1");
  CHECK(ghosts[2]->node == "node3");
  CHECK(ghosts[1]->labels.at("app") == "ghost");
  CHECK(ghosts[0]->containers[0].argv == std::vector<std::string>{"kn-netexec", "--http-port", "2368"});
}

TEST_CASE("an image outside the catalogue is refused with the known names") {
  auto lab = parse_lab("[lab]\nname = \"x\"\n[[node]]\nname = \"n\"\n[[deployment]]\nname = \"d\"\nimage = \"redis:7\"\n", "x.toml");
  REQUIRE(lab);
  auto plan = plan_lab(*lab, catalogue());
  REQUIRE_FALSE(plan);
  CHECK(plan.error().detail == "image \"redis:7\" is not in kn-lab's image catalogue");
  CHECK(plan.error().hint.find("ghost, alpine") != std::string::npos);
  CHECK(image_repository("docker.io/library/nginx:1.25") == "nginx");
  CHECK(image_repository("registry:5000/team/app@sha256:abc") == "registry:5000/team/app");
}

TEST_CASE("the shipped image catalogue parses") {
  std::ifstream in(KNLAB_SOURCE_DIR "/data/images.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto c = parse_images(text, "images.toml");
  REQUIRE(c);
  CHECK(c->find("ghost:4")->port == 2368);
  CHECK(c->find("stefanprodan/podinfo")->port == 9898);
  CHECK_FALSE(c->find("alpine")->server);
}

TEST_CASE("a Service with two ports: a chain per service port, named <ns>/<name>:<port>") {
  LabPlan plan = service_lab_text(R"([[service]]
name = "ghost"
type = "NodePort"
selector = { app = "ghost" }
ports = [{ name = "http", port = 80, target_port = 2368, node_port = 30080 },
         { name = "https", port = 443, target_port = 2368, node_port = 30443 }]
)");
  const ServicePlan& s = plan.services.front();
  REQUIRE(s.ports.size() == 2);
  CHECK(s.port_id(s.ports[0]) == "default/ghost:http");
  CHECK(svc_chain(s, s.ports[0]) != svc_chain(s, s.ports[1]));
  auto nat = lines_of(kube_proxy_tables(plan, plan.nodes[0])[0]);
  CHECK(has(nat, "-A KUBE-SERVICES -d " + s.cluster_ip.str() + "/32 -p tcp -m comment --comment \"default/ghost:https cluster IP\" -m tcp --dport 443 -j " +
                     svc_chain(s, s.ports[1])));
  CHECK(has(nat, "-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/ghost:http\" -m tcp --dport 30080 -j " + ext_chain(s, s.ports[0])));
  CHECK(has(nat, "-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/ghost:https\" -m tcp --dport 30443 -j " + ext_chain(s, s.ports[1])));
}

TEST_CASE("ports = [...] and port both set, or an unnamed port among several: refused") {
  auto one = [](std::string svc) {
    return parse_lab("[lab]\nname = \"x\"\n[[node]]\nname = \"node1\"\n[[service]]\nname = \"s\"\n" + svc, "x.toml");
  };
  auto both = one("port = 80\nports = [{ port = 81 }]\n");
  REQUIRE(!both);
  CHECK(both.error().detail.find("'port' and 'ports' are both set") != std::string::npos);
  auto unnamed = one("ports = [{ name = \"a\", port = 80 }, { port = 81 }]\n");
  REQUIRE(!unnamed);
  CHECK(unnamed.error().detail.find("Service default/s: port 81 has no name") != std::string::npos);
  CHECK(unnamed.error().where.line == 7);
}

TEST_CASE("nodes with the same rules share one table; externalTrafficPolicy Local gives each node its own") {
  auto tables_of = [](const LabPlan& plan) {
    std::vector<std::shared_ptr<const IptTable>> nat;  // owners: the ops go when up_ops' vector does
    for (const Op& op : up_ops(plan))
      if (auto* a = std::get_if<IptablesApply>(&op); a && a->table->name == "nat" && a->netns.find(".node") != std::string::npos)
        nat.push_back(a->table);
    return nat;
  };
  LabPlan cluster = service_lab("type = \"NodePort\"\nnode_port = 30080\n", 2);
  CHECK(node_tables_shared(cluster));
  auto shared = tables_of(cluster);
  REQUIRE(shared.size() == 3);
  CHECK((shared[0] == shared[1] && shared[1] == shared[2]));  // built once, one copy
  LabPlan local = service_lab("type = \"NodePort\"\nnode_port = 30080\nexternal_traffic_policy = \"Local\"\n", 2);
  CHECK_FALSE(node_tables_shared(local));
  auto own = tables_of(local);
  REQUIRE(own.size() == 3);
  CHECK(own[0] != own[2]);
  CHECK_FALSE(*own[0] == *own[2]);  // node3 has no endpoint: its rules differ
  // Each shared table is what the node would have had on its own.
  CHECK(*shared[1] == kube_proxy_tables(cluster, cluster.nodes[1])[0]);
}

TEST_CASE("past 1000 endpoints, kube-proxy's large cluster mode: endpoint rules lose their comment") {
  auto lab_of = [](int services) {
    std::string t;
    for (int i = 0; i < services; ++i)
      t += fmt::format("[[service]]\nname = \"s{}\"\nselector = {{ app = \"ghost\" }}\nport = 80\ntarget_port = 2368\n", i);
    return plan_of(t, 1, 3);
  };
  auto endpoint_rules = [](const LabPlan& plan) {
    std::vector<std::string> out;
    for (auto& l : lines_of(kube_proxy_tables(plan, plan.nodes[0])[0]))
      if (l.starts_with("-A KUBE-SEP-") || (l.starts_with("-A KUBE-SVC-") && l.find("-j KUBE-SEP-") != std::string::npos)) out.push_back(l);
    return out;
  };
  auto with_comment = [](const std::vector<std::string>& rules) {
    return std::count_if(rules.begin(), rules.end(), [](const std::string& l) { return l.find("--comment") != std::string::npos; });
  };
  // 333 Services x 3 endpoints = 999: every endpoint rule keeps its comment.
  auto small = endpoint_rules(lab_of(333));
  REQUIRE(small.size() == 333u * 3 * 3);  // per endpoint: the jump to it, hairpin, DNAT
  CHECK(with_comment(small) == static_cast<long>(small.size()));
  // 334 x 3 = 1002: none does; the portals keep theirs.
  LabPlan big = lab_of(334);
  auto large = endpoint_rules(big);
  REQUIRE(large.size() == 334u * 3 * 3);
  CHECK(with_comment(large) == 0);
  const ServicePlan& s = big.services.front();
  const EndpointPlan& e = s.endpoints.front();
  CHECK(has(large, "-A " + sep_chain(s, s.ports[0], e) + " -p tcp -m tcp -j DNAT --to-destination " + e.ip.str() + ":2368"));
  auto nat = lines_of(kube_proxy_tables(big, big.nodes[0])[0]);
  CHECK(has(nat, "-A KUBE-SERVICES -d " + s.cluster_ip.str() + "/32 -p tcp -m comment --comment \"default/s0 cluster IP\" -m tcp --dport 80 -j " +
                     svc_chain(s, s.ports[0])));
}
