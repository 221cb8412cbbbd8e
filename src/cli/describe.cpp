// kn-lab describe TYPE NAME | TYPE/NAME [-n ns]: kubectl's layout. Services, Endpoints and pods
// from the lab's plan and the processes' live state, the L7 kinds by cli/l7_views, every other
// kind (Node, Namespace, Deployment, ReplicaSet, EndpointSlice) in kubectl's generic layout of
// its API object (views/describe).
#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <iterator>

#include "cli/cli.hpp"
#include "lab/kinds.hpp"
#include "cli/l7_views.hpp"
#include "cli/patch.hpp"
#include "kube/objects.hpp"
#include "views/describe.hpp"
#include "runtime/lifecycle.hpp"

namespace knlab {

namespace {

struct DescribeOptions {
  std::vector<std::string> args;  // TYPE NAME, or TYPE/NAME
  std::string lab;
  std::string ns = "default";
};

std::string labels_str(const std::map<std::string, std::string>& labels, const char* sep = ",") {
  std::string out;
  for (auto& [k, v] : labels) out += (out.empty() ? "" : sep) + k + "=" + v;
  return out.empty() ? "<none>" : out;
}

void field(std::string& out, std::string_view key, std::string_view value, int width = 26) {
  out += fmt::format("{:<{}}{}\n", std::string(key) + ":", width, value);
}

bool running(const LabView& v, const std::string& pod) {
  const PodView* p = v.pod(pod);
  return p && p->running;
}

Result<int> describe_service(const LabView& v, const ServicePlan& s) {
  std::string out;
  field(out, "Name", s.spec.name);
  field(out, "Namespace", s.spec.ns);
  field(out, "Labels", labels_str(s.spec.selector));
  field(out, "Annotations", "<none>");
  field(out, "Selector", labels_str(s.spec.selector));
  field(out, "Type", to_string(s.spec.type));
  field(out, "IP Family Policy", "SingleStack");
  field(out, "IP Families", "IPv4");
  field(out, "IP", s.cluster_ip.str());
  field(out, "IPs", s.cluster_ip.str());
  if (s.spec.type == ServiceType::kLoadBalancer) field(out, "LoadBalancer Ingress", s.lb_ip ? s.lb_ip->str() : "<pending>");
  for (const ServicePortPlan& p : s.ports) {
    std::string name = p.name.empty() ? "<unset>" : p.name;
    field(out, "Port", fmt::format("{}  {}/{}", name, p.port, p.protocol));
    field(out, "TargetPort", fmt::format("{}/{}", p.target_port, p.protocol));
    if (p.node_port) field(out, "NodePort", fmt::format("{}  {}/{}", name, *p.node_port, p.protocol));
    std::string ready;
    for (auto& e : s.endpoints)
      if (running(v, e.pod)) ready += fmt::format("{}{}:{}", ready.empty() ? "" : ",", e.ip.str(), p.target_port);
    field(out, "Endpoints", ready.empty() ? "<none>" : ready);
  }
  field(out, "Session Affinity", s.spec.session_affinity ? "ClientIP" : "None");
  if (s.spec.type != ServiceType::kClusterIP) field(out, "External Traffic Policy", s.spec.local_traffic_policy ? "Local" : "Cluster");
  field(out, "Internal Traffic Policy", "Cluster");
  field(out, "Events", "<none>");
  fmt::print("{}", out);
  return 0;
}

Result<int> describe_endpoints(const LabView& v, const ServicePlan& s) {
  std::string ready, not_ready;
  for (auto& e : s.endpoints) {
    std::string& list = running(v, e.pod) ? ready : not_ready;
    list += (list.empty() ? "" : ",") + e.ip.str();
  }
  std::string out;
  field(out, "Name", s.spec.name, 14);
  field(out, "Namespace", s.spec.ns, 14);
  field(out, "Labels", labels_str(s.spec.selector), 14);
  field(out, "Annotations", "<none>", 14);
  out += "Subsets:\n";
  out += fmt::format("  Addresses:          {}\n", ready.empty() ? "<none>" : ready);
  out += fmt::format("  NotReadyAddresses:  {}\n", not_ready.empty() ? "<none>" : not_ready);
  out += "  Ports:\n    Name     Port  Protocol\n    ----     ----  --------\n";
  for (const ServicePortPlan& p : s.ports)
    out += fmt::format("    {:<8} {:<5} {}\n", p.name.empty() ? "<unset>" : p.name, p.target_port, p.protocol);
  out += "\n";
  field(out, "Events", "<none>", 14);
  fmt::print("{}", out);
  return 0;
}

Result<int> describe_pod(const LabView& v, const PodView& p) {
  const PodPlan& pod = *p.pod;
  const NodePlan* node = v.plan.node(pod.node);
  std::string out;
  field(out, "Name", pod.name, 14);
  field(out, "Namespace", pod.ns, 14);
  field(out, "Node", fmt::format("{}/{}", pod.node, node && v.plan.has_wire() ? node->ip.addr.str() : node ? node->bridge_address.addr.str() : ""), 14);
  field(out, "Labels", labels_str(pod.labels, "\n              "), 14);
  field(out, "Status", p.running ? "Running" : "NotRunning", 14);
  field(out, "IP", pod.address.addr.str(), 14);
  if (!pod.deployment.empty()) field(out, "Controlled By", fmt::format("ReplicaSet/{}-{}", pod.deployment, pod.name.substr(pod.deployment.size() + 1, 10)), 14);
  field(out, "Netns", pod.netns, 14);
  field(out, "Interface", fmt::format("{} (peer {} on {}'s cni0)", pod.ifname, pod.host_veth, pod.node), 14);
  if (p.pause) field(out, "Pause PID", std::to_string(p.pause->id.pid), 14);
  out += "Containers:\n";
  for (auto& c : pod.containers) {
    const ProcessRecord* rec = v.state.find(pod.name, c.name);
    bool alive = rec && process_alive(rec->id);
    out += fmt::format("  {}:\n", c.name);
    if (!pod.image.empty()) out += fmt::format("    Image:      {}\n", pod.image);
    std::string cmd;
    for (auto& a : c.argv) cmd += (cmd.empty() ? "" : " ") + a;
    out += fmt::format("    Command:    {}\n", cmd);
    out += fmt::format("    State:      {}\n", alive ? "Running" : "Terminated");
    if (rec) out += fmt::format("    PID:        {}\n", rec->id.pid);
    out += fmt::format("    Log:        {}\n", c.log_path);
  }
  field(out, "Events", "<none>", 14);
  fmt::print("{}", out);
  return 0;
}

Result<int> run_describe(const DescribeOptions& opt) {
  ObjectTarget t = KN_TRY(object_target(opt.args, opt.ns, "describe"));
  const KindInfo* k = t.kind;
  struct {
    std::string kind, name, ns, lab;
  } o{std::string(k->kind), t.name, opt.ns, opt.lab};
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("describe")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  auto not_found = [&] {
    return fail(state_error("describe", fmt::format("{} \"{}\" not found in namespace {} of lab {}", k->resource(), o.name, o.ns, lab)));
  };
  if (k->id == Kind::kService || k->id == Kind::kEndpoints) {
    for (auto& s : v.plan.services)
      if (s.spec.name == o.name && s.spec.ns == o.ns)
        return k->id == Kind::kEndpoints ? describe_endpoints(v, s) : describe_service(v, s);
    return not_found();
  }
  if (k->id == Kind::kPod) {
    for (auto& p : v.pods)
      if (p.pod->name == o.name && p.pod->ns == o.ns) return describe_pod(v, p);
    return not_found();
  }
  if (auto r = describe_l7(v, o.kind, L7Query{o.name, o.ns, false})) return std::move(*r);
  // The other kinds (Node, Namespace, Deployment, ReplicaSet, EndpointSlice): kubectl's generic
  // layout of the object.
  auto object = find_object(v, k->id, o.ns, o.name);
  if (!object) return not_found();
  fmt::print("{}", views::describe_generic(*object));
  return 0;
}

}  // namespace

void register_describe(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<DescribeOptions>();
  CLI::App* cmd = app.add_subcommand("describe", "Show one object in kubectl's layout (every kind: TYPE NAME or TYPE/NAME)");
  cmd->add_option("object", o->args, "TYPE NAME, or TYPE/NAME")->required()->expected(1, 2);
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_describe(*o); }; });
}

}  // namespace knlab
