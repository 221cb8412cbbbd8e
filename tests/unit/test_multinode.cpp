#include <doctest/doctest.h>

#include <algorithm>

#include "lab/loader.hpp"
#include "net/executor.hpp"
#include "plan/bird.hpp"
#include "plan/plan.hpp"
#include "runtime/bird_client.hpp"

using namespace knlab;

namespace {

std::string three_nodes(const std::string& cni, const std::string& racks = "") {
  std::string t = "[lab]\nname = \"m\"\n[cluster]\ncni = \"" + cni + "\"\n" + racks;
  for (int n = 1; n <= 3; ++n) {
    t += "[[node]]\nname = \"node" + std::to_string(n) + "\"\n";
    if (!racks.empty()) t += std::string("rack = \"") + (n < 3 ? "rack1" : "rack2") + "\"\n";
  }
  return t;
}

const char* kRacks =
    "[[rack]]\nname = \"rack1\"\nnetwork = \"192.168.56.0/24\"\n"
    "[[rack]]\nname = \"rack2\"\nnetwork = \"192.168.57.0/24\"\n";

std::vector<std::string> commands(const LabPlan& plan) {
  RecordingExecutor rec;
  Transaction txn(rec);
  REQUIRE(txn.run_all(up_ops(plan)));
  txn.commit();
  return rec.commands;
}

bool has(const std::vector<std::string>& cmds, const std::string& c) {
  return std::find(cmds.begin(), cmds.end(), c) != cmds.end();
}

}  // namespace

TEST_CASE("several nodes share a wire; the outside world is .2, nodes start at .11") {
  auto plan = plan_lab(*parse_lab(three_nodes("vxlan"), "m.toml"));
  REQUIRE(plan);
  REQUIRE(plan->wires.size() == 1);
  CHECK(plan->wires[0].netns == "kn-m.wire");
  CHECK(plan->external_ip.str() == "192.168.56.2/24");
  CHECK(plan->nodes[2].ip.str() == "192.168.56.13/24");
  CHECK(plan->nodes[1].vtep_mac == "0a:58:0a:f4:01:00");
  auto cmds = commands(*plan);
  CHECK(has(cmds, "ip -n kn-m.wire link add node1 mtu 1500 master br0 up type veth peer name eth0 netns kn-m.node1 mtu 1500"));
  CHECK(has(cmds, "ip -n kn-m.node1 link add flannel.1 address 0a:58:0a:f4:00:00 mtu 1450 type vxlan id 1 local "
                  "192.168.56.11 dev eth0 dstport 8472 nolearning"));
  CHECK(has(cmds, "ip -n kn-m.node1 addr add 10.244.0.0/32 dev flannel.1"));
  CHECK(has(cmds, "ip -n kn-m.node1 neigh add 10.244.1.0 lladdr 0a:58:0a:f4:01:00 dev flannel.1 nud permanent"));
  CHECK(has(cmds, "bridge -n kn-m.node1 fdb append 0a:58:0a:f4:01:00 dev flannel.1 dst 192.168.56.12 self permanent"));
  CHECK(has(cmds, "ip -n kn-m.node1 route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink"));
}

TEST_CASE("host-gw: a route per remote pod subnet via the node's address, no tunnel") {
  auto plan = plan_lab(*parse_lab(three_nodes("host-gw"), "m.toml"));
  REQUIRE(plan);
  auto cmds = commands(*plan);
  CHECK(has(cmds, "ip -n kn-m.node2 route add 10.244.0.0/24 via 192.168.56.11 dev eth0"));
  CHECK(std::none_of(cmds.begin(), cmds.end(), [](auto& c) { return c.find("vxlan") != std::string::npos; }));
}

TEST_CASE("racks: a router joins them; nodes route through it; host-gw is refused") {
  auto lab = parse_lab(three_nodes("vxlan", kRacks), "m.toml");
  REQUIRE(lab);
  auto plan = plan_lab(*lab);
  REQUIRE(plan);
  CHECK(plan->router_netns == "kn-m.router");
  CHECK(plan->nodes[2].ip.str() == "192.168.57.11/24");
  REQUIRE(plan->nodes[2].default_gateway);
  CHECK(plan->nodes[2].default_gateway->str() == "192.168.57.1");
  auto cmds = commands(*plan);
  CHECK(has(cmds, "ip -n kn-m.rack2 link add router mtu 1500 master br0 up type veth peer name eth1 netns kn-m.router mtu 1500"));
  CHECK(has(cmds, "ip -n kn-m.node3 route add default via 192.168.57.1 dev eth0"));

  auto refused = parse_lab(three_nodes("host-gw", kRacks), "m.toml");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().detail.find("cannot connect nodes in different racks") != std::string::npos);
  CHECK(refused.error().where.line == 4);  // the cni line
  LabOverrides o;
  o.cni = CniMode::kHostGw;
  auto overridden = parse_lab(three_nodes("vxlan", kRacks), "m.toml", o);
  REQUIRE_FALSE(overridden);
  CHECK(overridden.error().where.file == "--cni");
}

TEST_CASE("rack validation") {
  auto missing = parse_lab(three_nodes("vxlan", kRacks).replace(three_nodes("vxlan", kRacks).find("rack = \"rack2\""), 14, ""), "m.toml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().detail == "[[node]] has no 'rack'");
  std::string bad = three_nodes("vxlan", kRacks);
  bad.replace(bad.find("rack = \"rack2\""), 14, "rack = \"rack9\"");
  auto unknown = parse_lab(bad, "m.toml");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().hint == "racks of this lab: rack1, rack2");
  std::string overlap = three_nodes("vxlan", "[[rack]]\nname = \"rack1\"\nnetwork = \"192.168.56.0/24\"\n[[rack]]\nname = \"rack2\"\nnetwork = \"192.168.56.128/25\"\n");
  CHECK(parse_lab(overlap, "m.toml").error().detail.find("overlaps rack rack1") != std::string::npos);
}

TEST_CASE("BGP: full mesh on one wire, passive towards peers that start later") {
  auto plan = plan_lab(*parse_lab(three_nodes("bgp"), "m.toml"));
  REQUIRE(plan);
  auto birds = bird_instances(*plan);
  REQUIRE(birds.size() == 3);
  CHECK(birds[0].peers.size() == 2);
  CHECK(birds[0].peers[0].passive);      // node1 waits for node2
  CHECK_FALSE(birds[2].peers[0].passive);  // node3 connects to node1
  std::string conf = bird_config(birds[0]);
  CHECK(conf.find("router id 192.168.56.11;") != std::string::npos);
  CHECK(conf.find("route 10.244.0.0/24 blackhole;") != std::string::npos);
  CHECK(conf.find("protocol bgp node2 from peers {\n  local 192.168.56.11 as 64512;\n  neighbor 192.168.56.12 as 64512;\n  passive on;") != std::string::npos);
  CHECK(conf.find("export where proto = \"pods\";") != std::string::npos);
  auto cmds = commands(*plan);
  CHECK(has(cmds, "ip netns exec kn-m.node1 bird -f -c /run/kn-lab/m/bird/node1/bird.conf -s /run/kn-lab/m/bird/node1/bird.ctl >>/run/kn-lab/m/logs/node1_bird.log 2>&1 &"));
}

TEST_CASE("BGP with racks: nodes peer with the router, a route reflector") {
  auto plan = plan_lab(*parse_lab(three_nodes("bgp", kRacks), "m.toml"));
  REQUIRE(plan);
  auto birds = bird_instances(*plan);
  REQUIRE(birds.size() == 4);
  CHECK(birds[2].peers.size() == 1);
  CHECK(birds[2].peers[0].address.str() == "192.168.57.1");
  const BirdInstance& rr = birds[3];
  CHECK(rr.owner == "router");
  CHECK(rr.expect.size() == 3);
  std::string conf = bird_config(rr);
  CHECK(conf.find("rr client;") != std::string::npos);
  CHECK(conf.find("local 192.168.57.1 as 64512;\n  neighbor 192.168.57.11 as 64512;") != std::string::npos);
  CHECK(conf.find("protocol static") == std::string::npos);
  CHECK(bird_symbol("node-1") == "node_1");
  CHECK(bird_symbol("1node") == "n_1node");
}

TEST_CASE("parsing birdc's show protocols") {
  std::vector<std::string> lines = {
      "Name       Proto      Table      State  Since         Info",
      "device1    Device     ---        up     02:47:39.982  ",
      "pods       Static     master4    up     02:47:39.982  ",
      "node2      BGP        ---        up     02:47:40.855  Established   ",
      "node3      BGP        ---        start  02:47:40.855  Active        Socket: Connection refused",
  };
  auto p = parse_bird_protocols(lines);
  REQUIRE(p.size() == 4);
  CHECK(p[2].name == "node2");
  CHECK(p[2].proto == "BGP");
  CHECK(p[2].info == "Established");
  CHECK(p[3].state == "start");
  CHECK(p[3].info == "Active Socket: Connection refused");
}
