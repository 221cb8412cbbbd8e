// kn-lab exec <pod|node> [-c container] -- <cmd...>: run a command inside a pod's namespaces
// (those of its pause process, with the pod's /etc/hosts) or a node's network namespace.
#include <fmt/core.h>
#include <unistd.h>

#include "cli/cli.hpp"
#include "lab/kinds.hpp"
#include "net/netns.hpp"
#include "plan/naming.hpp"
#include "runtime/lifecycle.hpp"
#include "runtime/process.hpp"

namespace knlab {

namespace {

struct ExecOptions {
  std::string target;
  std::string container;
  std::string ns = "default";
  std::string lab;
  bool stdin_ = false, tty = false;
  std::vector<std::string> command;
};

// The pod named `name` in `ns` (or, when no pod there has that name, the only pod of that name:
// kn-lab's targets are also nodes and the lab's own namespaces, which have no Kubernetes namespace).
const PodView* find_pod(const LabView& v, const std::string& name, const std::string& ns) {
  for (const PodView& p : v.pods)
    if (p.pod->name == name && p.pod->ns == ns) return &p;
  return v.pod(name);
}

// kubectl's TYPE/NAME targets: pod/NAME, and deploy/NAME or svc/NAME for the first of their
// running pods (as kubectl picks one). A plain name is a pod, a node or one of the lab's own.
Result<std::string> pod_of_target(const LabView& v, const std::string& target, const std::string& ns) {
  auto slash = target.find('/');
  if (slash == std::string::npos) return target;
  const KindInfo* k = find_kind(target.substr(0, slash));
  std::string name = target.substr(slash + 1);
  if (k && k->id == Kind::kPod) return name;
  if (!k || !(k->id == Kind::kDeployment || k->id == Kind::kService))
    return fail(input_error(SourceLocation{}, fmt::format("cannot exec into \"{}\"", target), "give a pod, pod/NAME, deploy/NAME or svc/NAME"));
  // A Deployment's pods are its own; a Service's are its endpoints (the plan's selection).
  auto of_target = [&](const PodPlan& p) {
    if (k->id == Kind::kDeployment) return p.deployment == name;
    const ServicePlan* s = nullptr;
    for (const ServicePlan& x : v.plan.services)
      if (x.spec.ns == ns && x.spec.name == name) s = &x;
    return s && std::any_of(s->endpoints.begin(), s->endpoints.end(), [&](const EndpointPlan& e) { return e.pod == p.name; });
  };
  for (const PodView& p : v.pods)
    if (p.running && p.pod->ns == ns && of_target(*p.pod)) return p.pod->name;
  return fail(state_error("exec", fmt::format("no running pod of {} in namespace {}", target, ns)));
}

Result<int> run_exec(const ExecOptions& o) {
  KN_TRY(require_root("exec"));
  std::string lab = o.lab.empty() ? KN_TRY(default_lab("exec")) : o.lab;
  LabView v = KN_TRY(view_lab(lab));
  if (o.command.empty())
    return fail(input_error(SourceLocation{}, "no command given", fmt::format("kn-lab exec -it {} -- sh", o.target)));
  if (o.tty && !::isatty(STDIN_FILENO)) fmt::print(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
  std::string target = KN_TRY(pod_of_target(v, o.target, o.ns));
  if (const PodView* pod = find_pod(v, target, o.ns)) {
    if (!o.container.empty()) {
      bool found = false;
      for (auto& c : pod->pod->containers) found |= c.name == o.container;
      if (!found)
        return fail(input_error(SourceLocation{}, fmt::format("pod {} has no container \"{}\"", target, o.container)));
    }
    if (!pod->pause || !process_alive(pod->pause->id))
      return fail(state_error("exec", fmt::format("pod {} is not running (its pause process is gone)", target),
                              "`kn-lab get pods` shows the state of each pod"));
    return fail(exec_in_pod(PodContext{pod->pause->id.pid, fmt::format("/etc/netns/{}", pod->pod->netns), pod->pod->privileged},
                            o.command));
  }
  // A node's (or the router's) BIRD directory, so that `birdc` works there as on a real node.
  std::string bird_dir = fmt::format("{}/bird/{}", v.plan.state_dir, target);
  if (const NodePlan* node = v.plan.node(target)) {
    NetnsRef ns = KN_TRY(NetnsRef::open(node->netns));
    return fail(exec_in_netns(ns, o.command, bird_dir));
  }
  // The lab's own infrastructure: wires (or racks), the router, the outside world.
  for (const std::string& ns : v.plan.namespaces()) {
    auto parsed = parse_netns_name(ns);
    if (parsed && parsed->second == target && !v.plan.node(target) && !v.plan.pod(target)) {
      NetnsRef ref = KN_TRY(NetnsRef::open(ns));
      return fail(exec_in_netns(ref, o.command, bird_dir));
    }
  }
  std::string names;
  for (auto& n : v.plan.nodes) names += " " + n.name;
  for (auto& w : v.plan.wires) names += " " + w.name;
  if (!v.plan.router_netns.empty()) names += " router";
  if (v.plan.has_wire()) names += " external";
  if (!v.plan.cloud_lb_netns.empty()) names += " cloud-lb";
  for (auto& p : v.plan.pods) names += " " + p.name;
  return fail(input_error(SourceLocation{}, fmt::format("no pod or node \"{}\" in lab {}", target, lab),
                          fmt::format("targets:{}", names)));
}

}  // namespace

void register_exec(CLI::App& app, const GlobalOptions&, Action& action) {
  auto o = std::make_shared<ExecOptions>();
  CLI::App* cmd = app.add_subcommand("exec", "Run a command inside a pod or a node");
  cmd->add_option("target", o->target, "Pod or node name")->required();
  cmd->add_option("command", o->command, "Command and its arguments (after --)");
  cmd->add_option("-c,--container", o->container, "Container (all containers of a pod share its network)");
  cmd->add_flag("-i,--stdin", o->stdin_, "Pass stdin to the command (kn-lab always does: accepted for kubectl's -i)");
  cmd->add_flag("-t,--tty", o->tty, "The command runs on this terminal (kn-lab's exec always does when there is one)");
  add_namespace_option(cmd, o->ns);
  add_lab_option(cmd, o->lab);
  cmd->callback([o, &action] { action = [o] { return run_exec(*o); }; });
}

}  // namespace knlab
