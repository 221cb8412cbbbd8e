// Stable hashes for names: SHA-256 and base32, to name iptables chains exactly as kube-proxy
// does (KUBE-SVC-<first 16 base32 chars of sha256(...)>). Pure.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace knlab {

std::array<std::uint8_t, 32> sha256(std::string_view data);
// RFC 4648 base32 (standard alphabet, with padding), as Go's base32.StdEncoding.
std::string base32(const std::uint8_t* data, std::size_t size);
// The first 16 base32 characters of sha256(input): the suffix of kube-proxy's and kube-router's
// chain and set names.
std::string hash16(std::string_view input);
std::string hex(const std::uint8_t* data, std::size_t size);

}  // namespace knlab
