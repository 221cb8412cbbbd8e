// kn-lab trace FROM TO[:PORT] [--udp|--icmp] [--probe] [--brief] [-o json]: the path of a packet
// through the lab, hop by hop, read from the live kernel (src/trace), and with --probe the real
// packet sent and each hop confirmed by the kernel's counters and conntrack.
#include <fmt/core.h>

#include "cli/cli.hpp"
#include "runtime/lifecycle.hpp"
#include "trace/probe.hpp"
#include "trace/render.hpp"
#include "trace/target.hpp"

namespace knlab {

namespace {

struct TraceOptions {
  std::string from, to;
  bool udp = false, icmp = false, probe = false, brief = false;
  std::string output;
  int timeout_ms = 2000;
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

// Re-walks with the backends conntrack shows the probe's flow took, until they stop changing.
Result<TraceResult> follow_conntrack(Kernel& k, const Places& places, TraceRequest& req) {
  TraceResult r = KN_TRY(trace_packet(k, places, req));
  for (int round = 0; round < 4; ++round) {
    bool changed = false;
    for (const Hop& h : r.forward.hops) {
      if (h.kind != "netfilter" || h.branches.empty() || req.backends.contains(h.netns)) continue;
      if (auto b = KN_TRY(conntrack_backend(k, h.netns, h.packet))) req.backends[h.netns] = *b, changed = true;
    }
    if (!changed) break;
    r = KN_TRY(trace_packet(k, places, req));
  }
  return r;
}

std::vector<std::string> contradictions(const TraceResult& r, const ProbeResult& p) {
  std::vector<std::string> out;
  bool predicted = r.forward.delivered && r.reply && r.reply->delivered;
  if (p.answered && !predicted)
    out.push_back(fmt::format("the probe was answered, but the prediction is: {}", r.reply ? r.reply->outcome : r.forward.outcome));
  if (!p.answered && predicted) out.push_back(fmt::format("the prediction is an answer, but the probe: {}", p.error));
  std::string host = answer_hostname(p.reply);
  if (p.answered && !host.empty() && r.forward.delivered) {
    const Hop& last = r.forward.hops.back();
    if (!last.place.starts_with("pod " + host + " ")) out.push_back(fmt::format("answered by {}, but the prediction ends in {}", host, last.place));
  }
  auto hops = [&](const Leg& l) {
    for (const Hop& h : l.hops)
      if (h.seen == Seen::kNotSeen) out.push_back(fmt::format("hop {} ({}: {}) is not in the counters: {}", h.n, h.place, h.brief, h.observed));
  };
  if (p.answered) {
    hops(r.forward);
    if (r.reply) hops(*r.reply);
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

Result<int> run_trace(const TraceOptions& o) {
  KN_TRY(require_root("trace"));
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("trace")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  Proto proto = o.icmp ? Proto::kIcmp : o.udp ? Proto::kUdp : Proto::kTcp;
  Source src = KN_TRY(resolve_source(v.plan, o.from, o.ns));
  Destination dst = KN_TRY(resolve_destination(v.plan, o.to, src, proto));
  TraceRequest req{src.netns, Packet{Ipv4{}, dst.ip, proto, 0, dst.port, 0, CtState::kNew}, {}};
  Places places = places_of(v.plan);
  TraceHeader header{src.label, dst.label, dst.resolved, o.probe, "", false, "", {}};
  TraceResult result;
  if (!o.probe) {
    auto k = live_kernel(v.plan.namespaces());
    result = KN_TRY(trace_packet(*k, places, req));
  } else {
    auto before = live_kernel(v.plan.namespaces());
    KN_TRY(warm(*before, v.plan));
    ProbeResult p = KN_TRY(send_probe(src.netns, req.packet, o.timeout_ms, http_request(dst.ip.str(), "/hostname")));
    auto after = live_kernel(v.plan.namespaces());
    req.packet.src = p.src;
    req.packet.sport = p.sport;
    result = KN_TRY(follow_conntrack(*after, places, req));
    mark_seen(result, *before, *after);
    header.probe = probe_text(p, proto);
    header.answered = p.answered;
    header.answered_by = answer_hostname(p.reply);
    header.contradictions = contradictions(result, p);
  }
  if (o.output == "json") fmt::print("{}\n", to_json(header, result).dump(2));
  else fmt::print("{}", o.brief ? render_brief(header, result) : render_text(header, result));
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
  cmd->add_option("--timeout", o->timeout_ms, "The probe's timeout, in milliseconds")->check(CLI::Range(10, 60000));
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_trace(*o); }; });
}

}  // namespace knlab
