// Pods, Deployments and their ReplicaSets as API objects.
#include <fmt/core.h>

#include "kube/objects_internal.hpp"
#include "views/age.hpp"

namespace knlab::kube {

std::string replicaset_of(const PodPlan& p) {
  auto dash = p.name.rfind('-');
  return p.deployment.empty() || dash == std::string::npos ? "" : p.name.substr(0, dash);
}

namespace {

const DeploymentSpec* deployment(const LabView& v, const std::string& ns, const std::string& name) {
  for (const DeploymentSpec& d : v.plan.deployments)
    if (d.ns == ns && d.name == name) return &d;
  return nullptr;
}

std::string image_of(const PodPlan& p, const ContainerPlan& c) {
  if (!p.image.empty()) return p.image;
  return c.argv.empty() ? c.name : c.argv.front();
}

Json owner(const LabView& v, std::string_view kind, std::string_view api, const std::string& ns, const std::string& name) {
  return Json::array({{{"apiVersion", api}, {"kind", kind}, {"name", name}, {"uid", object_uid(v.plan.lab, kind, ns, name)},
                       {"controller", true}, {"blockOwnerDeletion", true}}});
}

// spec.containers[].ports: the declared ones, else the Deployment's port.
Json ports_json(const std::vector<ContainerPort>& declared, std::optional<std::uint16_t> port) {
  Json out = Json::array();
  for (const ContainerPort& cp : declared) {
    Json j = {{"containerPort", cp.port}, {"protocol", cp.protocol}};
    if (!cp.name.empty()) j["name"] = cp.name;
    out.push_back(std::move(j));
  }
  if (declared.empty() && port) out.push_back({{"containerPort", *port}, {"protocol", "TCP"}});
  return out;
}

Json pod_spec(const LabView& v, const PodPlan& p) {
  const DeploymentSpec* d = p.deployment.empty() ? nullptr : deployment(v, p.ns, p.deployment);
  Json containers = Json::array();
  for (const ContainerPlan& c : p.containers) {
    Json cj = {{"name", c.name}, {"image", image_of(p, c)}, {"imagePullPolicy", "IfNotPresent"}};
    if (p.image.empty() && !c.argv.empty()) cj["command"] = c.argv;
    if (&c == &p.containers.front() && !p.args.empty()) cj["args"] = p.args;
    if (&c == &p.containers.front() && !p.env.empty()) {
      cj["env"] = Json::array();
      for (auto& [k, val] : p.env) cj["env"].push_back({{"name", k}, {"value", val}});
    }
    Json ports = ports_json(p.ports, d ? d->port : std::nullopt);
    if (!ports.empty() && &c == &p.containers.front()) cj["ports"] = ports;
    if (p.privileged) cj["securityContext"] = {{"privileged", true}};
    containers.push_back(std::move(cj));
  }
  return {{"containers", containers}, {"nodeName", p.node}, {"restartPolicy", "Always"}, {"dnsPolicy", "ClusterFirst"},
          {"schedulerName", "default-scheduler"}, {"terminationGracePeriodSeconds", 30}};
}

// containerID "kn-lab://<pid>": the container's process, as a runtime's ID names its container.
Json container_statuses(const LabView& v, const PodView& pv, const std::string& started) {
  Json out = Json::array();
  for (const ContainerPlan& c : pv.pod->containers) {
    const ProcessRecord* rec = v.state.find(pv.pod->key(), c.name);
    Json state = pv.running ? Json{{"running", {{"startedAt", started}}}}
                            : Json{{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}};
    out.push_back({{"name", c.name}, {"image", image_of(*pv.pod, c)}, {"imageID", ""}, {"ready", pv.running},
                   {"started", pv.running}, {"restartCount", 0}, {"state", state}});
    if (rec) out.back()["containerID"] = fmt::format("kn-lab://{}", rec->id.pid);
  }
  return out;
}

Json pod_status(const LabView& v, const PodView& pv, const std::string& started) {
  const PodPlan& p = *pv.pod;
  std::string ready = pv.running ? "True" : "False";
  Json conditions = Json::array();
  for (auto [type, status] : {std::pair{"Initialized", std::string("True")}, {"Ready", ready}, {"ContainersReady", ready},
                              {"PodScheduled", std::string("True")}})
    conditions.push_back({{"type", type}, {"status", status}, {"lastTransitionTime", started}});
  Json s = {{"phase", pv.running ? "Running" : "Failed"},
            {"podIP", p.address.addr.str()},
            {"podIPs", Json::array({{{"ip", p.address.addr.str()}}})},
            {"conditions", conditions},
            {"containerStatuses", container_statuses(v, pv, started)},
            {"qosClass", "BestEffort"},
            {"startTime", started}};
  if (std::string host = node_ip(v, p.node); !host.empty()) {
    s["hostIP"] = host;
    s["hostIPs"] = Json::array({{{"ip", host}}});
  }
  return s;
}

Json pod_object(const LabView& v, const PodView& pv) {
  const PodPlan& p = *pv.pod;
  Json o = object(v, kind_info(Kind::kPod), p.ns, p.name);
  Json& md = o["metadata"];
  md["labels"] = labels(p.labels);
  md["annotations"] = {{std::string(kAnnotationNetns), p.netns}, {std::string(kAnnotationHostVeth), p.host_veth},
                       {std::string(kAnnotationPausePid), std::to_string(pv.pause ? pv.pause->id.pid : 0)}};
  if (std::string rs = replicaset_of(p); !rs.empty()) {
    md["ownerReferences"] = owner(v, "ReplicaSet", "apps/v1", p.ns, rs);
    if (auto dash = p.name.rfind('-'), dash2 = rs.rfind('-'); dash != std::string::npos && dash2 != std::string::npos)
      md["labels"]["pod-template-hash"] = rs.substr(dash2 + 1);
  }
  o["spec"] = pod_spec(v, p);
  o["status"] = pod_status(v, pv, md["creationTimestamp"]);
  return o;
}

struct Replicas {
  int ready = 0, total = 0;
  std::string replicaset;  // of the newest pods
};

Replicas count(const LabView& v, const DeploymentSpec& d) {
  Replicas r;
  for (const PodView& pv : v.pods)
    if (pv.pod->deployment == d.name && pv.pod->ns == d.ns) {
      ++r.total;
      if (pv.running) ++r.ready;
      r.replicaset = replicaset_of(*pv.pod);
    }
  return r;
}

Json template_of(const DeploymentSpec& d) {
  Json c = {{"name", d.image.substr(0, d.image.find_first_of(":@"))}, {"image", d.image}, {"imagePullPolicy", "IfNotPresent"}};
  if (auto slash = std::string(c["name"]).rfind('/'); slash != std::string::npos) c["name"] = std::string(c["name"]).substr(slash + 1);
  if (Json ports = ports_json(d.ports, d.port); !ports.empty()) c["ports"] = ports;
  return {{"metadata", {{"labels", labels(d.labels)}}},
          {"spec", {{"containers", Json::array({c})}, {"restartPolicy", "Always"}, {"dnsPolicy", "ClusterFirst"}}}};
}

Json replica_status(const Replicas& r, int wanted) {
  Json s = {{"replicas", r.total}, {"observedGeneration", 1}};
  if (r.ready) s["readyReplicas"] = r.ready, s["availableReplicas"] = r.ready;
  s["updatedReplicas"] = r.total;
  (void)wanted;
  return s;
}

Json deployment_object(const LabView& v, const DeploymentSpec& d) {
  Json o = object(v, kind_info(Kind::kDeployment), d.ns, d.name);
  o["metadata"]["labels"] = labels(d.labels);
  o["metadata"]["annotations"] = {{"deployment.kubernetes.io/revision", "1"}};
  o["metadata"]["generation"] = 1;
  o["spec"] = {{"replicas", d.replicas},
               {"selector", {{"matchLabels", labels(d.labels)}}},
               {"template", template_of(d)},
               {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}},
               {"revisionHistoryLimit", 10},
               {"progressDeadlineSeconds", 600}};
  Replicas r = count(v, d);
  Json s = replica_status(r, d.replicas);
  std::string since = o["metadata"]["creationTimestamp"];
  bool available = r.ready >= d.replicas;
  s["conditions"] = Json::array(
      {{{"type", "Available"}, {"status", available ? "True" : "False"},
        {"reason", available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"}, {"lastTransitionTime", since}},
       {{"type", "Progressing"}, {"status", "True"}, {"reason", "NewReplicaSetAvailable"}, {"lastTransitionTime", since}}});
  o["status"] = s;
  return o;
}

}  // namespace

std::vector<Json> pod_objects(const LabView& v) { return objects_from(v, v.pods, pod_object); }
std::vector<Json> deployment_objects(const LabView& v) { return objects_from(v, v.plan.deployments, deployment_object); }

std::vector<Json> replicaset_objects(const LabView& v) {
  std::vector<Json> out;
  for (const DeploymentSpec& d : v.plan.deployments) {
    Replicas r = count(v, d);
    if (r.replicaset.empty()) continue;
    Json o = object(v, kind_info(Kind::kReplicaSet), d.ns, r.replicaset);
    Json l = labels(d.labels);
    l["pod-template-hash"] = r.replicaset.substr(r.replicaset.rfind('-') + 1);
    o["metadata"]["labels"] = l;
    o["metadata"]["ownerReferences"] = owner(v, "Deployment", "apps/v1", d.ns, d.name);
    o["metadata"]["creationTimestamp"] = views::iso8601(creation_time(v, "Deployment", d.ns, d.name));  // made with it
    Json tpl = template_of(d);
    tpl["metadata"]["labels"] = l;
    o["spec"] = {{"replicas", d.replicas}, {"selector", {{"matchLabels", l}}}, {"template", tpl}};
    o["status"] = replica_status(r, d.replicas);
    o["status"]["fullyLabeledReplicas"] = r.total;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace knlab::kube
