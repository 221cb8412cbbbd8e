// Checks (the model; the reader is lab/checks.hpp): what a lab file ([[check]]) or an exercise step ([[step.check]]) says must be true of
// a running lab, as data. Each check is one of four kinds, decided by its keys:
//
//   traffic  from = "client", to = "web" | "svc/web" | "10.96.0.20" | "http://..." ...
//            (the FROM and TO of `kn-lab trace`), protocol, expect = "reach" | "no-reach",
//            and what the answer must show: status, body, backends over requests, client
//            (the address the server saw), capture (what a link of a node sees meanwhile)
//   dns      from = "client", resolves = "web" [, address = "10.96.0.20"]
//   kernel   node = "node1", route = "10.244.2.0/24" [, via, dev] | fdb = "flannel.1" [, dst]
//   object   object = "svc/web" [, namespace], field = "{.spec.type}" with equals or contains,
//            or absent = true; count = N for `object = "pods"`, `selector = "app=web"`
//
// The reader validates every key at its file:line:column; the runner (src/check) resolves
// names against the live lab.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace knlab {

enum class CheckKind { kTraffic, kDns, kKernel, kObject };

struct CheckSpec {
  std::string name;         // unique in its file (or step); what `check NAME` selects
  std::string description;  // what it proves, in words
  std::string hint;         // shown when it fails
  SourceLocation where;
  CheckKind kind = CheckKind::kTraffic;
  std::vector<std::string> after;  // names of checks that must pass first
  int timeout_ms = 2000;           // one attempt
  int wait_ms = 0;                 // retry failed attempts for this long

  // traffic and dns
  std::string from;                // trace's FROM
  std::string ns = "default";      // the namespace of pod names in from/to/object
  // traffic
  std::string to;                  // trace's TO (a port may follow after ':'), or a URL
  std::optional<std::uint16_t> port;
  std::string via;                 // "" (as to says) | "node-port" | "load-balancer"
  std::string via_node;            // via = "node-port": the node whose address is used
  std::string protocol = "tcp";    // tcp | udp | icmp
  std::string host_header;         // Host: for URLs
  bool expect_reach = true;
  std::optional<int> status;       // HTTP status
  std::string body;                // HTTP body (or datagram) contains
  int backends = 0;                // distinct pods that answer over `requests` requests
  int requests = 0;
  std::string client;              // the address the server saw: "source", a namespace's name (node1, external...), or an IPv4
  std::string capture;             // "NODE/LINK" (or "external/eth0"...): captured while the traffic flows
  std::string sees;                // with capture: "vxlan" | "ip" | "nothing"

  // dns
  std::string resolves;            // a name as the pod's resolver sees it
  std::string address;             // the address it must resolve to ("" = any)

  // kernel
  std::string node;                // a namespace of the lab: node1, router, ...
  std::string route;               // a destination CIDR: a route the kernel has (exact prefix)
  std::string route_via;           // its gateway
  std::string dev;                 // route's or fdb's device
  std::string fdb;                 // fdb: the device; with dst the remote VTEP an entry points to
  std::string fdb_dst;

  // object
  std::string object;              // "svc/web", "pod/web-1", "pods", "netpol/deny", ...
  std::string selector;            // -l for a list
  std::string field;               // kubectl's JSONPath ("{.spec.type}")
  std::optional<std::string> equals;
  std::string contains;
  bool absent = false;
  std::optional<int> count;        // number of objects a list selects
};

std::string_view to_string(CheckKind k);

}  // namespace knlab
