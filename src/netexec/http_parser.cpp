#include "http_parser.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace knlab::netexec::http {
namespace {

constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";

bool is_token(std::string_view s) {
  return !s.empty() && std::ranges::all_of(s, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           kTokenPunct.find(c) != std::string_view::npos;
  });
}

// Control bytes (other than TAB) in a target or value would let a client smuggle line breaks
// into the headers we echo back (X-Request-Path), so they make the request malformed.
bool has_ctl(std::string_view s) {
  return std::ranges::any_of(s, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    return lower(x) == lower(y);
  });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated list (a Connection header) contains `token`, case-insensitively.
bool list_has(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::size_t> parse_size(std::string_view s) {
  std::size_t v = 0;
  const auto* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, v);  // also rejects overflow
  if (s.empty() || ec != std::errc{} || p != end) return std::nullopt;
  return v;
}

bool parse_request_line(std::string_view line, Request& req) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  req.request_line = line;
  req.method = line.substr(0, sp1);
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  req.version = line.substr(sp2 + 1);
  const bool version_ok = req.version.size() == 8 && req.version.starts_with("HTTP/1.") &&
                          req.version[7] >= '0' && req.version[7] <= '9';
  return is_token(req.method) && !req.target.empty() && !has_ctl(req.target) &&
         req.target.find(' ') == std::string_view::npos && version_ok;
}

}  // namespace

std::expected<Request, ParseError> parse_request(std::string_view buffer) {
  Request req;
  std::size_t pos = 0;
  // RFC 9112 2.2: ignore empty lines before the request line (clients that send a stray CRLF
  // after a POST body). They count against the head limit like any other byte.
  while (pos < buffer.size() && (buffer[pos] == '\r' || buffer[pos] == '\n')) ++pos;

  bool first_line = true, conn_close = false, conn_keep_alive = false;
  std::optional<std::size_t> content_length;
  for (;;) {
    const auto nl = buffer.find('\n', pos);
    if (nl == std::string_view::npos || nl + 1 > kMaxHeadBytes) {
      const bool too_large = buffer.size() > kMaxHeadBytes || nl != std::string_view::npos;
      return std::unexpected(too_large ? ParseError::kHeadTooLarge : ParseError::kNeedMore);
    }
    // Lines end in CRLF; a bare LF is accepted too (RFC 9112 2.2 allows it, and `printf | nc`
    // users type it). A CR anywhere else is caught by has_ctl below.
    auto line = buffer.substr(pos, nl - pos);
    if (line.ends_with('\r')) line.remove_suffix(1);
    pos = nl + 1;

    if (first_line) {
      if (!parse_request_line(line, req)) return std::unexpected(ParseError::kMalformed);
      first_line = false;
      continue;
    }
    if (line.empty()) break;  // end of head

    // "Name: value". A name must be a token, which also rejects whitespace before the colon
    // and obsolete line folding (a line starting with SP/HTAB): both are smuggling vectors.
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return std::unexpected(ParseError::kMalformed);
    const auto name = line.substr(0, colon);
    const auto value = trim_ows(line.substr(colon + 1));
    if (!is_token(name) || has_ctl(value)) return std::unexpected(ParseError::kMalformed);

    if (iequals(name, "Content-Length")) {
      const auto n = parse_size(value);
      if (!n || (content_length && *content_length != *n)) {
        return std::unexpected(ParseError::kMalformed);
      }
      content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      req.has_transfer_encoding = true;
    } else if (iequals(name, "Connection")) {
      conn_close = conn_close || list_has(value, "close");
      conn_keep_alive = conn_keep_alive || list_has(value, "keep-alive");
    } else if (iequals(name, "Expect")) {
      req.expect_continue = iequals(value, "100-continue");
    }
    req.header_lines.push_back(line);
  }

  const bool http10 = req.version == "HTTP/1.0";
  req.head_size = pos;
  req.content_length = content_length.value_or(0);
  // HTTP/1.1 is persistent unless told otherwise; HTTP/1.0 only if it asks for keep-alive.
  req.keep_alive = !conn_close && (!http10 || conn_keep_alive);
  req.expect_continue = req.expect_continue && !http10;
  return req;
}

}  // namespace knlab::netexec::http
