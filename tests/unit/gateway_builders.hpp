// Builders of Gateway API objects shared by the unit tests of the Gateway API semantics and of
// the nginx writer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "lab/l7.hpp"

namespace knlab::test {

inline ListenerSpec listener(std::string name, ListenerProtocol proto, std::uint16_t port,
                             std::string hostname = {}) {
  ListenerSpec l;
  l.name = std::move(name);
  l.protocol = proto;
  l.port = port;
  l.hostname = std::move(hostname);
  return l;
}

inline ParentRef parent(std::string name, std::string section = {}, std::string ns = {}) {
  ParentRef p;
  p.name = std::move(name);
  p.section_name = std::move(section);
  p.ns = std::move(ns);
  return p;
}

}  // namespace knlab::test
