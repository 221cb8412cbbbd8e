// The reader of NetworkPolicy (networking.k8s.io/v1), with the API server's validation
// (pkg/apis/networking/validation): label selectors, peers, ports and ipBlocks, each refused at
// its place with what is allowed.
#include <algorithm>
#include <set>

#include "lab/manifest_read.hpp"
#include "lab/netpol.hpp"
#include "lab/names.hpp"

namespace knlab {

namespace {

constexpr const char* kSelectorHint =
    "a label selector: matchLabels: {app: web} and/or matchExpressions: [{key: tier, operator: In, values: [db]}]";

Result<LabelRequirement> read_expression(const Fields& e) {
  KN_TRY(e.allow({"key", "operator", "values"}));
  LabelRequirement r;
  r.key = KN_TRY(e.required_string("key", "for example key: app"));
  if (!valid_label_key(r.key))
    return fail(e.error("key", fmt::format("{} \"{}\" is not a valid label key", e.path("key"), r.key),
                        "at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends, with an optional DNS prefix"));
  std::string op = KN_TRY(e.choice("operator", {"In", "NotIn", "Exists", "DoesNotExist"}, ""));
  using Op = LabelRequirement::Op;
  r.op = op == "In" ? Op::kIn : op == "NotIn" ? Op::kNotIn : op == "Exists" ? Op::kExists : Op::kDoesNotExist;
  for (auto& [v, mark] : KN_TRY(e.strings("values"))) {
    if (!valid_label_part(v, true))
      return fail(e.doc().error(mark, fmt::format("{}: \"{}\" is not a valid label value", e.path("values"), v),
                                "at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends"));
    r.values.push_back(v);
  }
  bool set_op = r.op == Op::kIn || r.op == Op::kNotIn;
  if (set_op && r.values.empty())
    return fail(e.error("operator", fmt::format("{}: operator {} needs values", e.path(), op), "for example values: [web, api]"));
  if (!set_op && !r.values.empty())
    return fail(e.error("values", fmt::format("{}: operator {} takes no values", e.path(), op), "remove values, or use In / NotIn"));
  return r;
}

}  // namespace

// metav1.LabelSelector: matchLabels (each an Equals, keys sorted), then matchExpressions.
Result<LabelSelector> read_label_selector(const Fields& f, std::string_view key) {
  if (const YAML::Node* n = f.get(key); n && !n->IsMap())
    return fail(f.error(key, fmt::format("{} must be a label selector, not {}", f.path(key), type_name(*n)), kSelectorHint));
  Fields s = KN_TRY(f.object(key));
  KN_TRY(s.allow({"matchLabels", "matchExpressions"}));
  LabelSelector out;
  for (auto& [k, v] : KN_TRY(read_labels(s, "matchLabels"))) out.requirements.push_back({k, LabelRequirement::Op::kEquals, {v}});
  for (const Fields& e : KN_TRY(s.objects("matchExpressions"))) out.requirements.push_back(KN_TRY(read_expression(e)));
  return out;
}

namespace {

Result<Cidr> read_cidr(const Fields& f, const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) return fail(f.doc().error(n.Mark(), fmt::format("{} must be a CIDR string", path), "like 10.244.0.0/16"));
  std::string text = n.Scalar();
  auto loose = Cidr::parse(text, false);
  if (!loose)
    return fail(f.doc().error(n.Mark(), fmt::format("{} \"{}\" is not an IPv4 CIDR", path, text),
                              "like 10.244.1.0/24 or 192.168.56.11/32 (kn-lab's labs are IPv4)"));
  if (loose->addr != loose->network())
    return fail(f.doc().error(n.Mark(), fmt::format("{} \"{}\" has host bits set", path, text),
                              fmt::format("the network is {}; write that, or a /32 for one address", Cidr{loose->network(), loose->prefix}.str())));
  return *loose;
}

Result<NetpolPeer::IpBlock> read_ip_block(const Fields& b) {
  KN_TRY(b.allow({"cidr", "except"}));
  if (!b.has("cidr")) return fail(b.missing("cidr", "for example cidr: 10.0.0.0/8"));
  NetpolPeer::IpBlock out;
  out.cidr = KN_TRY(read_cidr(b, *b.get("cidr"), b.path("cidr")));
  std::size_t i = 0;
  for (const YAML::Node& n : KN_TRY(b.list("except"))) {
    std::string path = fmt::format("{}[{}]", b.path("except"), i++);
    Cidr e = KN_TRY(read_cidr(b, n, path));
    bool inside = e.prefix > out.cidr.prefix && Cidr{e.addr, out.cidr.prefix}.network() == out.cidr.network();
    if (!inside)
      return fail(b.doc().error(n.Mark(), fmt::format("{} {} is not inside cidr {}", path, e.str(), out.cidr.str()),
                                "except lists parts of cidr (a strict subset) that the rule leaves out"));
    out.except.push_back(e);
  }
  return out;
}

Result<NetpolPeer> read_peer(const Fields& p) {
  KN_TRY(p.allow({"podSelector", "namespaceSelector", "ipBlock"}));
  NetpolPeer out;
  if (p.has("podSelector")) out.pods = KN_TRY(read_label_selector(p, "podSelector"));
  if (p.has("namespaceSelector")) out.namespaces = KN_TRY(read_label_selector(p, "namespaceSelector"));
  if (p.has("ipBlock")) {
    if (out.pods || out.namespaces)
      return fail(p.error("ipBlock", fmt::format("{}: ipBlock may not be combined with podSelector or namespaceSelector", p.path()),
                          "write the ipBlock as a peer of its own (a separate '- ipBlock:' item)"));
    out.ip_block = KN_TRY(read_ip_block(KN_TRY(p.object("ipBlock"))));
  }
  if (!out.pods && !out.namespaces && !out.ip_block)
    return fail(p.doc().error(p.mark(), fmt::format("{} must specify a peer", p.path()),
                              "give podSelector, namespaceSelector or ipBlock (an empty peer matches nothing and is refused)"));
  return out;
}

// IANA_SVC_NAME: at most 15 characters of [a-z0-9-], a letter among them, no "--", '-' not at an end.
bool valid_port_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-' || s.find("--") != std::string::npos) return false;
  bool letter = false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    letter |= c >= 'a' && c <= 'z';
  }
  return letter;
}

Result<NetpolPort> read_port(const Fields& p) {
  KN_TRY(p.allow({"protocol", "port", "endPort"}));
  NetpolPort out;
  out.protocol = KN_TRY(p.choice("protocol", {"TCP", "UDP", "SCTP"}, "TCP"));
  if (const YAML::Node* n = p.get("port")) {
    std::string text = n->IsScalar() ? n->Scalar() : std::string();
    bool number = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (number) out.port = KN_TRY(p.port("port"));
    else if (valid_port_name(text)) out.port_name = text;
    else
      return fail(p.error("port", fmt::format("{} \"{}\" is neither a port number nor a port name", p.path("port"), text),
                          "a number 1-65535, or the name of a container port (at most 15 of [a-z0-9-], with a letter)"));
  }
  if (p.has("endPort")) {
    out.end_port = KN_TRY(p.port("endPort"));
    if (!out.port)
      return fail(p.error("endPort", fmt::format("{} needs a numeric port", p.path("endPort")),
                          out.port_name.empty() ? "give port: the start of the range" : "a range cannot start at a named port"));
    if (*out.end_port < *out.port)
      return fail(p.error("endPort", fmt::format("{} {} is below port {}", p.path("endPort"), *out.end_port, *out.port),
                          "endPort is the last port of the range port..endPort"));
  }
  return out;
}

Result<std::vector<NetpolRule>> read_rules(const Fields& spec, std::string_view key, std::string_view peers_key) {
  std::vector<NetpolRule> out;
  for (const Fields& r : KN_TRY(spec.objects(key))) {
    KN_TRY(r.allow({peers_key, "ports"}));
    NetpolRule rule;
    for (const Fields& p : KN_TRY(r.objects(peers_key))) rule.peers.push_back(KN_TRY(read_peer(p)));
    for (const Fields& p : KN_TRY(r.objects("ports"))) rule.ports.push_back(KN_TRY(read_port(p)));
    out.push_back(std::move(rule));
  }
  return out;
}

}  // namespace

Status read_network_policy(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a NetworkPolicy needs a spec: podSelector ({} selects every pod of the namespace), policyTypes, ingress, egress"));
  KN_TRY(spec.allow({"podSelector", "policyTypes", "ingress", "egress"}));
  NetworkPolicySpec np;
  // Absent or {} selects every pod of the namespace (podSelector is a struct, not a pointer, in the API).
  np.pod_selector = KN_TRY(read_label_selector(spec, "podSelector"));
  np.ingress_rules = KN_TRY(read_rules(spec, "ingress", "from"));
  np.egress_rules = KN_TRY(read_rules(spec, "egress", "to"));
  auto types = KN_TRY(spec.strings("policyTypes"));
  if (types.empty()) {
    np.ingress = true;  // as the API server defaults it: Ingress, and Egress when there are egress rules
    np.egress = !np.egress_rules.empty();
  } else {
    np.ingress = np.egress = false;
    for (auto& [t, mark] : types) {
      bool& flag = t == "Ingress" ? np.ingress : np.egress;
      if (t != "Ingress" && t != "Egress")
        return fail(spec.doc().error(mark, fmt::format("{}: \"{}\" is not a policy type", spec.path("policyTypes"), t), "allowed: Ingress, Egress"));
      if (flag) return fail(spec.doc().error(mark, fmt::format("{}: {} is listed twice", spec.path("policyTypes"), t)));
      flag = true;
    }
  }
  np.meta = std::move(r.meta);
  r.m.l7.network_policies.push_back(std::move(np));
  return {};
}

}  // namespace knlab
