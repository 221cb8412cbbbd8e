// kubectl describe of Pods, Deployments and ReplicaSets (describe.go: describePod,
// describeDeployment, describeReplicaSet, DescribePodTemplate); a pod's NetworkPolicies are
// kn-lab's own section (describe_netpol.cpp).
#include <fmt/core.h>

#include "core/text.hpp"
#include "views/describe_internal.hpp"
#include "views/printers.hpp"

namespace knlab::views::describing {

namespace {

std::string selector_of(const Json& spec) { return labels_inline(field(field(spec, "selector"), "matchLabels")); }

const Json* status_of(const Json& pod, const std::string& container) {
  const Json& statuses = field(field(pod, "status"), "containerStatuses");
  if (statuses.is_array())
    for (const Json& s : statuses)
      if (str(s, "name") == container) return &s;
  return nullptr;
}

void container_state(std::string& out, const Json& status) {
  const Json& state = field(status, "state");
  if (state.contains("running")) {
    out += fmt::format("    State:\tRunning\n      Started:\t{}\n", describe_time(str(state["running"], "startedAt")));
  } else if (state.contains("terminated")) {
    const Json& t = state["terminated"];
    out += fmt::format("    State:\tTerminated\n      Reason:\t{}\n      Exit Code:\t{}\n", str(t, "reason"), text(t, "exitCode"));
  } else if (state.contains("waiting")) {
    out += fmt::format("    State:\tWaiting\n      Reason:\t{}\n", str(state["waiting"], "reason"));
  } else {
    out += "    State:\tWaiting\n";
  }
  out += fmt::format("    Ready:\t{}\n    Restart Count:\t{}\n", status.value("ready", false) ? "True" : "False",
                     text(status, "restartCount").empty() ? "0" : text(status, "restartCount"));
}

// One container of a pod (`pod` set: with its status) or of a template; `indent` before names.
void container(std::string& out, const Json& c, const Json* pod, std::string_view indent) {
  out += fmt::format("{}{}:\n", indent, str(c, "name"));
  const Json* status = pod ? status_of(*pod, str(c, "name")) : nullptr;
  if (pod) out += fmt::format("    Container ID:\t{}\n", status ? str(*status, "containerID") : "");
  out += fmt::format("    Image:\t{}\n", str(c, "image"));
  if (pod) out += fmt::format("    Image ID:\t{}\n", status ? str(*status, "imageID") : "");
  std::vector<std::string> ports, host_ports;
  for (const Json& p : c.value("ports", Json::array())) {
    std::string proto = str(p, "protocol").empty() ? "TCP" : str(p, "protocol");
    ports.push_back(fmt::format("{}/{}", text(p, "containerPort"), proto));
    host_ports.push_back(fmt::format("{}/{}", text(p, "hostPort").empty() ? "0" : text(p, "hostPort"), proto));
  }
  out += fmt::format("    Port:\t{}\n    Host Port:\t{}\n", or_none(join(ports, ", ")), or_none(join(host_ports, ", ")));
  for (auto [title, key] : {std::pair{"Command", "command"}, {"Args", "args"}}) {
    if (!c.contains(key) || c[key].empty()) continue;
    out += fmt::format("    {}:\n", title);
    for (const Json& a : c[key]) out += fmt::format("      {}\n", go_sprint(a));
  }
  if (status) container_state(out, *status);
  std::vector<std::string> env;
  for (const Json& e : c.value("env", Json::array())) env.push_back(fmt::format("      {}:\t{}\n", str(e, "name"), str(e, "value")));
  out += env.empty() ? "    Environment:\t<none>\n" : "    Environment:\n" + join(env, "");
  out += "    Mounts:\t<none>\n";
}

void pod_template(std::string& out, const Json& tpl) {
  out += "Pod Template:\n";
  const Json& labels = field(field(tpl, "metadata"), "labels");
  std::string lines;
  multiline(lines, "Labels", labels);
  for (std::string_view l : split(lines, '\n'))
    if (!l.empty()) out += fmt::format("  {}\n", l);
  out += "  Containers:\n";
  for (const Json& c : field(tpl, "spec").value("containers", Json::array())) container(out, c, nullptr, "   ");
  out += "  Volumes:\t<none>\n  Node-Selectors:\t<none>\n  Tolerations:\t<none>\n";
}

bool owned_by(const Json& o, std::string_view kind, std::string_view name) {
  for (const Json& r : field(o, "metadata").value("ownerReferences", Json::array()))
    if (str(r, "kind") == kind && str(r, "name") == name) return true;
  return false;
}

}  // namespace

std::string describe_pod(const Json& o, const DescribeContext& ctx) {
  const Json& md = field(o, "metadata");
  const Json& spec = field(o, "spec");
  const Json& status = field(o, "status");
  std::string out;
  name_and_namespace(out, o);
  std::string node = str(spec, "nodeName");
  out += fmt::format("Node:\t{}\n", node.empty() ? "<none>" : node + "/" + str(status, "hostIP"));
  if (status.contains("startTime")) out += fmt::format("Start Time:\t{}\n", describe_time(str(status, "startTime")));
  labels_and_annotations(out, o);
  out += fmt::format("Status:\t{}\n", str(status, "phase"));
  out += fmt::format("IP:\t{}\nIPs:\n", str(status, "podIP"));
  for (const Json& ip : status.value("podIPs", Json::array())) out += fmt::format("  IP:\t{}\n", str(ip, "ip"));
  if (std::string c = controlled_by(o); !c.empty()) out += fmt::format("Controlled By:\t{}\n", c);
  out += "Containers:\n";
  for (const Json& c : spec.value("containers", Json::array())) container(out, c, &o, "  ");
  out += "Conditions:\n  Type\tStatus\n";
  for (const Json& c : status.value("conditions", Json::array())) out += fmt::format("  {} \t{} \n", str(c, "type"), str(c, "status"));
  out += "Volumes:\t<none>\n";
  out += fmt::format("QoS Class:\t{}\nNode-Selectors:\t<none>\nTolerations:\t<none>\n", str(status, "qosClass"));
  out += pod_network_policies(o, ctx);
  (void)md;
  return out + "Events:\t<none>\n";
}

namespace {

std::string new_replicaset(const Json& d, const DescribeContext& ctx) {
  const Json& md = field(d, "metadata");
  for (const Json& rs : ctx.related)
    if (str(rs, "kind") == "ReplicaSet" && str(field(rs, "metadata"), "namespace") == str(md, "namespace") &&
        owned_by(rs, "Deployment", str(md, "name")))
      return fmt::format("{} ({}/{} replicas created)", str(field(rs, "metadata"), "name"), text(field(rs, "status"), "replicas"),
                         text(field(rs, "spec"), "replicas"));
  return "<none>";
}

std::string number(const Json& j, std::string_view key) { return text(j, key).empty() ? "0" : text(j, key); }

}  // namespace

std::string describe_deployment(const Json& o, const DescribeContext& ctx) {
  const Json& md = field(o, "metadata");
  const Json& spec = field(o, "spec");
  const Json& status = field(o, "status");
  std::string out;
  name_and_namespace(out, o);
  out += fmt::format("CreationTimestamp:\t{}\n", describe_time(str(md, "creationTimestamp")));
  labels_and_annotations(out, o);
  out += fmt::format("Selector:\t{}\n", selector_of(spec));
  std::int64_t total = status.value("replicas", 0), available = status.value("availableReplicas", 0);
  out += fmt::format("Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable\n", number(spec, "replicas"),
                     number(status, "updatedReplicas"), total, available, status.value("unavailableReplicas", total - available));
  const Json& strategy = field(spec, "strategy");
  out += fmt::format("StrategyType:\t{}\nMinReadySeconds:\t{}\n", str(strategy, "type"), number(spec, "minReadySeconds"));
  if (strategy.contains("rollingUpdate"))
    out += fmt::format("RollingUpdateStrategy:\t{} max unavailable, {} max surge\n", text(strategy["rollingUpdate"], "maxUnavailable"),
                       text(strategy["rollingUpdate"], "maxSurge"));
  pod_template(out, field(spec, "template"));
  out += "Conditions:\n  Type\tStatus\tReason\n  ----\t------\t------\n";
  for (const Json& c : status.value("conditions", Json::array()))
    out += fmt::format("  {}\t{}\t{}\n", str(c, "type"), str(c, "status"), str(c, "reason"));
  out += fmt::format("OldReplicaSets:\t<none>\nNewReplicaSet:\t{}\n", new_replicaset(o, ctx));
  return out + "Events:\t<none>\n";
}

std::string describe_replicaset(const Json& o, const DescribeContext& ctx) {
  const Json& md = field(o, "metadata");
  const Json& spec = field(o, "spec");
  std::string out;
  name_and_namespace(out, o);
  out += fmt::format("Selector:\t{}\n", selector_of(spec));
  labels_and_annotations(out, o);
  if (std::string c = controlled_by(o); !c.empty()) out += fmt::format("Controlled By:\t{}\n", c);
  out += fmt::format("Replicas:\t{} current / {} desired\n", number(field(o, "status"), "replicas"), number(spec, "replicas"));
  int running = 0, waiting = 0, succeeded = 0, failed = 0;
  for (const Json& p : ctx.related) {
    if (str(p, "kind") != "Pod" || str(field(p, "metadata"), "namespace") != str(md, "namespace") ||
        !owned_by(p, "ReplicaSet", str(md, "name")))
      continue;
    std::string phase = str(field(p, "status"), "phase");
    (phase == "Running" ? running : phase == "Succeeded" ? succeeded : phase == "Failed" ? failed : waiting)++;
  }
  out += fmt::format("Pods Status:\t{} Running / {} Waiting / {} Succeeded / {} Failed\n", running, waiting, succeeded, failed);
  pod_template(out, field(spec, "template"));
  return out + "Events:\t<none>\n";
}

}  // namespace knlab::views::describing
