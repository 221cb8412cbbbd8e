#include "trace/netfilter.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace knlab::trace {

std::string_view proto_name(Proto p) {
  switch (p) {
    case Proto::kTcp: return "tcp";
    case Proto::kUdp: return "udp";
    case Proto::kIcmp: return "icmp";
  }
  return "?";
}

std::string describe(const Packet& p) {
  std::string src = p.src.value ? p.src.str() : std::string("(source not chosen yet)");
  if (p.proto == Proto::kIcmp) return fmt::format("{} -> {} icmp", src, p.dst.str());
  std::string sport = p.sport ? std::to_string(p.sport) : std::string("*");
  std::string dport = p.dport ? std::to_string(p.dport) : std::string("*");
  return fmt::format("{}:{} -> {}:{} {}", src, sport, p.dst.str(), dport, proto_name(p.proto));
}

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kAccept: return "ACCEPT";
    case Verdict::kDrop: return "DROP";
    case Verdict::kReject: return "REJECT";
    case Verdict::kUndecided: return "undecided";
  }
  return "?";
}

namespace {

// iptables' interface match: the name, or a prefix when it ends with '+'.
bool iface_matches(const std::string& pattern, const std::string& iface) {
  if (pattern.empty()) return true;
  if (pattern.back() == '+') return iface.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  return pattern == iface;
}

bool is_local(const NfContext& ctx, Ipv4 ip) {
  if ((ip.value >> 24) == 127) return true;
  return std::find(ctx.local_addresses.begin(), ctx.local_addresses.end(), ip) != ctx.local_addresses.end();
}

bool ct_matches(std::uint8_t wanted, CtState ct) {
  std::uint8_t have = ct == CtState::kEstablished ? IptRule::kCtEstablished : 0;
  return (wanted & have) != 0;
}

bool addresses_match(const IptRule& r, const Packet& p, const NfContext& ctx) {
  if (r.src && r.src->contains(p.src) == r.src_negated) return false;
  if (r.dst && !r.dst->contains(p.dst)) return false;
  if (!iface_matches(r.in_iface, ctx.in_iface) || !iface_matches(r.out_iface, ctx.out_iface)) return false;
  if (r.src_type_local && !is_local(ctx, p.src)) return false;
  if (r.dst_type_local && !is_local(ctx, p.dst)) return false;
  return true;
}

bool l4_matches(const IptRule& r, const Packet& p) {
  if (!r.proto.empty() && r.proto != proto_name(p.proto)) return false;
  if (r.dport) {
    std::uint16_t hi = r.dport_end.value_or(*r.dport);
    if (p.dport < *r.dport || p.dport > hi) return false;
  }
  return true;
}

}  // namespace

std::optional<bool> rule_matches(const IptReadRule& rr, const Packet& p, const NfContext& ctx) {
  const IptRule& r = rr.rule;
  if (!addresses_match(r, p, ctx) || !l4_matches(r, p)) return false;
  if (r.physdev_bridged && !ctx.bridged) return false;
  if (r.ctstate && !ct_matches(r.ctstate, p.ct)) return false;
  if (r.mark && ((p.mark & r.mark->mask) == r.mark->value) == r.mark->negated) return false;
  for (const IptRule::SetMatch& s : r.sets) {
    if (!ctx.in_set) return std::nullopt;
    std::optional<bool> in = ctx.in_set(s.name, s.src ? p.src : p.dst);
    if (!in) return std::nullopt;
    if (!*in) return false;
  }
  // sessionAffinity's recent list: a first packet has no entry in it.
  if (r.recent && !r.recent->set) return false;
  if (!rr.undecoded.empty()) return std::nullopt;
  return true;
}

namespace {

struct Frame {
  const IptReadChain* chain;
  std::size_t next = 0;
};

// The DNAT of a KUBE-SEP-like chain: where a branch sends the packet.
const IptRule* dnat_of(const IptReadTable& t, const std::string& chain) {
  const IptReadChain* c = t.chain(chain);
  if (!c) return nullptr;
  for (const IptReadRule& r : c->rules)
    if (r.rule.target == IptRule::Target::kDnat) return &r.rule;
  return nullptr;
}

// kube-proxy's branches from rule `first` of `c`: probability rules, then the last, plain one.
std::vector<NfBranch> branches_at(const IptReadTable& t, const IptReadChain& c, std::size_t first) {
  std::vector<NfBranch> out;
  double rest = 1;
  for (std::size_t i = first; i < c.rules.size(); ++i) {
    const IptRule& r = c.rules[i].rule;
    if (r.target != IptRule::Target::kJump && r.target != IptRule::Target::kDnat) break;
    double p = r.probability.value_or(1);
    NfBranch b{c.name, static_cast<int>(i + 1), rest * p, r.target == IptRule::Target::kDnat ? "DNAT" : r.jump, std::nullopt, 0, false};
    const IptRule* d = r.target == IptRule::Target::kDnat ? &r : dnat_of(t, r.jump);
    if (d) b.to_ip = d->to_ip, b.to_port = d->to_port;
    out.push_back(b);
    rest *= 1 - p;
    if (!r.probability) break;
  }
  return out;
}

class Walk {
 public:
  Walk(const IptReadTable& t, const Packet& p, const NfContext& ctx) : t_(t), ctx_(ctx) { res_.packet = p; }

  NfResult run(std::string_view chain) {
    const IptReadChain* start = t_.chain(chain);
    if (!start) return std::move(res_);
    stack_.push_back({start, 0});
    for (int budget = 100000; budget > 0 && !stack_.empty(); --budget) {
      if (step()) return std::move(res_);
    }
    if (!stack_.empty()) undecided("the walk did not end (a loop of jumps?)");
    return std::move(res_);
  }

 private:
  // One rule (or the end of a chain). True when a verdict is reached.
  bool step() {
    Frame& f = stack_.back();
    if (f.next >= f.chain->rules.size()) return end_of_chain(*f.chain);
    std::size_t i = f.next++;
    const IptReadRule& rr = f.chain->rules[i];
    std::optional<bool> m = rule_matches(rr, res_.packet, ctx_);
    if (!m) return undecided(fmt::format("rule {} of {} cannot be judged ({})", i + 1, f.chain->name,
                                         rr.undecoded.empty() ? "an ipset that is not there" : rr.undecoded));
    if (!*m || !branch_taken(*f.chain, i)) return false;
    res_.steps.push_back(NfStep{t_.name, f.chain->name, static_cast<int>(i + 1), render_rule(rr.rule), rr.rule.comment, target_name(rr.rule), rr.counters});
    return apply_target(rr.rule);
  }

  // Probability rules: whether rule i is the branch followed (chosen once per chain).
  bool branch_taken(const IptReadChain& c, std::size_t i) {
    if (!c.rules[i].rule.probability && (i == 0 || !c.rules[i - 1].rule.probability)) return true;
    if (chosen_chain_ != c.name) {
      std::size_t first = i;
      std::vector<NfBranch> b = branches_at(t_, c, first);
      if (b.empty()) return true;
      std::size_t pick = 0;
      for (std::size_t k = 0; k < b.size(); ++k)
        if (ctx_.backend && b[k].to_ip == ctx_.backend) pick = k;
      b[pick].chosen = true;
      chosen_rule_ = b[pick].rule;
      chosen_chain_ = c.name;
      res_.branches.insert(res_.branches.end(), b.begin(), b.end());
    }
    return static_cast<int>(i + 1) == chosen_rule_;
  }

  bool end_of_chain(const IptReadChain& c) {
    stack_.pop_back();
    if (!stack_.empty()) return false;
    // Only a built-in chain is at the bottom of the stack: its policy decides.
    res_.steps.push_back(NfStep{t_.name, c.name, 0, "policy " + c.policy, "", c.policy, c.policy_counters});
    res_.verdict = c.policy == "DROP" ? Verdict::kDrop : Verdict::kAccept;
    if (res_.verdict == Verdict::kDrop) res_.why = fmt::format("the policy of {} is DROP", c.name);
    return true;
  }

  bool apply_target(const IptRule& r) {
    switch (r.target) {
      case IptRule::Target::kJump: return jump(r);
      case IptRule::Target::kDnat:
        res_.packet.dst = r.to_ip;
        if (r.to_port) res_.packet.dport = r.to_port;
        res_.dnat = true;
        return accept();
      case IptRule::Target::kMasquerade: res_.masquerade = true; return accept();
      case IptRule::Target::kMarkOr: res_.packet.mark |= r.mark_bits; return false;
      case IptRule::Target::kMarkXor: res_.packet.mark ^= r.mark_bits; return false;
      case IptRule::Target::kMarkSet: res_.packet.mark = (res_.packet.mark & ~r.mark_mask) ^ r.mark_bits; return false;
      case IptRule::Target::kNflog: res_.nflog_prefix = r.nflog_prefix; return false;
      case IptRule::Target::kReject:
        res_.verdict = Verdict::kReject;
        res_.why = r.comment;
        return true;
    }
    return false;
  }

  bool jump(const IptRule& r) {
    if (r.jump == "ACCEPT") return accept();
    if (r.jump == "DROP") {
      res_.verdict = Verdict::kDrop;
      res_.why = r.comment;
      return true;
    }
    if (r.jump == "RETURN") {
      if (stack_.size() == 1) return end_of_chain(*stack_.back().chain);  // a built-in chain: its policy
      stack_.pop_back();
      return false;
    }
    const IptReadChain* c = t_.chain(r.jump);
    if (!c) return undecided(fmt::format("rule jumps to {}, which the table does not have", r.jump));
    stack_.push_back({c, 0});
    return false;
  }

  bool accept() {
    res_.verdict = Verdict::kAccept;
    return true;
  }

  bool undecided(std::string why) {
    res_.verdict = Verdict::kUndecided;
    res_.why = std::move(why);
    stack_.clear();
    return true;
  }

  const IptReadTable& t_;
  const NfContext& ctx_;
  NfResult res_;
  std::vector<Frame> stack_;
  std::string chosen_chain_;
  int chosen_rule_ = 0;
};

}  // namespace

NfResult evaluate(const IptReadTable& table, std::string_view chain, const Packet& p, const NfContext& ctx) {
  return Walk(table, p, ctx).run(chain);
}

}  // namespace knlab::trace
