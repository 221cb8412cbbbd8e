// Reading iptables back (net/iptables_read): every rule kn-lab plans, encoded as iptables_apply
// writes it and decoded as iptables_read reads it, renders as it was planned; what the model
// cannot say is named, and the rest still decoded.
#include <doctest/doctest.h>

#include <fmt/core.h>
#include <libiptc/libiptc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/text.hpp"
#include "lab/images.hpp"
#include "lab/loader.hpp"
#include "net/iptables_codec.hpp"
#include "net/iptables_read.hpp"
#include "net/netns.hpp"
#include "shipped_labs.hpp"
#include "ops/iptables_rule.hpp"
#include "plan/plan.hpp"
#include "runtime/lifecycle.hpp"

using namespace knlab;

namespace {

// ipsets of a pretend namespace: each name gets the next index the first time it is asked for.
struct Sets {
  std::shared_ptr<std::map<std::string, std::uint16_t>> indexes = std::make_shared<std::map<std::string, std::uint16_t>>();
  IptSetIndex index() const {
    return [m = indexes](const std::string& name) -> std::optional<std::uint16_t> {
      return m->try_emplace(name, static_cast<std::uint16_t>(m->size() + 3)).first->second;
    };
  }
  IptSetName name() const {
    return [m = indexes](std::uint16_t index) -> std::optional<std::string> {
      for (const auto& [n, i] : *m)
        if (i == index) return n;
      return std::nullopt;
    };
  }
};


std::vector<unsigned char> encode(const IptRule& r, const Sets& sets, std::string_view table = "nat") {
  auto blob = encode_rule_for_test(r, sets.index(), table);
  REQUIRE_MESSAGE(!blob.empty(), render_rule(r));
  return blob;
}

const ipt_entry* entry(const std::vector<unsigned char>& blob) { return reinterpret_cast<const ipt_entry*>(blob.data()); }

IptReadRule decode(const std::vector<unsigned char>& blob, const IptRule& r, const Sets& sets) {
  IptReadRule d = decode_entry(entry(blob), target_name(r), sets.name());
  d.rule.chain = r.chain;
  return d;
}

void round_trip(const IptRule& r, std::string_view table = "nat") {
  Sets sets;
  IptReadRule d = decode(encode(r, sets, table), r, sets);
  CHECK(render_rule(d.rule) == render_rule(r));
  CHECK_MESSAGE(d.undecoded.empty(), render_rule(r) << ": " << d.undecoded);
}

// The match (or the target, for "") named `name` in an encoded entry.
unsigned char* find_ext(std::vector<unsigned char>& blob, std::string_view name) {
  auto* e = reinterpret_cast<ipt_entry*>(blob.data());
  if (name.empty()) return blob.data() + e->target_offset;
  for (std::size_t off = sizeof(ipt_entry); off < e->target_offset;) {
    auto* m = reinterpret_cast<xt_entry_match*>(blob.data() + off);
    if (name == m->u.user.name) return blob.data() + off;
    off += m->u.match_size;
  }
  FAIL("no match " << name);
  return nullptr;
}

void rename(unsigned char* ext, const char* to) {
  auto* m = reinterpret_cast<xt_entry_match*>(ext);
  std::memset(m->u.user.name, 0, sizeof m->u.user.name);
  std::strncpy(m->u.user.name, to, sizeof m->u.user.name - 1);
}

// Every iptables table `up` writes for the shipped lab `file` (every node's, the cloud's).
std::vector<IptTable> planned_tables(const std::string& file) {
  auto plan = test::shipped_lab(file);
  std::vector<IptTable> out;
  for (Op& op : up_ops(plan))
    if (auto* apply = std::get_if<IptablesApply>(&op)) out.push_back(*apply->table);
  return out;
}

IptRule rule(std::string to = "ACCEPT") { return jump_rule("KUBE-TEST", std::move(to)); }

}  // namespace

TEST_CASE("iptables read: every rule of every shipped lab decodes to what was planned") {
  std::size_t rules = 0, with_sets = 0;
  for (const auto& f : std::filesystem::directory_iterator(KNLAB_SOURCE_DIR "/labs")) {
    if (f.path().extension() != ".toml") continue;
    const std::string file = f.path().filename().string();
    CAPTURE(file);
    for (const IptTable& t : planned_tables(file))
      for (const IptRule& r : t.rules) {
        round_trip(r, t.name);
        ++rules;
        if (!r.sets.empty()) ++with_sets;
      }
  }
  MESSAGE(rules << " rules, " << with_sets << " with -m set");
  CHECK(rules > 500);
  CHECK(with_sets > 10);
}

TEST_CASE("iptables read: each field of IptRule round-trips") {
  IptRule r = rule();
  r.src = *Cidr::parse("10.244.0.0/16");
  r.src_negated = true;
  round_trip(r);
  r.src = *Cidr::parse("0.0.0.0/0");  // ! -s 0.0.0.0/0
  round_trip(r);
  r = rule("DROP");
  r.src = *Cidr::parse("10.0.0.1/32");
  r.dst = *Cidr::parse("10.96.0.0/12");
  r.in_iface = "eth0";
  r.out_iface = "veth+";
  round_trip(r);
  for (const char* proto : {"tcp", "udp", "sctp"}) {
    IptRule p = rule("RETURN");
    p.proto = proto;
    round_trip(p);  // -p alone
    p.want_proto_match = true;
    round_trip(p);  // -m PROTO alone
    p.dport = 53;
    round_trip(p);
    p.dport_end = 1053;
    round_trip(p);
    p.want_proto_match = false;
    round_trip(p);
  }
  r = rule("KUBE-OTHER");
  r.physdev_bridged = true;
  r.comment = "a \"quoted\" comment; with \\ and '";
  r.sets = {{"KUBE-SRC-ABC", true}, {"KUBE-DST-DEF", false}, {"KUBE-SRC-GHI", false}};
  round_trip(r);
  for (std::uint8_t st = 1; st < 8; ++st) {
    IptRule c = rule();
    c.ctstate = st;
    round_trip(c);
  }
  for (auto [src, dst] : {std::pair{true, false}, {false, true}, {true, true}}) {
    IptRule a = rule();
    a.src_type_local = src;
    a.dst_type_local = dst;
    round_trip(a);
  }
}

TEST_CASE("iptables read: marks, recent, statistic round-trip") {
  for (bool negated : {false, true})
    for (std::uint32_t mask : {0xffffffffu, 0x4000u, 0u}) {
      IptRule r = rule("RETURN");
      r.mark = IptRule::Mark{0x4000, mask, negated};
      round_trip(r);
    }
  IptRule r = rule("KUBE-SEP-X");
  r.recent = IptRule::Recent{"KUBE-SEP-X", true, 0, false};
  round_trip(r);
  r.recent = IptRule::Recent{"AB", false, 10800, true};  // "AB\0AULT" in the kernel
  round_trip(r);
  r.recent = IptRule::Recent{std::string(199, 'n'), false, 5, false};
  round_trip(r);
  for (double p : {0.0, 1e-6, 0.1, 0.2, 0.25, 1.0 / 3, 0.33333333349, 0.5, 0.9999, 1.0}) {
    IptRule s = rule("KUBE-SEP-Y");
    s.probability = p;
    round_trip(s);
  }
  for (int n = 2; n < 200; ++n) {  // kube-proxy's 1/n, 1/(n-1), ...
    IptRule s = rule("KUBE-SEP-Y");
    s.probability = 1.0 / n;
    round_trip(s);
  }
}

TEST_CASE("iptables read: every target round-trips") {
  IptRule r = rule("");  // no target: counts only
  round_trip(r);
  for (const char* v : {"ACCEPT", "DROP", "RETURN", "KUBE-SVC-ABCDEFGHIJKLMNOP"}) round_trip(rule(v));
  r = rule();
  r.proto = "tcp";
  r.target = IptRule::Target::kDnat;
  r.to_ip = *Ipv4::parse("10.244.1.5");
  r.to_port = 8080;
  round_trip(r);
  r.to_port = 0;
  round_trip(r);
  r = rule();
  r.target = IptRule::Target::kMasquerade;
  round_trip(r);
  r.random_fully = true;
  round_trip(r);
  for (auto t : {IptRule::Target::kMarkOr, IptRule::Target::kMarkXor, IptRule::Target::kMarkSet}) {
    IptRule m = rule();
    m.target = t;
    m.mark_bits = 0x4000;
    m.mark_mask = 0xc000;
    round_trip(m, "filter");
  }
  r = rule();
  r.target = IptRule::Target::kReject;
  round_trip(r, "filter");
  r.target = IptRule::Target::kNflog;
  r.nflog_group = 100;
  round_trip(r, "filter");
  r.nflog_prefix = "DROP by policy x/web";
  round_trip(r, "filter");
  r.nflog_group = 0;
  round_trip(r, "filter");
}

TEST_CASE("iptables read: a match or target the model has no field for is named, the rest decoded") {
  Sets sets;
  IptRule r = rule();
  r.dst = *Cidr::parse("10.96.0.10/32");
  r.proto = "tcp";
  r.dport = 53;
  r.comment = "dns";
  auto blob = encode(r, sets);
  rename(find_ext(blob, "comment"), "multiport");
  IptReadRule d = decode(blob, r, sets);
  CHECK(d.undecoded == "match multiport");
  CHECK(render_rule(d.rule) == "-A KUBE-TEST -d 10.96.0.10/32 -p tcp -m tcp --dport 53 -j ACCEPT");

  // A target without a decoder: shown by name, said to be undecoded.
  r = rule();
  r.target = IptRule::Target::kNflog;
  r.nflog_group = 5;
  blob = encode(r, sets, "filter");
  rename(find_ext(blob, ""), "LOG");
  d = decode(blob, r, sets);
  CHECK(d.undecoded == "target LOG");
  CHECK(render_rule(d.rule) == "-A KUBE-TEST -j LOG");

  // Another revision, and options kn-lab never writes.
  r = rule();
  r.mark = IptRule::Mark{};
  r.src = *Cidr::parse("10.0.0.0/8");
  blob = encode(r, sets);
  reinterpret_cast<xt_entry_match*>(find_ext(blob, "mark"))->u.user.revision = 0;
  reinterpret_cast<ipt_entry*>(blob.data())->ip.invflags |= IPT_INV_VIA_IN;
  d = decode(blob, r, sets);
  CHECK(d.undecoded == "! -i, match mark (revision 0)");
  CHECK(render_rule(d.rule) == "-A KUBE-TEST -s 10.0.0.0/8 -j ACCEPT");
}

TEST_CASE("iptables read: a set index no set has, and a rule written with -g, are named") {
  Sets sets;
  IptRule r = rule("KUBE-X");
  r.sets = {{"KUBE-SRC-A", true}};
  auto blob = encode(r, sets);
  IptReadRule d = decode_entry(entry(blob), "KUBE-X", [](std::uint16_t) { return std::optional<std::string>(); });
  CHECK(d.undecoded == "match set (index 3: no set has it)");
  reinterpret_cast<ipt_entry*>(blob.data())->ip.flags |= IPT_F_GOTO;
  d = decode(blob, r, sets);
  CHECK(d.undecoded == "-g (goto)");
  CHECK(d.rule.jump == "KUBE-X");
}

TEST_CASE("iptables read: counters come from the entry") {
  Sets sets;
  IptRule r = rule();
  auto blob = encode(r, sets);
  auto* e = reinterpret_cast<ipt_entry*>(blob.data());
  e->counters.pcnt = 12;
  e->counters.bcnt = 3456;
  IptReadRule d = decode(blob, r, sets);
  CHECK(d.counters.packets == 12);
  CHECK(d.counters.bytes == 3456);
}

namespace {

// iptables-save -c's text of a table read back: chain lines with policies and counters, then
// "[packets:bytes] -A ..." lines.
std::string save_text(const IptReadTable& t) {
  std::string out = "*" + t.name + "\n";
  for (const IptReadChain& c : t.chains)
    out += c.builtin ? fmt::format(":{} {} [{}:{}]\n", c.name, c.policy, c.policy_counters.packets, c.policy_counters.bytes)
                     : fmt::format(":{} - [0:0]\n", c.name);
  for (const IptReadChain& c : t.chains)
    for (const IptReadRule& r : c.rules)
      out += fmt::format("[{}:{}] {}\n", r.counters.packets, r.counters.bytes, render_rule(r.rule));
  return out + "COMMIT\n";
}

std::string command_output(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string without_comment_lines(const std::string& text) {
  std::string out;
  for (std::string_view line : split(text, '\n'))
    if (!line.empty() && !line.starts_with('#')) out += std::string(line) + "\n";
  return out;
}

}  // namespace

// Root, on a running lab: KNLAB_TEST_IPT_READ_NETNS=kn-<lab>.<node> (several, comma-separated).
// Each table read back is what `iptables-legacy-save -c` prints in that namespace, counters
// included (read again a few times if traffic moved them in between); KNLAB_TEST_IPT_READ_SHOW=1
// prints what was read.
TEST_CASE("iptables read: a live namespace reads as iptables-legacy-save -c prints it") {
  const char* names = std::getenv("KNLAB_TEST_IPT_READ_NETNS");
  if (!names) return;
  for (std::string_view name : split(names, ',')) {
    auto ns = NetnsRef::open(std::string(name));
    REQUIRE_MESSAGE(ns, (ns ? "" : ns.error().format()));
    for (const char* table : {"nat", "filter"}) {
      const std::string netns(name), table_name(table);
      CAPTURE(netns);
      CAPTURE(table_name);
      std::string ours, theirs;
      for (int attempt = 0; attempt < 5 && (attempt == 0 || ours != theirs); ++attempt) {
        auto t = iptables_read(*ns, table);
        REQUIRE_MESSAGE(t, (t ? "" : t.error().format()));
        for (const IptReadChain& c : t->chains)
          for (const IptReadRule& r : c.rules) CHECK_MESSAGE(r.undecoded.empty(), render_rule(r.rule) << ": " << r.undecoded);
        ours = save_text(*t);
        theirs = without_comment_lines(command_output(
            fmt::format("nsenter --net={}/{} iptables-legacy-save -c -t {}", kNetnsDir, name, table)));
      }
      CHECK(ours == theirs);
      if (std::getenv("KNLAB_TEST_IPT_READ_SHOW")) MESSAGE(ours);
    }
    // A table the namespace never made reads as its empty built-in chains, and stays unmade.
    auto tables = [&] { return command_output(fmt::format("nsenter --net={}/{} cat /proc/net/ip_tables_names", kNetnsDir, name)); };
    std::string before = tables();
    if (before.find("raw") == std::string::npos) {
      auto raw = iptables_read(*ns, "raw");
      REQUIRE(raw);
      CHECK(save_text(*raw) == "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n");
      CHECK(tables() == before);
    }
  }
}
