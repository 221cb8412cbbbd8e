// NetworkPolicy: the reader's validation and kube-router's layout as text (plan/netpol).
#include <doctest/doctest.h>

#include <fmt/core.h>

#include <algorithm>

#include "lab/images.hpp"
#include "lab/loader.hpp"
#include "lab/manifest.hpp"
#include "net/executor.hpp"
#include "ops/iptables_rule.hpp"
#include "plan/netpol.hpp"
#include "plan/plan.hpp"

using namespace knlab;

namespace {

// Two nodes; pods a (app=web) and b in x, c in y (namespace y labelled team=y); then `yaml`.
LabPlan plan_with(const std::string& yaml) {
  auto lab = parse_lab(R"([lab]
name = "t"
[[node]]
name = "n1"
[[node]]
name = "n2"
[[pod]]
name = "a"
namespace = "x"
node = "n1"
image = "nginx"
labels = { app = "web" }
ports = [{ name = "http", port = 80, protocol = "TCP" }]
[[pod]]
name = "b"
namespace = "x"
node = "n1"
image = "alpine"
[[pod]]
name = "c"
namespace = "y"
node = "n2"
image = "alpine"
)", "t.toml");
  REQUIRE(lab);
  auto m = parse_manifests("apiVersion: v1\nkind: Namespace\nmetadata: {name: y, labels: {team: y}}\n---\n" + yaml, "p.yaml");
  REQUIRE_MESSAGE(m, (m ? "" : m.error().format()));
  REQUIRE(apply_manifest(*lab, *m));
  auto images = parse_images("[[image]]\nname = \"nginx\"\nrole = \"server\"\nport = 80\n[[image]]\nname = \"alpine\"\nrole = \"client\"\n", "i.toml");
  REQUIRE(images);
  auto plan = plan_lab(*lab, *images);
  REQUIRE_MESSAGE(plan, (plan ? "" : plan.error().format()));
  return *plan;
}

// A default deny of namespace x's ingress.
const char* const kDenyIngressX = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress]
)";

std::string lines_of(const NetpolRules& r, const std::string& chain) {
  std::string out;
  for (const IptRule& x : r.rules)
    if (x.chain == chain) out += render_rule(x) + "\n";
  return out;
}

Error bad(const std::string& spec) {
  auto m = parse_manifests("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n" + spec, "p.yaml");
  REQUIRE_FALSE(m);
  return m.error();
}

}  // namespace

TEST_CASE("netpol: a policy's chain matches ipsets of the peers and the selected pods, then marks and returns") {
  LabPlan plan = plan_with(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: y}}
    ports:
    - {port: http}
    - {protocol: UDP, port: 5000, endPort: 5010}
)");
  const NetworkPolicySpec& np = plan.l7.network_policies.front();
  CHECK(np.ingress);
  CHECK_FALSE(np.egress);
  NetpolRules r = network_policy_rules(plan, plan.nodes[0]);
  std::string chain = policy_chain(np, false);
  std::vector<IpSet> sets = network_policy_sets(plan);
  REQUIRE(sets.size() == 3);
  CHECK(sets[0].name.starts_with("KUBE-DST-"));  // the selected pods: a
  CHECK(sets[0].entries == std::vector<std::string>{plan.pods[0].address.addr.str()});
  CHECK(sets[1].name.starts_with("KUBE-SRC-"));  // the peers: the pods of namespace y
  CHECK(sets[1].entries == std::vector<std::string>{plan.pods[2].address.addr.str()});
  CHECK(sets[2].entries == sets[0].entries);  // the named port "http": a's 80
  std::string want =
      fmt::format("-A {0} -p tcp -m comment --comment \"x/web ingress pods np\" -m set --match-set {1} src -m set --match-set {2} dst -m tcp --dport 80 -j MARK --set-xmark 0x10000/0x10000\n"
                  "-A {0} -p tcp -m comment --comment \"x/web ingress pods np\" -m set --match-set {1} src -m set --match-set {2} dst -m tcp --dport 80 -m mark --mark 0x10000/0x10000 -j RETURN\n"
                  "-A {0} -p udp -m comment --comment \"x/web ingress pods\" -m set --match-set {1} src -m set --match-set {3} dst -m udp --dport 5000:5010 -j MARK --set-xmark 0x10000/0x10000\n"
                  "-A {0} -p udp -m comment --comment \"x/web ingress pods\" -m set --match-set {1} src -m set --match-set {3} dst -m udp --dport 5000:5010 -m mark --mark 0x10000/0x10000 -j RETURN\n",
                  chain, sets[1].name, sets[2].name, sets[0].name);
  CHECK(lines_of(r, chain) == want);
}

TEST_CASE("netpol: a local pod's chain: common rules, the node, its policies or the default, then log and reject") {
  LabPlan plan = plan_with(kDenyIngressX);
  const PodPlan& a = plan.pods[0];
  NetpolRules r = network_policy_rules(plan, plan.nodes[0]);
  std::string chain = pod_fw_chain("x", "a"), ip = a.address.addr.str();
  std::string want = fmt::format(
      "-A {0} -m comment --comment \"common netpol rules\" -j KUBE-NWPLCY-COMMON\n"
      "-A {0} -d {1}/32 -m comment --comment \"from local node\" -m addrtype --src-type LOCAL -j ACCEPT\n"
      "-A {0} -s {1}/32 -m comment --comment \"default egress\" -j KUBE-NWPLCY-DEFAULT\n"
      "-A {0} -d {1}/32 -m comment --comment \"x/deny policy ingress\" -j {2}\n"
      "-A {0} -m comment --comment \"x/a log-drop\" -m mark ! --mark 0x10000/0x10000 -j NFLOG --nflog-prefix \"netpol drop x/a\" --nflog-group 100\n"
      "-A {0} -m comment --comment \"x/a reject\" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable\n"
      "-A {0} -j MARK --set-xmark 0x0/0x10000\n"
      "-A {0} -m comment --comment \"set netpol-ok mark\" -j MARK --set-xmark 0x20000/0x20000\n",
      chain, ip, policy_chain(plan.l7.network_policies.front(), false));
  CHECK(lines_of(r, chain) == want);
  // Only the node's own pods get chains; the pod of n2 is not in n1's table.
  CHECK(lines_of(r, pod_fw_chain("y", "c")).empty());
  CHECK_FALSE(lines_of(network_policy_rules(plan, plan.nodes[1]), pod_fw_chain("y", "c")).empty());
  // Hooks first in filter, before kube-proxy's.
  auto tables = node_tables(plan, plan.nodes[0]);
  auto filter = std::find_if(tables.begin(), tables.end(), [](auto& t) { return t.name == "filter"; });
  REQUIRE(filter != tables.end());
  std::string text = render_iptables_save(*filter);
  CHECK(text.find("-A FORWARD -m comment --comment \"kube-router netpol\" -j KUBE-ROUTER-FORWARD\n-A FORWARD -m comment --comment \"kubernetes service portals\"") != std::string::npos);
}

TEST_CASE("netpol: ipBlock except as nomatch entries, a /0 as two halves, each peer its own set") {
  LabPlan plan = plan_with(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: x}
spec:
  podSelector: {}
  egress:
  - to:
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    - ipBlock: {cidr: 0.0.0.0/0}
)");
  const NetworkPolicySpec& np = plan.l7.network_policies.front();
  CHECK(np.egress);
  CHECK(np.ingress);  // policyTypes absent: Ingress, and Egress for the egress rules
  std::vector<IpSet> sets = network_policy_sets(plan);
  std::vector<std::vector<std::string>> entries;
  for (auto& s : sets)
    if (s.type == "hash:net") entries.push_back(s.entries);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0] == std::vector<std::string>{"10.0.0.0/8", "10.1.0.0/16 nomatch"});
  CHECK(entries[1] == std::vector<std::string>{"0.0.0.0/1", "128.0.0.0/1"});
}

TEST_CASE("netpol: membership changes the sets, not the rules") {
  std::string policy = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: y}}
)";
  LabPlan one = plan_with(policy);
  LabPlan two = plan_with(policy);
  two.l7.namespaces.front().meta.labels["team"] = "z";  // namespace y no longer matches
  CHECK(network_policy_sets(one) != network_policy_sets(two));
  for (std::size_t n = 0; n < one.nodes.size(); ++n)
    CHECK(render_iptables_save(node_tables(one, one.nodes[n])[1]) == render_iptables_save(node_tables(two, two.nodes[n])[1]));
}

TEST_CASE("netpol: bad policies are refused at their place") {
  CHECK(bad("  podSelector: {}\n  ingres: []\n").format().find("p.yaml:6:3") != std::string::npos);
  CHECK(bad("  podSelector: {matchExpressions: [{key: app, operator: In}]}\n").format().find("operator In needs values") != std::string::npos);
  CHECK(bad("  podSelector: {matchExpressions: [{key: app, operator: Maybe, values: [a]}]}\n").format().find("Maybe") != std::string::npos);
  CHECK(bad("  podSelector: {matchLabels: {\"bad key!\": x}}\n").format().find("not a valid Kubernetes label") != std::string::npos);
  Error host_bits = bad("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.1/8}\n");
  CHECK(host_bits.format().find("p.yaml:8:23") != std::string::npos);
  CHECK(host_bits.format().find("has host bits set") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}\n").format().find("is not inside cidr 10.0.0.0/16") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  ingress:\n  - ports: [{port: 70000}]\n").format().find("out of range") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  ingress:\n  - ports: [{port: 80, endPort: 79}]\n").format().find("is below port 80") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  ingress:\n  - ports: [{port: http, endPort: 90}]\n").format().find("needs a numeric port") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  ingress:\n  - ports: [{protocol: ICMP}]\n").format().find("\"ICMP\" is not supported") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  ingress:\n  - from:\n    - {}\n").format().find("must specify a peer") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  ingress:\n  - from:\n    - {podSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}\n").format().find("may not be combined") != std::string::npos);
  CHECK(bad("  podSelector: {}\n  policyTypes: [Ingress, Ingress]\n").format().find("listed twice") != std::string::npos);
}

TEST_CASE("netpol: up makes every node's ipsets, then every node's tables next to each other (one batch), then prunes sets") {
  LabPlan plan = plan_with(kDenyIngressX);
  std::vector<std::string> seq;  // the kube-proxy/kube-router ops, in order: kind and node
  for (const Op& op : up_ops(plan)) {
    if (auto* s = std::get_if<IpsetApply>(&op)) seq.push_back((s->prune ? "prune " : "sets ") + s->netns);
    if (auto* t = std::get_if<IptablesApply>(&op); t && t->netns != plan.cloud_lb_netns)
      seq.push_back("table " + t->table->name + " " + t->netns);
  }
  REQUIRE(seq.size() >= 6);
  const std::string n1 = plan.nodes[0].netns, n2 = plan.nodes[1].netns;
  CHECK(seq[0] == "sets " + n1);
  CHECK(seq[1] == "sets " + n2);
  CHECK(seq[seq.size() - 2] == "prune " + n1);
  CHECK(seq.back() == "prune " + n2);
  for (std::size_t i = 2; i + 2 < seq.size(); ++i) CHECK(seq[i].starts_with("table "));
  // ...and nothing else between them: Transaction::run_all hands them to the executor at once.
  std::vector<Op> ops = up_ops(plan);
  auto first = std::find_if(ops.begin(), ops.end(), [](const Op& op) { return std::holds_alternative<IptablesApply>(op); });
  auto end = std::find_if_not(first, ops.end(), [](const Op& op) { return batchable(op); });
  CHECK(std::count_if(first, end, [](const Op& op) { return std::holds_alternative<IptablesApply>(op); }) ==
        static_cast<long>(seq.size() - 4));
}
