#include "net/nft_batch.hpp"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "core/ip.hpp"
#include "core/text.hpp"

namespace knlab {

namespace {

// ---- Words and values ----------------------------------------------------------------------

using Words = std::vector<std::string_view>;

// Words split at spaces; a "quoted string" is one word, without its quotes.
Words split_words(std::string_view line) {
  Words out;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    if (line[i] == '"') {
      std::size_t end = line.find('"', i + 1);
      if (end == std::string_view::npos) end = line.size();
      out.push_back(line.substr(i + 1, end - i - 1));
      i = end + 1;
      continue;
    }
    std::size_t end = line.find(' ', i);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(i, end - i));
    i = end;
  }
  return out;
}

std::optional<std::uint64_t> number(std::string_view s) {
  int base = 10;
  if (s.starts_with("0x")) s.remove_prefix(2), base = 16;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

using Bytes = std::vector<std::uint8_t>;

// An address's 4 bytes in network order (as payloads and set keys hold it).
std::array<std::uint8_t, 4> wire(Ipv4 ip) {
  std::uint32_t n = htonl(ip.value);
  std::array<std::uint8_t, 4> out{};
  std::memcpy(out.data(), &n, 4);
  return out;
}

std::optional<std::array<std::uint8_t, 4>> ipv4(std::string_view s) {
  auto ip = Ipv4::parse(s);
  return ip ? std::optional(wire(*ip)) : std::nullopt;
}

// "a.b.c.d/n", or an address alone (a /32).
std::optional<Cidr> prefix(std::string_view s) {
  if (s.find('/') != std::string_view::npos) return Cidr::parse(s, false);
  auto ip = Ipv4::parse(s);
  return ip ? std::optional(Cidr{*ip, 32}) : std::nullopt;
}

std::optional<std::uint8_t> protocol(std::string_view s) {
  if (s == "tcp") return IPPROTO_TCP;
  if (s == "udp") return IPPROTO_UDP;
  if (s == "sctp") return IPPROTO_SCTP;
  return std::nullopt;
}

Bytes u32_host(std::uint32_t v) {
  Bytes b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

// nftables' datatypes (nftables src/datatype.h) as set key parts.
struct KeyPart {
  std::uint32_t type;
  std::uint32_t len;
};
std::optional<KeyPart> key_type(std::string_view name) {
  if (name == "ipv4_addr") return KeyPart{7, 4};
  if (name == "inet_proto") return KeyPart{12, 1};
  if (name == "inet_service") return KeyPart{13, 2};
  return std::nullopt;
}

// ---- libnftnl objects ----------------------------------------------------------------------

template <class T, void (*Free)(const T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Table = std::unique_ptr<nftnl_table, Deleter<nftnl_table, nftnl_table_free>>;
using Chain = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain, nftnl_chain_free>>;
using Rule = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule, nftnl_rule_free>>;
using Set = std::unique_ptr<nftnl_set, Deleter<nftnl_set, nftnl_set_free>>;
using Udata = std::unique_ptr<nftnl_udata_buf, Deleter<nftnl_udata_buf, nftnl_udata_buf_free>>;

Udata udata() { return Udata(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)); }

// A typeof nest of set user data as nft writes it: the expression kind, no data.
void put_typeof(nftnl_udata_buf* u, std::uint8_t type, std::uint32_t expr) {
  nftnl_udata* nest = nftnl_udata_nest_start(u, type);
  nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, expr);
  nftnl_udata_put(u, NFTNL_UDATA_SET_TYPEOF_DATA, 0, nullptr);
  nftnl_udata_nest_end(u, nest);
}

struct Failure {
  std::string what;
};

// ---- The compiler --------------------------------------------------------------------------

class Compiler {
 public:
  explicit Compiler(std::uint32_t first_seq) { out_.first_seq = first_seq; }

  std::optional<Failure> line(std::string_view text, std::uint32_t number);
  NftMessages take() {
    flush_elements();
    return std::move(out_);
  }

 private:
  NftMessages out_;
  std::vector<char> scratch_;
  std::uint32_t line_ = 0;
  std::size_t source_ = 0;  // bytes of script text the next message comes from
  std::uint16_t family_ = NFPROTO_IPV4;
  // Consecutive `add element` lines of one set go in one message.
  Set pending_;
  std::string pending_set_;
  std::size_t pending_count_ = 0, pending_text_ = 0;
  std::uint32_t pending_line_ = 0;

  std::uint32_t next_seq() const { return out_.first_seq + static_cast<std::uint32_t>(out_.count()); }
  template <class Build>
  void message(std::uint16_t type, std::uint16_t flags, Build&& payload) {
    // libnftnl writes a message without bounds checks: the buffer is made larger than any
    // message `source_` bytes of text can become (an element or an expression of the fewest
    // characters is under 8 times their size in attributes).
    std::size_t need = 4096 + 8 * source_;
    if (scratch_.size() < need) scratch_.resize(need);
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(scratch_.data(), type, family_, flags, next_seq());
    payload(nlh);
    const char* p = scratch_.data();
    out_.bytes.insert(out_.bytes.end(), p, p + NLMSG_ALIGN(nlh->nlmsg_len));
    out_.lines.push_back(line_);
  }
  void flush_elements();

  std::optional<Failure> table(bool add, const Words& w);
  std::optional<Failure> chain(std::string_view verb, const Words& w);
  std::optional<Failure> set(bool add, bool map, const Words& w);
  std::optional<Failure> element(bool add, const Words& w);
  std::optional<Failure> rule(const Words& w);

  friend class RuleCompiler;
};

// One rule's words after the chain's name, into expressions (what nft's netlink_linearize makes
// of the same text; `nft --debug=netlink` prints them).
class RuleCompiler {
 public:
  RuleCompiler(Compiler& c, nftnl_rule* r, const Words& w, std::size_t at) : c_(c), r_(r), w_(w), i_(at) {}
  std::optional<Failure> run();

 private:
  Compiler& c_;
  nftnl_rule* r_;
  const Words& w_;
  std::size_t i_;
  std::string comment_;

  std::string_view next() { return i_ < w_.size() ? w_[i_++] : std::string_view(); }
  std::string_view peek() const { return i_ < w_.size() ? w_[i_] : std::string_view(); }
  bool expect(std::string_view s) { return next() == s; }
  Failure unexpected(std::string_view what) const {
    return Failure{fmt::format("{} at word {} (\"{}\")", what, i_, i_ && i_ <= w_.size() ? w_[i_ - 1] : "")};
  }

  nftnl_expr* expr(const char* name) {
    nftnl_expr* e = nftnl_expr_alloc(name);
    nftnl_rule_add_expr(r_, e);
    return e;
  }
  void payload(std::uint32_t base, std::uint32_t offset, std::uint32_t len, std::uint32_t reg = NFT_REG_1);
  void meta_load(std::uint32_t key, std::uint32_t reg = NFT_REG_1);
  void cmp(std::uint32_t op, const void* data, std::uint32_t len);
  void bitwise(std::uint32_t len, const Bytes& mask, const Bytes& x);
  void lookup(std::string_view set, std::uint32_t set_id, bool verdict_map);
  void verdict(int code, std::string_view chain = {});
  void immediate(std::uint32_t reg, const void* data, std::uint32_t len);

  std::optional<Failure> ip();
  std::optional<Failure> ip_concat_vmap(std::uint32_t offset);
  std::optional<Failure> proto_port_vmap();
  std::optional<Failure> l4_dport(std::uint8_t proto);
  std::optional<Failure> meta();
  std::optional<Failure> ct_state();
  std::optional<Failure> fib();
  std::optional<Failure> mark();
  std::optional<Failure> numgen();
  std::optional<Failure> update();
  std::optional<Failure> dnat();
  std::optional<Failure> statement(std::string_view word);
};

void RuleCompiler::payload(std::uint32_t base, std::uint32_t offset, std::uint32_t len, std::uint32_t reg) {
  nftnl_expr* e = expr("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
}

void RuleCompiler::meta_load(std::uint32_t key, std::uint32_t reg) {
  nftnl_expr* e = expr("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, reg);
}

void RuleCompiler::cmp(std::uint32_t op, const void* data, std::uint32_t len) {
  nftnl_expr* e = expr("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

void RuleCompiler::bitwise(std::uint32_t len, const Bytes& mask, const Bytes& x) {
  nftnl_expr* e = expr("bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask.data(), len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, x.data(), len);
}

void RuleCompiler::lookup(std::string_view set, std::uint32_t set_id, bool verdict_map) {
  nftnl_expr* e = expr("lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, std::string(set).c_str());
  if (set_id) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
  if (verdict_map) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
}

void RuleCompiler::immediate(std::uint32_t reg, const void* data, std::uint32_t len) {
  nftnl_expr* e = expr("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, reg);
  nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
}

void RuleCompiler::verdict(int code, std::string_view chain) {
  nftnl_expr* e = expr("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
  if (!chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, std::string(chain).c_str());
}

// `ip daddr|saddr` then an address, a prefix (`!=` before it: not), `{ prefix }`, `@set`, or
// `. meta l4proto . th dport vmap @map`.
std::optional<Failure> RuleCompiler::ip() {
  std::string_view field = next();
  if (field != "daddr" && field != "saddr") return unexpected("expected daddr or saddr");
  std::uint32_t offset = field == "daddr" ? 16 : 12;
  std::string_view v = next();
  if (v == ".") return ip_concat_vmap(offset);
  if (v.starts_with("@")) {
    payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
    lookup(v.substr(1), 0, false);
    return std::nullopt;
  }
  std::uint32_t op = NFT_CMP_EQ;
  bool braces = false;
  if (v == "!=") op = NFT_CMP_NEQ, v = next();
  if (v == "{") braces = true, v = next();
  auto p = prefix(v);
  if (!p || p->prefix == 0) return unexpected("expected an IPv4 address or prefix");
  if (braces && !expect("}")) return unexpected("expected }");
  // A prefix of whole bytes loads only those; any other loads the address and masks it (as nft
  // does; a set of one prefix is the same match).
  std::uint32_t bytes = p->prefix % 8 ? 4 : p->prefix / 8;
  payload(NFT_PAYLOAD_NETWORK_HEADER, offset, bytes);
  if (p->prefix % 8) {
    auto mask = wire(Ipv4{p->mask()});
    bitwise(4, Bytes(mask.begin(), mask.end()), Bytes(4, 0));
  }
  cmp(op, wire(p->network()).data(), bytes);
  return std::nullopt;
}

// `ip daddr . meta l4proto . th dport vmap @map`: the three into consecutive registers.
std::optional<Failure> RuleCompiler::ip_concat_vmap(std::uint32_t offset) {
  for (std::string_view s : {"meta", "l4proto", ".", "th", "dport", "vmap"})
    if (!expect(s)) return unexpected(fmt::format("expected {}", s));
  std::string_view map = next();
  if (!map.starts_with("@")) return unexpected("expected @map");
  payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
  meta_load(NFT_META_L4PROTO, NFT_REG32_01);
  payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_02);
  lookup(map.substr(1), 0, true);
  return std::nullopt;
}

// `meta l4proto . th dport vmap @map`.
std::optional<Failure> RuleCompiler::proto_port_vmap() {
  for (std::string_view s : {"th", "dport", "vmap"})
    if (!expect(s)) return unexpected(fmt::format("expected {}", s));
  std::string_view map = next();
  if (!map.starts_with("@")) return unexpected("expected @map");
  meta_load(NFT_META_L4PROTO);
  payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG32_01);
  lookup(map.substr(1), 0, true);
  return std::nullopt;
}

// `tcp dport N`: the protocol first (nft's dependency), then the port.
std::optional<Failure> RuleCompiler::l4_dport(std::uint8_t proto) {
  if (!expect("dport")) return unexpected("expected dport");
  auto port = number(next());
  if (!port || *port > 65535) return unexpected("expected a port");
  meta_load(NFT_META_L4PROTO);
  cmp(NFT_CMP_EQ, &proto, 1);
  std::uint16_t be = htons(static_cast<std::uint16_t>(*port));
  payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  cmp(NFT_CMP_EQ, &be, 2);
  return std::nullopt;
}

// `meta l4proto tcp`, `meta l4proto . th dport vmap @map`, or `meta nftrace set 1` (the
// packet traced: kn-lab trace --probe).
std::optional<Failure> RuleCompiler::meta() {
  std::string_view key = next();
  if (key == "nftrace") {
    if (!expect("set") || !expect("1")) return unexpected("expected nftrace set 1");
    std::uint8_t one = 1;
    immediate(NFT_REG_1, &one, 1);
    nftnl_expr* e = expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_NFTRACE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
    return std::nullopt;
  }
  if (key != "l4proto") return unexpected("expected l4proto or nftrace");
  std::string_view v = next();
  if (v == ".") return proto_port_vmap();
  auto proto = v == "icmp" ? std::optional<std::uint8_t>(IPPROTO_ICMP) : protocol(v);
  if (!proto) return unexpected("expected tcp, udp, sctp or icmp");
  meta_load(NFT_META_L4PROTO);
  cmp(NFT_CMP_EQ, &*proto, 1);
  return std::nullopt;
}

std::optional<Failure> RuleCompiler::ct_state() {
  if (!expect("state") || !expect("new")) return unexpected("expected state new");
  nftnl_expr* e = expr("ct");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
  bitwise(4, u32_host(NF_CT_STATE_BIT(IP_CT_NEW)), u32_host(0));
  std::uint32_t zero = 0;
  cmp(NFT_CMP_NEQ, &zero, 4);
  return std::nullopt;
}

// `fib saddr type local`: the source address is one of this namespace's own.
std::optional<Failure> RuleCompiler::fib() {
  for (std::string_view s : {"saddr", "type", "local"})
    if (!expect(s)) return unexpected(fmt::format("expected {}", s));
  nftnl_expr* e = expr("fib");
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_SADDR);
  nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
  std::uint32_t local = 2;  // RTN_LOCAL
  cmp(NFT_CMP_EQ, &local, 4);
  return std::nullopt;
}

// `mark and M == V` or `mark set mark or|xor M`.
std::optional<Failure> RuleCompiler::mark() {
  std::string_view v = next();
  if (v == "and") {
    auto m = number(next());
    if (!m || !expect("==")) return unexpected("expected mark and MASK == VALUE");
    auto value = number(next());
    if (!value) return unexpected("expected a value");
    meta_load(NFT_META_MARK);
    bitwise(4, u32_host(static_cast<std::uint32_t>(*m)), u32_host(0));
    std::uint32_t want = static_cast<std::uint32_t>(*value);
    cmp(NFT_CMP_EQ, &want, 4);
    return std::nullopt;
  }
  if (v != "set" || !expect("mark")) return unexpected("expected mark set mark");
  std::string_view op = next();
  auto m = number(next());
  if ((op != "or" && op != "xor") || !m) return unexpected("expected or|xor MASK");
  std::uint32_t bits = static_cast<std::uint32_t>(*m);
  meta_load(NFT_META_MARK);
  bitwise(4, u32_host(op == "or" ? ~bits : 0xffffffffu), u32_host(bits));
  nftnl_expr* e = expr("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
  return std::nullopt;
}

// `update @set { ip saddr }`: the client's address into a dynamic set (affinity).
std::optional<Failure> RuleCompiler::update() {
  std::string_view set = next();
  if (!set.starts_with("@")) return unexpected("expected @set");
  for (std::string_view s : {"{", "ip", "saddr", "}"})
    if (!expect(s)) return unexpected(fmt::format("expected {}", s));
  payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
  nftnl_expr* e = expr("dynset");
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
  nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, std::string(set.substr(1)).c_str());
  return std::nullopt;
}

// `dnat to A.B.C.D:PORT`.
std::optional<Failure> RuleCompiler::dnat() {
  if (!expect("to")) return unexpected("expected to");
  std::string_view to = next();
  std::size_t colon = to.rfind(':');
  auto addr = ipv4(to.substr(0, colon));
  auto port = colon == std::string_view::npos ? std::nullopt : number(to.substr(colon + 1));
  if (!addr || !port || *port > 65535) return unexpected("expected ADDRESS:PORT");
  std::uint16_t be = htons(static_cast<std::uint16_t>(*port));
  immediate(NFT_REG_1, addr->data(), 4);
  immediate(NFT_REG_2, &be, 2);
  nftnl_expr* n = expr("nat");
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
  nftnl_expr_set_u32(n, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
  return std::nullopt;
}

std::optional<Failure> RuleCompiler::statement(std::string_view word) {
  if (word == "ip") return ip();
  if (auto proto = protocol(word)) return l4_dport(*proto);
  if (word == "meta") return meta();
  if (word == "ct") return ct_state();
  if (word == "fib") return fib();
  if (word == "mark") return mark();
  if (word == "numgen") return numgen();
  if (word == "update") return update();
  if (word == "dnat") return dnat();
  if (word == "masquerade") {
    nftnl_expr* e = expr("masq");
    if (peek() == "fully-random") next(), nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    return std::nullopt;
  }
  if (word == "reject") {
    nftnl_expr* e = expr("reject");
    nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMP_UNREACH);
    nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 3);  // ICMP_PORT_UNREACH
    return std::nullopt;
  }
  static const std::map<std::string_view, int, std::less<>> plain{{"drop", NF_DROP}, {"accept", NF_ACCEPT}, {"return", NFT_RETURN}};
  if (auto it = plain.find(word); it != plain.end()) return verdict(it->second), std::nullopt;
  if (word == "jump" || word == "goto") {
    std::string_view target = next();
    if (target.empty()) return unexpected("expected a chain");
    verdict(word == "jump" ? NFT_JUMP : NFT_GOTO, target);
    return std::nullopt;
  }
  if (word == "comment") {
    comment_ = std::string(next());
    return std::nullopt;
  }
  return unexpected("not in kn-lab's nftables dialect");
}

std::optional<Failure> RuleCompiler::run() {
  while (i_ < w_.size())
    if (auto f = statement(next())) return f;
  if (!comment_.empty()) {
    Udata u = udata();
    nftnl_udata_put_strz(u.get(), NFTNL_UDATA_RULE_COMMENT, comment_.c_str());
    nftnl_rule_set_data(r_, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u.get()), nftnl_udata_buf_len(u.get()));
  }
  return std::nullopt;
}

// ---- Set elements --------------------------------------------------------------------------

// An element's key from its text: parts joined by " . ", each an IPv4 address (4 bytes), a
// protocol (1 byte) or a port (2 bytes, network order), each padded to 4 bytes as nf_tables
// registers are; a lone number is a numgen key (4 bytes, host order).
std::optional<Bytes> element_key(const Words& parts) {
  Bytes key;
  bool after_proto = false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i % 2 == 1) {
      if (parts[i] != ".") return std::nullopt;
      continue;
    }
    std::string_view p = parts[i];
    if (auto a = ipv4(p)) {
      key.insert(key.end(), a->begin(), a->end());
    } else if (auto proto = protocol(p)) {
      key.insert(key.end(), {*proto, 0, 0, 0});
      after_proto = true;
      continue;
    } else if (auto n = number(p); n && after_proto && *n <= 65535) {
      key.insert(key.end(), {static_cast<std::uint8_t>(*n >> 8), static_cast<std::uint8_t>(*n & 0xff), 0, 0});
    } else if (n && parts.size() == 1) {
      Bytes host = u32_host(static_cast<std::uint32_t>(*n));
      key.insert(key.end(), host.begin(), host.end());
    } else {
      return std::nullopt;
    }
    after_proto = false;
  }
  if (key.empty()) return std::nullopt;
  return key;
}

// `KEY [comment "C"] [: VERDICT]` (words between the braces) into an element of `s`.
std::optional<Failure> add_element(nftnl_set* s, const Words& w, bool with_value) {
  std::size_t end = 0;
  while (end < w.size() && w[end] != "comment" && w[end] != ":") ++end;
  auto key = element_key(Words(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(end)));
  if (!key) return Failure{"an element key kn-lab does not write"};
  nftnl_set_elem* e = nftnl_set_elem_alloc();
  nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key->data(), static_cast<std::uint32_t>(key->size()));
  nftnl_set_elem_add(s, e);
  std::size_t i = end;
  if (i < w.size() && w[i] == "comment") {
    if (i + 1 >= w.size()) return Failure{"comment without its text"};
    Udata u = udata();
    nftnl_udata_put_strz(u.get(), NFTNL_UDATA_SET_ELEM_COMMENT, std::string(w[i + 1]).c_str());
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(u.get()), nftnl_udata_buf_len(u.get()));
    i += 2;
  }
  if (i == w.size()) return std::nullopt;
  if (!with_value || w[i] != ":" || i + 1 >= w.size()) return Failure{"a value kn-lab does not write"};
  std::string_view v = w[i + 1];
  if (v == "drop" || v == "accept") {
    nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<std::uint32_t>(v == "drop" ? NF_DROP : NF_ACCEPT));
    return i + 2 == w.size() ? std::nullopt : std::optional<Failure>(Failure{"words after the verdict"});
  }
  if ((v != "goto" && v != "jump") || i + 3 != w.size()) return Failure{"expected goto CHAIN, jump CHAIN, drop or accept"};
  nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<std::uint32_t>(v == "goto" ? NFT_GOTO : NFT_JUMP));
  nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, std::string(w[i + 2]).c_str());
  return std::nullopt;
}

// The elements of `{ a , b : v , ... }` starting at w[at] ("{"), each added to `s`.
std::optional<Failure> add_elements(nftnl_set* s, const Words& w, std::size_t at, bool with_value) {
  if (at >= w.size() || w[at] != "{" || w.back() != "}") return Failure{"expected { ELEMENT }"};
  Words one;
  for (std::size_t i = at + 1; i + 1 <= w.size() - 1; ++i) {
    if (w[i] == "," || i + 1 == w.size() - 1) {
      if (w[i] != ",") one.push_back(w[i]);
      if (auto f = add_element(s, one, with_value)) return f;
      one.clear();
      continue;
    }
    one.push_back(w[i]);
  }
  return std::nullopt;
}

// `numgen random mod N vmap { 0 : goto A , 1 : goto B }`: an anonymous constant map of the
// numbers to verdicts (sent before the rule), a random number, a lookup in the map.
std::optional<Failure> RuleCompiler::numgen() {
  if (!expect("random") || !expect("mod")) return unexpected("expected random mod");
  auto mod = number(next());
  if (!mod || *mod == 0 || !expect("vmap") || peek() != "{") return unexpected("expected N vmap {");
  std::size_t open = i_;
  while (i_ < w_.size() && w_[i_] != "}") ++i_;
  if (i_ == w_.size()) return unexpected("expected }");
  Words map(w_.begin() + static_cast<std::ptrdiff_t>(open), w_.begin() + static_cast<std::ptrdiff_t>(++i_));
  std::uint32_t id = c_.next_seq();
  Set s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, nftnl_rule_get_str(r_, NFTNL_RULE_TABLE));
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, "__map%d");
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, 4);  // integer
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, 4);
  nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
  nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, 0);
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, static_cast<std::uint32_t>(*mod));
  Udata u = udata();
  nftnl_udata_put_u32(u.get(), NFTNL_UDATA_SET_KEYBYTEORDER, 1);  // host
  nftnl_udata_put_u32(u.get(), NFTNL_UDATA_SET_DATABYTEORDER, 0);
  put_typeof(u.get(), NFTNL_UDATA_SET_DATA_TYPEOF, 1);  // a verdict
  nftnl_udata_put_u32(u.get(), NFTNL_UDATA_SET_DATA_INTERVAL, 0);
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(u.get()), nftnl_udata_buf_len(u.get()));
  c_.message(NFT_MSG_NEWSET, NLM_F_CREATE, [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, s.get()); });
  // The elements, 128 to a message at most: a message's list of them is one netlink attribute,
  // which holds 64 KiB (nft splits the same way).
  constexpr std::size_t kPerMessage = 128;
  Words one{"{"};
  std::size_t in_chunk = 0;
  for (std::size_t i = 1; i < map.size(); ++i) {
    bool end = map[i] == "}";
    if (map[i] == "," || end) ++in_chunk;
    if ((map[i] == "," && in_chunk < kPerMessage) || (!end && map[i] != ",")) {
      one.push_back(map[i]);
      continue;
    }
    one.push_back("}");
    Set chunk(nftnl_set_alloc());
    nftnl_set_set_str(chunk.get(), NFTNL_SET_TABLE, nftnl_rule_get_str(r_, NFTNL_RULE_TABLE));
    nftnl_set_set_str(chunk.get(), NFTNL_SET_NAME, "__map%d");
    nftnl_set_set_u32(chunk.get(), NFTNL_SET_ID, id);
    if (auto f = add_elements(chunk.get(), one, 0, true)) return f;
    c_.message(NFT_MSG_NEWSETELEM, NLM_F_CREATE, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, chunk.get()); });
    one = {"{"};
    in_chunk = 0;
  }
  nftnl_expr* ng = expr("numgen");
  nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_DREG, NFT_REG_1);
  nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_MODULUS, static_cast<std::uint32_t>(*mod));
  nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
  nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_OFFSET, 0);
  lookup("__map%d", id, true);
  return std::nullopt;
}

// ---- Commands ------------------------------------------------------------------------------

std::optional<Failure> Compiler::table(bool add, const Words& w) {
  Table t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, std::string(w[3]).c_str());
  if (!add) {
    message(NFT_MSG_DELTABLE, 0, [&](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, t.get()); });
    return std::nullopt;
  }
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, 0);
  if (w.size() > 4) {
    if (w.size() != 9 || w[4] != "{" || w[5] != "comment" || w[7] != ";") return Failure{"expected { comment \"...\" ; }"};
    Udata u = udata();
    nftnl_udata_put_strz(u.get(), NFTNL_UDATA_TABLE_COMMENT, std::string(w[6]).c_str());
    nftnl_table_set_data(t.get(), NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(u.get()), nftnl_udata_buf_len(u.get()));
  }
  message(NFT_MSG_NEWTABLE, NLM_F_CREATE, [&](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, t.get()); });
  return std::nullopt;
}

std::optional<std::uint32_t> hook_number(std::string_view h) {
  if (h == "prerouting") return NF_INET_PRE_ROUTING;
  if (h == "input") return NF_INET_LOCAL_IN;
  if (h == "forward") return NF_INET_FORWARD;
  if (h == "output") return NF_INET_LOCAL_OUT;
  if (h == "postrouting") return NF_INET_POST_ROUTING;
  return std::nullopt;
}

// add chain T NAME [{ type T hook H priority P ; } | { comment "C" ; }], flush chain, delete chain.
std::optional<Failure> Compiler::chain(std::string_view verb, const Words& w) {
  if (w.size() < 5) return Failure{"expected a chain's name"};
  Chain c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, std::string(w[3]).c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, std::string(w[4]).c_str());
  if (verb == "flush") {
    Rule r(nftnl_rule_alloc());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, std::string(w[3]).c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, std::string(w[4]).c_str());
    message(NFT_MSG_DELRULE, 0, [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, r.get()); });
    return std::nullopt;
  }
  if (verb == "delete") {
    message(NFT_MSG_DELCHAIN, 0, [&](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, c.get()); });
    return std::nullopt;
  }
  if (w.size() == 14 && w[6] == "type" && w[8] == "hook" && w[10] == "priority") {
    auto hook = hook_number(w[9]);
    int prio = 0;
    auto [p, ec] = std::from_chars(w[11].data(), w[11].data() + w[11].size(), prio);
    if (!hook || ec != std::errc() || w[12] != ";" || w[13] != "}") return Failure{"expected type T hook H priority P ; }"};
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, std::string(w[7]).c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, *hook);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, prio);
  } else if (w.size() == 10 && w[5] == "{" && w[6] == "comment" && w[8] == ";" && w[9] == "}") {
    Udata u = udata();
    nftnl_udata_put_strz(u.get(), NFTNL_UDATA_CHAIN_COMMENT, std::string(w[7]).c_str());
    nftnl_chain_set_data(c.get(), NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(u.get()), nftnl_udata_buf_len(u.get()));
  } else if (w.size() != 5) {
    return Failure{"a chain declaration kn-lab does not write"};
  }
  message(NFT_MSG_NEWCHAIN, NLM_F_CREATE, [&](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, c.get()); });
  return std::nullopt;
}

// The clauses of a set's or map's declaration: `type A . B : verdict ;`, `flags X,Y ;`,
// `timeout Ns ;`, `comment "C" ;`, with the user data nft writes for them.
std::optional<Failure> declare_set(nftnl_set* s, bool map, const Words& w) {
  std::vector<KeyPart> parts;
  std::uint32_t flags = map ? NFT_SET_MAP : 0;
  std::string comment;
  for (std::size_t i = 6; i < w.size() && w[i] != "}"; ++i) {
    if (w[i] == "type") {
      while (++i < w.size() && w[i] != ";" && w[i] != ":") {
        if (w[i] == ".") continue;
        auto k = key_type(w[i]);
        if (!k) return Failure{fmt::format("a set key type kn-lab does not write: {}", w[i])};
        parts.push_back(*k);
      }
      if (i < w.size() && w[i] == ":" && (!map || ++i >= w.size() || w[i] != "verdict" || ++i >= w.size() || w[i] != ";"))
        return Failure{"a map's values must be verdicts"};
    } else if (w[i] == "flags") {
      for (++i; i < w.size() && w[i] != ";"; ++i)
        for (std::string_view f : {std::string_view("dynamic"), std::string_view("timeout")})
          if (w[i].find(f) != std::string_view::npos) flags |= static_cast<std::uint32_t>(f == "dynamic" ? NFT_SET_EVAL : NFT_SET_TIMEOUT);
    } else if (w[i] == "timeout" && i + 1 < w.size() && w[i + 1].ends_with("s")) {
      std::string_view t = w[++i];
      auto secs = number(t.substr(0, t.size() - 1));
      if (!secs) return Failure{"expected a timeout in seconds"};
      nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, *secs * 1000);
      ++i;
    } else if (w[i] == "comment" && i + 1 < w.size()) {
      comment = std::string(w[++i]);
      ++i;
    } else if (w[i] != ";") {
      return Failure{fmt::format("a set clause kn-lab does not write: {}", w[i])};
    }
  }
  if (parts.empty()) return Failure{"a set without its type"};
  std::uint32_t type = 0, len = 0;
  for (const KeyPart& k : parts) type = (type << 6) | k.type, len += (k.len + 3) / 4 * 4;
  if (parts.size() == 1) len = parts[0].len;
  nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
  nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, type);
  nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, len);
  if (map) nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT), nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
  Udata u = udata();
  bool concat = parts.size() > 1;
  nftnl_udata_put_u32(u.get(), NFTNL_UDATA_SET_KEYBYTEORDER, concat ? 0 : 2);  // none for a concatenation, else big endian
  if (map) nftnl_udata_put_u32(u.get(), NFTNL_UDATA_SET_DATABYTEORDER, 0);
  if (concat) put_typeof(u.get(), NFTNL_UDATA_SET_KEY_TYPEOF, 13);  // a concatenation
  if (map) nftnl_udata_put_u32(u.get(), NFTNL_UDATA_SET_DATA_INTERVAL, 0);
  if (!comment.empty()) nftnl_udata_put_strz(u.get(), NFTNL_UDATA_SET_COMMENT, comment.c_str());
  nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u.get()), nftnl_udata_buf_len(u.get()));
  return std::nullopt;
}

std::optional<Failure> Compiler::set(bool add, bool map, const Words& w) {
  if (w.size() < 5) return Failure{"expected a set's name"};
  Set s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, std::string(w[3]).c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, std::string(w[4]).c_str());
  if (!add) {
    message(NFT_MSG_DELSET, 0, [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, s.get()); });
    return std::nullopt;
  }
  if (w.size() < 7 || w[5] != "{" || w.back() != "}") return Failure{"expected { type ... ; }"};
  if (auto f = declare_set(s.get(), map, w)) return f;
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, next_seq());
  message(NFT_MSG_NEWSET, NLM_F_CREATE, [&](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, s.get()); });
  return std::nullopt;
}

void Compiler::flush_elements() {
  if (!pending_) return;
  std::swap(line_, pending_line_);  // the message is named by its first line
  std::swap(source_, pending_text_);
  message(NFT_MSG_NEWSETELEM, NLM_F_CREATE, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, pending_.get()); });
  std::swap(line_, pending_line_);
  std::swap(source_, pending_text_);
  pending_.reset();
  pending_count_ = pending_text_ = 0;
}

// add|delete element T SET { ... }: adds gather into one message per set (nft sends one for
// `{ a, b, c }`), at most 256 elements or 32 KiB of text to a message.
std::optional<Failure> Compiler::element(bool add, const Words& w) {
  if (w.size() < 7) return Failure{"expected SET { ELEMENT }"};
  if (add && pending_ && pending_set_ == w[4] && pending_count_ < 256 && pending_text_ < 32 * 1024) {
    ++pending_count_;
    pending_text_ += source_;
    return add_elements(pending_.get(), w, 5, true);
  }
  flush_elements();
  Set s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, std::string(w[3]).c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, std::string(w[4]).c_str());
  if (auto f = add_elements(s.get(), w, 5, add)) return f;
  if (!add) {
    message(NFT_MSG_DELSETELEM, 0, [&](nlmsghdr* n) { nftnl_set_elems_nlmsg_build_payload(n, s.get()); });
    return std::nullopt;
  }
  pending_ = std::move(s);
  pending_set_ = std::string(w[4]);
  pending_count_ = 1;
  pending_text_ = source_;
  pending_line_ = line_;
  return std::nullopt;
}

std::optional<Failure> Compiler::rule(const Words& w) {
  if (w.size() < 6) return Failure{"expected CHAIN and a rule"};
  Rule r(nftnl_rule_alloc());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family_);
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, std::string(w[3]).c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, std::string(w[4]).c_str());
  if (auto f = RuleCompiler(*this, r.get(), w, 5).run()) return f;
  message(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [&](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, r.get()); });
  return std::nullopt;
}

std::optional<Failure> Compiler::line(std::string_view text, std::uint32_t number) {
  Words w = split_words(text);
  if (w.empty()) return std::nullopt;
  if (w.size() < 4 || w[2] != "ip") return Failure{"expected VERB KIND ip TABLE ... (kn-lab writes tables of family ip)"};
  std::string_view verb = w[0], kind = w[1];
  if (!(verb == "add" && kind == "element")) flush_elements();
  line_ = number;
  source_ = text.size();
  if (kind == "table" && (verb == "add" || verb == "delete")) return table(verb == "add", w);
  if (kind == "chain" && (verb == "add" || verb == "delete" || verb == "flush")) return chain(verb, w);
  if ((kind == "set" || kind == "map") && (verb == "add" || verb == "delete")) return set(verb == "add", kind == "map", w);
  if (kind == "element" && (verb == "add" || verb == "delete")) return element(verb == "add", w);
  if (kind == "rule" && verb == "add") return rule(w);
  return Failure{fmt::format("{} {} is not in kn-lab's nftables dialect", verb, kind)};
}

}  // namespace

Result<NftMessages> nft_compile(std::string_view script, std::uint32_t first_seq) {
  Compiler c(first_seq);
  std::uint32_t n = 0;
  for (std::string_view text : split(script, '\n')) {
    if (auto f = c.line(text, ++n)) {
      Error e = sys_error("compile nftables script", fmt::format("line {}", n), 0);
      e.detail = fmt::format("{}: {}", f->what, text);
      return fail(std::move(e));
    }
  }
  return c.take();
}

}  // namespace knlab
