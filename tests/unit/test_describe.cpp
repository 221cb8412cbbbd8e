// kubectl describe's text per kind (src/views/describe), from small handmade objects, line by line.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/text.hpp"
#include "views/describe.hpp"

using namespace knlab;
using namespace knlab::views;

namespace {

std::vector<std::string> lines(const Json& o, const DescribeContext& ctx = {}) {
  std::string text = describe(o, ctx);
  CHECK(text.ends_with("\n"));
  std::vector<std::string> out;
  for (std::string_view l : split(text, '\n')) out.emplace_back(l);
  out.pop_back();  // after the last newline
  return out;
}

void check_lines(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    INFO("line ", i + 1);
    CHECK(std::string(i < got.size() ? got[i] : "<missing>") == std::string(i < want.size() ? want[i] : "<extra>"));
  }
}

}  // namespace

TEST_CASE("tabwrite: kubectl's describe tabwriter (padding 2, blocks of consecutive lines)") {
  CHECK(tabwrite("Name:\tweb\nNamespace:\tdefault\nIPs:\n  IP:\t10.0.0.1\n") ==
        "Name:       web\nNamespace:  default\nIPs:\n  IP:  10.0.0.1\n");
  CHECK(tabwrite("Port:\t<unset>\t80/TCP\nTargetPort:\t8080/TCP\n") == "Port:        <unset>  80/TCP\nTargetPort:  8080/TCP\n");
  CHECK(tabwrite("a\n\nb\n") == "a\n\nb\n");
}

TEST_CASE("describe Service: kubectl's fields, a line per port, endpoints from the Endpoints") {
  Json svc = Json::parse(R"({"apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"}},
    "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"], "ipFamilies": ["IPv4"],
             "ipFamilyPolicy": "SingleStack", "selector": {"app": "web"}, "sessionAffinity": "None",
             "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Cluster",
             "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}]},
    "status": {"loadBalancer": {}}})");
  Json ep = Json::parse(R"({"kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
    "subsets": [{"addresses": [{"ip": "10.244.0.2"}, {"ip": "10.244.1.2"}], "ports": [{"name": "http", "port": 8080}]}]})");
  check_lines(lines(svc, {{ep}, 0}), {
      "Name:                     web",
      "Namespace:                default",
      "Labels:                   app=web",
      "                          tier=front",
      "Annotations:              <none>",
      "Selector:                 app=web",
      "Type:                     NodePort",
      "IP Family Policy:         SingleStack",
      "IP Families:              IPv4",
      "IP:                       10.96.0.20",
      "IPs:                      10.96.0.20",
      "Port:                     http  80/TCP",
      "TargetPort:               8080/TCP",
      "NodePort:                 http  30080/TCP",
      "Endpoints:                10.244.0.2:8080,10.244.1.2:8080",
      "Session Affinity:         None",
      "External Traffic Policy:  Local",
      "Internal Traffic Policy:  Cluster",
      "Events:                   <none>",
  });
  // No Endpoints object: <none>; more than three addresses: kubectl's "+ N more...".
  CHECK(describe(svc, {}).find("Endpoints:                <none>\n") != std::string::npos);
  ep["subsets"][0]["addresses"] = Json::parse(R"([{"ip": "a"}, {"ip": "b"}, {"ip": "c"}, {"ip": "d"}, {"ip": "e"}])");
  CHECK(describe(svc, {{ep}, 0}).find("Endpoints:                a:8080,b:8080,c:8080 + 2 more...\n") != std::string::npos);
}

TEST_CASE("describe Pod: node, start time, status, IPs, controller, containers, conditions") {
  Json pod = Json::parse(R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-abc-x1", "namespace": "default", "labels": {"app": "web"},
                 "annotations": {"kn-lab.io/netns": "kn-l.web-abc-x1"},
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web-abc", "controller": true}]},
    "spec": {"nodeName": "node1", "containers": [{"name": "web", "image": "nginx",
             "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
    "status": {"phase": "Running", "hostIP": "192.168.56.11", "podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}],
               "startTime": "2026-12-05T07:51:12Z", "qosClass": "BestEffort",
               "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [{"name": "web", "containerID": "kn-lab://42", "image": "nginx", "imageID": "", "ready": true,
                                      "restartCount": 0, "state": {"running": {"startedAt": "2026-12-05T07:51:12Z"}}}]}})");
  check_lines(lines(pod), {
      "Name:         web-abc-x1",
      "Namespace:    default",
      "Node:         node1/192.168.56.11",
      "Start Time:   Sat, 05 Dec 2026 07:51:12 +0000",
      "Labels:       app=web",
      "Annotations:  kn-lab.io/netns: kn-l.web-abc-x1",
      "Status:       Running",
      "IP:           10.244.0.2",
      "IPs:",
      "  IP:           10.244.0.2",
      "Controlled By:  ReplicaSet/web-abc",
      "Containers:",
      "  web:",
      "    Container ID:   kn-lab://42",
      "    Image:          nginx",
      "    Image ID:       ",
      "    Port:           80/TCP",
      "    Host Port:      0/TCP",
      "    State:          Running",
      "      Started:      Sat, 05 Dec 2026 07:51:12 +0000",
      "    Ready:          True",
      "    Restart Count:  0",
      "    Environment:    <none>",
      "    Mounts:         <none>",
      "Conditions:",
      "  Type           Status",
      "  Ready          True ",
      "Volumes:         <none>",
      "QoS Class:       BestEffort",
      "Node-Selectors:  <none>",
      "Tolerations:     <none>",
      "Events:          <none>",
  });
}

TEST_CASE("describe Deployment and ReplicaSet: replicas, strategy, pod template, the new ReplicaSet") {
  Json tpl = Json::parse(R"({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}})");
  Json d = {{"apiVersion", "apps/v1"}, {"kind", "Deployment"},
            {"metadata", {{"name", "web"}, {"namespace", "default"}, {"creationTimestamp", "2026-12-05T07:51:12Z"}, {"labels", {{"app", "web"}}}}},
            {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"app", "web"}}}}}, {"template", tpl},
                      {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}}}},
            {"status", {{"replicas", 2}, {"updatedReplicas", 2}, {"availableReplicas", 1},
                        {"conditions", Json::array({{{"type", "Available"}, {"status", "False"}, {"reason", "MinimumReplicasUnavailable"}}})}}}};
  Json rs = {{"kind", "ReplicaSet"},
             {"metadata", {{"name", "web-abc"}, {"namespace", "default"},
                           {"ownerReferences", Json::array({{{"kind", "Deployment"}, {"name", "web"}, {"controller", true}}})}}},
             {"spec", {{"replicas", 2}, {"selector", {{"matchLabels", {{"app", "web"}}}}}, {"template", tpl}}},
             {"status", {{"replicas", 2}}}};
  check_lines(lines(d, {{rs}, 0}), {
      "Name:                   web",
      "Namespace:              default",
      "CreationTimestamp:      Sat, 05 Dec 2026 07:51:12 +0000",
      "Labels:                 app=web",
      "Annotations:            <none>",
      "Selector:               app=web",
      "Replicas:               2 desired | 2 updated | 2 total | 1 available | 1 unavailable",
      "StrategyType:           RollingUpdate",
      "MinReadySeconds:        0",
      "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
      "Pod Template:",
      "  Labels:  app=web",
      "  Containers:",
      "   web:",
      "    Image:         nginx",
      "    Port:          <none>",
      "    Host Port:     <none>",
      "    Environment:   <none>",
      "    Mounts:        <none>",
      "  Volumes:         <none>",
      "  Node-Selectors:  <none>",
      "  Tolerations:     <none>",
      "Conditions:",
      "  Type           Status  Reason",
      "  ----           ------  ------",
      "  Available      False   MinimumReplicasUnavailable",
      "OldReplicaSets:  <none>",
      "NewReplicaSet:   web-abc (2/2 replicas created)",
      "Events:          <none>",
  });
  Json pod = {{"kind", "Pod"}, {"metadata", {{"name", "web-abc-1"}, {"namespace", "default"}, {"ownerReferences", rs["metadata"]["ownerReferences"]}}}};
  pod["metadata"]["ownerReferences"][0]["kind"] = "ReplicaSet";
  pod["metadata"]["ownerReferences"][0]["name"] = "web-abc";
  pod["status"] = {{"phase", "Running"}};
  std::vector<std::string> r = lines(rs, {{pod}, 0});
  CHECK(r[0] == "Name:           web-abc");
  CHECK(r[2] == "Selector:       app=web");
  CHECK(r[5] == "Controlled By:  Deployment/web");
  CHECK(r[6] == "Replicas:       2 current / 2 desired");
  CHECK(r[7] == "Pods Status:    1 Running / 0 Waiting / 0 Succeeded / 0 Failed");
}

TEST_CASE("describe Namespace, Node, Endpoints, EndpointSlice") {
  check_lines(lines(Json::parse(R"({"kind": "Namespace", "metadata": {"name": "default", "labels": {"kubernetes.io/metadata.name": "default"}},
                                    "status": {"phase": "Active"}})")),
              {"Name:         default", "Labels:       kubernetes.io/metadata.name=default", "Annotations:  <none>", "Status:       Active", "",
               "No resource quota.", "", "No LimitRange resource."});
  Json node = Json::parse(R"({"kind": "Node", "metadata": {"name": "node1", "creationTimestamp": "2026-12-05T07:51:12Z"},
    "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
    "status": {"addresses": [{"type": "InternalIP", "address": "192.168.56.11"}, {"type": "Hostname", "address": "node1"}]}})");
  Json pod = Json::parse(R"({"kind": "Pod", "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2026-12-05T07:50:12Z"},
                             "spec": {"nodeName": "node1"}, "status": {"phase": "Running"}})");
  std::string text = describe(node, {{pod}, 1796457072 + 60});
  CHECK(text.starts_with("Name:               node1\nRoles:              <none>\nLabels:             <none>\n"));
  CHECK(text.find("CreationTimestamp:  Sat, 05 Dec 2026 07:51:12 +0000\n") != std::string::npos);
  CHECK(text.find("Addresses:\n  InternalIP:  192.168.56.11\n  Hostname:    node1\n") != std::string::npos);
  CHECK(text.find("PodCIDR:                      10.244.0.0/24\n") != std::string::npos);
  CHECK(text.find("Non-terminated Pods:          (1 in total)\n") != std::string::npos);
  CHECK(text.find("  default                     web   0 (0%)        0 (0%)      0 (0%)           0 (0%)         2m\n") != std::string::npos);

  check_lines(lines(Json::parse(R"({"kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
    "subsets": [{"addresses": [{"ip": "10.244.0.2"}], "notReadyAddresses": [{"ip": "10.244.1.2"}],
                 "ports": [{"port": 8080, "protocol": "TCP"}]}]})")),
              {"Name:         web", "Namespace:    default", "Labels:       <none>", "Annotations:  <none>", "Subsets:",
               "  Addresses:          10.244.0.2", "  NotReadyAddresses:  10.244.1.2", "  Ports:", "    Name     Port  Protocol",
               "    ----     ----  --------", "    <unset>  8080  TCP", "", "Events:  <none>"});
  std::string slice = describe(Json::parse(R"({"kind": "EndpointSlice", "metadata": {"name": "web-x", "namespace": "default"},
    "addressType": "IPv4", "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
    "endpoints": [{"addresses": ["10.244.0.2"], "conditions": {"ready": true}, "nodeName": "node1",
                   "targetRef": {"kind": "Pod", "name": "web-1"}}]})"), {});
  CHECK(slice.find("AddressType:  IPv4\n") != std::string::npos);
  CHECK(slice.find("  - Addresses:  10.244.0.2\n    Conditions:\n      Ready:    true\n    Hostname:   <unset>\n    TargetRef:  Pod/web-1\n") !=
        std::string::npos);
}

TEST_CASE("describe Ingress: rules with each backend's endpoints, annotations") {
  Json ing = Json::parse(R"({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
    "metadata": {"name": "ingress", "namespace": "default", "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": "/"}},
    "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["example.com"], "secretName": "tls"}],
             "rules": [{"http": {"paths": [{"path": "/api", "pathType": "Prefix",
                                            "backend": {"service": {"name": "api", "port": {"number": 80}}}}]}}]},
    "status": {"loadBalancer": {"ingress": [{"ip": "192.168.56.11"}]}}})");
  Json svc = Json::parse(R"({"kind": "Service", "metadata": {"name": "api", "namespace": "default"},
                             "spec": {"ports": [{"port": 80, "targetPort": 8080}]}})");
  Json ep = Json::parse(R"({"kind": "Endpoints", "metadata": {"name": "api", "namespace": "default"},
                            "subsets": [{"addresses": [{"ip": "10.244.0.2"}], "ports": [{"port": 8080}]}]})");
  check_lines(lines(ing, {{svc, ep}, 0}), {
      "Name:             ingress",
      "Labels:           <none>",
      "Namespace:        default",
      "Address:          192.168.56.11",
      "Ingress Class:    nginx",
      "Default backend:  <default>",
      "TLS:",
      "  tls terminates example.com",
      "Rules:",
      "  Host        Path  Backends",
      "  ----        ----  --------",
      "  *           ",
      "              /api   api:80 (10.244.0.2:8080)",
      "Annotations:  nginx.ingress.kubernetes.io/rewrite-target: /",
      "Events:       <none>",
  });
  CHECK(describe(ing, {}).find("/api   api:80 (<error: endpoints \"api\" not found>)") != std::string::npos);
}

TEST_CASE("describe the Gateway API kinds: spec, and status conditions Type, Status, Reason, Message") {
  Json gc = Json::parse(R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "kn-lab"},
    "spec": {"controllerName": "kn-lab.dev/gateway-controller"},
    "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "ok"}]}})");
  check_lines(lines(gc), {"Name:         kn-lab", "Labels:       <none>", "Annotations:  <none>", "API Version:  gateway.networking.k8s.io/v1",
                          "Kind:         GatewayClass", "Spec:", "  Controller Name:  kn-lab.dev/gateway-controller", "Status:",
                          "  Conditions:", "    Type:     Accepted", "    Status:   True", "    Reason:   Accepted", "    Message:  ok",
                          "Events:  <none>"});
  Json route = Json::parse(R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
    "metadata": {"name": "api-route", "namespace": "default"},
    "spec": {"parentRefs": [{"name": "my-gateway"}],
             "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}, "headers": [{"name": "X-V", "value": "2"}]}],
                        "backendRefs": [{"name": "api", "port": 80, "weight": 90}]}]},
    "status": {"parents": [{"parentRef": {"namespace": "default", "name": "my-gateway", "sectionName": "http"},
                            "controllerName": "kn-lab.dev/gateway-controller",
                            "conditions": [{"type": "ResolvedRefs", "status": "False", "reason": "RefNotPermitted", "message": "no grant"}]}]}})");
  std::vector<std::string> r = lines(route);
  CHECK(r[4] == "API Version:  gateway.networking.k8s.io/v1");
  std::vector<std::string> tail(r.begin() + 6, r.end());
  check_lines(tail, {"Spec:", "  Parent Refs:", "    Name:  my-gateway", "  Rules:", "    Match:    path PathPrefix /api, header X-V = 2",
                     "    Backend:  api:80 (<error: endpoints \"api\" not found>) weight 90", "Status:", "  Parents:",
                     "    Parent Ref:       default/my-gateway/http", "    Controller Name:  kn-lab.dev/gateway-controller",
                     "    Conditions:", "      Type:     ResolvedRefs", "      Status:   False", "      Reason:   RefNotPermitted",
                     "      Message:  no grant", "Events:  <none>"});
  Json gw = Json::parse(R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "g", "namespace": "default"},
    "spec": {"gatewayClassName": "kn-lab", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
    "status": {"addresses": [{"type": "IPAddress", "value": "192.168.56.200"}], "conditions": [],
               "listeners": [{"name": "http", "attachedRoutes": 1, "conditions": []}]}})");
  std::string text = describe(gw, {});
  CHECK(text.find("Spec:\n  Gateway Class Name:  kn-lab\n  Listeners:\n    Name:            http\n    Port:            80\n") != std::string::npos);
  CHECK(text.find("  Addresses:\n    Type:   IPAddress\n    Value:  192.168.56.200\n") != std::string::npos);
  CHECK(text.find("    Name:             http\n    Attached Routes:  1\n") != std::string::npos);
}

TEST_CASE("describe Secret and IngressClass") {
  check_lines(lines(Json::parse(R"({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
    "metadata": {"name": "tls", "namespace": "default"}, "data": {"tls.crt": "YWJjZA==", "tls.key": "YWJj"}})")),
              {"Name:         tls", "Namespace:    default", "Labels:       <none>", "Annotations:  <none>", "", "Type:  kubernetes.io/tls", "",
               "Data", "====", "tls.crt:  4 bytes", "tls.key:  3 bytes"});
  check_lines(lines(Json::parse(R"({"kind": "IngressClass", "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}})")),
              {"Name:         nginx", "Labels:       <none>", "Annotations:  <none>", "Controller:   k8s.io/ingress-nginx", "Events:       <none>"});
}
