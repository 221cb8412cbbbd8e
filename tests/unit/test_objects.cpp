// Each kind's API object (kube/objects) carries the fields kubectl users read, as the API server
// returns them: built from lab 10 (Deployments, ClusterIP/LoadBalancer Services, a Gateway of
// kn-lab's class with its HTTPRoute) with every pod running.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "kube/objects.hpp"
#include "lab/loader.hpp"
#include "plan/plan.hpp"
#include "runtime/lifecycle.hpp"

using namespace knlab;

namespace {

LabView running_lab() {
  auto lab = load_lab_file(KNLAB_SOURCE_DIR "/labs/10-gateway-api.toml");
  REQUIRE_MESSAGE(lab, (lab ? "" : lab.error().format()));
  REQUIRE(apply_lab_manifests(*lab));
  std::ifstream in(KNLAB_SOURCE_DIR "/data/images.toml");
  auto images = parse_images(std::string(std::istreambuf_iterator<char>(in), {}), "images.toml");
  REQUIRE(images);
  auto plan = plan_lab(*lab, *images);
  REQUIRE_MESSAGE(plan, (plan ? "" : plan.error().format()));
  LabView v;
  v.plan = std::move(*plan);
  v.state.lab = v.plan.lab;
  v.state.created = 1764900000;
  for (const PodPlan& p : v.plan.pods)
    v.pods.push_back(PodView{&p, nullptr, true, static_cast<int>(p.containers.size()), static_cast<int>(p.containers.size())});
  return v;
}

Json first(const std::vector<Json>& objects, std::string_view name) {
  for (const Json& o : objects)
    if (o["metadata"]["name"] == name) return o;
  FAIL("no object named " << name);
  return {};
}

bool has_condition(const Json& o, std::string_view type, std::string_view status) {
  for (const Json& c : o["status"]["conditions"])
    if (c["type"] == type && c["status"] == status) return true;
  return false;
}

}  // namespace

TEST_CASE("every object: apiVersion, kind and the metadata the API server sets") {
  LabView v = running_lab();
  for (Kind k : {Kind::kNamespace, Kind::kNode, Kind::kPod, Kind::kDeployment, Kind::kReplicaSet, Kind::kService, Kind::kEndpoints,
                 Kind::kEndpointSlice, Kind::kGatewayClass, Kind::kGateway, Kind::kHTTPRoute, Kind::kSecret}) {
    const KindInfo& info = kind_info(k);
    std::vector<Json> objects = objects_of(v, k);
    CHECK_MESSAGE(!objects.empty(), info.kind);
    for (const Json& o : objects) {
      CHECK(o["apiVersion"] == info.api_version());
      CHECK(o["kind"] == info.kind);
      const Json& md = o["metadata"];
      CHECK(md["name"].is_string());
      CHECK(md["uid"].get<std::string>().size() == 36);
      CHECK(md["creationTimestamp"].get<std::string>().ends_with("Z"));
      CHECK(md.contains("namespace") == info.namespaced);
    }
  }
}

TEST_CASE("Pod: phase, IPs, host IP, conditions, container statuses, its ReplicaSet") {
  LabView v = running_lab();
  const PodPlan& api = *std::find_if(v.plan.pods.begin(), v.plan.pods.end(), [](const PodPlan& p) { return p.deployment == "api"; });
  Json pod = first(objects_of(v, Kind::kPod), api.name);
  CHECK(pod["status"]["phase"] == "Running");
  CHECK(pod["status"]["podIP"] == api.address.addr.str());
  CHECK(pod["status"]["podIPs"][0]["ip"] == api.address.addr.str());
  CHECK(pod["status"]["hostIP"] == v.plan.node(api.node)->ip.addr.str());
  CHECK(has_condition(pod, "Ready", "True"));
  CHECK(pod["status"]["containerStatuses"][0]["ready"] == true);
  CHECK(pod["spec"]["nodeName"] == api.node);
  CHECK(pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet");
  CHECK(pod["metadata"]["annotations"][std::string(kAnnotationNetns)] == api.netns);
}

TEST_CASE("Node: InternalIP and Hostname, podCIDR, Ready") {
  LabView v = running_lab();
  Json node = first(objects_of(v, Kind::kNode), "node1");
  CHECK(node["status"]["addresses"] == Json::parse(R"([{"type": "InternalIP", "address": "192.168.56.11"}, {"type": "Hostname", "address": "node1"}])"));
  CHECK(node["spec"]["podCIDR"] == v.plan.node("node1")->pod_subnet.str());
  CHECK(has_condition(node, "Ready", "True"));
}

TEST_CASE("Service: clusterIP(s), ports with node ports, the load balancer's ingress") {
  LabView v = running_lab();
  const ServicePlan& api = *std::find_if(v.plan.services.begin(), v.plan.services.end(), [](const ServicePlan& s) { return s.spec.name == "api"; });
  Json svc = first(objects_of(v, Kind::kService), "api");
  CHECK(svc["spec"]["clusterIP"] == api.cluster_ip.str());
  CHECK(svc["spec"]["clusterIPs"] == Json::array({api.cluster_ip.str()}));
  CHECK(svc["spec"]["ports"][0]["port"] == 80);
  CHECK(svc["spec"]["ports"][0]["targetPort"] == 8080);
  Json lb = first(objects_of(v, Kind::kService), "my-gateway-nginx");
  CHECK(lb["spec"]["type"] == "LoadBalancer");
  CHECK(lb["spec"]["ports"][0]["nodePort"].get<int>() >= 30000);
  CHECK(lb["status"]["loadBalancer"]["ingress"][0]["ip"].get<std::string>().starts_with("192.168.56.2"));
  CHECK(lb["metadata"]["labels"]["gateway.networking.k8s.io/gateway-name"] == "my-gateway");
}

TEST_CASE("Endpoints and EndpointSlice: the ready pods' addresses on the target port") {
  LabView v = running_lab();
  Json ep = first(objects_of(v, Kind::kEndpoints), "api");
  CHECK(ep["subsets"][0]["addresses"].size() == 2);
  CHECK(ep["subsets"][0]["ports"][0]["port"] == 8080);
  std::vector<Json> slices = objects_of(v, Kind::kEndpointSlice);
  auto slice = std::find_if(slices.begin(), slices.end(), [](const Json& s) { return s["metadata"]["labels"]["kubernetes.io/service-name"] == "api"; });
  REQUIRE(slice != slices.end());
  CHECK((*slice)["endpoints"].size() == 2);
  CHECK((*slice)["endpoints"][0]["conditions"]["ready"] == true);
}

TEST_CASE("GatewayClass and Gateway: Accepted, Programmed, the address") {
  LabView v = running_lab();
  for (const Json& c : objects_of(v, Kind::kGatewayClass)) CHECK(has_condition(c, "Accepted", "True"));
  Json gw = first(objects_of(v, Kind::kGateway), "my-gateway");
  CHECK(has_condition(gw, "Accepted", "True"));
  CHECK(has_condition(gw, "Programmed", "True"));
  CHECK(gw["status"]["addresses"][0]["value"].get<std::string>().starts_with("192.168.56.2"));
  Json route = first(objects_of(v, Kind::kHTTPRoute), "api-route");
  CHECK(route["status"]["parents"][0]["controllerName"] == kGatewayController);
}
