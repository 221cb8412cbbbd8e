// kn-lab trace FROM TO[:PORT] [--udp|--icmp] [--probe] [--brief] [-o json]: the path of a packet
// through the lab, hop by hop, read from the live kernel (src/trace), and with --probe the real
// packet sent and each hop confirmed by the kernel's counters and conntrack.
#include <fmt/core.h>

#include <charconv>
#include <deque>

#include "cli/cli.hpp"
#include "core/text.hpp"
#include "net/nft_trace.hpp"
#include "plan/kube_proxy_nft.hpp"
#include "runtime/lifecycle.hpp"
#include "trace/l7.hpp"
#include "trace/probe.hpp"
#include "trace/render.hpp"
#include "trace/target.hpp"

namespace knlab {

namespace {

struct TraceOptions {
  std::string from, to;
  bool udp = false, icmp = false, probe = false, brief = false;
  std::string output;
  std::vector<std::string> headers;  // -H "Name: value"
  int timeout_ms = 2000;
  int size = 0;  // --size: bytes, Don't Fragment
  std::string ns = "default";
  std::string lab;
};

using namespace trace;

// Reads every namespace of the lab once (links, and the nat and filter tables where there are
// rules), so that the counters after a probe have a "before" for whichever path it took.
Status warm(Kernel& k, const LabPlan& plan) {
  for (const std::string& netns : plan.namespaces()) KN_TRY(k.ns(netns));
  std::vector<std::string> routed;
  for (const NodePlan& n : plan.nodes) routed.push_back(n.netns);
  if (!plan.cloud_lb_netns.empty()) routed.push_back(plan.cloud_lb_netns);
  if (!plan.router_netns.empty()) routed.push_back(plan.router_netns);
  for (const std::string& netns : routed)
    for (const char* t : {"nat", "filter"}) KN_TRY(k.table(netns, t));
  return {};
}

// Re-walks with the backends the probe's flow took, until they stop changing: conntrack's entry,
// or (for a connection refused further on, which conntrack never confirms) the branch whose
// counters moved.
Result<TraceResult> follow_probe(Kernel& before, Kernel& k, const Places& places, TraceRequest& req) {
  TraceResult r = KN_TRY(trace_packet(k, places, req));
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (const Hop& h : r.forward.hops) {
      if (h.kind != "netfilter" || h.branches.empty() || req.backends.contains(h.netns)) continue;
      std::optional<Ipv4> b = KN_TRY(conntrack_backend(k, h.netns, h.packet));
      if (!b) b = counted_branch(before, k, h.netns, h.branches);
      if (b) req.backends[h.netns] = *b, changed = true;
    }
    if (!changed) break;
    r = KN_TRY(trace_packet(k, places, req));
  }
  return r;
}

// nftables' own tracing of the probe's packets, in each namespace where the prediction meets
// kube-proxy's nftables rules (they have no counters to read before and after).
struct NftTraces {
  std::deque<NetnsRef> namespaces;  // before the watches: they point into it
  std::vector<NftTraceWatch> watches;
};

Status start_nft_traces(NftTraces& out, Kernel& k, const Places& places, const TraceRequest& req) {
  TraceResult predicted = KN_TRY(trace_packet(k, places, req));
  for (auto& [netns, flows] : nft_trace_flows(predicted)) {
    const NetnsRef& ns = out.namespaces.emplace_back(KN_TRY(NetnsRef::open(netns)));
    out.watches.push_back(KN_TRY(NftTraceWatch::start(ns, flows)));
  }
  return {};
}

Result<NftMet> stop_nft_traces(NftTraces& traces) {
  NftMet met;
  for (NftTraceWatch& w : traces.watches) met[w.netns()] = nft_rules_met(KN_TRY(w.stop()));
  return met;
}

// `last`: the leg that ends at the server that answers (the upstream leg through an Ingress).
std::vector<std::string> contradictions(const TraceResult& r, const TraceResult& last, const ProbeResult& p) {
  std::vector<std::string> out;
  bool predicted = r.forward.delivered && r.reply && r.reply->delivered && last.forward.delivered;
  if (p.answered && !predicted)
    out.push_back(fmt::format("the probe was answered, but the prediction is: {}", r.reply ? r.reply->outcome : r.forward.outcome));
  if (!p.answered && predicted) out.push_back(fmt::format("the prediction is an answer, but the probe: {}", p.error));
  std::string host = answer_hostname(p.reply);
  if (p.answered && !host.empty() && last.forward.delivered) {
    const Hop& end = last.forward.hops.back();
    if (!end.place.starts_with("pod " + host + " ")) out.push_back(fmt::format("answered by {}, but the prediction ends in {}", host, end.place));
  }
  auto hops = [&](const Leg& l) {
    for (const Hop& h : l.hops)
      if (h.seen == Seen::kNotSeen) out.push_back(fmt::format("hop {} ({}: {}) is not in the counters: {}", h.n, h.place, h.text, h.observed));
  };
  // The way there is counted whether or not an answer came back (a drop is at its end).
  hops(r.forward);
  if (p.answered) {
    if (r.reply) hops(*r.reply);
    if (&last != &r) hops(last.forward);
  }
  return out;
}

std::string probe_text(const ProbeResult& p, Proto proto) {
  if (!p.answered) return p.error + (p.refused ? " (refused)" : "");
  std::string host = answer_hostname(p.reply);
  std::string first = p.reply.substr(0, p.reply.find('\r'));
  if (proto == Proto::kTcp)
    return fmt::format("connected in {} ms{}{}", p.ms, first.starts_with("HTTP/") ? "; " + first : "",
                       host.empty() ? "" : ", answered by " + host);
  return fmt::format("answered in {} ms{}", p.ms, host.empty() ? "" : " by " + host);
}

// The request a URL names: Host from -H (else the URL), the other headers for nginx's matches.
Result<UrlTarget> url_target(const LabPlan& plan, const TraceOptions& o, const Source& src) {
  std::string host;
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& h : o.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return fail(input_error(SourceLocation{}, fmt::format("-H \"{}\": not a header", h), "-H 'Host: demo.local'"));
    std::string name = h.substr(0, colon), value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (lower(name) == "host") host = value;
    else headers.emplace_back(name, value);
  }
  UrlTarget u = KN_TRY(resolve_url(plan, o.to, host, src));
  u.http.headers = std::move(headers);
  return u;
}

// The probe's request: the URL's (plain HTTP), or kn-netexec's /hostname.
std::string probe_request(const std::optional<UrlTarget>& url, const Destination& dst) {
  if (!url) return http_request(dst.ip.str(), "/hostname");
  if (url->http.https) return {};
  return http_request(url->http.host, url->http.path + (url->http.query.empty() ? "" : "?" + url->http.query));
}

// "10.244.0.2:8080" (an upstream server, or what nginx logged) as an address and a port.
std::optional<std::pair<Ipv4, std::uint16_t>> endpoint_of(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  auto ip = Ipv4::parse(std::string_view(text).substr(0, colon));
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (!ip || ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) return std::nullopt;
  return std::pair{*ip, static_cast<std::uint16_t>(port)};
}

struct Traced {
  TraceResult first;
  std::optional<L7Stage> l7;
  std::optional<TraceResult> upstream;  // from the data plane to the endpoint nginx chose
};

// Through an Ingress or a Gateway: nginx's choice, then the data plane's own connection to it.
Status follow_l7(Traced& t, const LabPlan& plan, const UrlTarget& url, Kernel& k, const Places& places,
                 const std::map<std::string, std::uintmax_t>* log_ends) {
  const DataPlanePlan* dp = t.first.forward.delivered ? data_plane_of(plan, t.first.forward.end_netns) : nullptr;
  if (!dp) return {};
  t.l7 = KN_TRY(l7_stage(*dp, url.http, t.first.forward.final.dport));
  if (log_ends)
    if (auto logged = logged_upstream(*dp, log_ends->at(dp->dir), url.http)) {
      t.l7->logged = logged->first;
      if (endpoint_of(logged->second)) {  // "-" when nginx answered itself (a return, a 404)
        t.l7->endpoint = L7Server{logged->second, "logged by nginx", 1};
        for (const L7Upstream& u : t.l7->match.upstreams)
          for (const L7Server& s : u.servers)
            if (s.address == logged->second) t.l7->endpoint = s;
      }
    }
  auto to = t.l7->endpoint ? endpoint_of(t.l7->endpoint->address) : std::nullopt;
  if (!to) return {};
  TraceRequest r{t.first.forward.end_netns, Packet{Ipv4{}, to->first, Proto::kTcp, 0, to->second, 0, CtState::kNew}, {}};
  t.upstream = KN_TRY(trace_packet(k, places, r));
  return {};
}

Result<int> run_trace(const TraceOptions& o) {
  Proto proto = o.icmp ? Proto::kIcmp : o.udp ? Proto::kUdp : Proto::kTcp;
  bool is_url = o.to.starts_with("http://") || o.to.starts_with("https://");
  if (is_url && proto != Proto::kTcp)
    return fail(input_error(SourceLocation{}, fmt::format("{}: a URL is reached over TCP", o.to), "leave out --udp/--icmp"));
  if (!is_url && !o.headers.empty())
    return fail(input_error(SourceLocation{}, "-H needs a URL as TO", "kn-lab trace external http://node1:30080/ -H 'Host: demo.local'"));
  KN_TRY(require_root("trace"));
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("trace")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  Source src = KN_TRY(resolve_source(v.plan, o.from, o.ns));
  std::optional<UrlTarget> url;
  if (is_url) url = KN_TRY(url_target(v.plan, o, src));
  Destination dst = url ? url->dst : KN_TRY(resolve_destination(v.plan, o.to, src, proto));
  TraceRequest req{src.netns, Packet{Ipv4{}, dst.ip, proto, 0, dst.port, 0, CtState::kNew, static_cast<std::uint16_t>(o.size)}, {}};
  Places places = places_of(v.plan);
  TraceHeader header{src.label, url ? o.to + " (" + dst.label + ")" : dst.label, dst.resolved, o.probe, "", false, "", {}};
  Traced t;
  auto after = live_kernel(v.plan.namespaces());
  if (!o.probe) {
    t.first = KN_TRY(trace_packet(*after, places, req));
    if (url) KN_TRY(follow_l7(t, v.plan, *url, *after, places, nullptr));
  } else {
    auto before = live_kernel(v.plan.namespaces());
    KN_TRY(warm(*before, v.plan));
    std::map<std::string, std::uintmax_t> log_ends;
    for (const DataPlanePlan& dp : v.plan.data_planes) log_ends[dp.dir] = access_log_end(dp);
    NftTraces nft;
    if (uses_nft_proxy(v.plan)) KN_TRY(start_nft_traces(nft, *before, places, req));
    ProbeResult p = KN_TRY(send_probe(src.netns, req.packet, o.timeout_ms, probe_request(url, dst)));
    NftMet met = KN_TRY(stop_nft_traces(nft));
    req.packet.src = p.src;
    req.packet.sport = p.sport;
    t.first = KN_TRY(follow_probe(*before, *after, places, req));
    if (url) KN_TRY(follow_l7(t, v.plan, *url, *after, places, &log_ends));
    mark_seen(t.first, *before, *after, met);
    if (t.upstream) mark_seen(*t.upstream, *before, *after, met);
    header.probe = probe_text(p, proto);
    header.answered = p.answered;
    header.answered_by = answer_hostname(p.reply);
    header.contradictions = contradictions(t.first, t.upstream ? *t.upstream : t.first, p);
  }
  const L7Stage* l7 = t.l7 ? &*t.l7 : nullptr;
  const TraceResult* up = t.upstream ? &*t.upstream : nullptr;
  if (o.output == "json") fmt::print("{}\n", to_json(header, t.first, l7, up).dump(2));
  else fmt::print("{}", o.brief ? render_brief(header, t.first, l7, up) : render_text(header, t.first, l7, up));
  return header.contradictions.empty() ? 0 : 3;
}

}  // namespace

void register_trace(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<TraceOptions>();
  CLI::App* cmd = app.add_subcommand("trace", "Follow a packet through the lab's kernel, hop by hop (--probe: send it and check)");
  cmd->add_option("from", o->from, "pod, pod/NAME, node, external or cloud-lb")->required();
  cmd->add_option("to", o->to, "pod[:PORT], IP[:PORT], svc/NAME[:PORT], a DNS name, NODE:NODEPORT")->required();
  auto* udp = cmd->add_flag("--udp", o->udp, "A UDP datagram (default TCP)");
  cmd->add_flag("--icmp", o->icmp, "An ICMP echo request")->excludes(udp);
  cmd->add_flag("--probe", o->probe, "Send the real packet from the source and confirm each hop from the kernel's counters and conntrack");
  cmd->add_flag("--brief", o->brief, "One line per namespace");
  cmd->add_option("-o,--output", o->output, "json")->check(CLI::IsMember({"json"}));
  cmd->add_option("-H,--header", o->headers, "With a URL: a request header, 'Host: NAME' for nginx's virtual hosts");
  cmd->add_option("--size", o->size, "The packet's size in bytes, Don't Fragment set: checked against each link's MTU (the probe: an ICMP echo of that size)")
      ->check(CLI::Range(64, 65535));
  cmd->add_option("--timeout", o->timeout_ms, "The probe's timeout, in milliseconds")->check(CLI::Range(10, 60000));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_trace(*o); }; });
}

}  // namespace knlab
