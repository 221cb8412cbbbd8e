// kubectl describe's generic layout (views/describe).
#include <doctest/doctest.h>

#include "views/describe.hpp"

using namespace knlab::views;

TEST_CASE("field names in title case, as kubectl's describer writes them") {
  CHECK(title_case("creationTimestamp") == "Creation Timestamp");
  CHECK(title_case("podCIDR") == "Pod CIDR");
  CHECK(title_case("uid") == "Uid");
  CHECK(title_case("readyReplicas") == "Ready Replicas");
  CHECK(title_case("apiVersion") == "Api Version");
}

TEST_CASE("the generic layout: the head, then nested fields lined up per block") {
  Json o = Json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "ghost", "namespace": "default", "labels": {"app": "ghost", "tier": "web"}, "uid": "u-1"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "ghost"}}},
    "status": {"readyReplicas": 2, "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]}})");
  CHECK(describe_generic(o) ==
        "Name:         ghost\n"
        "Namespace:    default\n"
        "Labels:       app=ghost\n"
        "              tier=web\n"
        "Annotations:  <none>\n"
        "API Version:  apps/v1\n"
        "Kind:         Deployment\n"
        "Metadata:\n"
        "  Uid:  u-1\n"
        "Spec:\n"
        "  Replicas:  2\n"
        "  Selector:\n"
        "    Match Labels:\n"
        "      App:  ghost\n"
        "Status:\n"
        "  Conditions:\n"
        "    Status:  True\n"
        "    Type:    Available\n"
        "    Status:  True\n"
        "    Type:    Progressing\n"
        "  Ready Replicas:  2\n"
        "Events:       <none>\n");
}
