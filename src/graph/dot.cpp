// A Picture as DOT (graph/dot.hpp).
#include "graph/dot.hpp"

#include <fmt/core.h>

#include "core/text.hpp"

namespace knlab::graph {

std::string dot_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  return out + "\"";
}

namespace {

struct Style {
  std::string_view shape, fill, extra;
};

Style style_of(VertexKind k) {
  switch (k) {
    case VertexKind::kPod: return {"box", "#d5e8d4", "style=\"rounded,filled\""};
    case VertexKind::kDataPlane: return {"box", "#ffe6cc", "style=\"rounded,filled,bold\""};
    case VertexKind::kBridge: return {"box", "#dae8fc", "style=filled"};
    case VertexKind::kVtep: return {"hexagon", "#e1d5e7", "style=filled"};
    case VertexKind::kUplink: return {"box", "#ffffff", "style=filled"};
    case VertexKind::kWire: return {"box3d", "#eeeeee", "style=filled"};
    case VertexKind::kRouter: return {"doubleoctagon", "#eeeeee", "style=filled"};
    case VertexKind::kExternal: return {"house", "#f5d0a9", "style=filled"};
    case VertexKind::kCloudLb: return {"invhouse", "#f5d0a9", "style=filled"};
    case VertexKind::kService: return {"box", "#fff2cc", "style=\"rounded,filled\""};
    case VertexKind::kPolicy: return {"octagon", "#e6d0de", "style=filled"};
  }
  return {"box", "#ffffff", "style=filled"};
}

// Links between namespaces have no direction; objects point at what they stand for. What joins
// nodes does not rank them (constraint=false): the nodes stay side by side.
std::string_view edge_style(EdgeKind k) {
  switch (k) {
    case EdgeKind::kVeth: return "dir=none, color=\"#6c8ebf\"";
    case EdgeKind::kCable: return "dir=none, color=\"#555555\", penwidth=1.5";
    case EdgeKind::kVxlan: return "dir=both, style=dashed, color=\"#9673a6\", penwidth=1.5, constraint=false";
    case EdgeKind::kHostGw: return "dir=both, style=dashed, color=\"#2e8b57\", penwidth=1.5, constraint=false";
    case EdgeKind::kBgp: return "dir=both, style=dotted, color=\"#d79b00\", penwidth=1.5, constraint=false";
    case EdgeKind::kEndpoint: return "color=\"#b8860b\"";
    case EdgeKind::kRoute: return "color=\"#cc6600\", style=bold, constraint=false";
    case EdgeKind::kPolicy: return "color=\"#996699\", style=dashed, arrowhead=odot";
  }
  return "";
}

std::string vertex_line(const Vertex& v) {
  Style s = style_of(v.kind);
  std::string out = fmt::format("{} [label={}, shape={}, fillcolor=\"{}\", {}", dot_quote(v.id), dot_quote(join(v.lines, "\n")),
                                s.shape, s.fill, s.extra);
  if (v.highlighted) out += fmt::format(", color=\"{}\", penwidth=3", kHighlightColour);
  return out + "];\n";
}

std::string edge_line(const Edge& e) {
  std::string out = fmt::format("  {} -> {} [{}", dot_quote(e.from), dot_quote(e.to), edge_style(e.kind));
  if (!e.label.empty()) out += ", label=" + dot_quote(e.label);
  if (e.highlighted) out += fmt::format(", color=\"{}\", penwidth=3, fontcolor=\"{}\"", kHighlightColour, kHighlightColour);
  return out + "];\n";
}

// Inside a node, top to bottom: pods, cni0, flannel.1, eth0 (invisible edges that only order them).
std::string node_order(const Picture& pic, const Cluster& c) {
  std::vector<const Vertex*> order;
  for (VertexKind k : {VertexKind::kBridge, VertexKind::kVtep, VertexKind::kUplink})
    for (const Vertex& v : pic.vertices)
      if (v.cluster == c.id && v.kind == k) order.push_back(&v);
  std::string out;
  for (std::size_t i = 1; i < order.size(); ++i)
    out += fmt::format("    {} -> {} [style=invis];\n", dot_quote(order[i - 1]->id), dot_quote(order[i]->id));
  return out;
}

std::string cluster_block(const Picture& pic, const Cluster& c) {
  std::string out = fmt::format("  subgraph {} {{\n    label={};\n    style=\"rounded,filled\"; fillcolor=\"#f4f7fb\";\n",
                                dot_quote("cluster_" + c.id), dot_quote(join(c.lines, "\n")));
  out += c.highlighted ? fmt::format("    color=\"{}\"; penwidth=3;\n", kHighlightColour) : "    color=\"#6c8ebf\";\n";
  for (const Vertex& v : pic.vertices)
    if (v.cluster == c.id) out += "    " + vertex_line(v);
  return out + node_order(pic, c) + "  }\n";
}

std::string title_of(const Picture& pic) {
  std::string t = join(pic.title, "\n");
  if (pic.highlighted) t += "\nhighlighted: " + pic.path;
  return t;
}

}  // namespace

std::string to_dot(const Picture& pic) {
  std::string out = fmt::format("digraph {} {{\n", dot_quote("kn-lab " + pic.lab));
  out += fmt::format("  graph [label={}, labelloc=t, fontname=\"Helvetica\", fontsize=12, rankdir=TB, nodesep=0.3, ranksep=0.5];\n",
                     dot_quote(title_of(pic)));
  out += "  node [fontname=\"Helvetica\", fontsize=9, margin=\"0.08,0.04\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=8];\n";
  for (const Vertex& v : pic.vertices)
    if (v.cluster.empty()) out += "  " + vertex_line(v);
  for (const Cluster& c : pic.clusters) out += cluster_block(pic, c);
  for (const Edge& e : pic.edges) out += edge_line(e);
  return out + "}\n";
}

}  // namespace knlab::graph
