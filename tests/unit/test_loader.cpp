#include <doctest/doctest.h>

#include <string>

#include "lab/loader.hpp"
#include "lab/names.hpp"

using namespace knlab;

namespace {

const char* kGood = R"(
[lab]
name = "demo"
description = "two pods"

[cluster]
pod_cidr = "10.244.0.0/16"

[[node]]
name = "node1"

[[pod]]
name = "web"
node = "node1"
labels = { app = "web" }

  [[pod.container]]
  name = "server"
  command = ["kn-netexec", "--http-port", "8080"]
  env = { GREETING = "hi" }

[[pod]]
name = "api"
node = "node1"
)";

// Parses `text` expecting an input error; returns it.
Error bad(const std::string& text) {
  auto r = parse_lab(text, "lab.toml");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().kind == ErrorKind::kInput);
  return r.error();
}

std::string with(const std::string& needle, const std::string& replacement) {
  std::string s = kGood;
  auto at = s.find(needle);
  REQUIRE(at != std::string::npos);
  s.replace(at, needle.size(), replacement);
  return s;
}

}  // namespace

TEST_CASE("a valid lab loads into the model") {
  auto r = parse_lab(kGood, "lab.toml");
  REQUIRE(r.has_value());
  CHECK(r->name == "demo");
  CHECK(r->nodes.size() == 1);
  REQUIRE(r->pods.size() == 2);
  CHECK(r->pods[0].labels.at("app") == "web");
  REQUIRE(r->pods[0].containers.size() == 1);
  CHECK(r->pods[0].containers[0].command.size() == 3);
  CHECK(r->pods[0].containers[0].env.front().first == "GREETING");
  CHECK(r->cluster.cni == CniMode::kVxlan);
  CHECK(r->cluster.service_cidr.str() == "10.96.0.0/12");
}

TEST_CASE("a pod may omit its node when the lab has only one") {
  auto r = parse_lab(with("name = \"api\"\nnode = \"node1\"", "name = \"api\""), "lab.toml");
  REQUIRE(r.has_value());
  CHECK(r->pods[1].node == "node1");
}

TEST_CASE("syntax errors name line and column") {
  Error e = bad("[lab]\nname = \"x\"\nnope = \n");
  CHECK(e.where.file == "lab.toml");
  CHECK(e.where.line == 3);
  CHECK(e.detail.find("TOML syntax error") != std::string::npos);
}

TEST_CASE("unknown keys get a did-you-mean and the allowed keys") {
  Error e = bad(with("labels = { app = \"web\" }", "lables = { app = \"web\" }"));
  CHECK(e.detail == "unknown key 'lables' in [[pod]]");
  CHECK(e.hint.find("did you mean 'labels'?") != std::string::npos);
  CHECK(e.hint.find("allowed keys in [[pod]]: name, namespace, node, labels, image, args, env, ports, privileged, container") != std::string::npos);
  CHECK(e.where.line == 15);
  CHECK(e.where.column == 1);

  Error top = bad(std::string(kGood) + "\n[clustr]\n");
  CHECK(top.hint.find("did you mean 'cluster'?") != std::string::npos);

  Error c = bad(with("command =", "comand ="));
  CHECK(c.hint.find("did you mean 'command'?") != std::string::npos);
}

TEST_CASE("missing fields say what to add") {
  Error e = bad("[[node]]\nname = \"n\"\n");
  CHECK(e.detail == "the lab file has no [lab] table");
  Error n = bad("[lab]\nname = \"x\"\n[[node]]\n");
  CHECK(n.detail == "[[node]] has no 'name'");
  CHECK(n.where.line == 3);
  Error none = bad("[lab]\nname = \"x\"\n");
  CHECK(none.detail == "the lab defines no node");
  Error cmd = bad(with("  command = [\"kn-netexec\", \"--http-port\", \"8080\"]\n", ""));
  CHECK(cmd.detail.find("has no command") != std::string::npos);
}

TEST_CASE("wrong types are named") {
  Error e = bad(with("name = \"demo\"", "name = 42"));
  CHECK(e.detail == "key 'name' in [lab] must be a string, not an integer");
  Error arr = bad(with("[\"kn-netexec\", \"--http-port\", \"8080\"]", "\"kn-netexec --http-port 8080\""));
  CHECK(arr.detail.find("must be an array of strings") != std::string::npos);
  Error nodes = bad(with("[[node]]\nname = \"node1\"", "[node]\nname = \"node1\""));
  CHECK(nodes.detail.find("write [[node]]") != std::string::npos);
}

TEST_CASE("names that cannot become a namespace or a path are refused") {
  for (const char* name : {"We b", "web/x", "..", "a.b", "Web", "-web", "web-", ""}) {
    Error e = bad(with("name = \"web\"", std::string("name = \"") + name + "\""));
    CHECK(e.detail.find("pod name") != std::string::npos);
  }
  Error lng = bad(with("name = \"demo\"", "name = \"" + std::string(33, 'a') + "\""));
  CHECK(lng.detail.find("at most 32") != std::string::npos);
  Error reserved = bad(with("name = \"node1\"\n\n[[pod]]", "name = \"wire\"\n\n[[pod]]"));
  CHECK(reserved.detail.find("reserved") != std::string::npos);
}

TEST_CASE("duplicates and dangling references are refused") {
  Error dup = bad(with("name = \"api\"", "name = \"web\""));
  CHECK(dup.detail.find("used twice") != std::string::npos);
  Error clash = bad(with("name = \"api\"", "name = \"node1\""));
  CHECK(clash.detail.find("used twice") != std::string::npos);
  Error missing = bad(with("name = \"api\"\nnode = \"node1\"", "name = \"api\"\nnode = \"node9\""));
  CHECK(missing.detail == "pod 'api' is on node 'node9', which the lab does not define");
  CHECK(missing.hint == "nodes of this lab: node1");
  Error two = bad(with("name = \"server\"\n  command = [\"kn-netexec\", \"--http-port\", \"8080\"]\n  env = { GREETING = \"hi\" }",
                       "name = \"server\"\n  command = [\"a\"]\n  [[pod.container]]\n  name = \"server\"\n  command = [\"b\"]"));
  CHECK(two.detail.find("two containers named 'server'") != std::string::npos);
}

TEST_CASE("CIDRs are checked: syntax, host bits, overlap, capacity") {
  Error syntax = bad(with("pod_cidr = \"10.244.0.0/16\"", "pod_cidr = \"10.244.0.0/40\""));
  CHECK(syntax.detail.find("not a valid IPv4 network") != std::string::npos);
  Error host = bad(with("pod_cidr = \"10.244.0.0/16\"", "pod_cidr = \"10.244.0.1/16\""));
  CHECK(host.hint == "host bits are set: did you mean \"10.244.0.0/16\"?");
  Error overlap = bad(with("pod_cidr = \"10.244.0.0/16\"", "pod_cidr = \"10.100.0.0/16\""));
  CHECK(overlap.detail.find("overlaps") != std::string::npos);
  Error mask = bad(with("pod_cidr = \"10.244.0.0/16\"", "pod_cidr = \"10.244.0.0/16\"\nnode_cidr_mask = 12"));
  CHECK(mask.detail.find("wider than pod_cidr") != std::string::npos);
  Error range = bad(with("pod_cidr = \"10.244.0.0/16\"", "pod_cidr = \"10.244.0.0/16\"\nmtu = 100"));
  CHECK(range.hint == "allowed: 1280 to 9000");
  Error cni = bad(with("pod_cidr = \"10.244.0.0/16\"", "pod_cidr = \"10.244.0.0/16\"\ncni = \"weave\""));
  CHECK(cni.hint.find("vxlan") != std::string::npos);

  std::string many = "[lab]\nname = \"x\"\n[cluster]\nnode_cidr_mask = 29\n[[node]]\nname = \"n\"\n";
  for (int i = 0; i < 6; ++i) many += "[[pod]]\nname = \"p" + std::to_string(i) + "\"\n";
  Error full = bad(many);
  CHECK(full.detail == "node 'n' has 6 pods but its /29 subnet holds 5 pod addresses");
  CHECK(full.where.line == 5);
}

TEST_CASE("labels and environment variable names follow Kubernetes and POSIX rules") {
  Error label = bad(with("labels = { app = \"web\" }", "labels = { app = \"we b\" }"));
  CHECK(label.detail.find("not a valid Kubernetes label") != std::string::npos);
  Error env = bad(with("env = { GREETING = \"hi\" }", "env = { 1X = \"hi\" }"));
  CHECK(env.detail.find("environment variable name") != std::string::npos);
  CHECK(parse_lab(with("labels = { app = \"web\" }", "labels = { \"app.kubernetes.io/name\" = \"web\" }"), "l"));
}

TEST_CASE("the error message names file:line:column, the problem and the hint") {
  Error e = bad(with("labels = { app = \"web\" }", "lables = { app = \"web\" }"));
  std::string msg = e.format();
  CHECK(msg.starts_with("error: lab.toml:15:1: invalid input: unknown key 'lables' in [[pod]]"));
  CHECK(msg.find("\n  hint: did you mean 'labels'?") != std::string::npos);
}

TEST_CASE("loading a missing file is an input error naming it") {
  auto r = load_lab_file("/nonexistent/lab.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().where.file == "/nonexistent/lab.toml");
  CHECK(r.error().err == ENOENT);
}

TEST_CASE("the parser survives arbitrary bytes (fuzz smoke)") {
  std::string s = kGood;
  unsigned seed = 12345;
  int accepted = 0, refused = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string t = s;
    for (int k = 0; k < 4; ++k) {
      seed = seed * 1103515245u + 12345u;
      std::size_t pos = (seed >> 8) % t.size();
      t[pos] = static_cast<char>((seed >> 16) & 0xff);
    }
    auto lab = parse_lab(t, "fuzz.toml");  // must not crash or throw
    if (lab) {
      ++accepted;
    } else {
      // A refusal is an input error that names the file and says what is wrong.
      CHECK(lab.error().kind == ErrorKind::kInput);
      CHECK(lab.error().where.file == "fuzz.toml");
      CHECK(!lab.error().detail.empty());
      ++refused;
    }
  }
  CHECK(refused > 0);  // the mutations did reach the validator
  CHECK(accepted + refused == 2000);
}

TEST_CASE("edit distance") {
  CHECK(edit_distance("lables", "labels") == 2);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("node", "node") == 0);
}

TEST_CASE("check_label") {
  CHECK_FALSE(check_label("node-1", 63));
  CHECK(*check_label("a/b", 63) == "must not contain '/'");
  CHECK(*check_label("a.b", 63) == "must not contain '.'");
  CHECK(*check_label("a b", 63) == "must not contain ' '");
  CHECK(*check_label("A", 63) == "must be lowercase");
  CHECK(*check_label("abc", 2) == "is 3 characters long, at most 2 are allowed");
}

TEST_CASE("non-ASCII text is refused outside comments (toml++ 3.3 has UB on some of it)") {
  Error e = bad(with("description = \"two pods\"", "description = \"caf\xc3\xa9\""));
  CHECK(e.detail == "a non-ASCII character outside a comment");
  CHECK(e.where.line == 4);
  CHECK(e.where.column == 19);
  Error key = bad(with("[[node]]", "[[n\xc4\xbe" "de]]"));
  CHECK(key.where.line == 9);
  // In comments it is fine, and '#' inside a string is not a comment.
  CHECK(parse_lab(std::string("# caf\xc3\xa9\n") + kGood, "lab.toml"));
  CHECK(parse_lab(with("description = \"two pods\"", "description = \"a # b\" # caf\xc3\xa9"), "lab.toml"));
}

TEST_CASE("a table name that cannot start a key is refused before toml++ reads it") {
  // toml++ 3.3 asserts on "[)x]" in a debug build (and assumes it away in clang's release).
  auto bad = parse_lab("[lab]\nname = \"x\"\n\n[ )pod]\n", "t.toml");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().format().find("t.toml:4:3: invalid input: a table name cannot start with ')'") != std::string::npos);
  auto twice = parse_lab("[lab]\nname = \"x\"\n[[!node]]\n", "t.toml");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().format().find("t.toml:3:3:") != std::string::npos);
  // A line of an array value that starts with '[' is not a header; nor is one inside a string.
  auto fine = parse_lab("[lab]\nname = \"x\"\ndescription = \"\"\"\n[)not a header\n\"\"\"\n[[node]]\nname = \"n\"\n", "t.toml");
  CHECK_MESSAGE(fine, (fine ? "" : fine.error().format()));
}
