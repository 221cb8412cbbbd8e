// get's pieces: label selectors, uids of API objects, and kubectl's columns per kind printed by views.
#include <doctest/doctest.h>

#include "cli/columns.hpp"
#include "kube/selector.hpp"
#include "views/age.hpp"

using namespace knlab;

TEST_CASE("label selectors: equality and set-based, as kubectl -l") {
  Json web = {{"app", "web"}, {"tier", "front"}};
  Json db = {{"app", "db"}};
  auto match = [](const char* text, const Json& labels) {
    auto s = Selector::parse(text);
    REQUIRE(s.has_value());
    return s->matches(labels);
  };
  CHECK(match("", web));
  CHECK(match("app=web", web));
  CHECK(match("app==web", web));
  CHECK_FALSE(match("app=web", db));
  CHECK(match("app!=web", db));
  CHECK(match("app!=web", Json::object()));  // no label: not equal
  CHECK(match("tier", web));
  CHECK_FALSE(match("tier", db));
  CHECK(match("!tier", db));
  CHECK(match("app in (web,db)", db));
  CHECK(match("app in (web, db),!tier", db));
  CHECK_FALSE(match("app notin (web,db)", db));
  CHECK(match("app=web,tier=front", web));
  CHECK_FALSE(match("app=web,tier=back", web));
  auto bad = Selector::parse("app in web");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().detail.find("unable to parse requirement") != std::string::npos);
  CHECK_FALSE(Selector::parse("a b=c").has_value());
  CHECK_FALSE(Selector::parse("app=web,").has_value());
}

TEST_CASE("uids are stable per object and laid out as RFC 4122") {
  std::string a = object_uid("lab", "Pod", "default", "web");
  CHECK(a == object_uid("lab", "Pod", "default", "web"));
  CHECK(a != object_uid("lab", "Pod", "default", "api"));
  CHECK(a != object_uid("other", "Pod", "default", "web"));
  REQUIRE(a.size() == 36);
  CHECK(a[8] == '-');
  CHECK(a[14] == '5');
}

TEST_CASE("a Service's table: kubectl's columns, --no-headers, --show-labels, -L, NAMESPACE with -A") {
  Json svc = {{"apiVersion", "v1"}, {"kind", "Service"},
              {"metadata", {{"name", "web"}, {"namespace", "shop"}, {"labels", {{"app", "web"}}}, {"creationTimestamp", views::iso8601(1000)}}},
              {"spec", {{"type", "NodePort"}, {"clusterIP", "10.96.0.20"}, {"ports", Json::array({{{"port", 80}, {"nodePort", 30080}, {"protocol", "TCP"}}})},
                        {"selector", {{"app", "web"}}}}},
              {"status", {{"loadBalancer", Json::object()}}}};
  views::PrintOptions t;
  t.with_namespace = true;
  t.show_labels = true;
  t.label_columns = {"app"};
  t.now = 1000 + 192;
  CHECK(views::print_table({svc}, columns_for(Kind::kService), t) ==
        "NAMESPACE   NAME   TYPE       CLUSTER-IP   EXTERNAL-IP   PORT(S)        AGE     APP   LABELS\n"
        "shop        web    NodePort   10.96.0.20   <none>        80:30080/TCP   3m12s   web   app=web\n");
  t = views::PrintOptions{};
  t.no_headers = true;
  t.now = 1000 + 5;
  CHECK(views::print_table({svc}, columns_for(Kind::kService), t, true) ==
        "web   NodePort   10.96.0.20   <none>   80:30080/TCP   5s    app=web\n");
}

TEST_CASE("field selectors: =, ==, != on the fields the API server indexes") {
  Json pod = Json::parse(R"({"metadata": {"name": "web", "namespace": "default"},
                             "spec": {"nodeName": "node1"}, "status": {"phase": "Running", "podIP": "10.244.0.2"}})");
  auto on_node1 = FieldSelector::parse("spec.nodeName=node1,status.phase==Running", "Pod");
  REQUIRE(on_node1);
  CHECK(on_node1->matches(pod));
  CHECK(!FieldSelector::parse("spec.nodeName!=node1", "Pod")->matches(pod));
  CHECK(FieldSelector::parse("status.podIP=10.244.0.2", "Pod")->matches(pod));
  CHECK(FieldSelector::parse("metadata.name!=other", "Pod")->matches(pod));
  CHECK(FieldSelector::parse("", "Pod")->matches(pod));
  auto unsupported = FieldSelector::parse("spec.nodeName=node1", "Service");
  REQUIRE(!unsupported);
  CHECK(unsupported.error().detail == "field label not supported: spec.nodeName");
  CHECK(!FieldSelector::parse("status.phase", "Pod"));
}
