#include <doctest/doctest.h>

#include "core/ip.hpp"

using namespace knlab;

TEST_CASE("Ipv4 parses dotted quads and nothing else") {
  CHECK(Ipv4::parse("10.244.0.1")->str() == "10.244.0.1");
  CHECK(Ipv4::parse("255.255.255.255")->value == 0xffffffffu);
  CHECK_FALSE(Ipv4::parse("256.1.1.1"));
  CHECK_FALSE(Ipv4::parse("10.1.1"));
  CHECK_FALSE(Ipv4::parse("10.1.1.1.1"));
  CHECK_FALSE(Ipv4::parse("010.1.1.1"));  // leading zero: octal to some parsers
  CHECK_FALSE(Ipv4::parse(" 10.1.1.1"));
  CHECK_FALSE(Ipv4::parse(""));
}

TEST_CASE("Cidr parsing, network checks and arithmetic") {
  auto c = Cidr::parse("10.244.0.0/16");
  REQUIRE(c);
  CHECK(c->size() == 65536);
  CHECK(c->contains(*Ipv4::parse("10.244.255.1")));
  CHECK_FALSE(c->contains(*Ipv4::parse("10.245.0.1")));
  CHECK(c->subnet(24, 0).str() == "10.244.0.0/24");
  CHECK(c->subnet(24, 2).str() == "10.244.2.0/24");
  CHECK(c->subnet(24, 2).nth(1).str() == "10.244.2.1");
  CHECK(Cidr::parse("10.244.0.0/24")->broadcast().str() == "10.244.0.255");
  CHECK_FALSE(Cidr::parse("10.244.0.1/16"));           // host bits set
  CHECK(Cidr::parse("10.244.0.1/16", false));          // allowed for interface addresses
  CHECK_FALSE(Cidr::parse("10.244.0.0/33"));
  CHECK_FALSE(Cidr::parse("10.244.0.0"));
  CHECK_FALSE(Cidr::parse("10.244.0.0/"));
  CHECK(Cidr::parse("0.0.0.0/0")->contains(*Ipv4::parse("1.2.3.4")));
}

TEST_CASE("Cidr overlap is symmetric") {
  auto a = *Cidr::parse("10.96.0.0/12");
  auto b = *Cidr::parse("10.100.0.0/16");
  auto c = *Cidr::parse("10.244.0.0/16");
  CHECK(a.overlaps(b));
  CHECK(b.overlaps(a));
  CHECK_FALSE(a.overlaps(c));
  CHECK_FALSE(c.overlaps(a));
}
