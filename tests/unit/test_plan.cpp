#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "lab/loader.hpp"
#include "net/executor.hpp"
#include "plan/naming.hpp"
#include "plan/plan.hpp"

using namespace knlab;

namespace {

Lab lab_with(int nodes, int pods_per_node, const std::string& extra = "") {
  std::string t = "[lab]\nname = \"t\"\n[cluster]\npod_cidr = \"10.244.0.0/16\"\n" + extra;
  for (int n = 1; n <= nodes; ++n) t += "[[node]]\nname = \"node" + std::to_string(n) + "\"\n";
  for (int n = 1; n <= nodes; ++n)
    for (int p = 1; p <= pods_per_node; ++p)
      t += "[[pod]]\nname = \"p" + std::to_string(n) + "-" + std::to_string(p) + "\"\nnode = \"node" +
           std::to_string(n) + "\"\n";
  auto lab = parse_lab(t, "t.toml");
  REQUIRE(lab);
  return *lab;
}

}  // namespace

TEST_CASE("naming: namespaces carry the lab and cannot clash between labs") {
  CHECK(netns_name("demo", "node1") == "kn-demo.node1");
  CHECK(netns_prefix("a") == "kn-a.");
  CHECK_FALSE(netns_name("a-b", "x").starts_with(netns_prefix("a")));
  auto parsed = parse_netns_name("kn-demo.web");
  REQUIRE(parsed);
  CHECK(parsed->first == "demo");
  CHECK(parsed->second == "web");
  CHECK_FALSE(parse_netns_name("kn-demo"));
  CHECK_FALSE(parse_netns_name("other.x"));
  CHECK(state_dir("demo") == "/run/kn-lab/demo");
}

TEST_CASE("naming: host veth names are stable, short and distinct") {
  std::string v = host_veth_name("demo", "web");
  CHECK(v == host_veth_name("demo", "web"));
  CHECK(v.size() == 12);  // fits IFNAMSIZ (15)
  CHECK(v.starts_with("veth"));
  CHECK(v != host_veth_name("demo", "api"));
  CHECK(v != host_veth_name("demo2", "web"));
  CHECK(v != host_veth_name("demo", "web", 1));
  CHECK(fnv1a32("") == 2166136261u);
  CHECK(fnv1a32("a") == 0xe40c292cu);  // FNV-1a test vector
}

TEST_CASE("IPAM: each node gets a /24, pods take .2, .3 ... and .1 is the gateway") {
  auto plan = plan_lab(lab_with(3, 2));
  REQUIRE(plan);
  REQUIRE(plan->nodes.size() == 3);
  CHECK(plan->nodes[0].pod_subnet.str() == "10.244.0.0/24");
  CHECK(plan->nodes[2].pod_subnet.str() == "10.244.2.0/24");
  CHECK(plan->nodes[1].bridge_address.str() == "10.244.1.1/24");
  const PodPlan* p = plan->pod("p2-2");
  REQUIRE(p);
  CHECK(p->address.str() == "10.244.1.3/24");
  CHECK(p->gateway.str() == "10.244.1.1");
  CHECK(p->netns == "kn-t.p2-2");
  std::set<std::string> addrs;
  for (auto& pod : plan->pods) addrs.insert(pod.address.addr.str());
  CHECK(addrs.size() == plan->pods.size());
}

TEST_CASE("IPAM honours node_cidr_mask and fills a node to its last address") {
  auto plan = plan_lab(lab_with(1, 13, "node_cidr_mask = 28\n"));
  REQUIRE(plan);
  CHECK(plan->pods.back().address.str() == "10.244.0.14/28");  // .15 is broadcast
}

TEST_CASE("MTU: the VXLAN mode leaves 50 bytes for encapsulation, like Flannel") {
  CHECK(plan_lab(lab_with(1, 1))->nodes[0].pod_mtu == 1450);
  CHECK(plan_lab(lab_with(1, 1, "cni = \"host-gw\"\n"))->nodes[0].pod_mtu == 1500);
  CHECK(plan_lab(lab_with(1, 1, "cni = \"host-gw\"\nmtu = 9000\n"))->nodes[0].pod_mtu == 9000);
}

TEST_CASE("containers get the downward-API environment, overridable by the lab file") {
  auto lab = parse_lab(R"(
[lab]
name = "t"
[[node]]
name = "n"
[[pod]]
name = "web"
  [[pod.container]]
  name = "c"
  command = ["x"]
  env = { NODE_NAME = "custom", EXTRA = "1" }
)", "t.toml");
  REQUIRE(lab);
  auto plan = plan_lab(*lab);
  REQUIRE(plan);
  auto& env = plan->pods[0].containers[0].env;
  auto get = [&](const std::string& k) {
    auto it = std::find_if(env.begin(), env.end(), [&](auto& e) { return e.first == k; });
    return it == env.end() ? std::string("<none>") : it->second;
  };
  CHECK(get("POD_NAME") == "web");
  CHECK(get("POD_IP") == "10.244.0.2");
  CHECK(get("NODE_NAME") == "custom");
  CHECK(get("EXTRA") == "1");
  CHECK(plan->pods[0].containers[0].log_path == "/run/kn-lab/t/logs/web_c.log");
}

TEST_CASE("up_ops: the exact commands that build a one-node, one-pod lab") {
  auto lab = parse_lab("[lab]\nname = \"t\"\n[[node]]\nname = \"n\"\n[[pod]]\nname = \"web\"\n", "t.toml");
  REQUIRE(lab);
  auto plan = plan_lab(*lab);
  REQUIRE(plan);
  RecordingExecutor rec;
  Transaction txn(rec);
  REQUIRE(txn.run_all(up_ops(*plan)));
  txn.commit();
  std::string veth = host_veth_name("t", "web");
  std::vector<std::string> expected = {
      "ip netns add kn-t.n",
      "ip -n kn-t.n link set lo up",
      "ip netns exec kn-t.n sysctl -qw net.ipv4.ip_forward=1",
      "ip netns exec kn-t.n sysctl -qw net.bridge.bridge-nf-call-iptables=1",
      "ip -n kn-t.n link add cni0 mtu 1450 type bridge",
      "ip -n kn-t.n addr add 10.244.0.1/24 dev cni0",
      "ip -n kn-t.n link set cni0 up",
      "ip netns add kn-t.web",
      "install -D -m 0644 /dev/stdin /etc/netns/kn-t.web/hosts <<'EOF'\n" + pod_hosts_file(plan->pods[0]) + "EOF",
      "install -D -m 0644 /dev/stdin /etc/netns/kn-t.web/resolv.conf <<'EOF'\n" + pod_resolv_conf(*plan, plan->pods[0]) + "EOF",
      "ip netns exec kn-t.web unshare --uts --ipc sh -c 'hostname web && exec kn-pause' &",
      "ip -n kn-t.n link add " + veth + " mtu 1450 master cni0 up type veth peer name eth0 netns kn-t.web mtu 1450",
      "bridge -n kn-t.n link set dev " + veth + " hairpin on",
      "ip -n kn-t.web link set lo up",
      "ip -n kn-t.web link set eth0 up",
      "ip -n kn-t.web addr add 10.244.0.2/24 dev eth0",
      "ip -n kn-t.web route add default via 10.244.0.1 dev eth0",
  };
  CHECK(rec.commands == expected);
}

TEST_CASE("a failed op rolls back what needs undoing, newest first") {
  auto plan = plan_lab(lab_with(1, 2));
  REQUIRE(plan);
  RecordingExecutor rec;
  auto ops = up_ops(*plan);
  // Fail at the first op of the second pod's pause: the first pod is complete by then.
  auto second_pause = std::find_if(ops.begin(), ops.end(), [](const Op& op) {
    auto* p = std::get_if<PauseStart>(&op);
    return p && p->pod == "p1-2";
  });
  rec.fail_at = static_cast<std::size_t>(second_pause - ops.begin()) + 1;
  {
    Transaction txn(rec);
    auto st = txn.run_all(ops);
    CHECK_FALSE(st);
  }
  // Undone: the second pod's files and namespace, the first pod's pause, files, namespace, then
  // the node's namespace — exactly the undoable ops that ran, in reverse.
  REQUIRE(rec.undone.size() == 8);
  CHECK(rec.undone.front().starts_with("install -D -m 0644 /dev/stdin /etc/netns/kn-t.p1-2/resolv.conf"));
  CHECK(rec.undone[3].find("kn-pause") != std::string::npos);
  CHECK(rec.undone.back() == "ip netns add kn-t.node1");
}

TEST_CASE("a committed transaction undoes nothing") {
  auto plan = plan_lab(lab_with(1, 1));
  RecordingExecutor rec;
  {
    Transaction txn(rec);
    REQUIRE(txn.run_all(up_ops(*plan)));
    txn.commit();
  }
  CHECK(rec.undone.empty());
}

TEST_CASE("shell_quote quotes only what needs it") {
  CHECK(shell_quote("eth0") == "eth0");
  CHECK(shell_quote("10.244.0.1/24") == "10.244.0.1/24");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("$(rm -rf /)") == "'$(rm -rf /)'");
}
