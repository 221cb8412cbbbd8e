// Syntax rules of Kubernetes values that are not names (lab/names.hpp): DNS subdomains, host
// names of Ingress rules and listeners, HTTP paths and header names, free text that reaches a
// data plane's configuration, base64 and PEM. Pure functions; each "check_" returns what is
// wrong, for an error message, or nullopt.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace knlab {

// A DNS-1123 subdomain: lowercase labels joined by '.', at most 253 characters.
bool is_dns_subdomain(std::string_view s);
// A controller name (IngressClass, GatewayClass): a domain-prefixed path such as
// k8s.io/ingress-nginx, at most 253 characters, no space or control character.
bool is_controller_name(std::string_view s);
// A DNS name ("*." in front when `wildcard`); no IP address, no port.
bool is_hostname(std::string_view s, bool wildcard);
// An absolute HTTP path as the Gateway API and Ingress allow it.
std::optional<std::string> check_http_path(std::string_view p);
// No control characters (a tab when `allow_tab`).
std::optional<std::string> check_free_text(std::string_view s, bool allow_tab);
// An RFC 7230 token.
bool is_header_name(std::string_view s);

std::string base64_encode(std::string_view in);
// Standard base64 with padding; line breaks and spaces are skipped.
std::optional<std::string> base64_decode(std::string_view in);
std::optional<std::string> check_pem_certificate(std::string_view s);
std::optional<std::string> check_pem_private_key(std::string_view s);

}  // namespace knlab
