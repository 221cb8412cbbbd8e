// knlab-inspect-probe: prints what the read-only kernel readers (net/inspect, net/conntrack)
// see in one namespace, as JSON, for tests/e2e/test_inspect_readers.py.
//
//   knlab-inspect-probe NETNS [--route "DST [from SRC] [iif DEV] [mark M]"]...
//                             [--nsids PREFIX] [--sysctl PATH]... [--conntrack]
//
// stdout: {"links": [...], "addresses": [...], "neighbours": [...], "fdb": [...],
//          "routes": [{"query": ..., "error": errno, ...}], "nsids": {"<id>": "<name>"},
//          "sysctls": {"<path>": value or null}, "conntrack": [...] (with --conntrack)}
// --nsids asks for the id of every namespace under /run/netns whose name starts with PREFIX.
// stderr: the error (exit 1), or the usage (exit 2).
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "net/conntrack.hpp"
#include "net/inspect.hpp"
#include "net/netlink.hpp"
#include "net/netns.hpp"

using namespace knlab;
using nlohmann::json;

namespace {

struct Args {
  std::string netns;
  std::vector<std::string> routes;
  std::optional<std::string> nsids_prefix;
  std::vector<std::string> sysctls;
  bool conntrack = false;
};

json opt_ip(const std::optional<Ipv4>& ip) { return ip ? json(ip->str()) : json(nullptr); }

json link_json(const LinkInfo& l) {
  return {{"ifindex", l.ifindex},     {"name", l.name},           {"kind", l.kind},
          {"master", l.master},       {"mtu", l.mtu},             {"up", l.up},
          {"lower_up", l.lower_up},   {"mac", l.mac},             {"peer_ifindex", l.peer_ifindex},
          {"peer_nsid", l.peer_nsid ? json(*l.peer_nsid) : json(nullptr)},
          {"vni", l.vni},             {"vxlan_local", opt_ip(l.vxlan_local)},
          {"vxlan_port", l.vxlan_port}, {"vxlan_dev", l.vxlan_dev},
          {"rx_packets", l.rx_packets}, {"tx_packets", l.tx_packets},
          {"rx_dropped", l.rx_dropped}, {"tx_dropped", l.tx_dropped}};
}

json route_json(const std::string& query, const RouteLookup& r) {
  return {{"query", query},       {"error", r.error},       {"type", r.type},
          {"dst", r.dst ? json(r.dst->str()) : json(nullptr)},
          {"gateway", opt_ip(r.gateway)}, {"oif", r.oif},   {"prefsrc", opt_ip(r.prefsrc)},
          {"protocol", r.protocol}, {"onlink", r.onlink},   {"table", r.table}};
}

json tuple_json(const CtTuple& t) {
  return {{"src", t.src.str()}, {"dst", t.dst.str()}, {"proto", t.proto}, {"sport", t.sport}, {"dport", t.dport}};
}

json ct_json(const CtEntry& e) {
  return {{"orig", tuple_json(e.orig)}, {"reply", tuple_json(e.reply)}, {"tcp_state", e.tcp_state},
          {"mark", e.mark},             {"timeout", e.timeout},          {"id", e.id},
          {"assured", e.assured},       {"dnat", e.dnat()},              {"snat", e.snat()}};
}

std::optional<Ipv4> parse_ip(const std::string& s) { return Ipv4::parse(s); }

// "DST [from SRC] [iif DEV] [mark M]", as `ip route get` takes it.
Result<RouteLookup> ask_route(NsContext& ctx, const std::string& query) {
  std::istringstream in(query);
  std::string dst_text, key, value;
  in >> dst_text;
  auto dst = parse_ip(dst_text);
  Ipv4 src{};
  int iif = 0;
  std::uint32_t mark = 0;
  bool ok = dst.has_value();
  while (ok && in >> key >> value) {
    if (key == "from" && parse_ip(value)) src = *parse_ip(value);
    else if (key == "iif") iif = KN_TRY(ctx.ifindex(value));
    else if (key == "mark") mark = static_cast<std::uint32_t>(std::stoul(value, nullptr, 0));
    else ok = false;
  }
  if (!ok) return fail(state_error("parse route query", "\"" + query + "\": DST [from SRC] [iif DEV] [mark M]"));
  return route_get(ctx, *dst, src, iif, mark);
}

template <class T, class F>
json list_json(const std::vector<T>& items, F&& one) {
  json out = json::array();
  for (const T& item : items) out.push_back(one(item));
  return out;
}

Result<json> probe(const Args& a) {
  NetlinkSession session;
  NsContext& ctx = *KN_TRY(session.context(a.netns));
  json out;
  out["links"] = list_json(KN_TRY(links_read(ctx)), link_json);
  out["addresses"] = list_json(KN_TRY(addresses_read(ctx)), [](const AddrInfo& x) {
    return json{{"ifindex", x.ifindex}, {"cidr", x.cidr.str()}};
  });
  out["neighbours"] = list_json(KN_TRY(neighbours_read(ctx)), [](const NeighInfo& n) {
    return json{{"ifindex", n.ifindex}, {"ip", n.ip.str()}, {"mac", n.mac}, {"state", n.state}};
  });
  out["fdb"] = list_json(KN_TRY(fdb_read(ctx)), [](const FdbInfo& f) {
    return json{{"ifindex", f.ifindex}, {"master", f.master},       {"mac", f.mac},
                {"dst", opt_ip(f.dst)}, {"permanent", f.permanent}, {"self", f.self}};
  });
  out["routes"] = json::array();
  for (const std::string& q : a.routes) out["routes"].push_back(route_json(q, KN_TRY(ask_route(ctx, q))));
  out["nsids"] = json::object();
  if (a.nsids_prefix)
    for (auto& [id, name] : KN_TRY(nsids_read(ctx, netns_list(*a.nsids_prefix)))) out["nsids"][std::to_string(id)] = name;
  out["sysctls"] = json::object();
  for (const std::string& p : a.sysctls) {
    auto v = KN_TRY(sysctl_read(ctx.ns, p));
    out["sysctls"][p] = v ? json(*v) : json(nullptr);
  }
  if (a.conntrack) out["conntrack"] = list_json(KN_TRY(conntrack_list(ctx.ns)), ct_json);
  return out;
}

std::optional<Args> parse_args(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  Args a;
  a.netns = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--conntrack") a.conntrack = true;
    else if (arg == "--route" && has_value) a.routes.emplace_back(argv[++i]);
    else if (arg == "--sysctl" && has_value) a.sysctls.emplace_back(argv[++i]);
    else if (arg == "--nsids" && has_value) a.nsids_prefix = argv[++i];
    else return std::nullopt;
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  if (!args) {
    std::fputs("usage: knlab-inspect-probe NETNS [--route \"DST [from SRC] [iif DEV] [mark M]\"]...\n"
               "                           [--nsids PREFIX] [--sysctl PATH]... [--conntrack]\n", stderr);
    return 2;
  }
  auto out = probe(*args);
  if (!out) {
    std::fputs(out.error().format().c_str(), stderr);
    std::fputs("\n", stderr);
    return 1;
  }
  std::cout << out->dump(1) << "\n";
  return 0;
}
