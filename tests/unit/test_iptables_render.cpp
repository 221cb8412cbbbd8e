// iptables-save rendering of IptRule / IptTable. Every expected string below is what
// iptables-legacy-save v1.8.9 printed for the same rule added with iptables-legacy (checked in
// a scratch namespace); tests/e2e/test_iptables_apply.py checks the same against the kernel.
#include <doctest/doctest.h>

#include "net/iptables.hpp"
#include "ops/iptables_rule.hpp"

using namespace knlab;

namespace {

Cidr cidr(const char* s) { return *Cidr::parse(s, false); }
Ipv4 ip(const char* s) { return *Ipv4::parse(s); }

IptRule jump(const char* chain, const char* to) {
  IptRule r;
  r.chain = chain;
  r.jump = to;
  return r;
}

}  // namespace

TEST_CASE("render_rule: addresses, interfaces, protocol and port") {
  IptRule r = jump("KUBE-SVC-X", "KUBE-MARK-MASQ");
  r.src = cidr("10.244.0.0/16");
  r.src_negated = true;
  r.dst = cidr("10.96.0.10/32");
  r.proto = "tcp";
  r.dport = 80;
  r.comment = "default/web:http cluster IP";
  CHECK(render_rule(r) ==
        "-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m comment --comment "
        "\"default/web:http cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ");

  IptRule u = jump("KUBE-NODEPORTS", "ACCEPT");
  u.in_iface = "eth0";
  u.out_iface = "eth1";
  u.proto = "udp";
  u.dport = 53;
  CHECK(render_rule(u) == "-A KUBE-NODEPORTS -i eth0 -o eth1 -p udp -m udp --dport 53 -j ACCEPT");

  IptRule w = jump("T", "RETURN");
  w.in_iface = "eth+";
  w.out_iface = "veth0";
  CHECK(render_rule(w) == "-A T -i eth+ -o veth0 -j RETURN");

  // Addresses are masked as the kernel stores them; 0.0.0.0/0 is printed only when negated.
  IptRule m = jump("T", "RETURN");
  m.dst = cidr("10.1.2.3/16");
  CHECK(render_rule(m) == "-A T -d 10.1.0.0/16 -j RETURN");
  IptRule any = jump("T", "RETURN");
  any.src = cidr("0.0.0.0/0");
  CHECK(render_rule(any) == "-A T -j RETURN");
  any.src_negated = true;
  CHECK(render_rule(any) == "-A T ! -s 0.0.0.0/0 -j RETURN");

  IptRule p = jump("T", "RETURN");
  p.proto = "tcp";
  CHECK(render_rule(p) == "-A T -p tcp -j RETURN");
  p.want_proto_match = true;
  CHECK(render_rule(p) == "-A T -p tcp -m tcp -j RETURN");

  IptRule fall;
  fall.chain = "T";
  fall.src = cidr("10.0.0.1/32");
  CHECK(render_rule(fall) == "-A T -s 10.0.0.1/32");
}

TEST_CASE("render_rule: comments are quoted as xtables_save_string() does") {
  IptRule r = jump("T", "RETURN");
  r.comment = "abc";
  CHECK(render_rule(r) == "-A T -m comment --comment abc -j RETURN");
  r.comment = "default/web:http";
  CHECK(render_rule(r) == "-A T -m comment --comment \"default/web:http\" -j RETURN");
  r.comment = "it's";
  CHECK(render_rule(r) == "-A T -m comment --comment \"it\\'s\" -j RETURN");
  r.comment = "a\"b\\c";
  CHECK(render_rule(r) == "-A T -m comment --comment \"a\\\"b\\\\c\" -j RETURN");
  r.comment = "kubernetes service nodeports; NOTE: this must be the last rule in this chain";
  r.dst_type_local = true;
  r.jump = "KUBE-NODEPORTS";
  CHECK(render_rule(r) ==
        "-A T -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last "
        "rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS");
}

TEST_CASE("render_rule: mark match and MARK target") {
  IptRule r = jump("KUBE-POSTROUTING", "RETURN");
  r.mark = IptRule::Mark{0x4000, 0x4000, true};
  CHECK(render_rule(r) == "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN");
  r.mark = IptRule::Mark{0x4000, 0xffffffff, false};
  CHECK(render_rule(r) == "-A KUBE-POSTROUTING -m mark --mark 0x4000 -j RETURN");
  r.mark = IptRule::Mark{0, 0xffffffff, false};
  CHECK(render_rule(r) == "-A KUBE-POSTROUTING -m mark --mark 0x0 -j RETURN");

  // MARK revision 2 is saved as --set-xmark: --or-mark X is X/X, --xor-mark X is X/0x0.
  IptRule o;
  o.chain = "KUBE-MARK-MASQ";
  o.target = IptRule::Target::kMarkOr;
  o.mark_bits = 0x4000;
  CHECK(render_rule(o) == "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000");
  o.mark_bits = 0;
  CHECK(render_rule(o) == "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x0/0x0");
  o.target = IptRule::Target::kMarkXor;
  o.mark_bits = 0x4000;
  CHECK(render_rule(o) == "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x0");
}

TEST_CASE("render_rule: recent match (session affinity)") {
  IptRule r = jump("KUBE-SVC-X", "KUBE-SEP-X");
  r.comment = "default/web:http -> 10.244.1.2:8080";
  r.recent = IptRule::Recent{"KUBE-SEP-X", false, 10800, true};
  CHECK(render_rule(r) ==
        "-A KUBE-SVC-X -m comment --comment \"default/web:http -> 10.244.1.2:8080\" -m recent "
        "--rcheck --seconds 10800 --reap --name KUBE-SEP-X --mask 255.255.255.255 --rsource -j "
        "KUBE-SEP-X");
  r.comment.clear();
  r.recent = IptRule::Recent{"FOO", false, 0, false};
  CHECK(render_rule(r) ==
        "-A KUBE-SVC-X -m recent --rcheck --name FOO --mask 255.255.255.255 --rsource -j KUBE-SEP-X");
  r.recent = IptRule::Recent{"FOO", false, 5, false};
  CHECK(render_rule(r) == "-A KUBE-SVC-X -m recent --rcheck --seconds 5 --name FOO --mask "
                          "255.255.255.255 --rsource -j KUBE-SEP-X");

  IptRule d;
  d.chain = "KUBE-SEP-X";
  d.proto = "tcp";
  d.comment = "default/web:http";
  d.want_proto_match = true;
  d.recent = IptRule::Recent{"KUBE-SEP-X", true, 0, false};
  d.target = IptRule::Target::kDnat;
  d.to_ip = ip("10.244.1.2");
  d.to_port = 8080;
  // The header's order puts -m tcp before -m recent (kube-proxy writes recent first).
  CHECK(render_rule(d) ==
        "-A KUBE-SEP-X -p tcp -m comment --comment \"default/web:http\" -m tcp -m recent --set "
        "--name KUBE-SEP-X --mask 255.255.255.255 --rsource -j DNAT --to-destination "
        "10.244.1.2:8080");
}

TEST_CASE("render_rule: statistic probability is the kernel's 31-bit fraction, %.11f") {
  CHECK(statistic_probability_fraction(1.0 / 3) == 715827883u);
  CHECK(statistic_probability_fraction(0.5) == 0x40000000u);
  CHECK(statistic_probability_fraction(1.0) == 0x80000000u);
  CHECK(statistic_probability_fraction(0.0) == 0u);
  auto prob = [](double p) {
    IptRule r = jump("KUBE-SVC-X", "KUBE-SEP-X");
    r.probability = p;
    return render_rule(r);
  };
  const std::string head = "-A KUBE-SVC-X -m statistic --mode random --probability ";
  CHECK(prob(1.0 / 3) == head + "0.33333333349 -j KUBE-SEP-X");
  CHECK(prob(0.3333333333) == head + "0.33333333349 -j KUBE-SEP-X");  // kube-proxy's %0.10f
  CHECK(prob(0.33333333349) == head + "0.33333333349 -j KUBE-SEP-X");  // a round trip is stable
  CHECK(prob(0.5) == head + "0.50000000000 -j KUBE-SEP-X");
  CHECK(prob(0.2) == head + "0.20000000019 -j KUBE-SEP-X");
  CHECK(prob(1.0) == head + "1.00000000000 -j KUBE-SEP-X");
  CHECK(prob(0.0) == head + "0.00000000000 -j KUBE-SEP-X");
}

TEST_CASE("render_rule: NAT and REJECT targets") {
  IptRule d;
  d.chain = "KUBE-SEP-X";
  d.proto = "tcp";
  d.comment = "default/web:http";
  d.want_proto_match = true;
  d.target = IptRule::Target::kDnat;
  d.to_ip = ip("10.244.1.2");
  d.to_port = 8080;
  CHECK(render_rule(d) == "-A KUBE-SEP-X -p tcp -m comment --comment \"default/web:http\" -m tcp "
                          "-j DNAT --to-destination 10.244.1.2:8080");
  IptRule np;
  np.chain = "T";
  np.proto = "udp";
  np.target = IptRule::Target::kDnat;
  np.to_ip = ip("10.244.1.2");
  CHECK(render_rule(np) == "-A T -p udp -j DNAT --to-destination 10.244.1.2");

  IptRule m;
  m.chain = "KUBE-POSTROUTING";
  m.comment = "kubernetes service traffic requiring SNAT";
  m.target = IptRule::Target::kMasquerade;
  m.random_fully = true;
  CHECK(render_rule(m) == "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic "
                          "requiring SNAT\" -j MASQUERADE --random-fully");
  m.comment.clear();
  m.random_fully = false;
  CHECK(render_rule(m) == "-A KUBE-POSTROUTING -j MASQUERADE");

  IptRule rej;
  rej.chain = "KUBE-SERVICES";
  rej.dst = cidr("10.96.0.11/32");
  rej.proto = "tcp";
  rej.dport = 80;
  rej.comment = "default/empty:http has no endpoints";
  rej.target = IptRule::Target::kReject;
  CHECK(render_rule(rej) == "-A KUBE-SERVICES -d 10.96.0.11/32 -p tcp -m comment --comment "
                            "\"default/empty:http has no endpoints\" -m tcp --dport 80 -j REJECT "
                            "--reject-with icmp-port-unreachable");
}

TEST_CASE("render_iptables_save: built-in chains, sorted user chains, rules grouped by chain") {
  IptTable t{"nat", {"KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-POSTROUTING"}, {}};
  IptRule mm;
  mm.chain = "KUBE-MARK-MASQ";
  mm.target = IptRule::Target::kMarkOr;
  mm.mark_bits = 0x4000;
  IptRule pre = jump("PREROUTING", "KUBE-SERVICES");
  pre.comment = "kubernetes service portals";
  IptRule post = jump("POSTROUTING", "KUBE-POSTROUTING");
  post.comment = "kubernetes postrouting rules";
  IptRule out = pre;
  out.chain = "OUTPUT";
  IptRule ret = jump("KUBE-POSTROUTING", "RETURN");
  ret.mark = IptRule::Mark{0x4000, 0x4000, true};
  IptRule local = jump("KUBE-SERVICES", "KUBE-NODEPORTS");
  local.dst_type_local = true;
  // Rules in any order: iptables-save lists them chain by chain, each chain's in order.
  t.rules = {mm, post, ret, pre, local, out};
  CHECK(render_iptables_save(t) ==
        "*nat\n"
        ":PREROUTING ACCEPT [0:0]\n"
        ":INPUT ACCEPT [0:0]\n"
        ":OUTPUT ACCEPT [0:0]\n"
        ":POSTROUTING ACCEPT [0:0]\n"
        ":KUBE-MARK-MASQ - [0:0]\n"
        ":KUBE-POSTROUTING - [0:0]\n"
        ":KUBE-SERVICES - [0:0]\n"
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
        "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n"
        "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n"
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
        "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n"
        "COMMIT\n");

  IptTable f{"filter", {"KUBE-SERVICES"}, {}};
  CHECK(render_iptables_save(f) ==
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
        ":KUBE-SERVICES - [0:0]\nCOMMIT\n");

  // libiptc sorts with strcmp(): '-' (0x2d) before letters, upper case before lower case.
  IptTable s{"nat", {"KUBE-b", "KUBE-SVC", "KUBE-SEP-Z", "KUBE-SEP"}, {}};
  std::string text = render_iptables_save(s);
  CHECK(text.find(":KUBE-SEP - [0:0]\n:KUBE-SEP-Z - [0:0]\n:KUBE-SVC - [0:0]\n:KUBE-b - [0:0]\n") !=
        std::string::npos);
}
