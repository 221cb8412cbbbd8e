// iptables-save rendering of IptRule / IptTable.
//
// Every form here was checked against what iptables-legacy-save v1.8.9 prints for the same rule
// (see tests/unit/test_iptables_render.cpp and tests/e2e/test_iptables_apply.py):
//   * addresses are masked and always carry the prefix ("-d 10.96.0.10/32"); 0.0.0.0/0 is omitted
//     unless negated;
//   * comments go through xtables_save_string(): bare when made only of [A-Za-z0-9_-], else in
//     double quotes with \ before " \ and ';
//   * MARK (revision 2) is saved as --set-xmark: --or-mark X is X/X, --xor-mark X is X/0x0;
//   * the statistic probability is saved from the kernel's 31-bit fraction,
//     lround(p * 2^31) / 2^31, with %.11f;
//   * REJECT always names its --reject-with.
#include "ops/iptables_rule.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <unordered_map>

namespace knlab {

namespace {

// xtables_save_string() of iptables (libxtables/xtables.c).
void append_save_string(std::string& out, std::string_view value) {
  constexpr std::string_view kNoQuote =
      "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  out += ' ';
  if (!value.empty() && value.find_first_not_of(kNoQuote) == std::string_view::npos) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '"';
}

void append_cidr(std::string& out, const char* opt, const Cidr& c, bool negated) {
  // print_ip(): nothing for an unnegated 0.0.0.0/0.
  if (c.prefix == 0 && !negated) return;
  out += negated ? " ! " : " ";
  out += opt;
  out += ' ';
  out += c.network().str();
  out += '/';
  out += std::to_string(c.prefix);
}

void append_iface(std::string& out, const char* opt, const std::string& name) {
  // print_iface(): a lone "+" matches every interface and has an all-zero mask: not printed.
  if (name.empty() || name == "+") return;
  out += ' ';
  out += opt;
  out += ' ';
  out += name;
}


}  // namespace

std::vector<std::string_view> builtin_chains(std::string_view table) {
  if (table == "nat") return {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"};
  if (table == "filter" || table == "security") return {"INPUT", "FORWARD", "OUTPUT"};
  if (table == "mangle") return {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
  if (table == "raw") return {"PREROUTING", "OUTPUT"};
  return {};
}

std::string target_name(const IptRule& r) {
  switch (r.target) {
    case IptRule::Target::kJump: return r.jump;
    case IptRule::Target::kDnat: return "DNAT";
    case IptRule::Target::kMasquerade: return "MASQUERADE";
    case IptRule::Target::kMarkOr:
    case IptRule::Target::kMarkXor:
    case IptRule::Target::kMarkSet: return "MARK";
    case IptRule::Target::kReject: return "REJECT";
    case IptRule::Target::kNflog: return "NFLOG";
  }
  return {};
}

std::uint32_t statistic_probability_fraction(double probability) {
  // libxt_statistic.c: info->u.random.probability = lround(0x80000000 * p)
  double p = probability >= 0.0 ? std::min(probability, 1.0) : 0.0;  // NaN too: 0
  return static_cast<std::uint32_t>(std::lround(2147483648.0 * p));
}

IptRule jump_rule(std::string chain, std::string to, std::string comment) {
  IptRule r;
  r.chain = std::move(chain);
  r.jump = std::move(to);
  r.comment = std::move(comment);
  return r;
}

std::string render_rule(const IptRule& r) {
  std::string out;
  out.reserve(160);
  out += "-A ";
  out += r.chain;
  if (r.src) append_cidr(out, "-s", *r.src, r.src_negated);
  if (r.dst) append_cidr(out, "-d", *r.dst, false);
  append_iface(out, "-i", r.in_iface);
  append_iface(out, "-o", r.out_iface);
  if (!r.proto.empty()) {
    out += " -p ";
    out += r.proto;
  }
  if (r.physdev_bridged) out += " -m physdev --physdev-is-bridged";
  // -m comment: "" means no comment match (the model cannot ask for an empty comment).
  if (!r.comment.empty()) {
    out += " -m comment --comment";
    append_save_string(out, r.comment);
  }
  for (const IptRule::SetMatch& m : r.sets) out += fmt::format(" -m set --match-set {} {}", m.name, m.src ? "src" : "dst");
  if (r.ctstate) {
    std::string states;
    for (auto [bit, name] : {std::pair{IptRule::kCtInvalid, "INVALID"}, {IptRule::kCtRelated, "RELATED"}, {IptRule::kCtEstablished, "ESTABLISHED"}})
      if (r.ctstate & bit) states += (states.empty() ? "" : ",") + std::string(name);
    out += " -m conntrack --ctstate " + states;
  }
  if (!r.proto.empty() && (r.dport || r.want_proto_match)) {
    out += " -m ";
    out += r.proto;
  }
  if (r.dport) {
    out += " --dport ";
    out += std::to_string(*r.dport);
    if (r.dport_end && *r.dport_end != *r.dport) out += fmt::format(":{}", *r.dport_end);
  }
  if (r.src_type_local || r.dst_type_local) out += " -m addrtype";
  if (r.src_type_local) out += " --src-type LOCAL";
  if (r.dst_type_local) out += " --dst-type LOCAL";
  if (r.mark) {
    out += " -m mark";
    if (r.mark->negated) out += " !";
    out += " --mark ";
    if (r.mark->mask == 0xffffffffu)
      out += fmt::format("{:#x}", r.mark->value);
    else
      out += fmt::format("{:#x}/{:#x}", r.mark->value, r.mark->mask);
  }
  if (r.recent) {
    out += " -m recent";
    if (r.recent->set) {
      out += " --set";
    } else {
      out += " --rcheck";
      if (r.recent->seconds != 0) out += fmt::format(" --seconds {}", r.recent->seconds);
      if (r.recent->reap) out += " --reap";
    }
    out += " --name ";
    out += r.recent->name;
    out += " --mask 255.255.255.255 --rsource";
  }
  if (r.probability) {
    char buf[32];
    double stored = statistic_probability_fraction(*r.probability) / 2147483648.0;
    std::snprintf(buf, sizeof buf, "%.11f", stored);
    out += " -m statistic --mode random --probability ";
    out += buf;
  }
  switch (r.target) {
    case IptRule::Target::kJump:
      if (!r.jump.empty()) {
        out += " -j ";
        out += r.jump;
      }
      break;
    case IptRule::Target::kDnat:
      out += " -j DNAT --to-destination ";
      out += r.to_ip.str();
      if (r.to_port != 0) out += fmt::format(":{}", r.to_port);
      break;
    case IptRule::Target::kMasquerade:
      out += " -j MASQUERADE";
      if (r.random_fully) out += " --random-fully";
      break;
    case IptRule::Target::kMarkOr:
      out += fmt::format(" -j MARK --set-xmark {:#x}/{:#x}", r.mark_bits, r.mark_bits);
      break;
    case IptRule::Target::kMarkXor:
      out += fmt::format(" -j MARK --set-xmark {:#x}/0x0", r.mark_bits);
      break;
    case IptRule::Target::kReject:
      out += " -j REJECT --reject-with icmp-port-unreachable";
      break;
    case IptRule::Target::kMarkSet:
      out += fmt::format(" -j MARK --set-xmark {:#x}/{:#x}", r.mark_bits, r.mark_mask);
      break;
    case IptRule::Target::kNflog:
      out += " -j NFLOG";
      if (!r.nflog_prefix.empty()) {
        out += " --nflog-prefix";
        append_save_string(out, r.nflog_prefix);
      }
      if (r.nflog_group) out += fmt::format(" --nflog-group {}", r.nflog_group);
      break;
  }
  return out;
}

std::string render_iptables_save(const IptTable& table) {
  // Chain order as iptables-save lists it: the built-in chains in hook order, then the user
  // chains sorted by strcmp() (libiptc keeps them so; std::string compares the same way), then
  // chains only named by rules (a mistake apply refuses; still shown, nothing is hidden).
  const auto builtins = builtin_chains(table.name);
  std::vector<std::string> order(builtins.begin(), builtins.end());
  std::vector<std::string> user;
  for (const auto& c : table.chains)
    if (std::find(builtins.begin(), builtins.end(), c) == builtins.end()) user.push_back(c);
  std::sort(user.begin(), user.end());
  user.erase(std::unique(user.begin(), user.end()), user.end());
  order.insert(order.end(), user.begin(), user.end());
  const std::size_t declared = order.size();
  std::unordered_map<std::string, std::size_t> index;
  index.reserve(order.size() * 2);
  for (std::size_t i = 0; i < order.size(); ++i) index.emplace(order[i], i);
  for (const auto& r : table.rules)
    if (index.emplace(r.chain, order.size()).second) order.push_back(r.chain);

  std::string out;
  out.reserve(64 + order.size() * 32 + table.rules.size() * 160);
  out += '*';
  out += table.name;
  out += '\n';
  for (std::size_t i = 0; i < declared; ++i) {
    out += ':';
    out += order[i];
    out += i < builtins.size() ? " ACCEPT [0:0]\n" : " - [0:0]\n";
  }
  // Rules grouped by chain in chain order, in their own order within a chain.
  std::vector<std::vector<const IptRule*>> by_chain(order.size());
  for (const auto& r : table.rules) by_chain[index.at(r.chain)].push_back(&r);
  for (const auto& rules : by_chain)
    for (const IptRule* r : rules) {
      out += render_rule(*r);
      out += '\n';
    }
  out += "COMMIT\n";
  return out;
}

}  // namespace knlab
