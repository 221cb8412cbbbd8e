// A client of BIRD's control socket (what birdc speaks), enough to ask `show protocols`.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"

namespace knlab {

struct BirdProtocol {
  std::string name;
  std::string proto;  // "BGP", "Kernel", "Static", "Device"
  std::string state;  // "up", "start", "down"
  std::string info;   // "Established", "Active", "Connect", ...
};

// Connects to `ctl`, sends one command, returns the reply lines (without the 4-digit codes).
Result<std::vector<std::string>> bird_command(const std::string& ctl, const std::string& command);

// `show protocols`, parsed.
Result<std::vector<BirdProtocol>> bird_protocols(const std::string& ctl);

// Parses the reply lines of `show protocols` (pure, unit-tested).
std::vector<BirdProtocol> parse_bird_protocols(const std::vector<std::string>& lines);

}  // namespace knlab
