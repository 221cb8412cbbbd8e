// iptables rules as plain data: what kube-proxy writes, in the vocabulary of iptables-save.
//
// The planner (plan/kube_proxy) produces IptTable values, pure and unit-tested as text; the
// kernel layer (net/iptables) encodes them into the legacy tables with libiptc, one commit per
// table. Rendering to iptables-save syntax is for people (`-v`, `kn-lab rules`) and tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.hpp"

namespace knlab {

// One rule. Matches are ANDed; rendering follows iptables-save's order (the order of the
// entry's matches):
//   [! -s SRC] [-d DST] [-i IN] [-o OUT] [-p PROTO] [-m physdev --physdev-is-bridged]
//   [-m comment --comment C] [-m set --match-set S src|dst]... [-m conntrack --ctstate ...]
//   [-m PROTO --dport P[:Q]] [-m addrtype --src-type/--dst-type LOCAL] [-m mark [!] --mark V/M]
//   [-m recent ...] [-m statistic --mode random --probability P] -j TARGET [target options]
struct IptRule {
  std::string chain;

  // --- matches
  std::optional<Cidr> src;
  bool src_negated = false;        // ! -s
  std::optional<Cidr> dst;
  std::string in_iface;            // -i
  std::string out_iface;           // -o
  std::string proto;               // "tcp", "udp", "sctp" or "" (any)
  std::optional<std::uint16_t> dport;  // needs proto: -m tcp --dport N (also renders "-m tcp" alone
                                       // when proto is set and want_proto_match is true)
  std::optional<std::uint16_t> dport_end;  // with dport: the range --dport N:M
  bool physdev_bridged = false;    // -m physdev --physdev-is-bridged (the frame crosses a bridge)
  struct SetMatch {
    std::string name;              // an ipset of the same namespace
    bool src = true;               // src or dst
    bool operator==(const SetMatch&) const = default;
  };
  std::vector<SetMatch> sets;      // -m set --match-set NAME src|dst, each
  // -m conntrack --ctstate: kCtInvalid | kCtRelated | kCtEstablished (0: no conntrack match)
  static constexpr std::uint8_t kCtInvalid = 1, kCtRelated = 2, kCtEstablished = 4;
  std::uint8_t ctstate = 0;
  bool src_type_local = false;     // -m addrtype --src-type LOCAL
  bool want_proto_match = false;   // "-m tcp" without --dport (kube-proxy's DNAT rules have it)
  std::string comment;             // -m comment --comment "..."
  bool dst_type_local = false;     // -m addrtype --dst-type LOCAL
  struct Mark {
    std::uint32_t value = 0;
    std::uint32_t mask = 0xffffffff;
    bool negated = false;          // -m mark ! --mark V/M
    bool operator==(const Mark&) const = default;
  };
  std::optional<Mark> mark;
  struct Recent {
    std::string name;              // --name
    bool set = false;              // --set (else --rcheck)
    std::uint32_t seconds = 0;     // with rcheck: --seconds N
    bool reap = false;             // with rcheck: --reap
    // always --mask 255.255.255.255 --rsource, as kube-proxy writes it
    bool operator==(const Recent&) const = default;
  };
  std::optional<Recent> recent;
  std::optional<double> probability;  // -m statistic --mode random --probability P (printed %.11f)

  // --- target
  enum class Target {
    kJump,        // -j <jump> (a user chain, or ACCEPT/RETURN/DROP)
    kDnat,        // -j DNAT --to-destination <to_ip>:<to_port>
    kMasquerade,  // -j MASQUERADE [--random-fully]
    kMarkOr,      // -j MARK --or-mark <mark_bits>
    kMarkXor,     // -j MARK --xor-mark <mark_bits>
    kReject,      // -j REJECT --reject-with icmp-port-unreachable
    kMarkSet,     // -j MARK --set-xmark <mark_bits>/<mark_mask>
    kNflog,       // -j NFLOG [--nflog-prefix P] --nflog-group G
  };
  Target target = Target::kJump;
  std::string jump;                // for kJump: "KUBE-SVC-...", "ACCEPT", "RETURN", "DROP"
  Ipv4 to_ip;                      // kDnat
  std::uint16_t to_port = 0;       // kDnat
  std::uint32_t mark_bits = 0;     // kMarkOr / kMarkXor / kMarkSet
  std::uint32_t mark_mask = 0;     // kMarkSet
  std::uint16_t nflog_group = 0;   // kNflog
  std::string nflog_prefix;        // kNflog: at most 63 bytes
  bool random_fully = false;       // kMasquerade
  bool operator==(const IptRule&) const = default;
};

// A table's kube-proxy part: the user chains kn-lab owns in it (created if missing, flushed and
// refilled on every apply; chains named KUBE-* that are not listed are deleted), and the rules,
// in order. Rules whose chain is built in (PREROUTING, OUTPUT, POSTROUTING, INPUT, FORWARD) are
// the hooks into kn-lab's chains: apply makes sure each exists exactly once at the top of its
// chain, and leaves any other rule of a built-in chain alone.
struct IptTable {
  std::string name;                  // "nat" or "filter"
  std::vector<std::string> chains;   // user chains, in the order iptables-save lists them
  std::vector<IptRule> rules;
  bool operator==(const IptTable&) const = default;
};

// A rule of `chain` that jumps to `to` (a chain, or ACCEPT/DROP/RETURN), with a comment.
IptRule jump_rule(std::string chain, std::string to, std::string comment = {});

// Built-in chains of a table, in the order iptables-save (and libiptc) list them: hook order.
std::vector<std::string_view> builtin_chains(std::string_view table);
// The target as iptables-save and libiptc name it: the chain jumped to, ACCEPT, DNAT, MARK, ...
std::string target_name(const IptRule& r);

// iptables-save text of the table's kn-lab part: "*nat", ":CHAIN - [0:0]" lines (built-in
// chains as ":PREROUTING ACCEPT [0:0]"), "-A ..." lines, "COMMIT".
std::string render_iptables_save(const IptTable& table);
// One rule as "-A CHAIN ..." (the iptables command without "iptables -t TABLE").
std::string render_rule(const IptRule& rule);

// The statistic match's stored probability: the kernel compares a 31-bit random number with
// lround(p * 2^31) (libxt_statistic.c), and iptables-save prints that fraction back with %.11f.
std::uint32_t statistic_probability_fraction(double probability);

}  // namespace knlab
