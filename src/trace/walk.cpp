// The walk of trace_packet: a packet from namespace to namespace as the kernel moves it, each
// decision read back from the live state (trace/kernel) and recorded as a hop.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "core/text.hpp"
#include "trace/trace.hpp"

namespace knlab::trace {

namespace {

constexpr int kMaxHops = 120;

// What conntrack will undo on the reply, per namespace (the innermost packet's NAT only).
struct NatRecord {
  bool dnat = false, snat = false;
  Ipv4 orig_dst, orig_src;
  std::uint16_t orig_dport = 0, orig_sport = 0;
  Ipv4 new_dst, new_src;
  std::uint16_t new_dport = 0;
};

std::string probability_text(double p) {
  for (int n = 1; n <= 1000; ++n)
    if (std::fabs(p - 1.0 / n) < 5e-6) return n == 1 ? "1" : fmt::format("1/{}", n);
  return fmt::format("{:.4f}", p);
}

std::string route_error_text(int err) {
  switch (err) {
    case ENETUNREACH: return "no route (Network is unreachable)";
    case EHOSTUNREACH: return "no route (No route to host)";
    case EACCES: return "route lookup refused (a prohibit route)";
    case EINVAL: return "the kernel refuses the packet (a martian: invalid source for this interface)";
    case EXDEV: return "the kernel refuses the packet (reverse path filter: the source is not reachable back through this interface)";
    default: return fmt::format("route lookup failed (errno {})", err);
  }
}

std::string route_text(const RouteLookup& r, const NsState& s) {
  const LinkInfo* dev = s.link(r.oif);
  std::string out = r.type == "unicast" ? std::string() : r.type + " ";
  out += r.dst ? (r.dst->prefix == 0 ? std::string("default") : r.dst->str()) : std::string("?");
  if (r.gateway) out += " via " + r.gateway->str();
  if (dev) out += " dev " + dev->name;
  if (!r.protocol.empty() && r.protocol != "boot") out += " proto " + r.protocol;  // ip(8) leaves boot out
  if (r.onlink) out += " onlink";
  if (r.table && r.table != 254) out += fmt::format(" table {}", r.table == 255 ? std::string("local") : std::to_string(r.table));
  return out;
}

std::string lower_mac(std::string m) { return lower(m); }

class Walker {
 public:
  Walker(Kernel& k, const Places& places, const std::map<std::string, Ipv4>& backends, bool reply,
         std::map<std::string, NatRecord>& nat, std::vector<NfBranch>& branches)
      : k_(k), places_(places), backends_(backends), reply_(reply), nat_(nat), branches_(branches) {}

  Result<Leg> run(const std::string& netns, Packet p) {
    KN_TRY(local_out(netns, p));
    return std::move(leg_);
  }

 private:
  std::string place(const std::string& netns) const {
    auto it = places_.find(netns);
    return it == places_.end() ? netns : it->second;
  }

  // `brief`: the words --brief keeps ("" for the text itself, "-" for none).
  Hop& add(const std::string& netns, std::string kind, std::string text, std::string command = {}, std::string brief = {}) {
    Hop h;
    h.brief = brief.empty() ? text : std::move(brief);
    h.packet = current_;
    h.n = static_cast<int>(leg_.hops.size()) + 1;
    h.netns = netns;
    h.place = place(netns);
    h.kind = std::move(kind);
    h.text = std::move(text);
    h.command = std::move(command);
    leg_.hops.push_back(std::move(h));
    return leg_.hops.back();
  }

  Status end(const std::string& netns, bool delivered, std::string outcome, const Packet& p) {
    leg_.delivered = delivered;
    leg_.outcome = std::move(outcome);
    leg_.end_netns = netns;
    leg_.final = p;
    return {};
  }

  Status die(const std::string& netns, const std::string& why, const Packet& p, std::string command = {}) {
    add(netns, "drop", why, std::move(command), "DROPPED: " + why);
    return end(netns, false, fmt::format("dropped in {}: {}", place(netns), why), p);
  }

  bool out_of_budget() { return --budget_ < 0; }

  std::string route_cmd(const std::string& netns, const Packet& p, const std::string& iif) const {
    std::string c = fmt::format("ip -n {} route get {}", netns, p.dst.str());
    if (p.src.value && !iif.empty()) c += " from " + p.src.str();
    if (!iif.empty()) c += " iif " + iif;
    if (p.mark) c += fmt::format(" mark {:#x}", p.mark);
    return c + " fibmatch";
  }

  // ---- netfilter

  NfContext nf_context(const NsState& s, const std::string& in, const std::string& out, bool bridged) {
    NfContext ctx;
    ctx.in_iface = in;
    ctx.out_iface = out;
    ctx.bridged = bridged;
    ctx.local_addresses = s.local_addresses();
    if (auto it = backends_.find(s.netns); it != backends_.end()) ctx.backend = it->second;
    std::string netns = s.netns;
    ctx.in_set = [this, netns](const std::string& set, Ipv4 ip) -> std::optional<bool> {
      auto sets = k_.ipsets(netns);
      if (!sets) return std::nullopt;
      for (const IpSet& x : **sets)
        if (x.name == set) return ipset_contains(x, ip);
      return std::nullopt;
    };
    return ctx;
  }

  static bool is_user_chain(const std::string& target) {
    for (const char* t : {"ACCEPT", "DROP", "RETURN", "REJECT", "DNAT", "MASQUERADE", "MARK", "NFLOG", ""})
      if (target == t) return false;
    return true;
  }

  // "PREROUTING rule 1 -> KUBE-SERVICES rule 7 -> KUBE-SVC-X rule 2 (3 branches, ...) -> ...":
  // the rules that matched, a jump that found nothing marked as a return.
  static std::string chain_path(const NfResult& r) {
    std::string out;
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
      const NfStep& s = r.steps[i];
      if (i > 0) out += r.steps[i - 1].target == s.chain ? " -> " : ", ";
      if (s.rule == 0) {
        out += fmt::format("{} policy {}", s.chain, s.target);
        continue;
      }
      out += fmt::format("{} rule {}", s.chain, s.rule);
      std::vector<std::string> ps;
      for (const NfBranch& b : r.branches)
        if (b.chain == s.chain) ps.push_back(probability_text(b.probability));
      if (!ps.empty()) out += fmt::format(" ({} branches, taken with {})", ps.size(), join(ps, ", "));
      bool entered = i + 1 < r.steps.size() && r.steps[i + 1].chain == s.target;
      if (is_user_chain(s.target) && !entered) out += fmt::format(" -> {} (no rule matches: returns)", s.target);
      else if (s.target == "RETURN" || s.target == "MARK" || s.target == "NFLOG") out += " " + s.target;
    }
    return out;
  }

  static std::string nf_action(const NfResult& r, const Packet& before) {
    if (r.verdict == Verdict::kDrop) return "DROP";
    if (r.verdict == Verdict::kReject) return "REJECT";
    if (r.verdict == Verdict::kUndecided) return "undecided: " + r.why;
    std::string out = "ACCEPT";
    if (r.dnat) out = fmt::format("DNAT to {}:{}", r.packet.dst.str(), r.packet.dport);
    if (r.masquerade) out = "MASQUERADE";
    if (r.packet.mark != before.mark) out += fmt::format(" (mark {:#x})", r.packet.mark);
    return out;
  }

  // Runs `chain` of `table`; records a hop when a rule matched or the verdict is not ACCEPT.
  // Returns the result; the caller decides what a drop means.
  Result<NfResult> netfilter(const NsState& s, const std::string& table, const std::string& chain, const NfContext& ctx,
                             const Packet& p) {
    const IptReadTable* t = KN_TRY(k_.table(s.netns, table));
    NfResult r = evaluate(*t, chain, p, ctx);
    bool matched = std::any_of(r.steps.begin(), r.steps.end(), [](const NfStep& x) { return x.rule > 0; });
    if (!matched && r.verdict == Verdict::kAccept) return r;
    bool passes = r.verdict == Verdict::kAccept && !r.dnat && !r.masquerade && r.packet.mark == p.mark && !r.steps.empty() &&
                  r.steps.back().rule == 0 && r.branches.empty();
    Hop& h = passes ? pass_hop(s.netns, table, chain, r) : add(s.netns, "netfilter", fmt::format("{}: {} => {}", table, chain_path(r), nf_action(r, p)),
                 fmt::format("ip netns exec {} iptables-legacy -t {} -L {} -n -v --line-numbers", s.netns, table, r.steps.empty() ? chain : r.steps.back().chain),
                 r.dnat || r.masquerade || r.verdict != Verdict::kAccept ? fmt::format("{} {}", table, nf_action(r, p)) : std::string("-"));
    if (!passes) h.steps = r.steps;
    h.branches = r.branches;
    for (const NfStep& x : r.steps) h.evidence.push_back(Evidence{s.netns, table, x.chain, x.rule, 0, true});
    branches_.insert(branches_.end(), r.branches.begin(), r.branches.end());
    return r;
  }

  // Chains the packet went through without any rule changing or stopping it, one hop per run of
  // them in a namespace: "iptables: nat PREROUTING, filter FORWARD, nat POSTROUTING pass it".
  Hop& pass_hop(const std::string& netns, const std::string& table, const std::string& chain, const NfResult& r) {
    std::string name = fmt::format("{} {}", table, chain);
    if (!leg_.hops.empty() && leg_.hops.back().kind == "netfilter" && leg_.hops.back().netns == netns && leg_.hops.back().steps.empty()) {
      Hop& h = leg_.hops.back();
      h.text.insert(h.text.find(" pass it"), ", " + name);
      return h;
    }
    Hop& h = add(netns, "netfilter", fmt::format("iptables: {} pass it (rules checked, none changes or stops it{})", name,
                                                 r.steps.size() > 1 ? "; the chains jumped to return" : ""),
                 fmt::format("ip netns exec {} iptables-legacy-save -c", netns), "-");
    return h;
  }

  // The reason a DROP or REJECT gives, in words.
  static std::string refusal(const NfResult& r, const std::string& table, const std::string& chain) {
    std::vector<std::string> policies;
    std::string direction = "traffic";
    for (const NfStep& x : r.steps)
      for (std::string_view d : {"ingress", "egress"})
        if (x.comment.ends_with(fmt::format(" policy {}", d))) {
          policies.push_back(x.comment.substr(0, x.comment.size() - 8 - d.size()));
          direction = std::string(d);
        }
    std::string by = r.steps.empty() ? chain : fmt::format("rule {} of {}", r.steps.back().rule, r.steps.back().chain);
    if (!r.nflog_prefix.empty() || !policies.empty()) {
      std::string checked = policies.empty() ? std::string("no NetworkPolicy allows it")
                                             : fmt::format("NetworkPolicy: the pod's {} is isolated by {}, and none of them allows this", direction, join(policies, ", "));
      return fmt::format("{}: {} by {} ({} {}){}", checked, verdict_name(r.verdict), by, table, chain,
                         r.nflog_prefix.empty() ? "" : fmt::format("; logged to NFLOG group 100 as \"{}\"", r.nflog_prefix));
    }
    std::string why = r.why.empty() ? std::string() : fmt::format(": \"{}\"", r.why);
    return fmt::format("{} by {} ({} {}){}", verdict_name(r.verdict), by, table, chain, why);
  }

  // Runs a hook's chain and ends the leg on a refusal. True when the packet goes on.
  Result<bool> hook(const NsState& s, const std::string& table, const std::string& chain, const NfContext& ctx, Packet& p,
                    bool nat_table) {
    if (nat_table && p.ct != CtState::kNew) return true;  // nat chains see only a connection's first packet
    NfResult r = KN_TRY(netfilter(s, table, chain, ctx, p));
    if (r.verdict == Verdict::kAccept) {
      follow(s, ctx, r, p);
      return nft_hook(s, table, chain, ctx, p);
    }
    KN_TRY(die(s.netns, r.verdict == Verdict::kUndecided ? "cannot tell: " + r.why : refusal(r, table, chain), p,
               fmt::format("ip netns exec {} iptables-legacy -t {} -L {} -n -v --line-numbers", s.netns, table,
                           r.steps.empty() ? chain : r.steps.back().chain)));
    return false;
  }

  // The packet as an accepting chain leaves it: DNAT (remembered for the reply), mark, masquerade.
  void follow(const NsState& s, const NfContext& ctx, const NfResult& r, Packet& p) {
    if (r.dnat && inner_.empty()) record_dnat(s.netns, p, r.packet);
    p.dst = r.packet.dst;
    p.dport = r.packet.dport;
    p.mark = r.packet.mark;
    if (r.masquerade) masquerade(s, ctx.out_iface, p);
    current_ = p;
  }

  // kube-proxy's base chain of table ip kube-proxy at an iptables hook (nftables mode).
  static std::string nft_base_chain(const std::string& table, const std::string& chain) {
    if (table == "nat" && chain == "PREROUTING") return "nat-prerouting";
    if (table == "nat" && chain == "OUTPUT") return "nat-output";
    if (table == "nat" && chain == "POSTROUTING") return "nat-postrouting";
    if (table == "filter" && chain == "INPUT") return "filter-input";
    if (table == "filter" && chain == "FORWARD") return "filter-forward";
    if (table == "filter" && chain == "OUTPUT") return "filter-output";
    return {};
  }

  // "nat-prerouting -> services -> service-X (3 branches) -> endpoint-Y": the chains entered.
  static std::string nft_path(const NfResult& r, const std::string& base) {
    std::string out = base;
    for (const NfStep& x : r.steps) {
      if (x.target == "MARK" || x.target == "RETURN") continue;
      auto n = std::count_if(r.branches.begin(), r.branches.end(), [&](const NfBranch& b) { return b.chain == x.chain; });
      if (n == 1 && x.target.starts_with("endpoint-")) out += " (1 branch)";
      if (n > 1 && x.target.starts_with("endpoint-")) out += fmt::format(" ({} branches, 1/{} each)", n, n);
      out += " -> " + x.target;
    }
    return out;
  }

  // In nftables mode kube-proxy's table ip kube-proxy hooks at the same points as the iptables
  // chains: its base chain runs next, and may DNAT, mark, masquerade, reject or drop.
  Result<bool> nft_hook(const NsState& s, const std::string& table, const std::string& chain, const NfContext& ctx, Packet& p) {
    std::string base = nft_base_chain(table, chain);
    if (base.empty()) return true;
    const NftTableRead* t = KN_TRY(k_.nft_table(s.netns));
    if (t->empty()) return true;
    NfResult r = evaluate_nft(*t, base, p, ctx);
    std::string last = r.steps.empty() ? base : r.steps.back().chain;
    std::string cmd = fmt::format("ip netns exec {} nft -a list chain ip kube-proxy {}", s.netns, last);
    if (r.verdict != Verdict::kAccept) {
      std::string why = r.verdict == Verdict::kUndecided ? "cannot tell: " + r.why
                                                         : fmt::format("{} by kube-proxy's nftables chain {}: \"{}\"", verdict_name(r.verdict), last, r.why);
      KN_TRY(die(s.netns, why, p, cmd));
      return false;
    }
    if (r.dnat || r.masquerade || r.packet.mark != p.mark || !r.branches.empty()) {
      Hop& h = add(s.netns, "netfilter", fmt::format("nftables: {} => {}", nft_path(r, base), nf_action(r, p)), cmd,
                   fmt::format("nft {}", nf_action(r, p)));
      h.steps = r.steps;
      h.branches = r.branches;
      // Evidence from nftables' tracing with --probe (kube-proxy's rules have no counters).
      for (const NfStep& x : r.steps)
        if (x.rule > 0) h.evidence.push_back(Evidence{s.netns, "kube-proxy", x.chain, x.rule, 0, true});
      branches_.insert(branches_.end(), r.branches.begin(), r.branches.end());
    }
    follow(s, ctx, r, p);
    return true;
  }

  void record_dnat(const std::string& netns, const Packet& before, const Packet& after) {
    NatRecord& n = nat_[netns];
    n.dnat = true;
    n.orig_dst = before.dst;
    n.orig_dport = before.dport;
    n.new_dst = after.dst;
    n.new_dport = after.dport;
  }

  void masquerade(const NsState& s, const std::string& out, Packet& p) {
    const LinkInfo* l = s.link_named(out);
    std::optional<Ipv4> a = l ? s.address_on(l->ifindex) : std::nullopt;
    if (!a) return;
    if (inner_.empty()) {
      NatRecord& n = nat_[s.netns];
      n.snat = true;
      n.orig_src = p.src;
      n.orig_sport = p.sport;
      n.new_src = *a;
    }
    p.src = *a;
  }

  // Conntrack's reverse NAT on a reply: the masquerade undone before routing, the DNAT after.
  void unsnat(const std::string& netns, Packet& p, std::string_view where = {}) {
    auto it = nat_.find(netns);
    if (!reply_ || !inner_.empty() || it == nat_.end() || !it->second.snat || p.dst != it->second.new_src) return;
    add(netns, "nat", fmt::format("conntrack undoes the masquerade: destination {} -> {}{}", p.dst.str(),
                                  it->second.orig_src.str(), where),
        fmt::format("ip netns exec {} conntrack -L -p {}", netns, proto_name(p.proto)), "un-masquerade to " + it->second.orig_src.str());
    p.dst = it->second.orig_src;
    p.dport = it->second.orig_sport;
    current_ = p;
  }

  void undnat(const std::string& netns, Packet& p, std::string_view where = {}) {
    auto it = nat_.find(netns);
    if (!reply_ || !inner_.empty() || it == nat_.end() || !it->second.dnat || p.src != it->second.new_dst) return;
    add(netns, "nat", fmt::format("conntrack undoes the DNAT: source {}:{} -> {}:{}{}", p.src.str(), p.sport,
                                  it->second.orig_dst.str(), it->second.orig_dport, where),
        fmt::format("ip netns exec {} conntrack -L -p {}", netns, proto_name(p.proto)),
        fmt::format("un-DNAT from {}:{}", it->second.orig_dst.str(), it->second.orig_dport));
    p.src = it->second.orig_dst;
    p.sport = it->second.orig_dport;
    current_ = p;
  }

  // ---- the paths through a namespace

  // The route lookup failed. kube-proxy's REJECT of a Service without endpoints is in filter,
  // which comes after routing: say so when it is there but not reached.
  Status no_route(const NsState& s, int err, const std::string& in, const Packet& p) {
    std::string why = route_error_text(err) + " to " + p.dst.str();
    auto t = k_.table(s.netns, "filter");
    if (t) {
      NfResult r = evaluate(**t, in.empty() ? "OUTPUT" : "FORWARD", p, nf_context(s, in, "", false));
      if (r.verdict == Verdict::kReject && !r.steps.empty())
        why += fmt::format(" (kube-proxy's REJECT for it, rule {} of filter {} \"{}\", is never reached: routing comes first, "
                           "and the kernel answers ICMP network unreachable)",
                           r.steps.back().rule, r.steps.back().chain, r.why);
    }
    // nftables mode: the same REJECT, through table ip kube-proxy's no-endpoint-services map.
    if (auto nft = k_.nft_table(s.netns); nft && !(*nft)->empty()) {
      NfResult r = evaluate_nft(**nft, in.empty() ? "filter-output" : "filter-forward", p, nf_context(s, in, "", false));
      if (r.verdict == Verdict::kReject)
        why += fmt::format(" (kube-proxy's reject for it, in its nftables chain {} \"{}\", is never reached: routing comes first, "
                           "and the kernel answers ICMP network unreachable)",
                           r.steps.back().chain, r.why);
    }
    std::vector<std::string> down;
    for (const LinkInfo& l : s.links)
      if (!l.up && l.name != "lo") down.push_back(l.name);
    if (!down.empty())
      why += fmt::format("; down here: {} (the kernel drops the routes of a link that is down)", join(down, ", "));
    return die(s.netns, why, p, route_cmd(s.netns, p, in));
  }

  // A process of `netns` (or the kernel's VXLAN device) sends p.
  Status local_out(const std::string& netns, Packet p) {
    current_ = p;
    if (out_of_budget()) return die(netns, "the path is too long (a routing loop?)", p);
    const NsState* s = KN_TRY(k_.ns(netns));
    RouteLookup r = KN_TRY(k_.route(netns, p.dst, p.src, 0, p.mark));
    if (r.error) return no_route(*s, r.error, "", p);
    if (!p.src.value) p.src = r.prefsrc.value_or(s->address_on(r.oif).value_or(Ipv4{}));
    if (leg_.hops.empty()) leg_.sent = p;
    current_ = p;
    add(netns, "route", "route " + route_text(r, *s), route_cmd(netns, p, ""));
    const LinkInfo* out = s->link(r.oif);
    NfContext ctx = nf_context(*s, "", out ? out->name : "", false);
    Ipv4 before = p.dst;
    if (!KN_TRY(hook(*s, "nat", "OUTPUT", ctx, p, true))) return {};
    if (p.dst != before) {
      r = KN_TRY(k_.route(netns, p.dst, p.src, 0, p.mark));
      if (r.error) return no_route(*s, r.error, "", p);
      add(netns, "route", "rerouted after the DNAT: route " + route_text(r, *s), route_cmd(netns, p, ""));
      out = s->link(r.oif);
      ctx = nf_context(*s, "", out ? out->name : "", false);
    }
    if (!KN_TRY(hook(*s, "filter", "OUTPUT", ctx, p, false))) return {};
    if (r.type == "local") return deliver(*s, p, r.oif);
    return routed_out(*s, r, ctx, p);
  }

  // After the route and the filter: POSTROUTING, the reply's reverse DNAT, the link.
  Status routed_out(const NsState& s, const RouteLookup& r, const NfContext& ctx, Packet& p) {
    if (r.type != "unicast") return die(s.netns, fmt::format("the route is of type {}", r.type), p, route_cmd(s.netns, p, ""));
    if (!KN_TRY(hook(s, "nat", "POSTROUTING", ctx, p, true))) return {};
    undnat(s.netns, p);
    const LinkInfo* out = s.link(r.oif);
    if (!out) return die(s.netns, fmt::format("the route's device (ifindex {}) is not there", r.oif), p);
    return transmit(s, *out, r.gateway.value_or(p.dst), p);
  }

  // p comes in on link `ifindex` of `netns`, to be routed there.
  Status arrive(const std::string& netns, int ifindex, Packet p) {
    current_ = p;
    if (out_of_budget()) return die(netns, "the path is too long (a routing loop?)", p);
    const NsState* s = KN_TRY(k_.ns(netns));
    const LinkInfo* in = s->link(ifindex);
    if (!in) return die(netns, "the input link is not there", p);
    unsnat(netns, p);
    NfContext ctx = nf_context(*s, in->name, "", false);
    if (!KN_TRY(hook(*s, "nat", "PREROUTING", ctx, p, true))) return {};
    RouteLookup r = KN_TRY(k_.route(netns, p.dst, p.src, ifindex, p.mark));
    if (r.error) return no_route(*s, r.error, in->name, p);
    add(netns, "route", "route " + route_text(r, *s), route_cmd(netns, p, in->name), r.type == "local" ? "-" : "");
    if (r.type == "local") {
      if (!KN_TRY(hook(*s, "filter", "INPUT", ctx, p, false))) return {};
      if (auto vx = decap_device(*s, p)) return decapsulate(*s, *vx, p);
      undnat(netns, p);
      return deliver(*s, p, ifindex);
    }
    const LinkInfo* out = s->link(r.oif);
    ctx.out_iface = out ? out->name : "";
    if (r.type == "unicast" && !KN_TRY(hook(*s, "filter", "FORWARD", ctx, p, false))) return {};
    return routed_out(*s, r, ctx, p);
  }

  // ---- links

  // The neighbour entry for the next hop, or who would answer ARP for it.
  Result<std::string> next_hop_mac(const NsState& s, const LinkInfo& out, Ipv4 nexthop, std::string& how) {
    if (const NeighInfo* n = s.neighbour(out.ifindex, nexthop)) {
      how = fmt::format("{} is at {} ({})", nexthop.str(), n->mac, n->state);
      return lower_mac(n->mac);
    }
    std::optional<std::pair<std::string, std::string>> owner = KN_TRY(find_owner(s, out, nexthop, 2));
    if (!owner) return std::string();
    how = fmt::format("{} has no neighbour entry yet: the kernel ARPs for it, and {} answers ({})", nexthop.str(),
                      place(owner->first), owner->second);
    return lower_mac(owner->second);
  }

  // The namespace and MAC of whoever owns `ip` behind link `via` of s (through veths and
  // bridges, `depth` levels).
  Result<std::optional<std::pair<std::string, std::string>>> find_owner(const NsState& s, const LinkInfo& via, Ipv4 ip, int depth) {
    using Found = std::optional<std::pair<std::string, std::string>>;
    if (depth < 0) return Found();
    std::vector<const LinkInfo*> ports;
    if (via.kind == "bridge") {
      for (const LinkInfo& l : s.links)
        if (l.master == via.ifindex) ports.push_back(&l);
    } else {
      ports.push_back(&via);
    }
    for (const LinkInfo* port : ports) {
      if (port->kind != "veth") continue;
      std::string peer_ns = port->peer_nsid ? KN_TRY(k_.peer_netns(s.netns, *port->peer_nsid)).value_or("") : s.netns;
      if (peer_ns.empty()) continue;
      const NsState* ps = KN_TRY(k_.ns(peer_ns));
      const LinkInfo* pl = ps->link(port->peer_ifindex);
      if (!pl) continue;
      for (const AddrInfo& a : ps->addresses)
        if (a.cidr.addr == ip) return Found(std::pair{peer_ns, ps->link(a.ifindex) ? ps->link(a.ifindex)->mac : pl->mac});
      if (pl->master && depth > 0) {
        const LinkInfo* br = ps->link(pl->master);
        if (!br) continue;
        for (const LinkInfo& l : ps->links) {
          if (l.master != br->ifindex || l.ifindex == pl->ifindex) continue;
          Found f = KN_TRY(find_owner(*ps, l, ip, depth - 1));
          if (f) return f;
        }
      }
    }
    return Found();
  }

  Status transmit(const NsState& s, const LinkInfo& out, Ipv4 nexthop, const Packet& p) {
    if (!out.up)
      return die(s.netns, fmt::format("{} is down (the route sends the packet out of it)", out.name), p,
                 fmt::format("ip -n {} link show {}", s.netns, out.name));
    if (p.size && out.mtu && p.size > out.mtu)
      return die(s.netns,
                 fmt::format("{} bytes do not fit {}'s MTU of {}, and Don't Fragment is set: the kernel answers ICMP "
                             "fragmentation needed (mtu {})", p.size, out.name, out.mtu, out.mtu),
                 p, fmt::format("ip -n {} link show {}", s.netns, out.name));
    if (out.kind == "vxlan") return encapsulate(s, out, nexthop, p);
    std::string how;
    std::string mac = KN_TRY(next_hop_mac(s, out, nexthop, how));
    if (mac.empty())
      return die(s.netns, fmt::format("no neighbour entry for {} on {}, and nothing in the lab answers ARP for it", nexthop.str(), out.name),
                 p, fmt::format("ip -n {} neigh show dev {}", s.netns, out.name));
    if (out.kind == "bridge") {
      add(s.netns, "neighbour", how, fmt::format("ip -n {} neigh show {} dev {}", s.netns, nexthop.str(), out.name), "-");
      return bridge(s, out, mac, 0, p);
    }
    if (out.kind == "veth") return cross(s, out, mac, p, how);
    return die(s.netns, fmt::format("kn-lab cannot follow a packet out of {} (kind \"{}\")", out.name, out.kind), p);
  }

  Status cross(const NsState& s, const LinkInfo& l, const std::string& mac, Packet p, const std::string& how) {
    std::string peer_ns = s.netns;
    if (l.peer_nsid) peer_ns = KN_TRY(k_.peer_netns(s.netns, *l.peer_nsid)).value_or("");
    if (peer_ns.empty()) return die(s.netns, fmt::format("{}'s veth peer is in a namespace outside the lab", l.name), p);
    const NsState* ps = KN_TRY(k_.ns(peer_ns));
    const LinkInfo* pl = ps->link(l.peer_ifindex);
    if (!pl) return die(s.netns, fmt::format("{}'s veth peer is not there", l.name), p);
    if (peer_ns != s.netns) p.mark = 0;  // a packet entering another namespace loses its mark (skb_scrub_packet)
    Hop& h = add(s.netns, "veth",
                 fmt::format("out {} (veth; peer {} in {}){}", l.name, pl->name, place(peer_ns), how.empty() ? "" : "; " + how),
                 fmt::format("ip -n {} link show {}", s.netns, l.name), "out " + l.name);
    h.evidence.push_back(Evidence{s.netns, "", "", 0, l.ifindex, true});
    if (!pl->up)
      return die(peer_ns, fmt::format("{} is down: the frame is lost", pl->name), p, fmt::format("ip -n {} link show {}", peer_ns, pl->name));
    if (pl->master) {
      const LinkInfo* br = ps->link(pl->master);
      if (!br) return die(peer_ns, "the bridge of the port is not there", p);
      return bridge(*ps, *br, mac, pl->ifindex, p);
    }
    return arrive(peer_ns, pl->ifindex, p);
  }

  // The bridge's forwarding decision for a frame to `mac` that came in on port `in_port` (0:
  // sent by the namespace's own stack through the bridge device).
  Status bridge(const NsState& s, const LinkInfo& br, const std::string& mac, int in_port, Packet p) {
    if (!br.up) return die(s.netns, fmt::format("bridge {} is down", br.name), p, fmt::format("ip -n {} link show {}", s.netns, br.name));
    if (in_port && lower_mac(br.mac) == mac) {
      add(s.netns, "bridge", fmt::format("{} receives a frame for its own MAC {}: up into {}'s IP stack, routed", br.name, mac, place(s.netns)),
          fmt::format("ip -n {} link show {}", s.netns, br.name), "in " + br.name);
      return arrive(s.netns, br.ifindex, p);
    }
    const LinkInfo* port = nullptr;
    std::string entry;
    for (const FdbInfo& f : s.fdb)
      if (f.master == br.ifindex && lower_mac(f.mac) == mac && !f.self) {
        port = s.link(f.ifindex);
        entry = f.permanent ? "static entry" : "learnt entry";
      }
    if (!port) {
      for (const LinkInfo& l : s.links) {
        if (l.master != br.ifindex || l.kind != "veth" || l.ifindex == in_port) continue;
        std::string peer_ns = l.peer_nsid ? KN_TRY(k_.peer_netns(s.netns, *l.peer_nsid)).value_or("") : s.netns;
        if (peer_ns.empty()) continue;
        const NsState* ps = KN_TRY(k_.ns(peer_ns));
        if (ps->link(l.peer_ifindex) && lower_mac(ps->link(l.peer_ifindex)->mac) == mac) port = &l;
      }
      if (!port)
        return die(s.netns, fmt::format("{} has no port that leads to {}", br.name, mac), p,
                   fmt::format("bridge -n {} fdb show br {}", s.netns, br.name));
      entry = "not in the FDB yet: flooded to every port, answered from this one";
    }
    Hop& h = add(s.netns, "bridge", fmt::format("{} forwards the frame for {} to port {} ({})", br.name, mac, port->name, entry),
                 fmt::format("bridge -n {} fdb show br {} | grep -i {}", s.netns, br.name, mac), fmt::format("{} -> {}", br.name, port->name));
    h.evidence.push_back(Evidence{s.netns, "", "", 0, port->ifindex, true});
    if (in_port && s.bridge_nf) {
      // br_netfilter: a bridged IPv4 frame crosses iptables and conntrack as if routed.
      NfContext ctx = nf_context(s, br.name, br.name, true);
      unsnat(s.netns, p, " (on the bridge: br_netfilter)");
      if (!KN_TRY(hook(s, "nat", "PREROUTING", ctx, p, true))) return {};
      if (!KN_TRY(hook(s, "filter", "FORWARD", ctx, p, false))) return {};
      if (!KN_TRY(hook(s, "nat", "POSTROUTING", ctx, p, true))) return {};
      undnat(s.netns, p, " (on the bridge: br_netfilter makes bridged frames cross conntrack)");
    }
    if (port->kind != "veth") return die(s.netns, fmt::format("kn-lab cannot follow a frame out of {} (kind \"{}\")", port->name, port->kind), p);
    return cross(s, *port, mac, p, "");
  }

  // ---- VXLAN

  Status encapsulate(const NsState& s, const LinkInfo& vx, Ipv4 nexthop, const Packet& p) {
    const NeighInfo* n = s.neighbour(vx.ifindex, nexthop);
    if (!n)
      return die(s.netns, fmt::format("no neighbour entry for {} on {}: the VTEP's MAC is unknown (Flannel programs one per remote node)", nexthop.str(), vx.name),
                 p, fmt::format("ip -n {} neigh show dev {}", s.netns, vx.name));
    const FdbInfo* f = nullptr;
    for (const FdbInfo& x : s.fdb)
      if (x.ifindex == vx.ifindex && lower_mac(x.mac) == lower_mac(n->mac) && x.dst) f = &x;
    if (!f)
      return die(s.netns, fmt::format("no FDB entry for {} on {}: the kernel does not know which node's VTEP has it", n->mac, vx.name), p,
                 fmt::format("bridge -n {} fdb show dev {}", s.netns, vx.name));
    Packet outer{vx.vxlan_local.value_or(Ipv4{}), *f->dst, Proto::kUdp, static_cast<std::uint16_t>(32768 + (p.src.value ^ p.dst.value) % 28000),
                 vx.vxlan_port, p.mark, CtState::kNew,
                 static_cast<std::uint16_t>(p.size ? p.size + 50 : 0)};  // + outer IPv4, UDP, VXLAN and inner Ethernet headers
    Hop& h = add(s.netns, "vxlan",
                 fmt::format("{} (VNI {}): next hop {} is {} (neighbour {}), and the FDB sends {} to VTEP {}: encapsulated in UDP {} -> {}:{}",
                             vx.name, vx.vni, nexthop.str(), n->mac, n->state, n->mac, f->dst->str(),
                             outer.src.value ? outer.src.str() : std::string("(local)"), f->dst->str(), vx.vxlan_port),
                 fmt::format("bridge -n {} fdb show dev {} | grep -i {}", s.netns, vx.name, n->mac),
                 fmt::format("{} VXLAN to {}", vx.name, f->dst->str()));
    h.evidence.push_back(Evidence{s.netns, "", "", 0, vx.ifindex, true});
    inner_.push_back(p);
    return local_out(s.netns, outer);
  }

  std::optional<LinkInfo> decap_device(const NsState& s, const Packet& p) {
    if (inner_.empty() || p.proto != Proto::kUdp) return std::nullopt;
    for (const LinkInfo& l : s.links)
      if (l.kind == "vxlan" && l.vxlan_port == p.dport) return l;
    return std::nullopt;
  }

  Status decapsulate(const NsState& s, const LinkInfo& vx, const Packet&) {
    Packet inner = inner_.back();
    inner_.pop_back();
    inner.mark = 0;  // it crossed into another namespace inside the outer packet
    Hop& h = add(s.netns, "vxlan", fmt::format("{} (VNI {}) decapsulates: inner {}", vx.name, vx.vni, describe(inner)),
                 fmt::format("ip -n {} -d link show {}", s.netns, vx.name), vx.name + " decapsulates");
    h.evidence.push_back(Evidence{s.netns, "", "", 0, vx.ifindex, false});
    if (!vx.up) return die(s.netns, fmt::format("{} is down", vx.name), inner);
    return arrive(s.netns, vx.ifindex, inner);
  }

  // ---- the end

  // `via`: the link it came in by (rx counters), lo for a packet of the namespace itself.
  Hop& add_deliver(const NsState& s, int via, std::string text, std::string command, std::string brief) {
    Hop& h = add(s.netns, "deliver", std::move(text), std::move(command), std::move(brief));
    if (via) h.evidence.push_back(Evidence{s.netns, "", "", 0, via, false});
    return h;
  }

  Status deliver(const NsState& s, const Packet& p, int via) {
    std::string who = fmt::format("{}{}", p.dst.str(), p.proto == Proto::kIcmp || !p.dport ? std::string() : fmt::format(":{}", p.dport));
    if (reply_) {
      add_deliver(s, via, fmt::format("back in {}: the reply reaches the client's socket ({})", place(s.netns), who), {}, "to the client's socket");
      return end(s.netns, true, fmt::format("the reply reaches {} ({})", place(s.netns), who), p);
    }
    if (p.proto == Proto::kIcmp) {
      add_deliver(s, via, fmt::format("{} is an address of {}: the kernel answers the echo request itself", p.dst.str(), place(s.netns)), {}, "echo answered");
      return end(s.netns, true, fmt::format("delivered to {} ({})", place(s.netns), who), p);
    }
    bool listening = KN_TRY(k_.listening(s.netns, p.proto, p.dport));
    std::string cmd = fmt::format("ip netns exec {} ss -{}lnp", s.netns, p.proto == Proto::kTcp ? 't' : 'u');
    if (!listening) {
      std::string what = p.proto == Proto::kTcp ? "the kernel answers with a TCP reset (connection refused)"
                                                : "the kernel answers with ICMP port unreachable";
      add_deliver(s, via, fmt::format("{} is an address of {}, but nothing listens on {}/{}: {}", p.dst.str(), place(s.netns),
                                          proto_name(p.proto), p.dport, what), cmd, fmt::format("nothing listens on {}/{}", proto_name(p.proto), p.dport));
      return end(s.netns, false, fmt::format("refused by {}: nothing listens on {}/{}", place(s.netns), proto_name(p.proto), p.dport), p);
    }
    add_deliver(s, via, fmt::format("{} is an address of {}: delivered to the socket listening on {}/{}", p.dst.str(), place(s.netns),
                                        proto_name(p.proto), p.dport), cmd, fmt::format("to the socket on {}/{}", proto_name(p.proto), p.dport));
    return end(s.netns, true, fmt::format("delivered to {} ({})", place(s.netns), who), p);
  }

  Kernel& k_;
  const Places& places_;
  const std::map<std::string, Ipv4>& backends_;
  bool reply_;
  Packet current_;  // the packet the walk is at (for the hops' record)
  std::map<std::string, NatRecord>& nat_;
  std::vector<NfBranch>& branches_;
  std::vector<Packet> inner_;  // packets inside VXLAN, innermost first
  Leg leg_;
  int budget_ = kMaxHops;
};

}  // namespace

Result<TraceResult> trace_packet(Kernel& k, const Places& places, const TraceRequest& req) {
  TraceResult out;
  std::map<std::string, NatRecord> nat;
  out.forward = KN_TRY(Walker(k, places, req.backends, false, nat, out.branches).run(req.from_netns, req.packet));
  out.packet = out.forward.sent;
  if (!out.forward.delivered) return out;
  const Packet& f = out.forward.final;
  Packet back{f.dst, f.src, f.proto, f.dport, f.sport, 0, CtState::kEstablished, f.size};
  std::vector<NfBranch> none;
  std::map<std::string, Ipv4> no_backends;
  out.reply = KN_TRY(Walker(k, places, no_backends, true, nat, none).run(out.forward.end_netns, back));
  const Packet& r = out.reply->final;
  bool answered = r.src == out.packet.dst && (r.proto == Proto::kIcmp || r.sport == out.packet.dport);
  if (out.reply->delivered && !answered) {
    out.reply->delivered = false;
    out.reply->outcome = fmt::format("the reply comes back from {}:{}, not from {}:{} that the client talked to: the client drops it "
                                     "(the reverse NAT happened elsewhere: an asymmetric path)",
                                     r.src.str(), r.sport, out.packet.dst.str(), out.packet.dport);
  }
  return out;
}

}  // namespace knlab::trace
