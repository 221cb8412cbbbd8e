// BIRD configurations for the BGP mode, as Calico's BIRD runs it: each node announces its pod
// subnet over iBGP (AS 64512) with a local blackhole route for it, and installs what it learns
// into the kernel. One wire: full mesh between nodes. Racks: every node peers with the router,
// a route reflector that sets itself as next hop. Pure text generation.
#pragma once

#include <string>
#include <vector>

#include "core/ip.hpp"
#include "plan/plan.hpp"

namespace knlab {

inline constexpr unsigned kBgpAs = 64512;

struct BirdPeer {
  std::string name;  // protocol name (a BIRD symbol)
  Ipv4 address;
  Ipv4 local;        // our address on the shared link
  bool rr_client = false;
  // Speakers start one after the other; in each pair the one started first waits (passive) and
  // the later one connects, so no connect hits a peer that is not listening yet (BIRD would
  // then wait its error time, a second, before trying again).
  bool passive = false;
};

struct BirdInstance {
  std::string owner;     // node name, or "router"
  std::string netns;
  Ipv4 router_id;
  std::vector<Cidr> announce;  // pod subnets this speaker originates (blackhole + BGP)
  std::vector<BirdPeer> peers;
  std::string dir;       // /run/kn-lab/<lab>/bird/<owner>: bird.conf, bird.ctl
  std::string log_path;
  std::vector<Cidr> expect;    // subnets that must be in its kernel table (proto bird) when up
};

// The BIRD speakers of a lab in BGP mode (nodes, and the router with racks); empty otherwise.
std::vector<BirdInstance> bird_instances(const LabPlan& plan);

std::string bird_config(const BirdInstance& b);

// A BIRD symbol from a name: '-' becomes '_', a leading digit gets a prefix.
std::string bird_symbol(std::string_view name);

}  // namespace knlab
