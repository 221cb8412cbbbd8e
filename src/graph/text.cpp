// A Picture as text for a terminal (graph/text.hpp).
#include "graph/text.hpp"

#include <fmt/core.h>

#include <algorithm>

#include "core/text.hpp"

namespace knlab::graph {

namespace {

bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::size_t columns(std::string_view s) {
  return static_cast<std::size_t>(std::ranges::count_if(s, [](char c) { return !continuation(c); }));
}

// The first `n` columns of `s`, cut at a code point's start.
std::string_view prefix_columns(std::string_view s, std::size_t n) {
  std::size_t cols = 0, i = 0;
  for (; i < s.size(); ++i) {
    if (!continuation(s[i]) && cols++ == n) break;
  }
  return s.substr(0, i);
}

std::string cut(std::string_view word, std::size_t room) {
  if (columns(word) <= room) return std::string(word);
  if (room <= 3) return std::string(prefix_columns(word, room));
  return std::string(prefix_columns(word, room - 3)) + "...";
}

}  // namespace

std::string wrap(std::string_view text, std::size_t indent, std::size_t width, bool mark) {
  width = std::max<std::size_t>(width, 24);
  indent = std::min(indent, width / 2);
  std::string out, line;
  std::size_t pad = indent;
  auto start = [&] {
    line.assign(pad, ' ');
    if (mark && out.empty() && pad >= 2) line[pad - 2] = '>';
  };
  auto flush = [&] {
    out += line + "\n";
    pad = std::min(indent + 4, width / 2);
  };
  start();
  bool empty = true;
  for (std::string_view word : split(text, ' ')) {
    if (word.empty()) continue;
    std::size_t need = columns(word) + (empty ? 0 : 1);
    if (!empty && columns(line) + need > width) flush(), start(), empty = true;
    line += (empty ? "" : " ") + cut(word, width - columns(line) - (empty ? 0 : 1));
    empty = false;
  }
  out += line + "\n";
  return out;
}

namespace {

// "svc web (default): ClusterIP 10.96.0.20, 80/TCP -> 8080": the title, its namespace, the facts.
std::string summary(const Vertex& v) {
  if (v.lines.empty()) return v.id;
  std::string title = v.lines.front();
  if (v.kind == VertexKind::kPod || v.kind == VertexKind::kDataPlane) title = "pod " + title;
  std::vector<std::string> facts;
  for (std::size_t i = 1; i < v.lines.size(); ++i) {
    if (v.lines[i].starts_with("ns ")) title += " (" + v.lines[i].substr(3) + ")";
    else facts.push_back(v.lines[i]);
  }
  return facts.empty() ? title : title + ": " + join(facts, ", ");
}

// "pod web-1 (default)": the title only, for edges' ends.
std::string short_name(const Picture& pic, const std::string& id) {
  const Vertex* v = pic.vertex(id);
  if (!v) return id;
  std::string s = summary(*v);
  return s.substr(0, s.find(':'));
}

std::string flat(const std::string& label) {
  std::string out = label;
  std::ranges::replace(out, '\n', ' ');
  return out;
}

// The other end of `v`'s edges of kind `k`, with their labels.
std::vector<std::pair<const Edge*, std::string>> edges_of(const Picture& pic, const Vertex& v, EdgeKind k) {
  std::vector<std::pair<const Edge*, std::string>> out;
  for (const Edge& e : pic.edges)
    if (e.kind == k && (e.from == v.id || e.to == v.id)) out.emplace_back(&e, e.from == v.id ? e.to : e.from);
  return out;
}

struct Writer {
  const Picture& pic;
  std::size_t width;
  std::string out;

  void line(std::size_t indent, const std::string& text, bool mark = false) { out += wrap(text, indent, width, mark); }
  void heading(const std::string& text) { out += wrap(text, 0, width); }

  // A vertex and the cables it hangs on: "external: 192.168.56.2/24 -- wire (192.168.56.2)".
  void with_cables(std::size_t indent, const Vertex& v) {
    std::string s = summary(v);
    for (const auto& [e, other] : edges_of(pic, v, EdgeKind::kCable))
      if (e->from == v.id) s += fmt::format(" -- {}{}", short_name(pic, other), e->label.empty() ? "" : " (" + e->label + ")");
    line(indent, s, v.highlighted);
  }

  void underlay() {
    bool any = false;
    for (const Vertex& v : pic.vertices) {
      bool under = v.kind == VertexKind::kWire || v.kind == VertexKind::kRouter || v.kind == VertexKind::kExternal ||
                   v.kind == VertexKind::kCloudLb;
      if (!under) continue;
      if (!any) heading("underlay"), any = true;
      with_cables(2, v);
    }
  }

  void pod(const Vertex& v) {
    std::string s = summary(v);
    for (const auto& [e, other] : edges_of(pic, v, EdgeKind::kVeth)) s += fmt::format(" -- {} on {}", e->label, short_name(pic, other));
    line(4, s, v.highlighted);
  }

  void node(const Cluster& c) {
    std::vector<std::string> facts(c.lines.begin() + 1, c.lines.end());
    line(2, c.lines.front() + (facts.empty() ? "" : ": " + join(facts, ", ")), c.highlighted);
    for (const Vertex& v : pic.vertices)
      if (v.cluster == c.id && v.kind != VertexKind::kPod && v.kind != VertexKind::kDataPlane) with_cables(4, v);
    for (const Vertex& v : pic.vertices)
      if (v.cluster == c.id && (v.kind == VertexKind::kPod || v.kind == VertexKind::kDataPlane)) pod(v);
  }

  void links() {
    bool any = false;
    for (const Edge& e : pic.edges) {
      if (e.kind != EdgeKind::kVxlan && e.kind != EdgeKind::kHostGw && e.kind != EdgeKind::kBgp) continue;
      if (!any) heading("links between nodes"), any = true;
      line(2, fmt::format("{} <-> {}: {}", e.from, e.to, flat(e.label)), e.highlighted);
    }
  }

  void services() {
    bool any = false;
    for (const Vertex& v : pic.vertices) {
      if (v.kind != VertexKind::kService) continue;
      if (!any) heading("services"), any = true;
      line(2, summary(v), v.highlighted);
      auto eps = edges_of(pic, v, EdgeKind::kEndpoint);
      if (eps.empty()) line(4, "(no endpoints)");
      for (const auto& [e, other] : eps) {
        const Vertex* p = pic.vertex(other);
        std::string where = p && !p->cluster.empty() ? " on " + p->cluster.substr(p->cluster.find('/') + 1) : "";
        std::string ip = p && p->lines.size() > 2 ? " " + p->lines[2].substr(p->lines[2].find(' ') + 1) : "";
        line(4, "-> " + short_name(pic, other) + ip + where, e->highlighted);
      }
    }
  }

  void routes() {
    bool any = false;
    for (const Edge& e : pic.edges) {
      if (e.kind != EdgeKind::kRoute) continue;
      if (!any) heading("L7 routes"), any = true;
      line(2, fmt::format("{} -> {}: {}", short_name(pic, e.from), short_name(pic, e.to), join(split(e.label, '\n'), "; ")));
    }
  }

  void policies() {
    bool any = false;
    for (const Vertex& v : pic.vertices) {
      if (v.kind != VertexKind::kPolicy) continue;
      if (!any) heading("network policies"), any = true;
      line(2, summary(v));
      std::vector<std::string> pods;
      for (const auto& [e, other] : edges_of(pic, v, EdgeKind::kPolicy)) pods.push_back(short_name(pic, other).substr(4));
      line(4, pods.empty() ? "selects no pod" : "selects " + join(pods, ", "));
    }
  }
};

}  // namespace

std::string to_text(const Picture& pic, std::size_t width) {
  Writer w{pic, width, {}};
  for (const std::string& t : pic.title) w.heading(t);
  if (pic.highlighted) w.heading("highlighted (>): " + pic.path);
  w.underlay();
  w.heading("nodes");
  for (const Cluster& c : pic.clusters) w.node(c);
  w.links();
  w.services();
  w.routes();
  w.policies();
  return w.out;
}

}  // namespace knlab::graph
