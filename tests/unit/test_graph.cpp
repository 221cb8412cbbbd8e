// graph's pure parts: the picture of a planned lab, its DOT text, the terminal tree within its
// width, and a trace's path marked on it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "core/text.hpp"
#include "graph/dot.hpp"
#include "graph/picture.hpp"
#include "graph/render.hpp"
#include "graph/text.hpp"
#include "lab/loader.hpp"
#include "runtime/lifecycle.hpp"
#include "shipped_labs.hpp"

using namespace knlab;
using namespace knlab::graph;

namespace {

ImageCatalogue small_catalogue() {
  return *parse_images("[[image]]\nname = \"ghost\"\nrole = \"server\"\nport = 2368\n"
                       "[[image]]\nname = \"alpine\"\nrole = \"client\"\n", "images.toml");
}

// Three nodes (VXLAN), a client on node1, ghost x3 behind a ClusterIP Service.
LabPlan small_lab(const std::string& cni = "vxlan", const std::string& description = "three nodes") {
  std::string t = "[lab]\nname = \"g\"\ndescription = \"" + description + "\"\n[cluster]\ncni = \"" + cni + "\"\n" +
                  "[[node]]\nname = \"node1\"\n[[node]]\nname = \"node2\"\n[[node]]\nname = \"node3\"\n"
                  "[[pod]]\nname = \"client\"\nnode = \"node1\"\nimage = \"alpine\"\n"
                  "[[deployment]]\nname = \"ghost\"\nimage = \"ghost:4\"\nreplicas = 3\n"
                  "[[service]]\nname = \"ghost\"\nselector = { app = \"ghost\" }\nport = 2368\ncluster_ip = \"10.96.100.100\"\n";
  auto lab = parse_lab(t, "g.toml");
  REQUIRE_MESSAGE(lab, (lab ? "" : lab.error().format()));
  auto plan = plan_lab(*lab, small_catalogue());
  REQUIRE_MESSAGE(plan, (plan ? "" : plan.error().format()));
  return *plan;
}

using test::shipped_lab;

// DOT's structure: braces and brackets balance outside quoted strings, every string is closed,
// a quote inside one is escaped.
void check_dot_structure(const std::string& dot) {
  int braces = 0, brackets = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < dot.size(); ++i) {
    char c = dot[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      else CHECK(c != '\n');
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{') ++braces;
    if (c == '}') --braces;
    if (c == '[') ++brackets;
    if (c == ']') --brackets;
    REQUIRE(braces >= 0);
    REQUIRE(brackets >= 0);
  }
  CHECK_FALSE(in_string);
  CHECK(braces == 0);
  CHECK(brackets == 0);
  CHECK(dot.starts_with("digraph "));
}

std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// A path like `kn-lab trace client svc/ghost` on the small lab: client (node1) to the ghost
// replica on node2, through the wire.
trace::TraceResult path_to(const LabPlan& plan, const PodPlan& to) {
  const PodPlan& client = *plan.pod("client");
  trace::TraceResult r;
  r.packet = trace::Packet{client.address.addr, *Ipv4::parse("10.96.100.100"), trace::Proto::kTcp, 40000, 2368, 0, trace::CtState::kNew};
  auto hop = [](const std::string& ns, const std::string& kind) {
    trace::Hop h;
    h.netns = ns;
    h.kind = kind;
    return h;
  };
  const NodePlan& from = *plan.node(client.node);
  const NodePlan& at = *plan.node(to.node);
  r.forward.hops = {hop(client.netns, "route"), hop(from.netns, "netfilter"), hop(from.netns, "vxlan"),
                    hop(plan.wires.front().netns, "bridge"), hop(at.netns, "vxlan"), hop(at.netns, "bridge"), hop(to.netns, "deliver")};
  r.forward.delivered = true;
  r.forward.end_netns = to.netns;
  r.forward.outcome = "delivered to pod " + to.name;
  return r;
}

const Edge* edge_between(const Picture& pic, const std::string& a, const std::string& b) {
  for (const Edge& e : pic.edges)
    if ((e.from == a && e.to == b) || (e.from == b && e.to == a)) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("graph: the picture of a planned lab has its nodes, pods, underlay, tunnels and Services") {
  LabPlan plan = small_lab();
  Picture pic = picture_of(plan);
  CHECK(pic.clusters.size() == 3);
  for (const NodePlan& n : plan.nodes) {
    const Vertex* cni0 = pic.vertex(n.name + "/cni0");
    REQUIRE(cni0);
    CHECK(cni0->cluster == "node/" + n.name);
    CHECK(cni0->lines.at(1) == n.bridge_address.str());
    REQUIRE(pic.vertex(n.name + "/flannel.1"));
    REQUIRE(pic.vertex(n.name + "/eth0"));
    CHECK(edge_between(pic, n.name + "/eth0", "wire/wire"));
  }
  for (const PodPlan& p : plan.pods) {
    const Vertex* v = pic.vertex("pod/" + p.key());
    REQUIRE_MESSAGE(v, p.key());
    CHECK(v->cluster == "node/" + p.node);
    CHECK(v->netns == p.netns);
    const Edge* veth = edge_between(pic, v->id, p.node + "/cni0");
    REQUIRE(veth);
    CHECK(veth->label == p.host_veth);
  }
  CHECK(pic.vertex("external"));
  const Edge* tunnel = edge_between(pic, "node1/flannel.1", "node3/flannel.1");
  REQUIRE(tunnel);
  CHECK(tunnel->kind == EdgeKind::kVxlan);
  const Vertex* svc = pic.vertex("svc/default/ghost");
  REQUIRE(svc);
  CHECK(svc->lines.at(2) == "ClusterIP 10.96.100.100");
  int endpoints = 0;
  for (const Edge& e : pic.edges) endpoints += e.from == svc->id && e.kind == EdgeKind::kEndpoint;
  CHECK(endpoints == 3);
}

TEST_CASE("graph: host-gw draws routes between nodes, BGP sessions") {
  Picture gw = picture_of(small_lab("host-gw"));
  const Edge* e = edge_between(gw, "node1/eth0", "node2/eth0");
  REQUIRE(e);
  CHECK(e->kind == EdgeKind::kHostGw);
  CHECK(e->label.find("10.244.") != std::string::npos);
  CHECK_FALSE(gw.vertex("node1/flannel.1"));
  Picture bgp = picture_of(small_lab("bgp"));
  REQUIRE(edge_between(bgp, "node2/eth0", "node3/eth0"));
  CHECK(edge_between(bgp, "node2/eth0", "node3/eth0")->kind == EdgeKind::kBgp);
}

TEST_CASE("graph: the shipped labs' L7 routes, policies and racks") {
  Picture ing = picture_of(shipped_lab("09-ingress.toml"));
  int routes = 0;
  for (const Edge& e : ing.edges)
    if (e.kind == EdgeKind::kRoute) {
      ++routes;
      REQUIRE(ing.vertex(e.from));
      CHECK(ing.vertex(e.from)->kind == VertexKind::kDataPlane);
      CHECK(e.to.starts_with("svc/"));
    }
  CHECK(routes > 0);
  Picture np = picture_of(shipped_lab("11-network-policy.toml"));
  CHECK(std::ranges::any_of(np.edges, [](const Edge& e) { return e.kind == EdgeKind::kPolicy; }));
  Picture racks = picture_of(shipped_lab("05b-two-racks.toml"));
  REQUIRE(racks.vertex("router"));
  CHECK(std::ranges::count_if(racks.edges, [](const Edge& e) { return e.from == "router"; }) == 2);
}

TEST_CASE("graph: DOT names every node, pod and Service, and parses structurally") {
  LabPlan plan = small_lab("vxlan", "say \\\"hi\\\" and C:\\\\ {braces}");
  CHECK(plan.description == "say \"hi\" and C:\\ {braces}");
  std::string dot = to_dot(picture_of(plan));
  check_dot_structure(dot);
  CHECK(dot.find("say \\\"hi\\\" and C:\\\\ {braces}") != std::string::npos);
  for (const NodePlan& n : plan.nodes) CHECK(dot.find("node " + n.name) != std::string::npos);
  for (const PodPlan& p : plan.pods) CHECK(dot.find(p.name) != std::string::npos);
  CHECK(dot.find("svc ghost") != std::string::npos);
  CHECK(dot.find("subgraph \"cluster_node/node2\"") != std::string::npos);
  CHECK(dot_quote("a\"b\\c\nd") == "\"a\\\"b\\\\c\\nd\"");
  for (const char* lab : {"course.toml", "10-gateway-api.toml", "05b-two-racks.toml"}) check_dot_structure(to_dot(picture_of(shipped_lab(lab))));
}

TEST_CASE("graph: the text of lab 06 fits 100 columns, and narrower terminals") {
  Picture pic = picture_of(shipped_lab("06-service-clusterip.toml"));
  for (std::size_t width : {std::size_t{100}, std::size_t{60}, std::size_t{40}}) {
    std::string text = to_text(pic, width);
    for (std::string_view line : split(text, '\n')) CHECK_MESSAGE(columns(line) <= width, line);
  }
  std::string text = to_text(pic);
  CHECK(text.find("services") != std::string::npos);
  CHECK(text.find("svc ghost (default)") != std::string::npos);
  CHECK(text.find("links between nodes") != std::string::npos);
  for (std::string_view line : split(to_text(picture_of(shipped_lab("course.toml"))), '\n')) CHECK(columns(line) <= 100);
}

TEST_CASE("graph: wrap breaks at spaces, indents continuations, cuts words wider than the line") {
  CHECK(wrap("aa bb cc", 2, 30) == "  aa bb cc\n");
  CHECK(wrap("aaaa bbbb cccc dddd eeee ffff", 2, 24) == "  aaaa bbbb cccc dddd\n      eeee ffff\n");
  std::string cut = wrap(std::string(50, 'x'), 0, 24);
  CHECK(cut == std::string(21, 'x') + "...\n");
  std::string accents = "é é é é é é é é é é é é";  // 23 columns, 35 bytes: one line
  CHECK(wrap(accents, 0, 24) == accents + "\n");
  CHECK(wrap("path", 2, 30, true) == "> path\n");
}

TEST_CASE("graph: highlight marks the namespaces, links, tunnel and Service a trace passes") {
  LabPlan plan = small_lab();
  const PodPlan* target = nullptr;
  for (const PodPlan& p : plan.pods)
    if (p.node == "node2" && p.deployment == "ghost") target = &p;
  REQUIRE(target);
  Picture pic = picture_of(plan);
  highlight(pic, path_to(plan, *target));
  CHECK(pic.highlighted);
  CHECK(pic.vertex("pod/client")->highlighted);
  CHECK(pic.vertex("pod/" + target->key())->highlighted);
  CHECK(pic.vertex("wire/wire")->highlighted);
  CHECK(pic.vertex("node1/flannel.1")->highlighted);
  CHECK(pic.vertex("node2/eth0")->highlighted);
  CHECK_FALSE(pic.vertex("node3/flannel.1")->highlighted);
  CHECK_FALSE(pic.vertex("external")->highlighted);
  CHECK(edge_between(pic, "node1/flannel.1", "node2/flannel.1")->highlighted);
  CHECK_FALSE(edge_between(pic, "node1/flannel.1", "node3/flannel.1")->highlighted);
  CHECK(edge_between(pic, "pod/client", "node1/cni0")->highlighted);
  CHECK(edge_between(pic, "node2/eth0", "wire/wire")->highlighted);
  CHECK_FALSE(edge_between(pic, "node3/eth0", "wire/wire")->highlighted);
  for (const Cluster& c : pic.clusters) CHECK(c.highlighted == (c.name != "node3"));
  const Vertex* svc = pic.vertex("svc/default/ghost");
  CHECK(svc->highlighted);
  for (const Edge& e : pic.edges)
    if (e.from == svc->id) CHECK(e.highlighted == (e.to == "pod/" + target->key()));
  std::string dot = to_dot(pic);
  CHECK(dot.find(std::string(kHighlightColour)) != std::string::npos);
  CHECK(dot.find("penwidth=3") != std::string::npos);
  CHECK(to_text(pic).find("> pod client (default)") != std::string::npos);
}

TEST_CASE("graph: DOT rendered through libgvc as SVG and PNG, with or without Graphviz's plugin configuration") {
  std::string dot = to_dot(picture_of(small_lab()));
  auto svg = render(dot, "svg");
  REQUIRE_MESSAGE(svg, (svg ? "" : svg.error().format()));
  CHECK(svg->find("<svg") != std::string::npos);
  CHECK(svg->find("node/node1") != std::string::npos);
  auto png = render(dot, "png");
  REQUIRE_MESSAGE(png, (png ? "" : png.error().format()));
  CHECK(png->starts_with("\x89PNG\r\n\x1a\n"));
  CHECK_FALSE(render("digraph { a -> ", "svg"));
  CHECK_FALSE(render(dot, "bmp"));
  // No configuration where Graphviz looks (GVBINDIR): the plugins come from their folder.
  const char* old = std::getenv("GVBINDIR");
  ::setenv("GVBINDIR", "/nonexistent", 1);
  auto again = render(dot, "svg");
  if (old) ::setenv("GVBINDIR", old, 1);
  else ::unsetenv("GVBINDIR");
  REQUIRE_MESSAGE(again, (again ? "" : again.error().format()));
  CHECK(again->find("<svg") != std::string::npos);
}
