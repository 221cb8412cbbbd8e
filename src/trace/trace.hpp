// `kn-lab trace`: the path of one packet through the lab, hop by hop, from the live kernel
// state (trace/kernel), with the reply's path back, and where and why it would die.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "trace/kernel.hpp"
#include "trace/netfilter.hpp"
#include "trace/packet.hpp"

namespace knlab::trace {

enum class Seen : std::uint8_t { kPredicted, kSeen, kNotSeen };

// What a probe can check a hop by: a rule's counters, or a link's packet counters.
struct Evidence {
  std::string netns;
  std::string table, chain;  // a rule (rule 0: the chain's policy)
  int rule = 0;
  int ifindex = 0;           // or a link
  bool tx = true;            // the link's tx (else rx) packets
};

struct Hop {
  int n = 0;
  std::string netns;
  std::string place;     // "pod client (default)", "node node-1", "wire", "external"
  std::string kind;      // route, netfilter, neighbour, bridge, veth, vxlan, deliver, drop, nat, socket
  std::string text;      // what matched, as the kernel has it
  std::string command;   // the command that shows the same thing by hand
  std::string brief;     // the few words `--brief` keeps
  Packet packet;         // the packet as this hop met it
  std::vector<NfStep> steps;        // netfilter hops: the rules met
  std::vector<NfBranch> branches;   // netfilter hops: kube-proxy's random branches
  std::vector<Evidence> evidence;
  Seen seen = Seen::kPredicted;
  std::string observed;  // with --probe: what the counters showed
};

struct Leg {
  std::vector<Hop> hops;
  bool delivered = false;
  std::string outcome;   // "delivered to pod web-2 (10.244.2.3:8080)", or where and why it died
  std::string end_netns; // where it was delivered or died
  Packet sent;           // the packet as it left its source (the source address chosen)
  Packet final;          // the packet as it arrived
};

struct TraceRequest {
  std::string from_netns;  // the namespace the packet starts in (a local process there)
  Packet packet;           // src 0.0.0.0: chosen by the first route lookup
  // Per namespace, the backend to follow at kube-proxy's random branches there (what conntrack
  // shows the kernel chose); elsewhere the first branch is followed.
  std::map<std::string, Ipv4> backends;
};

struct TraceResult {
  Packet packet;           // as sent
  Leg forward;
  std::optional<Leg> reply;  // when the forward leg was delivered to a listening socket
  std::vector<NfBranch> branches;  // every random choice on the way
};

// Display names of the lab's namespaces ("node node-1"), for the hops' `place`.
using Places = std::map<std::string, std::string>;

Result<TraceResult> trace_packet(Kernel& k, const Places& places, const TraceRequest& req);

}  // namespace knlab::trace
