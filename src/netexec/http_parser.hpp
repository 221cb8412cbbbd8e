// HTTP/1.x request-head parser for kn-netexec.
//
// A pure function over the bytes received so far: it either returns the parsed head of the
// first request in the buffer, or says "need more bytes", "malformed" (-> 400) or "head too
// large" (-> 431). It never consumes, copies or allocates the buffer: the caller owns framing
// (head_size + content_length bytes make one message), which keeps pipelining and partial reads
// in one place, the connection, and keeps this file unit-testable without sockets.
#pragma once

#include <cstddef>
#include <expected>
#include <string_view>
#include <vector>

namespace knlab::netexec::http {

// Request line + headers + blank line, like Go's default 1 MiB but far tighter: a lab pod
// needs nothing bigger, and a bound is what keeps a slow or hostile client from growing RSS.
inline constexpr std::size_t kMaxHeadBytes = 16 * 1024;

// Views into the caller's buffer: valid until that buffer is modified.
struct Request {
  std::string_view request_line;  // "GET /a?b HTTP/1.1", as received, without the line ending
  std::string_view method;
  std::string_view target;   // as received, query included (origin- or absolute-form)
  std::string_view version;  // "HTTP/1.0", "HTTP/1.1"
  std::vector<std::string_view> header_lines;  // "Name: value" as received, no line ending
  std::size_t head_size = 0;                   // bytes from buffer start through the blank line
  std::size_t content_length = 0;              // body bytes that follow the head
  bool keep_alive = true;              // after version defaults and Connection: close/keep-alive
  bool expect_continue = false;        // "Expect: 100-continue" on an HTTP/1.1 request
  bool has_transfer_encoding = false;  // chunked bodies are not supported: caller sends 501
};

enum class ParseError {
  kNeedMore,      // head incomplete, and still within kMaxHeadBytes
  kMalformed,     // not HTTP/1.x, bad token, control bytes, conflicting Content-Length, ...
  kHeadTooLarge,  // no complete head within kMaxHeadBytes
};

std::expected<Request, ParseError> parse_request(std::string_view buffer);

}  // namespace knlab::netexec::http
