// What a link of a lab namespace carries while a check's traffic flows: an AF_PACKET socket
// opened in the namespace and bound to the link before the traffic, drained after it. Frames
// are classified by the flow they belong to: inside VXLAN (UDP 8472 or 4789, the inner
// packet's ports) or plain IPv4.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "net/fd.hpp"

namespace knlab::check {

struct Seen {
  int vxlan = 0;  // frames carrying the flow inside VXLAN
  int plain = 0;  // frames carrying the flow as plain IPv4
  int frames = 0; // every frame captured
};

class Capture {
 public:
  // Opens the capture on `link` of namespace `netns`.
  static Result<Capture> open(const std::string& netns, const std::string& link);
  // The frames queued since open() that belong to the flow with this (local, ephemeral) port
  // of the client, in either direction; for ICMP (port 0), every echo request or reply.
  Seen drain(std::uint16_t client_port, std::uint8_t proto);

 private:
  explicit Capture(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace knlab::check
