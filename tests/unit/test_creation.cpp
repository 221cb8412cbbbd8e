// Creation times (metadata.creationTimestamp): every object of a plan is stamped once, keeps its
// time across later plans of the same lab, and is forgotten when it goes.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "lab/loader.hpp"
#include "lab/manifest.hpp"
#include "plan/plan.hpp"
#include "runtime/lifecycle.hpp"

using namespace knlab;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

ImageCatalogue shipped_images() {
  auto c = parse_images(read_file(KNLAB_SOURCE_DIR "/data/images.toml"), "images.toml");
  REQUIRE(c);
  return *c;
}

// A lab of two nodes, a Deployment "web" of `replicas` pods, a Service, and `extra` TOML.
Lab small_lab(int replicas, const std::string& extra = "") {
  std::string t = "[lab]\nname = \"ct\"\n[[node]]\nname = \"node1\"\n[[node]]\nname = \"node2\"\n"
                  "[[deployment]]\nname = \"web\"\nimage = \"ghost:4\"\nreplicas = " +
                  std::to_string(replicas) + "\n[[service]]\nname = \"web\"\nselector = { app = \"web\" }\nport = 2368\n" + extra;
  auto lab = parse_lab(t, "ct.toml");
  REQUIRE(lab);
  return *lab;
}

LabPlan plan_of(const Lab& lab, const PlanMemory* memory = nullptr) {
  auto plan = plan_lab(lab, shipped_images(), memory);
  REQUIRE_MESSAGE(plan, (plan ? "" : plan.error().format()));
  return *plan;
}

std::set<std::string> pod_keys(const PlanMemory& m) {
  std::set<std::string> out;
  for (auto& [key, when] : m.created)
    if (key.starts_with("Pod/")) out.insert(key);
  return out;
}

// Lab 10 (a Gateway of kn-lab's class, HTTPRoute, TLS Secret, namespace billing) with the
// course's TCPRoute, UDPRoute and ReferenceGrant, and an IngressClass, an Ingress and a Namespace.
Lab l7_lab() {
  auto lab = load_lab_file(KNLAB_SOURCE_DIR "/labs/10-gateway-api.toml");
  REQUIRE_MESSAGE(lab, (lab ? "" : lab.error().format()));
  REQUIRE(apply_lab_manifests(*lab));
  for (const char* name : {"tcproute.yaml", "udproute.yaml", "reference-grant.yaml"}) {
    auto m = load_manifests(std::string(KNLAB_SOURCE_DIR "/manifests/examples/") + name);
    REQUIRE_MESSAGE(m, (m ? "" : m.error().format()));
    REQUIRE(apply_manifest(*lab, *m));
  }
  auto m = parse_manifests(R"(apiVersion: v1
kind: Namespace
metadata:
  name: dev
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: other
spec:
  controller: example.com/other
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
spec:
  ingressClassName: other
  defaultBackend:
    service:
      name: api
      port:
        number: 80
)", "extra.yaml");
  REQUIRE_MESSAGE(m, (m ? "" : m.error().format()));
  REQUIRE(apply_manifest(*lab, *m));
  return *lab;
}

}  // namespace

TEST_CASE("creation: object keys are <kind>/<namespace>/<name>, cluster-scoped objects with an empty namespace") {
  CHECK(PlanMemory::object_key("Pod", "default", "web") == "Pod/default/web");
  CHECK(PlanMemory::object_key("Node", "", "node1") == "Node//node1");
  CHECK(PlanMemory::object_key("Namespace", "", "dev") == "Namespace//dev");
  PlanMemory m;
  m.created["Node//node1"] = 42;
  CHECK(m.created_at("Node", "", "node1", 7) == 42);
  CHECK(m.created_at("Node", "", "node2", 7) == 7);           // not recorded: the fallback
  CHECK(m.created_at("Node", "default", "node1", 7) == 7);    // a namespace is part of the key
}

TEST_CASE("creation: a fresh plan stamps every object with now") {
  LabPlan plan = plan_of(small_lab(2));
  PlanMemory m = plan.memory;
  CHECK(m.created.empty());
  stamp_creation(m, plan, 1000);
  for (auto& [key, when] : m.created) CHECK_MESSAGE(when == 1000, key);
  std::set<std::string> keys;
  for (auto& [key, when] : m.created) keys.insert(key);
  for (const char* key : {"Node//node1", "Node//node2", "Deployment/default/web", "Service/default/web",
                          "Service/kube-system/kube-dns", "Namespace//default", "Namespace//kube-system",
                          "Namespace//kube-public", "Namespace//kube-node-lease"})
    CHECK_MESSAGE(keys.count(key) == 1, std::string(key));
  for (const PodPlan& p : plan.pods) CHECK(keys.count(PlanMemory::object_key("Pod", p.ns, p.name)) == 1);
  CHECK(pod_keys(m).size() == plan.pods.size());  // the Deployment's 2 and the DNS pod
  CHECK(plan.pods.size() == 3);
  // Nothing else: nodes, pods, the Deployment, two Services, four namespaces.
  CHECK(m.created.size() == 2 + 3 + 1 + 2 + 4);
}

TEST_CASE("creation: the L7 objects and their namespaces, with their kinds as Kubernetes spells them") {
  Lab lab = l7_lab();
  LabPlan plan = plan_of(lab);
  PlanMemory m;
  stamp_creation(m, plan, 5);
  std::set<std::string> keys;
  for (auto& [key, when] : m.created) keys.insert(key);
  for (const char* key : {"Gateway/default/my-gateway", "HTTPRoute/default/api-route", "TCPRoute/default/api-tcp",
                          "UDPRoute/default/api-udp", "ReferenceGrant/billing/routes-from-default",
                          "Ingress/default/site", "Namespace//billing", "Namespace//dev", "Deployment/billing/billing"})
    CHECK_MESSAGE(keys.count(key) == 1, std::string(key));
  for (auto& g : plan.l7.gateway_classes) CHECK(keys.count("GatewayClass//" + g.meta.name) == 1);
  for (auto& c : plan.l7.ingress_classes) CHECK(keys.count("IngressClass//" + c.meta.name) == 1);
  for (auto& s : plan.l7.secrets) CHECK(keys.count("Secret/" + s.meta.ns + "/" + s.meta.name) == 1);
  CHECK_FALSE(plan.l7.gateway_classes.empty());
  CHECK_FALSE(plan.l7.secrets.empty());
  // The Gateway's data plane: its pod and Service are objects of the lab too.
  REQUIRE_FALSE(plan.data_planes.empty());
  for (auto& s : plan.services) CHECK(keys.count(PlanMemory::object_key("Service", s.spec.ns, s.spec.name)) == 1);
  for (auto& p : plan.pods) CHECK(keys.count(PlanMemory::object_key("Pod", p.ns, p.name)) == 1);
  const std::set<std::string> kinds = {"Node", "Pod", "Deployment", "Service", "Namespace", "Secret", "IngressClass",
                                       "Ingress", "GatewayClass", "Gateway", "HTTPRoute", "TCPRoute", "UDPRoute",
                                       "ReferenceGrant"};
  for (auto& key : keys) CHECK_MESSAGE(kinds.count(key.substr(0, key.find('/'))) == 1, key);
}

TEST_CASE("creation: a later stamp stamps only the new pod, and a removed pod is forgotten") {
  LabPlan first = plan_of(small_lab(2));
  PlanMemory m = first.memory;
  stamp_creation(m, first, 1000);
  const auto before = m.created;

  // One more replica: planned with the lab's memory, as a live change does.
  LabPlan second = plan_of(small_lab(3), &m);
  CHECK(second.memory.created == before);  // the plan carries the recorded times
  PlanMemory m2 = second.memory;
  stamp_creation(m2, second, 2000);
  std::set<std::string> fresh;
  for (auto& [key, when] : m2.created) {
    if (when == 2000) fresh.insert(key);
    else CHECK_MESSAGE(before.at(key) == when, key);
  }
  REQUIRE(fresh.size() == 1);
  CHECK(fresh.begin()->starts_with("Pod/default/web-"));
  CHECK(before.count(*fresh.begin()) == 0);

  // Back to two: the third pod's entry goes; the others keep their times.
  LabPlan third = plan_of(small_lab(2), &m2);
  PlanMemory m3 = third.memory;
  stamp_creation(m3, third, 3000);
  CHECK(m3.created.count(*fresh.begin()) == 0);
  CHECK(m3.created == before);

  // A stamp of the same plan again changes nothing (`up` of a lab that is up).
  PlanMemory again = m3;
  stamp_creation(again, third, 4000);
  CHECK(again.created == m3.created);
}

TEST_CASE("creation: a replaced replica (a new name) is a new pod with a new time") {
  Lab lab = small_lab(2);
  LabPlan first = plan_of(lab);
  PlanMemory m = first.memory;
  stamp_creation(m, first, 1000);
  m.generations[PlanMemory::replica_key(lab.deployments.front(), 0)] = 1;  // as `delete pod` does
  LabPlan second = plan_of(lab, &m);
  PlanMemory m2 = second.memory;
  stamp_creation(m2, second, 2000);
  std::string old_name = deployment_pod_name(lab.deployments.front(), 0);
  std::string new_name = deployment_pod_name(lab.deployments.front(), 0, 1);
  REQUIRE(old_name != new_name);
  CHECK(m2.created.count(PlanMemory::object_key("Pod", "default", old_name)) == 0);
  CHECK(m2.created_at("Pod", "default", new_name, 0) == 2000);
  std::string other = deployment_pod_name(lab.deployments.front(), 1);
  CHECK(m2.created_at("Pod", "default", other, 0) == 1000);
  CHECK(m2.created_at("Deployment", "default", "web", 0) == 1000);
  CHECK(pod_keys(m2).size() == pod_keys(m).size());
}

TEST_CASE("creation: a Service made later, in a new namespace, brings its namespace's time") {
  LabPlan first = plan_of(small_lab(1));
  PlanMemory m = first.memory;
  stamp_creation(m, first, 1000);
  LabPlan second = plan_of(small_lab(1, "[[service]]\nname = \"db\"\nnamespace = \"data\"\nport = 5432\n"), &m);
  PlanMemory m2 = second.memory;
  stamp_creation(m2, second, 2000);
  CHECK(m2.created_at("Service", "data", "db", 0) == 2000);
  CHECK(m2.created_at("Namespace", "", "data", 0) == 2000);
  CHECK(m2.created_at("Namespace", "", "default", 0) == 1000);
  CHECK(m2.created.size() == m.created.size() + 2);
}
