// iptables_read(): a legacy table of a namespace -> libiptc -> IptRule values, with counters.
//
// Decoding is the inverse of iptables_apply()'s encoder (net/iptables.cpp, EntryBuilder): the
// same matches and revisions (physdev r0, comment r0, set r4, conntrack r3, tcp/udp/sctp r0,
// addrtype r1, mark r1, recent r1, statistic r0) and targets (standard, DNAT r2, MASQUERADE r0,
// MARK r2, REJECT r0, NFLOG r0), each field read back as the encoder stores it. Whatever the
// model cannot say (another match or target, another revision, an option kn-lab never writes)
// is named in IptReadRule::undecoded, and the rest of the rule is still decoded.
#include "net/iptables_read.hpp"

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
#include <linux/netfilter/xt_NFLOG.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_physdev.h>
#include <linux/netfilter/xt_set.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "net/iptables_codec.hpp"
#include "net/ipset.hpp"

namespace knlab {

namespace {

constexpr std::size_t xt_align(std::size_t n) {
  constexpr std::size_t a = alignof(struct _xt_align);
  return (n + a - 1) & ~(a - 1);
}

constexpr std::size_t kMatchHdr = xt_align(sizeof(xt_entry_match));
constexpr std::size_t kTargetHdr = xt_align(sizeof(xt_entry_target));

// A fixed-size name field up to its NUL (the kernel hands back only that part intact).
template <std::size_t N>
std::string_view field(const char (&s)[N]) {
  return {s, ::strnlen(s, N)};
}

// The extension struct behind a match or target header, when the entry holds all of it.
template <class T>
const T* payload(const unsigned char* header, std::size_t header_size, std::size_t total) {
  if (total < header_size + sizeof(T)) return nullptr;
  return reinterpret_cast<const T*>(header + header_size);
}

// "eth0" (mask over the name and its NUL), "eth+" (mask over the name before '+'), or nullopt
// for any other mask (iptables can store one, the model cannot).
std::optional<std::string> iface(const char (&via)[IFNAMSIZ], const unsigned char (&mask)[IFNAMSIZ]) {
  std::string_view name = field(via);
  std::size_t covered = 0;
  while (covered < IFNAMSIZ && mask[covered] == 0xff) ++covered;
  for (std::size_t i = covered; i < IFNAMSIZ; ++i)
    if (mask[i] != 0) return std::nullopt;
  if (name.empty() && covered == 0) return std::string();
  if (covered == name.size() + 1) return std::string(name);
  if (!name.empty() && name.back() == '+' && covered == name.size() - 1) return std::string(name);
  return std::nullopt;
}

// An address and a contiguous netmask (network order) as a prefix, or nullopt.
std::optional<Cidr> prefix_of(in_addr addr, in_addr mask) {
  std::uint32_t m = ntohl(mask.s_addr);
  unsigned ones = static_cast<unsigned>(std::popcount(m));
  if (ones != 0 && m != ~std::uint32_t{0} << (32 - ones)) return std::nullopt;
  return Cidr{Ipv4{ntohl(addr.s_addr)}, ones};
}

// One entry into one IptReadRule. Each match and target decoder returns nullopt when it decoded
// everything, or why it could not (the rule's undecoded text names the extension with it).
class Decoder {
  static inline const std::unordered_set<std::string_view> kDecoded = {
      "physdev", "comment", "conntrack", "tcp", "udp", "sctp", "addrtype", "mark", "recent", "statistic"};

 public:
  Decoder(const ipt_entry* e, const IptSetName& set_name) : e_(e), set_name_(set_name) {}

  IptReadRule run(std::string_view target_name) {
    out_.counters = {e_->counters.pcnt, e_->counters.bcnt};
    ip_part();
    matches();
    target(target_name);
    return std::move(out_);
  }

 private:
  using Why = std::optional<std::string>;

  void note(std::string what) {
    if (!out_.undecoded.empty()) out_.undecoded += ", ";
    out_.undecoded += what;
  }

  void ip_part() {
    const ipt_ip& ip = e_->ip;
    IptRule& r = out_.rule;
    if (ip.smsk.s_addr != 0 || (ip.invflags & IPT_INV_SRCIP)) {
      r.src = prefix_of(ip.src, ip.smsk);
      r.src_negated = r.src && (ip.invflags & IPT_INV_SRCIP);
      if (!r.src) note("-s with a netmask that is not a prefix");
    }
    if (ip.dmsk.s_addr != 0 || (ip.invflags & IPT_INV_DSTIP)) {
      r.dst = prefix_of(ip.dst, ip.dmsk);
      if (!r.dst) note("-d with a netmask that is not a prefix");
      if (ip.invflags & IPT_INV_DSTIP) note("! -d");
    }
    interfaces(ip);
    if (ip.proto == IPPROTO_TCP) r.proto = "tcp";
    else if (ip.proto == IPPROTO_UDP) r.proto = "udp";
    else if (ip.proto == IPPROTO_SCTP) r.proto = "sctp";
    else if (ip.proto != 0) note(fmt::format("-p {}", ip.proto));
    if (ip.invflags & IPT_INV_PROTO) note("! -p");
    if ((ip.flags & IPT_F_FRAG) || (ip.invflags & IPT_INV_FRAG)) note("-f");
  }

  void interfaces(const ipt_ip& ip) {
    if (auto in = iface(ip.iniface, ip.iniface_mask)) out_.rule.in_iface = std::move(*in);
    else note("-i with a partial mask");
    if (auto o = iface(ip.outiface, ip.outiface_mask)) out_.rule.out_iface = std::move(*o);
    else note("-o with a partial mask");
    if (ip.invflags & IPT_INV_VIA_IN) note("! -i");
    if (ip.invflags & IPT_INV_VIA_OUT) note("! -o");
  }

  void matches() {
    const auto* base = reinterpret_cast<const unsigned char*>(e_);
    std::size_t off = sizeof(ipt_entry);
    while (off < e_->target_offset) {
      const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
      std::size_t size = m->u.match_size;
      if (size < kMatchHdr || off + size > e_->target_offset) {
        note("a malformed match");
        return;
      }
      std::string name(field(m->u.user.name));
      if (Why why = match(name, m->u.user.revision, base + off, size))
        note(why->empty() ? fmt::format("match {}", name) : fmt::format("match {} ({})", name, *why));
      off += size;
    }
  }

  // Dispatches one match; "" as the reason: an extension the model has no field for. The model
  // holds one of each match but set.
  Why match(const std::string& name, unsigned revision, const unsigned char* m, std::size_t size) {
    const Ext x{m, kMatchHdr, size, revision};
    if (name != "set" && !seen_.insert(name).second && kDecoded.contains(name)) return std::string("twice in one rule");
    if (name == "physdev") return with(x, 0, &Decoder::physdev);
    if (name == "comment") return with(x, 0, &Decoder::comment);
    if (name == "set") return with(x, 4, &Decoder::set);
    if (name == "conntrack") return with(x, 3, &Decoder::conntrack);
    if (name == "tcp") return with(x, 0, &Decoder::tcp);
    if (name == "udp") return with(x, 0, &Decoder::udp);
    if (name == "sctp") return with(x, 0, &Decoder::sctp);
    if (name == "addrtype") return with(x, 1, &Decoder::addrtype);
    if (name == "mark") return with(x, 1, &Decoder::mark);
    if (name == "recent") return with(x, 1, &Decoder::recent);
    if (name == "statistic") return with(x, 0, &Decoder::statistic);
    return std::string();
  }

  // A match's or target's header and size, for with().
  struct Ext {
    const unsigned char* p;
    std::size_t header;
    std::size_t size;
    unsigned revision;
  };

  // Decodes extension `x` as a T of revision `revision` with `decode`.
  template <class T>
  Why with(const Ext& x, unsigned revision, Why (Decoder::*decode)(const T&)) {
    if (x.revision != revision) return fmt::format("revision {}", x.revision);
    const T* data = payload<T>(x.p, x.header, x.size);
    if (!data) return std::string("too short");
    return (this->*decode)(*data);
  }

  Why physdev(const xt_physdev_info& p) {
    if (p.bitmask != XT_PHYSDEV_OP_BRIDGED || p.invert != 0) return std::string("not only --physdev-is-bridged");
    out_.rule.physdev_bridged = true;
    return std::nullopt;
  }

  Why comment(const xt_comment_info& c) {
    std::string_view text = field(c.comment);
    if (text.empty()) return std::string("empty");
    out_.rule.comment = std::string(text);
    return std::nullopt;
  }

  // libxt_set's layout for one dimension: bit 1 of the flags is src, clear is dst.
  Why set(const xt_set_info_match_v4& s) {
    const xt_set_info& m = s.match_set;
    if (m.dim != 1 || (m.flags & ~IPSET_DIM_ONE_SRC) != 0 || s.flags != 0 || s.packets.op != 0 || s.bytes.op != 0)
      return std::string("options other than --match-set NAME src|dst");
    std::optional<std::string> name = set_name_ ? set_name_(m.index) : std::nullopt;
    if (!name) return fmt::format("index {}: no set has it", m.index);
    out_.rule.sets.push_back(IptRule::SetMatch{std::move(*name), (m.flags & IPSET_DIM_ONE_SRC) != 0});
    return std::nullopt;
  }

  Why conntrack(const xt_conntrack_mtinfo3& c) {
    constexpr unsigned kEstablished = XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
    constexpr unsigned kRelated = XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
    constexpr unsigned kKnown = XT_CONNTRACK_STATE_INVALID | kEstablished | kRelated;
    if (c.match_flags != XT_CONNTRACK_STATE || c.invert_flags != 0 || c.state_mask == 0 ||
        (c.state_mask & ~kKnown) != 0)
      return std::string("not --ctstate of INVALID, RELATED, ESTABLISHED");
    std::uint8_t& st = out_.rule.ctstate;
    if (c.state_mask & XT_CONNTRACK_STATE_INVALID) st |= IptRule::kCtInvalid;
    if (c.state_mask & kRelated) st |= IptRule::kCtRelated;
    if (c.state_mask & kEstablished) st |= IptRule::kCtEstablished;
    return std::nullopt;
  }

  // -m tcp/udp/sctp: any source port, the destination range (0:65535 is "-m PROTO" alone).
  Why ports(std::string_view proto, const std::uint16_t (&spts)[2], const std::uint16_t (&dpts)[2]) {
    IptRule& r = out_.rule;
    if (r.proto != proto) return fmt::format("with -p {}", r.proto.empty() ? "all" : r.proto);
    if (spts[0] != 0 || spts[1] != 0xffff) return std::string("--sport");
    if (dpts[0] == 0 && dpts[1] == 0xffff) {
      r.want_proto_match = true;
      return std::nullopt;
    }
    r.dport = dpts[0];
    if (dpts[1] != dpts[0]) r.dport_end = dpts[1];
    return std::nullopt;
  }

  Why tcp(const xt_tcp& t) {
    if (t.invflags != 0 || t.option != 0 || t.flg_mask != 0 || t.flg_cmp != 0)
      return std::string("options other than --dport");
    return ports("tcp", t.spts, t.dpts);
  }

  Why udp(const xt_udp& u) {
    if (u.invflags != 0) return std::string("! --dport");
    return ports("udp", u.spts, u.dpts);
  }

  Why sctp(const xt_sctp_info& s) {
    if (s.invflags != 0 || (s.flags & ~unsigned{XT_SCTP_DEST_PORTS}) != 0) return std::string("options other than --dport");
    if (!(s.flags & XT_SCTP_DEST_PORTS)) {
      std::uint16_t all[2] = {0, 0xffff};
      return ports("sctp", s.spts, all);
    }
    return ports("sctp", s.spts, s.dpts);
  }

  Why addrtype(const xt_addrtype_info_v1& a) {
    if (a.flags != 0 || (a.source != 0 && a.source != XT_ADDRTYPE_LOCAL) ||
        (a.dest != 0 && a.dest != XT_ADDRTYPE_LOCAL) || (a.source == 0 && a.dest == 0))
      return std::string("types other than --src-type/--dst-type LOCAL");
    out_.rule.src_type_local = a.source == XT_ADDRTYPE_LOCAL;
    out_.rule.dst_type_local = a.dest == XT_ADDRTYPE_LOCAL;
    return std::nullopt;
  }

  Why mark(const xt_mark_mtinfo1& m) {
    out_.rule.mark = IptRule::Mark{m.mark, m.mask, m.invert != 0};
    return std::nullopt;
  }

  // As kube-proxy writes it: --set, or --rcheck [--seconds N [--reap]], --name, the full mask,
  // --rsource.
  Why recent(const xt_recent_mtinfo_v1& m) {
    unsigned mode = m.check_set & ~unsigned{XT_RECENT_REAP};
    bool reap = (m.check_set & XT_RECENT_REAP) != 0;
    bool set = mode == XT_RECENT_SET;
    if ((mode != XT_RECENT_SET && mode != XT_RECENT_CHECK) || (set && (reap || m.seconds != 0)))
      return std::string("not --set or --rcheck [--seconds N [--reap]]");
    if (m.hit_count != 0 || m.invert != 0 || m.side != XT_RECENT_SOURCE || m.mask.ip != 0xffffffffu)
      return std::string("--hitcount, !, --rdest or a --mask other than 255.255.255.255");
    std::string_view name = field(m.name);
    if (name.empty()) return std::string("no --name");
    out_.rule.recent = IptRule::Recent{std::string(name), set, m.seconds, reap};
    return std::nullopt;
  }

  Why statistic(const xt_statistic_info& s) {
    if (s.mode != XT_STATISTIC_MODE_RANDOM || s.flags != 0) return std::string("not --mode random --probability P");
    // The stored 31-bit fraction as a probability: statistic_probability_fraction() gives the
    // same fraction back, so render_rule() prints what iptables-save prints.
    out_.rule.probability = static_cast<double>(s.u.random.probability) / 2147483648.0;
    return std::nullopt;
  }

  void target(std::string_view target_name) {
    const auto* base = reinterpret_cast<const unsigned char*>(e_);
    if (e_->target_offset + kTargetHdr > e_->next_offset) {
      note("a malformed target");
      return;
    }
    const auto* t = reinterpret_cast<const xt_entry_target*>(base + e_->target_offset);
    std::string name(field(t->u.user.name));
    std::size_t size = std::min<std::size_t>(t->u.target_size, e_->next_offset - e_->target_offset);
    if (name.empty()) {  // standard: a verdict, a jump, or none (libiptc names it)
      out_.rule.jump = std::string(target_name);
      if (e_->ip.flags & IPT_F_GOTO) note("-g (goto)");
      return;
    }
    if (Why why = module_target(name, t->u.user.revision, base + e_->target_offset, size)) {
      out_.rule.target = IptRule::Target::kJump;  // shown as "-j NAME", without its options
      out_.rule.jump = name;
      note(why->empty() ? fmt::format("target {}", name) : fmt::format("target {} ({})", name, *why));
    }
  }

  Why module_target(const std::string& name, unsigned revision, const unsigned char* t, std::size_t size) {
    const Ext x{t, kTargetHdr, size, revision};
    if (name == "DNAT") return with(x, 2, &Decoder::dnat);
    if (name == "MASQUERADE") return with(x, 0, &Decoder::masquerade);
    if (name == "MARK") return with(x, 2, &Decoder::mark_target);
    if (name == "REJECT") return with(x, 0, &Decoder::reject);
    if (name == "NFLOG") return with(x, 0, &Decoder::nflog);
    return std::string();
  }

  // --to-destination IP[:PORT]: one address, at most one port.
  Why dnat(const nf_nat_range2& n) {
    unsigned extra = n.flags & ~unsigned{NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED};
    bool port = (n.flags & NF_NAT_RANGE_PROTO_SPECIFIED) != 0;
    if (extra != 0 || !(n.flags & NF_NAT_RANGE_MAP_IPS) || n.min_addr.ip != n.max_addr.ip ||
        (port && n.min_proto.all != n.max_proto.all) || n.base_proto.all != 0)
      return std::string("a range, --random or --persistent");
    IptRule& r = out_.rule;
    r.target = IptRule::Target::kDnat;
    r.to_ip = Ipv4{ntohl(n.min_addr.ip)};
    r.to_port = port ? ntohs(n.min_proto.all) : std::uint16_t{0};
    return std::nullopt;
  }

  Why masquerade(const nf_nat_ipv4_multi_range_compat& m) {
    if (m.rangesize != 1 || (m.range[0].flags & ~unsigned{NF_NAT_RANGE_PROTO_RANDOM_FULLY}) != 0)
      return std::string("--to-ports or --random");
    out_.rule.target = IptRule::Target::kMasquerade;
    out_.rule.random_fully = (m.range[0].flags & NF_NAT_RANGE_PROTO_RANDOM_FULLY) != 0;
    return std::nullopt;
  }

  // Revision 2 stores (mark & ~mask) ^ value: --or-mark X is X/X, --xor-mark X is X/0.
  Why mark_target(const xt_mark_tginfo2& m) {
    IptRule& r = out_.rule;
    r.mark_bits = m.mark;
    if (m.mask == m.mark) {
      r.target = IptRule::Target::kMarkOr;
    } else if (m.mask == 0) {
      r.target = IptRule::Target::kMarkXor;
    } else {
      r.target = IptRule::Target::kMarkSet;
      r.mark_mask = m.mask;
    }
    return std::nullopt;
  }

  Why reject(const ipt_reject_info& j) {
    if (j.with != IPT_ICMP_PORT_UNREACHABLE) return fmt::format("--reject-with type {}", static_cast<int>(j.with));
    out_.rule.target = IptRule::Target::kReject;
    return std::nullopt;
  }

  Why nflog(const xt_nflog_info& n) {
    if (n.flags != 0 || n.len != 0 || n.threshold != XT_NFLOG_DEFAULT_THRESHOLD)
      return std::string("--nflog-size or --nflog-threshold");
    out_.rule.target = IptRule::Target::kNflog;
    out_.rule.nflog_group = n.group;
    out_.rule.nflog_prefix = std::string(field(n.prefix));
    return std::nullopt;
  }

  const ipt_entry* e_;
  const IptSetName& set_name_;
  IptReadRule out_;
  std::unordered_set<std::string> seen_;
};

}  // namespace

IptReadRule decode_entry(const ipt_entry* e, std::string_view target_name, const IptSetName& set_name) {
  return Decoder(e, set_name).run(target_name);
}

namespace {

struct IptcFree {
  void operator()(xtc_handle* h) const { iptc_free(h); }
};
using IptcHandle = std::unique_ptr<xtc_handle, IptcFree>;

// A table the namespace does not have: what it would be once made (empty, policies ACCEPT).
IptReadTable empty_table(const std::string& table) {
  IptReadTable t;
  t.name = table;
  for (std::string_view c : builtin_chains(table)) {
    IptReadChain chain;
    chain.name = std::string(c);
    chain.builtin = true;
    chain.policy = "ACCEPT";
    t.chains.push_back(std::move(chain));
  }
  return t;
}

// Whether the calling thread's namespace has `table` (the kernel lists the tables a namespace
// has made in ip_tables_names). Asked first because iptc_init() itself would make the table in
// the namespace (a nat table starts connection tracking there): a read must change nothing.
// nullopt when the list cannot be read (ip_tables is not loaded yet).
std::optional<bool> table_exists(const std::string& table) {
  std::ifstream in("/proc/thread-self/net/ip_tables_names");
  if (!in) return std::nullopt;
  for (std::string line; std::getline(in, line);)
    if (line == table) return true;
  return false;
}

// The set names of the calling thread's namespace, each index asked once per read.
IptSetName set_names() {
  auto cache = std::make_shared<std::unordered_map<std::uint16_t, std::optional<std::string>>>();
  return [cache](std::uint16_t index) {
    auto [it, added] = cache->try_emplace(index);
    if (added) it->second = ipset_name(index);
    return it->second;
  };
}

IptReadChain read_chain(xtc_handle* h, const char* name, const IptSetName& set_name) {
  IptReadChain chain;
  chain.name = name;
  chain.builtin = iptc_builtin(name, h) != 0;
  if (chain.builtin) {
    xt_counters n{};
    if (const char* policy = iptc_get_policy(name, &n, h)) chain.policy = policy;
    chain.policy_counters = {n.pcnt, n.bcnt};
  }
  for (const ipt_entry* e = iptc_first_rule(name, h); e; e = iptc_next_rule(e, h)) {
    const char* target = iptc_get_target(e, h);
    IptReadRule r = decode_entry(e, target ? target : "", set_name);
    r.rule.chain = chain.name;
    chain.rules.push_back(std::move(r));
  }
  return chain;
}

Error read_error(const NetnsRef& ns, const std::string& table, int err) {
  Error e = sys_error("read iptables table", fmt::format("table {}", table), err, ns.name());
  if (const char* s = iptc_strerror(err); s && std::string_view(s) != std::strerror(err)) e.detail = s;
  return e;
}

}  // namespace

const IptReadChain* IptReadTable::chain(std::string_view chain_name) const {
  for (const IptReadChain& c : chains)
    if (c.name == chain_name) return &c;
  return nullptr;
}

Result<IptReadTable> iptables_read(const NetnsRef& ns, const std::string& table) {
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  if (table_exists(table) == false) return empty_table(table);
  IptcHandle h(iptc_init(table.c_str()));
  if (!h) {
    int err = errno;
    if (err == ENOENT) return empty_table(table);  // no such table in this kernel or namespace
    return fail(read_error(ns, table, err));
  }
  IptReadTable out;
  out.name = table;
  IptSetName set_name = set_names();
  for (const char* c = iptc_first_chain(h.get()); c; c = iptc_next_chain(h.get()))
    out.chains.push_back(read_chain(h.get(), c, set_name));
  return out;
}

}  // namespace knlab
