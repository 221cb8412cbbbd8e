#include "lab/values.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>

#include "core/ip.hpp"
#include "lab/names.hpp"

namespace knlab {

// --- syntax rules of names and values ----------------------------------------------------

// A DNS-1123 subdomain: lowercase labels joined by '.', at most 253 characters.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::size_t start = 0;;) {
    std::size_t dot = s.find('.', start);
    if (check_label(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start), 63)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_controller_name(std::string_view v) {
  auto slash = v.find('/');
  return slash != std::string_view::npos && v.size() <= 253 && is_dns_subdomain(v.substr(0, slash)) && slash + 1 < v.size() &&
         !check_free_text(v, false) && v.find(' ') == std::string_view::npos;
}

// A host name of Ingress rules, listeners and routes: a DNS name, "*." in front when wildcards
// are allowed; no IP address, no port.
bool is_hostname(std::string_view s, bool wildcard) {
  if (wildcard && s.starts_with("*.")) s.remove_prefix(2);
  return is_dns_subdomain(s) && !Ipv4::parse(s);
}

// What the Gateway API allows in a PathPrefix/Exact path (and redirect/rewrite paths), which
// also covers what Kubernetes allows in an Ingress's Prefix/Exact path: an absolute path of
// RFC 3986 characters, no "//", "/./", "/../", encoded '/' or '#'.
std::optional<std::string> check_http_path(std::string_view p) {
  if (p.empty() || p.front() != '/') return "must be an absolute path (start with '/')";
  for (std::string_view bad : {"//", "/./", "/../", "%2f", "%2F"})
    if (p.find(bad) != std::string_view::npos) return fmt::format("must not contain \"{}\"", bad);
  if (p.ends_with("/..") || p.ends_with("/.")) return "must not end with \"/..\" or \"/.\"";
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-/._~!$&'()*+,;=:@%").find(c) != std::string_view::npos;
    if (!ok) {
      if (c > ' ' && c < 127) return fmt::format("must not contain '{}'", c);
      return fmt::format("must not contain the byte 0x{:02x}", static_cast<unsigned char>(c));
    }
    auto hex = [&](std::size_t k) {
      if (k >= p.size()) return false;
      char h = p[k];
      return (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
    };
    if (c == '%' && !(hex(i + 1) && hex(i + 2))) return "has a '%' not followed by two hex digits";
  }
  return std::nullopt;
}

// Free text that ends up in the data plane's configuration (regular expressions, header
// values): no control characters.
std::optional<std::string> check_free_text(std::string_view s, bool allow_tab) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(allow_tab && c == '\t')) || u == 0x7f)
      return fmt::format("must not contain the control character 0x{:02x}", u);
  }
  return std::nullopt;
}

// An HTTP header (or query parameter) name: an RFC 7230 token.
bool is_header_name(std::string_view s) {
  return !s.empty() && s.size() <= 256 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
         });
}


// --- base64 and PEM ------------------------------------------------------------------------

namespace {
constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[v & 63] : '=';
  }
  return out;
}

// Standard base64 with padding, as Kubernetes reads Secret data; line breaks and spaces are
// skipped (a folded YAML scalar has them).
std::optional<std::string> base64_decode(std::string_view in) {
  std::string chars;
  for (char c : in)
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') chars += c;
  if (chars.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < chars.size(); i += 4) {
    std::uint32_t v = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      char c = chars[i + k];
      std::size_t d = 0;
      if (c == '=') {
        if (i + 4 != chars.size() || k < 2) return std::nullopt;
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;
        d = kBase64.find(c);
        if (d == std::string_view::npos) return std::nullopt;
      }
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

std::optional<std::string> check_pem_certificate(std::string_view s) {
  auto begin = s.find("-----BEGIN CERTIFICATE-----");
  if (begin == std::string_view::npos || s.find("-----END CERTIFICATE-----", begin) == std::string_view::npos)
    return "not PEM: expected a -----BEGIN CERTIFICATE----- block";
  return std::nullopt;
}

std::optional<std::string> check_pem_private_key(std::string_view s) {
  constexpr std::string_view kBegin = "-----BEGIN ";
  for (auto pos = s.find(kBegin); pos != std::string_view::npos; pos = s.find(kBegin, pos + 1)) {
    auto label_at = pos + kBegin.size();
    auto end = s.find("-----", label_at);
    if (end == std::string_view::npos) break;
    std::string_view label = s.substr(label_at, end - label_at);
    if (label.find('\n') != std::string_view::npos || !(label == "PRIVATE KEY" || label.ends_with(" PRIVATE KEY"))) continue;
    if (label == "ENCRYPTED PRIVATE KEY")
      return "an encrypted private key: nginx cannot read it without its passphrase";
    if (s.find(fmt::format("-----END {}-----", label), end) != std::string_view::npos) return std::nullopt;
  }
  return "not PEM: expected a -----BEGIN PRIVATE KEY----- block (or RSA/EC PRIVATE KEY)";
}
}  // namespace knlab
