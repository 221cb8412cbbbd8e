// iptables_apply(): IptTable -> struct ipt_entry blobs -> libiptc -> one commit per table.
//
// Encoding. An ipt_entry is the IP header part (struct ipt_ip), then the matches, then the
// target, each an xt_entry_match / xt_entry_target header (32 bytes: size, name, revision)
// followed by the extension's own struct, every size XT_ALIGN'ed (8 bytes). libiptc checks none
// of it: a wrong size or field is an EINVAL from the kernel at commit time. The revisions are
// the ones iptables-legacy 1.8.9 picks on current kernels (read back from rules it wrote):
//   comment r0, tcp/udp r0, addrtype r1, mark r1, recent r1, statistic r0;
//   standard target (jumps, verdicts), DNAT r2 (nf_nat_range2), MASQUERADE r0
//   (nf_nat_ipv4_multi_range_compat), MARK r2 (xt_mark_tginfo2), REJECT r0 (ipt_reject_info).
// Field values are what the iptables extensions' parsers store for the same options, so that
// iptables-legacy-save prints our rules exactly as render_rule() does.
#include "net/iptables.hpp"
#include "net/iptables_codec.hpp"
#include "net/ipset.hpp"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_recent.h>
#include <linux/netfilter/xt_statistic.h>
#include <linux/netfilter/xt_tcpudp.h>
#define _Bool bool  // xt_sctp.h's inline helpers are written in C
#include <linux/netfilter/xt_sctp.h>
#undef _Bool
#include <linux/netfilter/xt_physdev.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_set.h>
#include <linux/netfilter/xt_NFLOG.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace knlab {

namespace {

constexpr std::size_t xt_align(std::size_t n) {
  constexpr std::size_t a = alignof(struct _xt_align);
  return (n + a - 1) & ~(a - 1);
}

constexpr std::size_t kMatchHdr = xt_align(sizeof(xt_entry_match));
constexpr std::size_t kTargetHdr = xt_align(sizeof(xt_entry_target));
constexpr std::size_t kMaxChainName = XT_EXTENSION_MAXNAMELEN - 1;  // 28, as iptables -N allows
// The largest entry this encoder writes: every match at once and the largest target.
constexpr std::size_t kMaxSets = 3;  // -m set matches in one rule
constexpr std::size_t kMaxEntry =
    sizeof(ipt_entry) + kMatchHdr * (9 + kMaxSets) + xt_align(sizeof(xt_comment_info)) +
    xt_align(sizeof(xt_physdev_info)) + kMaxSets * xt_align(sizeof(xt_set_info_match_v4)) +
    xt_align(sizeof(xt_conntrack_mtinfo3)) + xt_align(sizeof(xt_sctp_info)) +
    xt_align(sizeof(xt_tcp)) + xt_align(sizeof(xt_addrtype_info_v1)) +
    xt_align(sizeof(xt_mark_mtinfo1)) + xt_align(sizeof(xt_recent_mtinfo_v1)) +
    xt_align(sizeof(xt_statistic_info)) + kTargetHdr + xt_align(sizeof(xt_nflog_info)) + xt_align(sizeof(nf_nat_range2));

struct IptcFree {
  void operator()(xtc_handle* h) const { iptc_free(h); }
};
using IptcHandle = std::unique_ptr<xtc_handle, IptcFree>;

bool is_verdict(std::string_view name) {
  return name == IPTC_LABEL_ACCEPT || name == IPTC_LABEL_DROP || name == IPTC_LABEL_RETURN ||
         name == IPTC_LABEL_QUEUE;
}

// A rule that cannot be encoded: what is wrong and what is allowed.
struct Refusal {
  std::string detail;
  std::string hint;
};

// Builds ipt_entry blobs in one reusable, 8-byte aligned buffer (libiptc copies what it keeps).
// The ipset index lookup of the namespace being written (called while inside it), remembered per
// name for the length of one apply.
std::function<std::optional<std::uint16_t>(const std::string&)> set_indexes() {
  return [cache = std::make_shared<std::unordered_map<std::string, std::optional<std::uint16_t>>>()](const std::string& name) {
    auto [it, added] = cache->try_emplace(name);
    if (added) it->second = ipset_index(name);
    return it->second;
  };
}

class EntryBuilder {
 public:
  // `set_index` finds an ipset's index by name in the namespace the rules go to.
  using SetIndex = std::function<std::optional<std::uint16_t>(const std::string&)>;
  explicit EntryBuilder(std::string table, SetIndex set_index = {}) : table_(std::move(table)), set_index_(std::move(set_index)) {}

  // Encodes `r`; the entry stays valid until the next build(). `chain_ok(name)` says whether a
  // jump target names a chain that exists.
  template <class ChainOk>
  std::optional<Refusal> build(const IptRule& r, ChainOk&& chain_ok) {
    std::memset(buf_, 0, used_);
    used_ = sizeof(ipt_entry);
    ipt_entry e{};
    if (auto bad = encode_ip(r, e.ip)) return bad;
    if (auto bad = encode_matches(r)) return bad;
    e.target_offset = static_cast<std::uint16_t>(used_);
    if (auto bad = encode_target(r, chain_ok)) return bad;
    e.next_offset = static_cast<std::uint16_t>(used_);
    std::memcpy(buf_, &e, sizeof e);
    return std::nullopt;
  }

  // The matches, in iptables-save's order: physdev, comment, set, conntrack, tcp/udp/sctp,
  // addrtype, mark, recent, statistic.
  std::optional<Refusal> encode_matches(const IptRule& r) {
    if (r.physdev_bridged) {
      xt_physdev_info p{};
      p.bitmask = XT_PHYSDEV_OP_BRIDGED;
      put_match("physdev", 0, p);
    }
    if (!r.comment.empty()) {
      if (r.comment.size() >= XT_MAX_COMMENT_LEN || r.comment.find('\0') != std::string::npos)
        return Refusal{fmt::format("comment is {} bytes long", r.comment.size()),
                       fmt::format("a comment holds at most {} bytes, without NUL",
                                   XT_MAX_COMMENT_LEN - 1)};
      xt_comment_info c{};
      std::memcpy(c.comment, r.comment.data(), r.comment.size());
      put_match("comment", 0, c);
    }
    if (auto bad = encode_sets(r)) return bad;
    if (r.ctstate) {
      xt_conntrack_mtinfo3 c{};
      c.match_flags = XT_CONNTRACK_STATE;
      if (r.ctstate & IptRule::kCtInvalid) c.state_mask |= XT_CONNTRACK_STATE_INVALID;
      if (r.ctstate & IptRule::kCtRelated) c.state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
      if (r.ctstate & IptRule::kCtEstablished) c.state_mask |= XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
      put_match("conntrack", 3, c);
    }
    if (r.dport || r.want_proto_match) {
      if (r.proto.empty())
        return Refusal{"--dport (-m tcp/udp) without a protocol", "set proto to \"tcp\" or \"udp\""};
      std::uint16_t lo = r.dport.value_or(0), hi = r.dport_end.value_or(r.dport.value_or(0xffff));
      if (hi < lo) return Refusal{fmt::format("port range {}:{} ends below its start", lo, hi), "the end of a range is at least its start"};
      if (r.proto == "sctp") {
        xt_sctp_info m{};
        m.dpts[0] = lo;
        m.dpts[1] = hi;
        m.spts[0] = 0;
        m.spts[1] = 0xffff;
        m.flags = r.dport ? XT_SCTP_DEST_PORTS : 0;
        put_match("sctp", 0, m);
      }
      // xt_tcp and xt_udp share their port fields: any source port, the destination range.
      auto ports = [&](auto m) {
        m.spts[0] = 0;
        m.spts[1] = 0xffff;
        m.dpts[0] = lo;
        m.dpts[1] = hi;
        return m;
      };
      if (r.proto == "tcp") put_match("tcp", 0, ports(xt_tcp{}));
      else if (r.proto == "udp") put_match("udp", 0, ports(xt_udp{}));
    }
    if (r.dst_type_local || r.src_type_local) {
      xt_addrtype_info_v1 a{};
      if (r.src_type_local) a.source = XT_ADDRTYPE_LOCAL;
      if (r.dst_type_local) a.dest = XT_ADDRTYPE_LOCAL;
      put_match("addrtype", 1, a);
    }
    if (r.mark) {
      xt_mark_mtinfo1 m{};
      m.mark = r.mark->value;
      m.mask = r.mark->mask;
      m.invert = r.mark->negated ? 1 : 0;
      put_match("mark", 1, m);
    }
    if (r.recent)
      if (auto bad = encode_recent(*r.recent)) return bad;
    if (r.probability) {
      double p = *r.probability;
      if (!(p >= 0.0 && p <= 1.0))
        return Refusal{fmt::format("probability {} is out of range", p), "0 <= probability <= 1"};
      xt_statistic_info s{};
      s.mode = XT_STATISTIC_MODE_RANDOM;
      // u.random.probability is u.nth.every; libxt_statistic's final check also copies it into
      // u.nth.count (unused by the kernel). Doing the same keeps the blob byte-identical to
      // iptables', so `iptables-legacy -C/-D` with the same options finds our rule.
      s.u.nth.every = statistic_probability_fraction(p);
      s.u.nth.count = s.u.nth.every;
      put_match("statistic", 0, s);
    }

    return std::nullopt;
  }

  // -m set (revision 4, as iptables 1.8.9 writes it): the set's index in this namespace, and its direction as libxt_set
  // writes it (dimension 1; the flag bit 1 << 1 for src).
  std::optional<Refusal> encode_sets(const IptRule& r) {
    if (r.sets.size() > kMaxSets)
      return Refusal{fmt::format("{} set matches in one rule", r.sets.size()), fmt::format("at most {}", kMaxSets)};
    for (const IptRule::SetMatch& m : r.sets) {
      auto index = set_index_ ? set_index_(m.name) : std::nullopt;
      if (!index)
        return Refusal{fmt::format("ipset {} does not exist in this namespace", m.name), "the ipsets a rule names are made before the rules"};
      xt_set_info_match_v4 info{};
      info.match_set.index = *index;
      info.match_set.dim = 1;
      info.match_set.flags = m.src ? (1 << 1) : 0;
      put_match("set", 4, info);
    }
    return std::nullopt;
  }

  std::optional<Refusal> encode_recent(const IptRule::Recent& rc) {
    if (rc.name.empty() || rc.name.size() >= XT_RECENT_NAME_LEN ||
        rc.name.find_first_of(std::string_view("/\0", 2)) != std::string::npos)
      return Refusal{fmt::format("recent list name \"{}\" is invalid", rc.name),
                     fmt::format("1 to {} characters, no '/'", XT_RECENT_NAME_LEN - 1)};
    if (rc.set && (rc.seconds != 0 || rc.reap))
      return Refusal{"--seconds/--reap with --set", "--seconds and --reap go with --rcheck"};
    if (rc.reap && rc.seconds == 0)
      return Refusal{"--reap without --seconds", "give --seconds with --reap"};
    xt_recent_mtinfo_v1 m{};
    m.seconds = rc.seconds;
    m.check_set = static_cast<std::uint8_t>((rc.set ? XT_RECENT_SET : XT_RECENT_CHECK) |
                                            (rc.reap ? XT_RECENT_REAP : 0));
    // libxt_recent starts from the name "DEFAULT" and copies --name over it with its NUL, so a
    // name shorter than 7 leaves the tail ("AB" is "AB\0AULT"). The kernel hands the whole
    // field back and `iptables -C/-D` compares it: do the same to stay byte-identical.
    std::memcpy(m.name, "DEFAULT", 7);
    std::memcpy(m.name, rc.name.c_str(), rc.name.size() + 1);
    m.side = XT_RECENT_SOURCE;
    m.mask.ip = 0xffffffffu;  // --mask 255.255.255.255
    put_match("recent", 1, m);
    return std::nullopt;
  }

  template <class ChainOk>
  std::optional<Refusal> encode_target(const IptRule& r, ChainOk&& chain_ok) {
    switch (r.target) {
      case IptRule::Target::kJump: {
        if (r.jump.size() > kMaxChainName)
          return Refusal{fmt::format("jump target {} is longer than {} characters", r.jump,
                                     kMaxChainName),
                         ""};
        if (!r.jump.empty() && !is_verdict(r.jump) && !chain_ok(r.jump))
          return Refusal{fmt::format("jump to {}, which is not a chain of table {}", r.jump, table_),
                         "list the chain in IptTable::chains, or jump to ACCEPT/DROP/RETURN"};
        int verdict = 0;
        put_target(r.jump, 0, verdict);
        break;
      }
      case IptRule::Target::kDnat: {
        if (table_ != "nat") return Refusal{"DNAT outside the nat table", "DNAT rules go in nat"};
        if (r.to_port != 0 && r.proto.empty())
          return Refusal{"DNAT to a port without a protocol", "set proto to \"tcp\" or \"udp\""};
        nf_nat_range2 n{};
        n.flags = NF_NAT_RANGE_MAP_IPS | (r.to_port != 0 ? NF_NAT_RANGE_PROTO_SPECIFIED : 0u);
        n.min_addr.ip = n.max_addr.ip = r.to_ip.network_order();
        n.min_proto.all = n.max_proto.all = htons(r.to_port);
        put_target("DNAT", 2, n);
        break;
      }
      case IptRule::Target::kMasquerade: {
        if (table_ != "nat")
          return Refusal{"MASQUERADE outside the nat table", "MASQUERADE rules go in nat"};
        nf_nat_ipv4_multi_range_compat m{};
        m.rangesize = 1;
        m.range[0].flags = r.random_fully ? NF_NAT_RANGE_PROTO_RANDOM_FULLY : 0u;
        put_target("MASQUERADE", 0, m);
        break;
      }
      case IptRule::Target::kMarkOr:
      case IptRule::Target::kMarkXor: {
        xt_mark_tginfo2 m{};
        m.mark = r.mark_bits;
        m.mask = r.target == IptRule::Target::kMarkOr ? r.mark_bits : 0u;
        put_target("MARK", 2, m);
        break;
      }
      case IptRule::Target::kReject: {
        ipt_reject_info j{};
        j.with = IPT_ICMP_PORT_UNREACHABLE;
        put_target("REJECT", 0, j);
        break;
      }
      case IptRule::Target::kMarkSet: {
        xt_mark_tginfo2 m{};
        m.mark = r.mark_bits;
        m.mask = r.mark_mask;
        put_target("MARK", 2, m);
        break;
      }
      case IptRule::Target::kNflog: {
        xt_nflog_info n{};
        if (r.nflog_prefix.size() >= sizeof n.prefix)
          return Refusal{fmt::format("NFLOG prefix is {} bytes long", r.nflog_prefix.size()), fmt::format("at most {}", sizeof n.prefix - 1)};
        n.group = r.nflog_group;
        n.threshold = XT_NFLOG_DEFAULT_THRESHOLD;
        std::memcpy(n.prefix, r.nflog_prefix.data(), r.nflog_prefix.size());
        put_target("NFLOG", 0, n);
        break;
      }
    }
    return std::nullopt;
  }

  const ipt_entry* entry() const { return reinterpret_cast<const ipt_entry*>(buf_); }
  std::size_t size() const { return used_; }

 private:
  std::optional<Refusal> encode_ip(const IptRule& r, ipt_ip& ip) {
    if (r.src) {
      ip.src.s_addr = r.src->network().network_order();
      ip.smsk.s_addr = htonl(r.src->mask());
      if (r.src_negated) ip.invflags |= IPT_INV_SRCIP;
    }
    if (r.dst) {
      ip.dst.s_addr = r.dst->network().network_order();
      ip.dmsk.s_addr = htonl(r.dst->mask());
    }
    if (auto bad = encode_iface(r.in_iface, ip.iniface, ip.iniface_mask)) return bad;
    if (auto bad = encode_iface(r.out_iface, ip.outiface, ip.outiface_mask)) return bad;
    if (r.proto == "tcp")
      ip.proto = IPPROTO_TCP;
    else if (r.proto == "udp")
      ip.proto = IPPROTO_UDP;
    else if (r.proto == "sctp")
      ip.proto = IPPROTO_SCTP;
    else if (!r.proto.empty())
      return Refusal{fmt::format("protocol \"{}\" is not supported", r.proto), "use tcp, udp or sctp"};
    return std::nullopt;
  }

  // xtables_parse_interface(): "eth0" matches the name and its NUL; "eth+" matches the prefix.
  static std::optional<Refusal> encode_iface(const std::string& name, char (&via)[IFNAMSIZ],
                                             unsigned char (&mask)[IFNAMSIZ]) {
    if (name.empty()) return std::nullopt;
    if (name.size() >= IFNAMSIZ)
      return Refusal{fmt::format("interface name {} is too long", name),
                     fmt::format("at most {} characters", IFNAMSIZ - 1)};
    std::memcpy(via, name.data(), name.size());
    if (name.back() == '+')
      std::memset(mask, 0xff, name.size() - 1);
    else
      std::memset(mask, 0xff, name.size() + 1);
    return std::nullopt;
  }

  template <class T>
  void put_match(const char* name, std::uint8_t revision, const T& data) {
    xt_entry_match m{};
    m.u.user.match_size = static_cast<std::uint16_t>(kMatchHdr + xt_align(sizeof(T)));
    std::strncpy(m.u.user.name, name, sizeof m.u.user.name - 1);
    m.u.user.revision = revision;
    std::memcpy(buf_ + used_, &m, sizeof m);
    std::memcpy(buf_ + used_ + kMatchHdr, &data, sizeof data);
    used_ += m.u.user.match_size;
  }

  template <class T>
  void put_target(std::string_view name, std::uint8_t revision, const T& data) {
    xt_entry_target t{};
    t.u.user.target_size = static_cast<std::uint16_t>(kTargetHdr + xt_align(sizeof(T)));
    std::memcpy(t.u.user.name, name.data(), std::min(name.size(), sizeof t.u.user.name - 1));
    t.u.user.revision = revision;
    std::memcpy(buf_ + used_, &t, sizeof t);
    std::memcpy(buf_ + used_ + kTargetHdr, &data, sizeof data);
    used_ += t.u.user.target_size;
  }

  std::string table_;
  SetIndex set_index_;
  alignas(8) unsigned char buf_[kMaxEntry] = {};
  std::size_t used_ = 0;
};

// The sizes iptables-legacy 1.8.9 writes on x86_64 (read back from its rules with libiptc).
static_assert(sizeof(ipt_entry) == 112);
static_assert(kMatchHdr + xt_align(sizeof(xt_comment_info)) == 288);
static_assert(kMatchHdr + xt_align(sizeof(xt_tcp)) == 48);
static_assert(kMatchHdr + xt_align(sizeof(xt_udp)) == 40 + 8);
static_assert(kMatchHdr + xt_align(sizeof(xt_addrtype_info_v1)) == 40);
static_assert(kMatchHdr + xt_align(sizeof(xt_mark_mtinfo1)) == 48);
static_assert(kMatchHdr + xt_align(sizeof(xt_recent_mtinfo_v1)) == 264);
static_assert(kMatchHdr + xt_align(sizeof(xt_statistic_info)) == 56);
static_assert(kTargetHdr + xt_align(sizeof(int)) == 40);  // standard target (jump, verdict)
static_assert(sizeof(xt_standard_target) <= 40);
static_assert(kTargetHdr + xt_align(sizeof(nf_nat_range2)) == 80);  // DNAT r2
static_assert(kTargetHdr + xt_align(sizeof(nf_nat_ipv4_multi_range_compat)) == 56);  // MASQUERADE
static_assert(kTargetHdr + xt_align(sizeof(xt_mark_tginfo2)) == 40);
static_assert(kTargetHdr + xt_align(sizeof(ipt_reject_info)) == 40);

// The target's name as libiptc reports it (chain name or verdict for standard targets).
std::string_view rule_target(const ipt_entry* e, xtc_handle* h) {
  const char* t = iptc_get_target(e, h);
  return t ? std::string_view(t) : std::string_view();
}

// Whether an existing entry is the same rule as `want` (built from `r`): the IP part, each match
// (size, name, revision, data) and the target (by name for jumps and verdicts, which libiptc
// resolves; by name, revision and data for extension targets). Not a memcmp of the whole blob:
// the kernel hands back only the NUL-terminated part of each name field, the rest of the 29
// bytes is whatever was in libiptc's buffer.
bool same_header(const xt_entry_match* a, const xt_entry_match* b) {
  return a->u.match_size == b->u.match_size && a->u.user.revision == b->u.user.revision &&
         std::strncmp(a->u.user.name, b->u.user.name, sizeof a->u.user.name) == 0;
}

bool same_entry(const ipt_entry* have, xtc_handle* h, const ipt_entry* want, const IptRule& r) {
  if (have->target_offset != want->target_offset || have->next_offset != want->next_offset)
    return false;
  if (std::memcmp(&have->ip, &want->ip, sizeof have->ip) != 0) return false;
  const auto* hb = reinterpret_cast<const unsigned char*>(have);
  const auto* wb = reinterpret_cast<const unsigned char*>(want);
  for (std::size_t off = sizeof(ipt_entry); off < want->target_offset;) {
    const auto* hm = reinterpret_cast<const xt_entry_match*>(hb + off);
    const auto* wm = reinterpret_cast<const xt_entry_match*>(wb + off);
    if (wm->u.match_size < kMatchHdr || !same_header(hm, wm) ||
        std::memcmp(hb + off + kMatchHdr, wb + off + kMatchHdr, wm->u.match_size - kMatchHdr) != 0)
      return false;
    off += wm->u.match_size;
  }
  const auto* ht = reinterpret_cast<const xt_entry_target*>(hb + have->target_offset);
  const auto* wt = reinterpret_cast<const xt_entry_target*>(wb + want->target_offset);
  if (ht->u.target_size != wt->u.target_size) return false;
  if (r.target == IptRule::Target::kJump) return rule_target(have, h) == r.jump;
  return ht->u.user.revision == wt->u.user.revision &&
         std::strncmp(ht->u.user.name, wt->u.user.name, sizeof ht->u.user.name) == 0 &&
         std::memcmp(hb + have->target_offset + kTargetHdr, wb + want->target_offset + kTargetHdr,
                     wt->u.target_size - kTargetHdr) == 0;
}

// What the kernel checks when it receives the table (mark_source_chains, xt_check_target),
// checked first so that the error names the rule: jump loops, and targets reached from a hook
// they do not work in (DNAT only in PREROUTING/OUTPUT, MASQUERADE only in POSTROUTING, REJECT
// only in INPUT/FORWARD/OUTPUT). Follows the jumps of the table's own rules.
std::optional<std::pair<const IptRule*, Refusal>> check_graph(const IptTable& t) {
  constexpr std::array<std::string_view, 5> kHooks = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT",
                                                       "POSTROUTING"};
  std::unordered_map<std::string_view, std::size_t> idx;
  std::vector<std::string_view> names;
  auto node = [&](std::string_view n) {
    auto [it, added] = idx.emplace(n, names.size());
    if (added) names.push_back(n);
    return it->second;
  };
  for (auto h : kHooks) node(h);
  for (const auto& c : t.chains) node(c);
  std::vector<std::vector<std::size_t>> out(names.size());
  for (const auto& r : t.rules) {
    auto from = idx.find(r.chain);
    auto to = idx.find(r.jump);
    if (r.target == IptRule::Target::kJump && from != idx.end() && to != idx.end() &&
        to->second >= kHooks.size())
      out[from->second].push_back(to->second);
  }
  // Loops: an iterative depth-first search over the user chains.
  std::vector<std::uint8_t> color(names.size(), 0);  // 0 new, 1 on the stack, 2 done
  for (std::size_t start = 0; start < names.size(); ++start) {
    if (color[start] != 0) continue;
    std::vector<std::pair<std::size_t, std::size_t>> stack{{start, 0}};
    color[start] = 1;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next == out[n].size()) {
        color[n] = 2;
        stack.pop_back();
        continue;
      }
      std::size_t m = out[n][next++];
      if (color[m] == 1) {
        std::string path(names[m]);
        for (auto it = std::find_if(stack.begin(), stack.end(), [&](auto& e) { return e.first == m; });
             it != stack.end(); ++it)
          if (it->first != m) path += fmt::format(" -> {}", names[it->first]);
        path += fmt::format(" -> {}", names[m]);
        for (const auto& r : t.rules)
          if (r.chain == names[n] && r.jump == names[m] && r.target == IptRule::Target::kJump)
            return std::pair{&r, Refusal{fmt::format("the jumps loop: {}", path),
                                         "the kernel refuses chains that jump back into themselves"}};
      }
      if (color[m] == 0) {
        color[m] = 1;
        stack.emplace_back(m, 0);
      }
    }
  }
  // Hooks reaching each chain, with the chain each was first reached from (for the path).
  std::vector<std::vector<std::size_t>> parent(kHooks.size());
  std::vector<unsigned> reach(names.size(), 0);
  for (std::size_t h = 0; h < kHooks.size(); ++h) {
    parent[h].assign(names.size(), SIZE_MAX);
    std::vector<std::size_t> queue{h};
    reach[h] |= 1u << h;
    for (std::size_t qi = 0; qi < queue.size(); ++qi)
      for (std::size_t m : out[queue[qi]])
        if (!(reach[m] & (1u << h))) {
          reach[m] |= 1u << h;
          parent[h][m] = queue[qi];
          queue.push_back(m);
        }
  }
  for (const auto& r : t.rules) {
    // Bits are indexes in kHooks.
    unsigned allowed = 0;
    std::string_view target, where;
    if (r.target == IptRule::Target::kDnat) {
      allowed = (1u << 0) | (1u << 3);
      target = "DNAT";
      where = "PREROUTING and OUTPUT";
    } else if (r.target == IptRule::Target::kMasquerade) {
      allowed = 1u << 4;
      target = "MASQUERADE";
      where = "POSTROUTING";
    } else if (r.target == IptRule::Target::kReject) {
      allowed = (1u << 1) | (1u << 2) | (1u << 3);
      target = "REJECT";
      where = "INPUT, FORWARD and OUTPUT";
    } else {
      continue;
    }
    auto c = idx.find(r.chain);
    if (c == idx.end()) continue;
    unsigned wrong = reach[c->second] & ~allowed;
    if (!wrong) continue;
    std::size_t h = static_cast<std::size_t>(std::countr_zero(wrong));
    std::string path(names[c->second]);
    for (std::size_t n = parent[h][c->second]; n != SIZE_MAX; n = parent[h][n])
      path = fmt::format("{} -> {}", names[n], path);
    return std::pair{&r, Refusal{fmt::format("{} is reached from {} ({}), but works only in {}",
                                             target, kHooks[h], path, where),
                                 "jump to this chain only from the hooks the target works in"}};
  }
  return std::nullopt;
}

class Applier {
 public:
  Applier(const NetnsRef& ns, const IptTable& table) : ns_(ns), t_(table), enc_(table.name, set_indexes()) {}

  // One attempt; *again is set when the kernel reports a concurrent change (EAGAIN).
  Status run(bool* again) {
    *again = false;
    KN_TRY(check_chains());
    if (auto bad = check_graph(t_)) return fail(refused(bad->first, bad->first->chain, bad->second));
    auto inside = KN_TRY(ScopedNetns::enter(ns_));
    h_.reset(iptc_init(t_.name.c_str()));
    if (!h_) {
      int err = errno;
      Error e = table_error("read iptables table", err);
      if (err == ENOENT || err == EINVAL)
        e.with_hint(fmt::format("the kernel has no legacy iptables table '{}' (iptable_{} module, "
                                "CONFIG_IP_NF_IPTABLES_LEGACY)", t_.name, t_.name));
      return fail(std::move(e));
    }
    KN_TRY(prepare_chains());
    KN_TRY(fix_hooks());
    KN_TRY(delete_stale());
    KN_TRY(append_rules());
    KN_TRY(insert_hooks());
    if (!iptc_commit(h_.get())) {
      int err = errno;
      if (err == EAGAIN) {
        *again = true;
        return {};
      }
      Error e = table_error("commit iptables table", err);
      e.detail = fmt::format("{}{}the kernel refused the new table ({} rules)",
                             iptc_text(err), iptc_text(err).empty() ? "" : "; ", t_.rules.size());
      if (err == EINVAL || err == ENOENT || err == ELOOP)
        e.with_hint("the table is unchanged; `dmesg | tail` names the match or target the kernel "
                    "refused (x_tables: ...), e.g. a NAT target reached from the wrong hook");
      return fail(std::move(e));
    }
    return {};
  }

 private:
  std::string iptc_text(int err) const {
    const char* s = iptc_strerror(err);
    if (!s || std::string_view(s) == std::strerror(err)) return {};
    return s;
  }

  Error table_error(std::string op, int err) const {
    Error e = sys_error(std::move(op), t_.name, err, ns_.name());
    e.detail = iptc_text(err);
    return e;
  }

  Error chain_error(std::string op, const std::string& chain, int err) const {
    Error e = sys_error(std::move(op), fmt::format("{} of table {}", chain, t_.name), err,
                        ns_.name());
    e.detail = iptc_text(err);
    return e;
  }

  Error rule_error(std::string op, const IptRule& r, int err) const {
    Error e = sys_error(std::move(op), fmt::format("\"{}\" in table {}", render_rule(r), t_.name),
                        err, ns_.name());
    e.detail = iptc_text(err);
    return e;
  }

  Error refused(const IptRule* r, const std::string& chain, Refusal why) const {
    Error e;
    e.kind = ErrorKind::kInput;
    e.op = "encode iptables rule";
    e.object = r ? fmt::format("\"{}\" in table {}", render_rule(*r), t_.name)
                 : fmt::format("chain {} of table {}", chain, t_.name);
    e.netns = ns_.name();
    e.detail = std::move(why.detail);
    e.hint = std::move(why.hint);
    return e;
  }

  static bool builtin_name(std::string_view c) {
    return c == "PREROUTING" || c == "INPUT" || c == "FORWARD" || c == "OUTPUT" ||
           c == "POSTROUTING";
  }

  // The listed chain names are usable (before touching the kernel).
  Status check_chains() {
    wanted_.clear();
    for (const auto& c : t_.chains) {
      if (c.empty() || c.size() > kMaxChainName || builtin_name(c) || is_verdict(c) ||
          c.find_first_of(" \t!") != std::string::npos)
        return fail(refused(nullptr, c,
                            {fmt::format("\"{}\" cannot name a user chain", c),
                             fmt::format("1 to {} characters, no blank or '!', not a built-in "
                                         "chain or verdict name",
                                         kMaxChainName)}));
      wanted_.insert(c);
    }
    return {};
  }

  // Lists the existing chains; creates the missing listed ones and flushes the rest of them and
  // the stale KUBE-* chains (whose rules may jump to each other).
  Status prepare_chains() {
    existing_.clear();
    builtins_.clear();
    stale_.clear();
    stale_set_.clear();
    for (const char* c = iptc_first_chain(h_.get()); c; c = iptc_next_chain(h_.get())) {
      existing_.insert(c);
      if (iptc_builtin(c, h_.get()))
        builtins_.emplace_back(c);
      else if (!wanted_.contains(c) && std::string_view(c).starts_with("KUBE-"))
        stale_.emplace_back(c);
    }
    stale_set_.insert(stale_.begin(), stale_.end());
    // libiptc keeps the chain list sorted and looks for each new chain's place from the chain
    // index: a chain smaller than every other goes in at the front at once, so creating them in
    // descending order costs O(1) each (ascending order walks the unindexed tail every time).
    std::vector<std::string> sorted(wanted_.begin(), wanted_.end());
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    for (const auto& c : sorted) {
      if (existing_.contains(c)) {
        if (!iptc_flush_entries(c.c_str(), h_.get()))
          return fail(chain_error("flush iptables chain", c, errno));
      } else if (!iptc_create_chain(c.c_str(), h_.get())) {
        return fail(chain_error("create iptables chain", c, errno));
      }
    }
    for (const auto& c : stale_)
      if (!iptc_flush_entries(c.c_str(), h_.get()))
        return fail(chain_error("flush iptables chain", c, errno));
    return {};
  }

  bool is_builtin(const std::string& c) const {
    return std::find(builtins_.begin(), builtins_.end(), c) != builtins_.end();
  }

  // A jump target that exists once the chains are prepared: a listed chain, or a user chain
  // that is not kn-lab's (a learner's own).
  bool chain_exists(const std::string& c) const {
    return wanted_.contains(c) ||
           (existing_.contains(c) && !is_builtin(c) && !stale_set_.contains(c));
  }

  // Encodes the hook rules of each built-in chain; removes kn-lab's rules from the built-in
  // chains unless the chain already starts with exactly the wanted hooks and has no other
  // kn-lab rule (then nothing changes, counters included).
  Status fix_hooks() {
    hooks_.clear();
    for (const auto& r : t_.rules) {
      if (wanted_.contains(r.chain)) continue;
      if (!is_builtin(r.chain))
        return fail(refused(&r, r.chain,
                            {fmt::format("chain {} is neither listed in the table's chains nor "
                                         "built into table {}",
                                         r.chain, t_.name),
                             "list the chain in IptTable::chains"}));
      if (auto bad = enc_.build(r, [this](const std::string& c) { return chain_exists(c); }))
        return fail(refused(&r, r.chain, std::move(*bad)));
      auto* p = reinterpret_cast<const unsigned char*>(enc_.entry());
      hooks_.push_back(Hook{&r, std::vector<unsigned char>(p, p + enc_.size())});
    }
    for (const auto& chain : builtins_) {
      std::vector<const Hook*> want;
      for (const auto& hk : hooks_)
        if (hk.rule->chain == chain) want.push_back(&hk);
      std::vector<unsigned> ours;  // rule numbers (0-based) of kn-lab's rules in the chain
      bool in_place = true;
      unsigned n = 0;
      for (const ipt_entry* e = iptc_first_rule(chain.c_str(), h_.get()); e;
           e = iptc_next_rule(e, h_.get()), ++n) {
        std::string target(rule_target(e, h_.get()));
        bool at_place = n < want.size() && same_entry(e, h_.get(), want[n]->entry(), *want[n]->rule);
        bool mine = at_place || wanted_.contains(target) || target.starts_with("KUBE-") ||
                    std::any_of(want.begin(), want.end(), [&](const Hook* hk) {
                      return same_entry(e, h_.get(), hk->entry(), *hk->rule);
                    });
        if (mine) ours.push_back(n);
        if (n < want.size() ? !at_place : mine) in_place = false;
      }
      if (n < want.size()) in_place = false;
      if (in_place) continue;
      for (auto it = ours.rbegin(); it != ours.rend(); ++it)
        if (!iptc_delete_num_entry(chain.c_str(), *it, h_.get()))
          return fail(chain_error("delete kn-lab rule from iptables chain", chain, errno));
      to_insert_.emplace_back(chain, std::move(want));
    }
    return {};
  }

  Status delete_stale() {
    for (const auto& c : stale_) {
      if (!iptc_delete_chain(c.c_str(), h_.get())) {
        int err = errno;
        Error e = chain_error("delete iptables chain", c, err);
        if (err == EMLINK || err == EBUSY) {
          e.detail = "rules outside kn-lab's chains still jump to it";
          e.hint = fmt::format("find them with `ip netns exec {} iptables-legacy-save -t {}` and "
                               "remove them",
                               ns_.name(), t_.name);
        }
        return fail(std::move(e));
      }
    }
    return {};
  }

  Status append_rules() {
    // Consecutive rules mostly share their chain and often their jump: remember the last answers.
    const std::string* last_chain = nullptr;
    bool last_wanted = false;
    const std::string* last_jump = nullptr;
    bool last_exists = false;
    auto exists = [&](const std::string& c) {
      if (!last_jump || *last_jump != c) {
        last_jump = &c;
        last_exists = chain_exists(c);
      }
      return last_exists;
    };
    for (const auto& r : t_.rules) {
      if (!last_chain || *last_chain != r.chain) {
        last_chain = &r.chain;
        last_wanted = wanted_.contains(r.chain);
      }
      if (!last_wanted) continue;  // hooks: inserted after
      if (auto bad = enc_.build(r, exists))
        return fail(refused(&r, r.chain, std::move(*bad)));
      if (!iptc_append_entry(r.chain.c_str(), enc_.entry(), h_.get()))
        return fail(rule_error("append iptables rule", r, errno));
    }
    return {};
  }

  Status insert_hooks() {
    for (const auto& [chain, want] : to_insert_) {
      unsigned pos = 0;
      for (const Hook* hk : want)
        if (!iptc_insert_entry(chain.c_str(), hk->entry(), pos++, h_.get()))
          return fail(rule_error("insert iptables rule", *hk->rule, errno));
    }
    return {};
  }

  struct Hook {
    const IptRule* rule;
    std::vector<unsigned char> blob;
    const ipt_entry* entry() const { return reinterpret_cast<const ipt_entry*>(blob.data()); }
  };

  const NetnsRef& ns_;
  const IptTable& t_;
  EntryBuilder enc_;
  IptcHandle h_;
  std::unordered_set<std::string> wanted_, existing_, stale_set_;
  std::vector<std::string> builtins_, stale_;
  std::vector<Hook> hooks_;
  std::vector<std::pair<std::string, std::vector<const Hook*>>> to_insert_;
};

}  // namespace

Status iptables_apply(const NetnsRef& ns, const IptTable& table) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    auto applier = std::make_unique<Applier>(ns, table);
    bool again = false;
    KN_TRY(applier->run(&again));
    if (!again) return {};
    if (attempt == kAttempts) {
      Error e = sys_error("commit iptables table", fmt::format("table {}", table.name), EAGAIN,
                          ns.name());
      e.detail = fmt::format("the table kept changing during {} attempts", kAttempts);
      e.hint = "something else (iptables-legacy, another kn-lab) writes this table at the same time";
      return fail(std::move(e));
    }
  }
}

Result<bool> iptables_in_place(const NetnsRef& ns, const IptTable& table) {
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  IptcHandle h(iptc_init(table.name.c_str()));
  if (!h) return fail(sys_error("read iptables table", fmt::format("table {}", table.name), errno, ns.name()));
  std::map<std::string, std::vector<const IptRule*>> by_chain;
  for (const IptRule& r : table.rules) by_chain[r.chain].push_back(&r);
  std::set<std::string> wanted(table.chains.begin(), table.chains.end()), missing = wanted;
  EntryBuilder enc(table.name, set_indexes());
  // Rule `want` is entry `e`: encoded as iptables_apply would, compared as it compares hooks.
  auto same = [&](const ipt_entry* e, const IptRule& want) {
    if (enc.build(want, [&](const std::string& c) { return wanted.contains(c) || iptc_is_chain(c.c_str(), h.get()); }))
      return false;
    return same_entry(e, h.get(), enc.entry(), want);
  };
  for (const char* c = iptc_first_chain(h.get()); c; c = iptc_next_chain(h.get())) {
    std::string chain = c;
    bool builtin = iptc_builtin(c, h.get());
    if (!builtin && !wanted.contains(chain)) {
      if (chain.starts_with("KUBE-")) return false;  // a stale chain of kn-lab's
      continue;                                      // someone else's
    }
    missing.erase(chain);
    // A listed chain holds exactly its rules; a built-in one starts with its hooks.
    const auto& want = by_chain[chain];
    std::size_t n = 0;
    for (const ipt_entry* e = iptc_first_rule(c, h.get()); e; e = iptc_next_rule(e, h.get()), ++n) {
      if (n >= want.size()) {
        if (builtin) break;
        return false;
      }
      if (!same(e, *want[n])) return false;
    }
    if (n < want.size()) return false;
  }
  return missing.empty();
}

std::vector<unsigned char> encode_rule_for_test(const IptRule& rule, const IptSetIndex& set_index,
                                                std::string_view table) {
  auto enc = std::make_unique<EntryBuilder>(std::string(table), set_index);
  if (enc->build(rule, [](const std::string&) { return true; })) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(enc->entry());
  std::vector<unsigned char> blob(p, p + enc->size());
  if (rule.target == IptRule::Target::kJump) {
    // libiptc turns a standard target's name into the verdict or the jump's offset; the kernel
    // hands it back with an empty name.
    auto* t = reinterpret_cast<xt_entry_target*>(blob.data() + enc->entry()->target_offset);
    std::memset(t->u.user.name, 0, sizeof t->u.user.name);
  }
  return blob;
}

}  // namespace knlab
