#include "trace/render.hpp"

#include <fmt/core.h>

#include "core/text.hpp"

namespace knlab::trace {

namespace {

std::string_view seen_mark(const Hop& h, bool probed) {
  if (!probed) return "";
  switch (h.seen) {
    case Seen::kSeen: return "  [seen]";
    case Seen::kNotSeen: return "  [NOT SEEN]";
    case Seen::kPredicted: return "  [predicted]";
  }
  return "";
}

void render_branches(std::string& out, const Hop& h) {
  std::string chain;
  int index = 0;
  for (const NfBranch& b : h.branches) {
    if (b.chain != chain) {
      chain = b.chain;
      index = 0;
      out += fmt::format("       {} picks a backend at random:\n", chain);
    }
    std::string to = b.to_ip ? fmt::format("{}:{}", b.to_ip->str(), b.to_port) : std::string("?");
    // iptables: the rule number of each statistic branch; nftables: the numgen value of the vmap.
    std::string which = b.target.starts_with("endpoint-") ? fmt::format("numgen {}", index) : fmt::format("rule {}", b.rule);
    out += fmt::format("         {} -> {} -> {} (probability {:.4g}){}\n", which, b.target, to, b.probability,
                       b.chosen ? "  <- followed" : "");
    ++index;
  }
}

void render_leg(std::string& out, const Leg& leg, bool probed) {
  std::string netns;
  for (const Hop& h : leg.hops) {
    if (h.netns != netns) {
      netns = h.netns;
      out += fmt::format("  {}  [{}]\n", h.place, h.netns);
    }
    out += fmt::format("  {:>3}. {}{}\n", h.n, h.text, seen_mark(h, probed));
    if (!h.observed.empty()) out += fmt::format("       observed: {}\n", h.observed);
    render_branches(out, h);
    if (!h.command.empty()) out += fmt::format("       $ {}\n", h.command);
  }
  out += fmt::format("  => {}\n", leg.outcome);
}

std::string proto_text(const Packet& p) { return std::string(proto_name(p.proto)); }

std::string server_text(const L7Server& s) { return s.comment.empty() ? s.address : fmt::format("{} ({})", s.address, s.comment); }

void render_l7(std::string& out, const L7Stage& l7, const std::string& place) {
  const L7Match& m = l7.match;
  out += fmt::format("\nL7 in {}: nginx of {}\n", place, l7.data_plane);
  out += fmt::format("  request: GET {}{} Host: {} ({} on port {})\n", l7.request.path, l7.request.query.empty() ? "" : "?" + l7.request.query,
                     l7.request.host, l7.request.https ? "https" : "http", l7.request.port);
  for (const auto& [name, value] : l7.request.headers) out += fmt::format("           {}: {}\n", name, value);
  if (m.server_line) out += fmt::format("  server (line {}): {}\n", m.server_line, m.server);
  if (m.location_line) out += fmt::format("  location (line {}): {}{}\n", m.location_line, m.location, m.comment.empty() ? "" : "   # " + m.comment);
  for (const std::string& s : m.steps) out += fmt::format("    - {}\n", s);
  if (!m.action.empty()) out += fmt::format("  => {}\n", m.action);
  if (!m.rewritten_uri.empty()) out += fmt::format("  the URI becomes {}\n", m.rewritten_uri);
  for (const L7Upstream& u : m.upstreams) {
    std::vector<std::string> servers;
    for (const L7Server& s : u.servers) servers.push_back(server_text(s));
    out += fmt::format("  upstream {}: {}\n", u.name, servers.empty() ? std::string("no server (no endpoint)") : join(servers, ", "));
  }
  if (l7.endpoint) out += fmt::format("  endpoint followed: {}{}\n", server_text(*l7.endpoint), l7.logged.empty() ? " (nginx picks one per request)" : "");
  if (!l7.logged.empty()) out += fmt::format("  nginx logged: {}\n", l7.logged);
  out += fmt::format("       $ less {}\n", l7.conf);
}

}  // namespace

std::string render_text(const TraceHeader& h, const TraceResult& r, const L7Stage* l7, const TraceResult* upstream) {
  std::string out = fmt::format("trace {} -> {} ({})\n", h.from, h.to, proto_text(r.packet));
  if (!h.resolved.empty()) out += fmt::format("resolved: {}\n", h.resolved);
  out += fmt::format("packet: {}\n\n", describe(r.packet));
  render_leg(out, r.forward, h.probed);
  if (r.reply) {
    out += fmt::format("\nreply: {}\n", describe(r.reply->sent));
    render_leg(out, *r.reply, h.probed);
  }
  if (l7) render_l7(out, *l7, r.forward.hops.empty() ? std::string() : r.forward.hops.back().place);
  if (upstream) {
    out += fmt::format("\nnginx's own connection: {}\n\n", describe(upstream->packet));
    render_leg(out, upstream->forward, h.probed);
    if (upstream->reply) {
      out += fmt::format("\nits reply: {}\n", describe(upstream->reply->sent));
      render_leg(out, *upstream->reply, h.probed);
    }
  }
  if (h.probed) out += fmt::format("\nprobe: {}\n", h.probe);
  for (const std::string& c : h.contradictions) out += fmt::format("BUG: the probe contradicts the prediction: {}\n", c);
  return out;
}

std::string render_brief(const TraceHeader& h, const TraceResult& r, const L7Stage* l7, const TraceResult* upstream) {
  std::string out = fmt::format("{} -> {}: {}\n", h.from, h.to, describe(r.packet));
  auto leg = [&](const Leg& l, std::string_view prefix) {
    std::string netns, line;
    auto flush = [&] {
      if (!line.empty()) out += fmt::format("{}{}\n", prefix, line);
      line.clear();
    };
    for (const Hop& x : l.hops) {
      if (x.brief == "-") continue;
      if (x.netns != netns) {
        flush();
        netns = x.netns;
        line = x.place + ": ";
      } else {
        line += ", ";
      }
      line += x.brief;
    }
    flush();
    out += fmt::format("{}=> {}\n", prefix, l.outcome);
  };
  leg(r.forward, "  ");
  if (r.reply) leg(*r.reply, "  reply ");
  if (l7)
    out += fmt::format("  nginx: {}{} => {}\n", l7->match.location.empty() ? std::string("no location") : "location " + l7->match.location,
                       l7->endpoint ? ", endpoint " + l7->endpoint->address : std::string(), l7->match.action);
  if (upstream) {
    leg(upstream->forward, "  upstream ");
    if (upstream->reply) leg(*upstream->reply, "  upstream reply ");
  }
  if (h.probed) out += fmt::format("  probe: {}\n", h.probe);
  for (const std::string& c : h.contradictions) out += fmt::format("  BUG: {}\n", c);
  return out;
}

namespace {

nlohmann::ordered_json packet_json(const Packet& p) {
  nlohmann::ordered_json j{{"src", p.src.str()}, {"dst", p.dst.str()}, {"protocol", proto_name(p.proto)}};
  if (p.proto != Proto::kIcmp) j["sport"] = p.sport, j["dport"] = p.dport;
  if (p.mark) j["mark"] = p.mark;
  return j;
}

nlohmann::ordered_json hop_json(const Hop& h) {
  nlohmann::ordered_json j{{"n", h.n}, {"netns", h.netns}, {"place", h.place}, {"kind", h.kind}, {"text", h.text},
                           {"packet", packet_json(h.packet)}};
  if (!h.command.empty()) j["command"] = h.command;
  if (!h.steps.empty()) {
    auto& steps = j["rules"] = nlohmann::ordered_json::array();
    for (const NfStep& s : h.steps)
      steps.push_back({{"table", s.table}, {"chain", s.chain}, {"rule", s.rule}, {"text", s.text}, {"packets", s.counters.packets}});
  }
  if (!h.branches.empty()) {
    auto& bs = j["branches"] = nlohmann::ordered_json::array();
    for (const NfBranch& b : h.branches)
      bs.push_back({{"chain", b.chain}, {"rule", b.rule}, {"target", b.target}, {"probability", b.probability},
                    {"to", b.to_ip ? fmt::format("{}:{}", b.to_ip->str(), b.to_port) : ""}, {"chosen", b.chosen}});
  }
  j["seen"] = h.seen == Seen::kSeen ? "seen" : h.seen == Seen::kNotSeen ? "not-seen" : "predicted";
  if (!h.observed.empty()) j["observed"] = h.observed;
  return j;
}

nlohmann::ordered_json leg_json(const Leg& l) {
  nlohmann::ordered_json hops = nlohmann::ordered_json::array();
  for (const Hop& h : l.hops) hops.push_back(hop_json(h));
  return {{"delivered", l.delivered}, {"outcome", l.outcome}, {"end", l.end_netns}, {"hops", hops}};
}

}  // namespace

nlohmann::ordered_json to_json(const TraceHeader& h, const TraceResult& r, const L7Stage* l7, const TraceResult* upstream) {
  nlohmann::ordered_json j{{"from", h.from}, {"to", h.to}, {"packet", packet_json(r.packet)}};
  if (!h.resolved.empty()) j["resolved"] = h.resolved;
  j["forward"] = leg_json(r.forward);
  if (r.reply) j["reply"] = leg_json(*r.reply);
  if (l7) {
    auto& x = j["l7"] = {{"data_plane", l7->data_plane}, {"conf", l7->conf}, {"server_line", l7->match.server_line},
                         {"server", l7->match.server}, {"location_line", l7->match.location_line},
                         {"location", l7->match.location}, {"comment", l7->match.comment}, {"steps", l7->match.steps},
                         {"action", l7->match.action}, {"rewritten_uri", l7->match.rewritten_uri}};
    auto& ups = x["upstreams"] = nlohmann::ordered_json::array();
    for (const L7Upstream& u : l7->match.upstreams) {
      nlohmann::ordered_json servers = nlohmann::ordered_json::array();
      for (const L7Server& s : u.servers) servers.push_back({{"address", s.address}, {"comment", s.comment}, {"weight", s.weight}});
      ups.push_back({{"name", u.name}, {"servers", servers}});
    }
    if (l7->endpoint) x["endpoint"] = l7->endpoint->address;
    if (!l7->logged.empty()) x["logged"] = l7->logged;
  }
  if (upstream) {
    j["upstream"] = {{"packet", packet_json(upstream->packet)}, {"forward", leg_json(upstream->forward)}};
    if (upstream->reply) j["upstream"]["reply"] = leg_json(*upstream->reply);
  }
  if (h.probed) {
    j["probe"] = {{"result", h.probe}, {"answered", h.answered}, {"answered_by", h.answered_by}};
    j["contradictions"] = h.contradictions;
  }
  return j;
}

}  // namespace knlab::trace
