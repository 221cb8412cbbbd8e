#include "lab/manifest.hpp"

#include <fmt/core.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lab/names.hpp"

namespace knlab {

std::string ManifestObject::display() const {
  std::string out;
  for (char c : kind) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (!group.empty()) out += "." + group;
  return out + "/" + name;
}

namespace {

constexpr std::string_view kGatewayGroup = "gateway.networking.k8s.io";
// A document is refused beyond these: aliases let a few lines repeat a subtree many times, and
// an alias inside its own anchor makes a cycle (yaml-cpp builds it; depth finds it).
constexpr std::size_t kMaxValues = 20000;
constexpr int kMaxDepth = 64;

std::string join(const std::vector<std::string_view>& items, std::string_view sep = ", ") {
  std::string out;
  for (auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// --- text and values ---------------------------------------------------------------------

SourceLocation at(const std::string& file, const YAML::Mark& m) {
  if (m.is_null() || m.line < 0 || m.column < 0) return SourceLocation{file, 0, 0};
  return SourceLocation{file, static_cast<unsigned>(m.line) + 1, static_cast<unsigned>(m.column) + 1};
}

// YAML forbids control characters, and a manifest is UTF-8: anything else is refused with its
// position before yaml-cpp sees the text (its emitter would silently replace invalid bytes, so
// what is recorded would differ from what was applied).
std::optional<Error> check_text(std::string_view text, const std::string& file) {
  unsigned line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    SourceLocation here{file, line, column};
    std::size_t len = 1;
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
        return input_error(here, fmt::format("a control character (byte 0x{:02x}) in the YAML text", c),
                           "YAML text may contain tabs and line breaks, no other control characters");
    } else {
      std::uint32_t cp = 0;
      if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1fu;
      else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0fu;
      else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07u;
      else len = 0;
      bool ok = len != 0 && i + len <= text.size();
      for (std::size_t k = 1; ok && k < len; ++k) {
        auto cc = static_cast<unsigned char>(text[i + k]);
        if ((cc & 0xc0) != 0x80) ok = false;
        cp = (cp << 6) | (cc & 0x3fu);
      }
      if (ok && ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
                 (cp >= 0xd800 && cp <= 0xdfff)))
        ok = false;
      if (!ok)
        return input_error(here, "the text is not valid UTF-8", "save the manifest as UTF-8");
      if (cp >= 0x80 && cp <= 0x9f)
        return input_error(here, fmt::format("a control character (U+{:04X}) in the YAML text", cp),
                           "YAML text may contain tabs and line breaks, no other control characters");
    }
    if (c == '\n') ++line, column = 1;
    else ++column;
    i += len;
  }
  return std::nullopt;
}

bool is_string_tag(const std::string& tag) { return tag == "!" || tag == "tag:yaml.org,2002:str"; }

// Whether an unquoted scalar with this text would be read as something other than a string by a
// YAML 1.1 reader such as Kubernetes' (null, a boolean, a number). Errs towards "yes": it only
// decides whether a string is quoted when it is written back.
bool plain_is_not_string(std::string_view s) {
  static constexpr std::string_view kWords[] = {
      "~",   "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes",
      "YES", "no",   "No",   "NO",   "on",   "On",   "ON",   "off",   "Off",   "OFF",   "y",   "Y",
      "n",   "N",    "<<",   "="};
  if (s.empty()) return true;
  if (std::find(std::begin(kWords), std::end(kWords), s) != std::end(kWords)) return true;
  char c = s.front();
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

std::string_view type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar:
      return is_string_tag(n.Tag()) || !plain_is_not_string(n.Scalar()) ? "a string" : "a number or boolean";
    default: return "nothing";
  }
}

// Checks a whole document before anything reads it: size and depth (see kMaxValues), keys
// (strings, each once, as Kubernetes' strict decoding wants) and tags (plain data only).
// `label` names the document, `path` the value ("spec.ports[0]").
Status check_tree(const YAML::Node& n, int depth, std::size_t& count, const std::string& file, const std::string& label,
                  const std::string& path) {
  auto error = [&](const YAML::Mark& m, std::string what, std::string hint) {
    return fail(input_error(at(file, m), fmt::format("{}: {}", label, what), std::move(hint)));
  };
  std::string_view here = path.empty() ? std::string_view("the document") : std::string_view(path);
  if (++count > kMaxValues)
    return error(n.Mark(), fmt::format("the document has more than {} values (with its aliases expanded), at {}", kMaxValues, here),
                 "a Kubernetes object is far smaller: look for an alias (*name) repeated many times");
  if (depth > kMaxDepth)
    return error(n.Mark(), fmt::format("{} is nested more than {} levels deep", here, kMaxDepth),
                 "an alias (*name) inside its own anchor (&name) nests forever");
  const std::string& tag = n.Tag();
  bool tag_ok = true;
  switch (n.Type()) {
    case YAML::NodeType::Scalar: tag_ok = tag == "?" || is_string_tag(tag); break;
    case YAML::NodeType::Sequence:
    case YAML::NodeType::Map:
      tag_ok = tag == "?" || tag == "!" || tag == "tag:yaml.org,2002:seq" || tag == "tag:yaml.org,2002:map";
      break;
    default: break;
  }
  if (!tag_ok)
    return error(n.Mark(), fmt::format("{}: the YAML tag '{}' is not supported", here, tag), "Kubernetes manifests are plain data: remove the tag");
  if (n.IsSequence()) {
    std::size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it)
      KN_TRY(check_tree(*it, depth + 1, count, file, label, fmt::format("{}[{}]", path, i++)));
  } else if (n.IsMap()) {
    std::set<std::string> keys;
    for (auto it = n.begin(); it != n.end(); ++it) {
      YAML::Node key = it->first;  // a copy: operator-> of a map iterator returns a temporary
      if (!key.IsScalar())
        return error(key.Mark(), fmt::format("a key of {} is {}, not a string", here, key.IsNull() ? "empty" : type_name(key)),
                     "keys of Kubernetes objects are field names");
      std::string sub = path.empty() ? key.Scalar() : fmt::format("{}.{}", path, key.Scalar());
      KN_TRY(check_tree(key, depth + 1, count, file, label, sub));
      if (!keys.insert(key.Scalar()).second)
        return error(key.Mark(), fmt::format("field {} appears twice", sub), "remove one of them (Kubernetes refuses duplicate fields)");
      KN_TRY(check_tree(it->second, depth + 1, count, file, label, sub));
    }
  }
  return {};
}

// The canonical form of a document: block style, aliases expanded, a string quoted only where
// it would otherwise read as another type. Reading it back gives the same values.
void emit_scalar(YAML::Emitter& out, const YAML::Node& n) {
  if (is_string_tag(n.Tag()) && plain_is_not_string(n.Scalar())) out << YAML::DoubleQuoted;
  out << n.Scalar();
}

void emit_node(YAML::Emitter& out, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: emit_scalar(out, n); break;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (auto it = n.begin(); it != n.end(); ++it) emit_node(out, *it);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (auto it = n.begin(); it != n.end(); ++it) {
        out << YAML::Key;
        emit_scalar(out, it->first);
        out << YAML::Value;
        emit_node(out, it->second);
      }
      out << YAML::EndMap;
      break;
    default: out << YAML::Null; break;
  }
}

std::string finish(const YAML::Emitter& out) {
  std::string s = out.c_str();
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

std::string canonical_yaml(const YAML::Node& n) {
  YAML::Emitter out;
  emit_node(out, n);
  return finish(out);
}

void emit_string(YAML::Emitter& out, std::string_view s) {
  if (plain_is_not_string(s)) out << YAML::DoubleQuoted;
  out << std::string(s);
}

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

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}


// --- base64 and PEM ------------------------------------------------------------------------

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

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

// --- reading documents ---------------------------------------------------------------------

// The document being read: its file, and how errors name it ("document 2", then "Ingress",
// then "Ingress default/ingress" once its name is known).
struct Doc {
  std::string file;
  std::string label;

  Error error(const YAML::Mark& m, const std::string& what, std::string hint = {}) const {
    return input_error(at(file, m), fmt::format("{}: {}", label, what), std::move(hint));
  }
};

// One mapping of a document, read against the fields kn-lab knows. Every problem becomes an
// input error naming the field's path (spec.rules[0].http.paths[0].pathType) and position.
class Fields {
 public:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
  };

  Fields(const Doc& doc, std::string path, YAML::Mark mark) : doc_(&doc), path_(std::move(path)), mark_(mark) {}

  // A mapping (null reads as an empty one: `spec:` with nothing under it).
  static Result<Fields> of(const Doc& doc, const YAML::Node& n, std::string path) {
    Fields f(doc, std::move(path), n.Mark());
    if (n.IsNull()) return f;
    if (!n.IsMap())
      return fail(doc.error(n.Mark(), fmt::format("{} must be a mapping (field: value), not {}",
                                                  f.path_.empty() ? std::string("the document") : f.path_, type_name(n))));
    for (auto it = n.begin(); it != n.end(); ++it) f.entries_.push_back(Entry{it->first.Scalar(), it->first.Mark(), it->second});
    return f;
  }

  const Doc& doc() const { return *doc_; }
  YAML::Mark mark() const { return mark_; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const { return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key); }

  // Every field must be one of `allowed` (read) or `ignored` (accepted, without effect).
  Status allow(const std::vector<std::string_view>& allowed, const std::vector<std::string_view>& ignored = {}) const {
    for (auto& e : entries_) {
      if (std::find(allowed.begin(), allowed.end(), e.key) != allowed.end()) continue;
      if (std::find(ignored.begin(), ignored.end(), e.key) != ignored.end()) continue;
      std::string hint = did_you_mean(e.key, allowed);
      hint += fmt::format("fields of {} that kn-lab reads: {}", path_.empty() ? std::string("the object") : path_, join(allowed));
      return fail(doc_->error(e.key_mark, fmt::format("field {} is unknown or not supported by kn-lab", path(e.key)), hint));
    }
    return {};
  }

  // The value of a field; nullptr when absent or null.
  const YAML::Node* get(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key) return e.value.IsNull() ? nullptr : &e.value;
    return nullptr;
  }
  bool has(std::string_view key) const { return get(key) != nullptr; }

  YAML::Mark mark_of(std::string_view key) const {
    for (auto& e : entries_)
      if (e.key == key) return e.value.IsNull() ? e.key_mark : e.value.Mark();
    return mark_;
  }
  // Where `sub` is inside the mapping `key` (data: {tls.crt: ...}), else where `key` is.
  YAML::Mark mark_in(std::string_view key, std::string_view sub) const {
    if (const YAML::Node* n = get(key); n && n->IsMap())
      for (auto it = n->begin(); it != n->end(); ++it)
        if (it->first.Scalar() == sub) return it->second.IsNull() ? it->first.Mark() : it->second.Mark();
    return mark_of(key);
  }
  Error error(std::string_view key, const std::string& what, std::string hint = {}) const {
    return doc_->error(mark_of(key), what, std::move(hint));
  }
  Error missing(std::string_view key, std::string hint = {}) const {
    return doc_->error(mark_, fmt::format("{} is required", path(key)), std::move(hint));
  }

  Result<std::optional<std::string>> string(std::string_view key) const {
    const YAML::Node* n = get(key);
    if (!n) return std::optional<std::string>{};
    if (!n->IsScalar()) return fail(error(key, fmt::format("{} must be a string, not {}", path(key), type_name(*n))));
    return std::optional<std::string>{n->Scalar()};
  }

  Result<std::string> required_string(std::string_view key, std::string hint = {}) const {
    auto s = KN_TRY(string(key));
    if (!s) return fail(missing(key, std::move(hint)));
    return *s;
  }

  Result<std::optional<std::int64_t>> integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
    const YAML::Node* n = get(key);
    if (!n) return std::optional<std::int64_t>{};
    if (!n->IsScalar()) return fail(error(key, fmt::format("{} must be a number, not {}", path(key), type_name(*n))));
    const std::string& s = n->Scalar();
    if (is_string_tag(n->Tag()))
      return fail(error(key, fmt::format("{} must be a number, not the string \"{}\"", path(key), s),
                        fmt::format("write it without quotes: {}: {}", key, s)));
    std::string_view digits = s;
    bool negative = false;
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) negative = digits.front() == '-', digits.remove_prefix(1);
    if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail(error(key, fmt::format("{} must be an integer, not \"{}\"", path(key), s), fmt::format("allowed: {} to {}", lo, hi)));
    std::int64_t v = 0;
    for (char c : digits) v = v * 10 + (c - '0');
    if (negative) v = -v;
    if (v < lo || v > hi)
      return fail(error(key, fmt::format("{} = {} is out of range", path(key), v), fmt::format("allowed: {} to {}", lo, hi)));
    return std::optional<std::int64_t>{v};
  }

  Result<std::optional<std::uint16_t>> port(std::string_view key, std::int64_t lo = 1, std::int64_t hi = 65535) const {
    auto v = KN_TRY(integer(key, lo, hi));
    if (!v) return std::optional<std::uint16_t>{};
    return std::optional<std::uint16_t>{static_cast<std::uint16_t>(*v)};
  }

  // An enumerated string; absent gives `dflt` (empty `dflt`: required).
  Result<std::string> choice(std::string_view key, std::vector<std::string_view> allowed, std::string_view dflt) const {
    auto v = KN_TRY(string(key));
    if (!v) {
      if (dflt.empty()) return fail(missing(key, "allowed: " + join(allowed)));
      return std::string(dflt);
    }
    if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end())
      return fail(error(key, fmt::format("{} \"{}\" is not supported", path(key), *v), did_you_mean(*v, allowed) + "allowed: " + join(allowed)));
    return *v;
  }

  // A mapping of strings (labels, annotations, Secret data), in key order.
  Result<std::map<std::string, std::string>> string_map(std::string_view key) const {
    std::map<std::string, std::string> out;
    const YAML::Node* n = get(key);
    if (!n) return out;
    Fields m = KN_TRY(of(*doc_, *n, path(key)));
    for (auto& e : m.entries_) {
      if (e.value.IsNull()) {
        out[e.key] = "";
        continue;
      }
      if (!e.value.IsScalar())
        return fail(doc_->error(e.value.Mark(), fmt::format("{}[{}] must be a string, not {}", path(key), e.key, type_name(e.value))));
      out[e.key] = e.value.Scalar();
    }
    return out;
  }

  // A nested mapping; absent gives an empty one.
  Result<Fields> object(std::string_view key) const {
    const YAML::Node* n = get(key);
    if (!n) return Fields(*doc_, path(key), mark_of(key));
    return of(*doc_, *n, path(key));
  }
  Result<Fields> required_object(std::string_view key, std::string hint = {}) const {
    if (!has(key)) return fail(missing(key, std::move(hint)));
    return object(key);
  }

  // A list; absent gives an empty one.
  Result<std::vector<YAML::Node>> list(std::string_view key) const {
    std::vector<YAML::Node> out;
    const YAML::Node* n = get(key);
    if (!n) return out;
    if (!n->IsSequence())
      return fail(error(key, fmt::format("{} must be a list, not {}", path(key), type_name(*n)), "write each item on a line starting with '- '"));
    for (auto it = n->begin(); it != n->end(); ++it) out.push_back(*it);
    return out;
  }

  // A list of mappings, each read as Fields at "key[i]".
  Result<std::vector<Fields>> objects(std::string_view key) const {
    std::vector<Fields> out;
    std::size_t i = 0;
    for (const YAML::Node& item : KN_TRY(list(key))) out.push_back(KN_TRY(of(*doc_, item, fmt::format("{}[{}]", path(key), i++))));
    return out;
  }

  // A list of strings, each with its position.
  Result<std::vector<std::pair<std::string, YAML::Mark>>> strings(std::string_view key) const {
    std::vector<std::pair<std::string, YAML::Mark>> out;
    std::size_t i = 0;
    for (const YAML::Node& item : KN_TRY(list(key))) {
      if (!item.IsScalar())
        return fail(doc_->error(item.Mark(), fmt::format("{}[{}] must be a string, not {}", path(key), i, type_name(item))));
      out.emplace_back(item.Scalar(), item.Mark());
      ++i;
    }
    return out;
  }

 private:
  const Doc* doc_;
  std::string path_;
  YAML::Mark mark_;
  std::vector<Entry> entries_;
};

constexpr const char* kNameHint = "use lowercase letters, digits and '-', starting and ending with a letter or digit "
                                  "(kn-lab names become parts of namespace, file and host names)";

Status check_name(const Fields& f, std::string_view key, const std::string& name, std::size_t max = kMaxObjectNameLength) {
  if (auto problem = check_label(name, max))
    return fail(f.error(key, fmt::format("{} \"{}\" {}", f.path(key), name, *problem), kNameHint));
  return {};
}

Result<std::string> optional_name(const Fields& f, std::string_view key) {
  auto v = KN_TRY(f.string(key));
  if (!v) return std::string{};
  KN_TRY(check_name(f, key, *v));
  return *v;
}

Result<std::string> required_name(const Fields& f, std::string_view key, std::string hint) {
  std::string v = KN_TRY(f.required_string(key, std::move(hint)));
  KN_TRY(check_name(f, key, v));
  return v;
}

Result<std::map<std::string, std::string>> read_labels(const Fields& f, std::string_view key) {
  auto labels = KN_TRY(f.string_map(key));
  for (auto& [k, v] : labels)
    if (!valid_label_key(k) || !valid_label_part(v, true))
      return fail(f.doc().error(f.mark_in(key, k), fmt::format("{}: {}={} is not a valid Kubernetes label", f.path(key), k, v),
                          "keys and values: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends; "
                          "a key may have a DNS prefix (example.com/key)"));
  return labels;
}

Result<std::string> read_hostname(const Fields& f, std::string_view key, bool wildcard) {
  auto h = KN_TRY(f.string(key));
  if (!h) return std::string{};
  if (!is_hostname(*h, wildcard))
    return fail(f.error(key, fmt::format("{} \"{}\" is not a valid host name", f.path(key), *h),
                        wildcard ? "a lowercase DNS name like foo.example.com, optionally starting with '*.'; no IP address, no port"
                                 : "a lowercase DNS name like foo.example.com; no wildcard, no IP address, no port"));
  return *h;
}

Result<std::vector<std::string>> read_hostnames(const Fields& f, std::string_view key) {
  std::vector<std::string> out;
  std::size_t i = 0;
  for (auto& [h, mark] : KN_TRY(f.strings(key))) {
    if (!is_hostname(h, true))
      return fail(f.doc().error(mark, fmt::format("{}[{}] \"{}\" is not a valid host name", f.path(key), i, h),
                                "a lowercase DNS name like foo.example.com, optionally starting with '*.'; no IP address, no port"));
    out.push_back(h);
    ++i;
  }
  return out;
}

// A controller name: a domain-prefixed path such as k8s.io/ingress-nginx.
Result<std::string> read_controller(const Fields& f, std::string_view key, std::string_view example) {
  std::string v = KN_TRY(f.required_string(key, fmt::format("for example {}: {}", key, example)));
  auto slash = v.find('/');
  bool ok = slash != std::string::npos && v.size() <= 253 && is_dns_subdomain(std::string_view(v).substr(0, slash)) &&
            slash + 1 < v.size() && !check_free_text(v, false) && v.find(' ') == std::string::npos;
  if (!ok)
    return fail(f.error(key, fmt::format("{} \"{}\" is not a domain-prefixed path", f.path(key), v), fmt::format("like {}", example)));
  return v;
}

// --- the kinds -----------------------------------------------------------------------------

struct KindInfo {
  std::string_view kind;
  std::string_view group;
  std::vector<std::string_view> versions;
  bool namespaced = true;
  std::size_t max_name = kMaxObjectNameLength;
};

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> k = {
      {"Namespace", "", {"v1"}, false},
      {"Pod", "", {"v1"}, true},
      // Pod names add "-<10>-<5>" to the deployment's name: keep the whole within a label.
      {"Deployment", "apps", {"v1"}, true, kMaxObjectNameLength - 17},
      {"Service", "", {"v1"}, true},
      {"Secret", "", {"v1"}, true},
      {"IngressClass", "networking.k8s.io", {"v1"}, false},
      {"Ingress", "networking.k8s.io", {"v1"}, true},
      {"GatewayClass", kGatewayGroup, {"v1", "v1beta1"}, false},
      {"Gateway", kGatewayGroup, {"v1", "v1beta1"}, true},
      {"HTTPRoute", kGatewayGroup, {"v1", "v1beta1"}, true},
      {"ReferenceGrant", kGatewayGroup, {"v1beta1", "v1"}, true},
      {"TCPRoute", kGatewayGroup, {"v1alpha2"}, true},
      {"UDPRoute", kGatewayGroup, {"v1alpha2"}, true},
  };
  return k;
}

std::string api_version(const KindInfo& k, std::string_view version) {
  return k.group.empty() ? std::string(version) : fmt::format("{}/{}", k.group, version);
}

// What an object needs besides its own fields: the manifest it goes to.
struct Reading {
  const KindInfo& info;
  const Fields& top;
  ObjectMeta meta;
  Manifest& m;
};

// A container of a Pod or of a Deployment's template: its image and first containerPort.
struct ContainerImage {
  std::string image;
  std::optional<std::uint16_t> port;
};

Result<ContainerImage> read_containers(const Fields& spec) {
  std::vector<Fields> items = KN_TRY(spec.objects("containers"));
  if (items.empty()) return fail(spec.missing("containers", "add one container:\n    containers:\n    - name: web\n      image: nginx"));
  if (items.size() > 1)
    return fail(spec.doc().error(items[1].mark(),
                                 fmt::format("{} has {} containers: a manifest gives one image per pod", spec.path("containers"), items.size()),
                                 "keep one container here; multi-container pods are written in a lab file ([[pod]] with "
                                 "[[pod.container]] tables, each a command)"));
  const Fields& c = items.front();
  KN_TRY(c.allow({"name", "image", "ports", "command", "args", "imagePullPolicy"},
                 {"resources", "terminationMessagePath", "terminationMessagePolicy"}));
  ContainerImage out;
  KN_TRY(required_name(c, "name", "for example name: web"));
  out.image = KN_TRY(c.required_string("image", "for example image: nginx (data/images.toml lists what a lab can run)"));
  if (!valid_image(out.image))
    return fail(c.error("image", fmt::format("{} \"{}\" is not a valid image reference", c.path("image"), out.image),
                        "like \"ghost:4\" or \"stefanprodan/podinfo\" (data/images.toml lists what a lab can run)"));
  // The image's own behaviour runs: command and args are accepted (they are usual in
  // manifests) but the image catalogue decides what the container does.
  KN_TRY(c.strings("command"));
  KN_TRY(c.strings("args"));
  KN_TRY(c.choice("imagePullPolicy", {"Always", "IfNotPresent", "Never"}, "IfNotPresent"));
  std::set<std::string> port_names;
  for (const Fields& p : KN_TRY(c.objects("ports"))) {
    KN_TRY(p.allow({"containerPort", "name", "protocol"}));
    auto port = KN_TRY(p.port("containerPort"));
    if (!port) return fail(p.missing("containerPort", "for example containerPort: 80"));
    if (!out.port) out.port = port;
    if (auto name = KN_TRY(p.string("name"))) {
      KN_TRY(check_name(p, "name", *name, 15));
      if (!port_names.insert(*name).second) return fail(p.error("name", fmt::format("{} \"{}\" is used twice", p.path("name"), *name)));
    }
    KN_TRY(p.choice("protocol", {"TCP", "UDP"}, "TCP"));
  }
  return out;
}

Status read_pod(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Pod needs spec.containers"));
  KN_TRY(spec.allow({"containers", "nodeName"},
                    {"dnsPolicy", "restartPolicy", "terminationGracePeriodSeconds", "enableServiceLinks", "schedulerName"}));
  PodSpec p;
  p.name = r.meta.name;
  p.ns = r.meta.ns;
  p.labels = r.meta.labels;
  p.where = r.meta.where;
  p.node = KN_TRY(optional_name(spec, "nodeName"));
  p.image = KN_TRY(read_containers(spec)).image;
  r.m.pods.push_back(std::move(p));
  return {};
}

std::string labels_str(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (auto& [k, v] : labels) out += fmt::format("{}{}={}", out.empty() ? "" : ",", k, v);
  return "{" + out + "}";
}

Status read_deployment(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Deployment needs spec.selector and spec.template"));
  KN_TRY(spec.allow({"replicas", "selector", "template"}, {"strategy", "revisionHistoryLimit", "progressDeadlineSeconds", "minReadySeconds"}));
  DeploymentSpec d;
  d.name = r.meta.name;
  d.ns = r.meta.ns;
  d.where = r.meta.where;
  if (auto n = KN_TRY(spec.integer("replicas", 0, 250))) d.replicas = static_cast<int>(*n);
  Fields selector = KN_TRY(spec.required_object("selector", "for example selector: {matchLabels: {app: web}}"));
  KN_TRY(selector.allow({"matchLabels"}));
  auto match = KN_TRY(read_labels(selector, "matchLabels"));
  if (match.empty())
    return fail(selector.missing("matchLabels", "a Deployment selects its pods by labels: matchLabels: {app: web}, the same in spec.template.metadata.labels"));
  Fields tpl = KN_TRY(spec.required_object("template", "the pods' template: metadata.labels and spec.containers"));
  KN_TRY(tpl.allow({"metadata", "spec"}));
  Fields tmeta = KN_TRY(tpl.object("metadata"));
  KN_TRY(tmeta.allow({"labels", "annotations"}, {"creationTimestamp"}));
  d.labels = KN_TRY(read_labels(tmeta, "labels"));
  KN_TRY(tmeta.string_map("annotations"));
  for (auto& [k, v] : match) {
    auto it = d.labels.find(k);
    if (it == d.labels.end() || it->second != v)
      return fail(spec.error("selector", fmt::format("spec.template.metadata.labels {}: `selector` {} does not match template `labels`",
                                                     labels_str(d.labels), labels_str(match)),
                             "every label of spec.selector.matchLabels must be in spec.template.metadata.labels, with the same value"));
  }
  Fields tspec = KN_TRY(tpl.required_object("spec", "the pods' spec: containers"));
  KN_TRY(tspec.allow({"containers"}, {"dnsPolicy", "restartPolicy", "terminationGracePeriodSeconds", "enableServiceLinks", "schedulerName"}));
  ContainerImage c = KN_TRY(read_containers(tspec));
  d.image = c.image;
  d.port = c.port;
  r.m.deployments.push_back(std::move(d));
  return {};
}

Status read_service(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Service needs spec.ports"));
  KN_TRY(spec.allow({"type", "selector", "ports", "sessionAffinity", "externalTrafficPolicy", "internalTrafficPolicy", "clusterIP", "clusterIPs"},
                    {"ipFamilies", "ipFamilyPolicy"}));
  ServiceSpec s;
  s.name = r.meta.name;
  s.ns = r.meta.ns;
  s.where = r.meta.where;
  std::string type = KN_TRY(spec.choice("type", {"ClusterIP", "NodePort", "LoadBalancer"}, "ClusterIP"));
  s.type = type == "NodePort" ? ServiceType::kNodePort : type == "LoadBalancer" ? ServiceType::kLoadBalancer : ServiceType::kClusterIP;
  s.selector = KN_TRY(read_labels(spec, "selector"));
  std::vector<Fields> items = KN_TRY(spec.objects("ports"));
  if (items.empty()) return fail(spec.missing("ports", "for example ports: [{port: 80, targetPort: 8080}]"));
  std::vector<ServicePortSpec> ports;
  std::set<std::string> names, seen;
  for (const Fields& p : items) {
    KN_TRY(p.allow({"name", "protocol", "port", "targetPort", "nodePort"}, {"appProtocol"}));
    ServicePortSpec sp;
    auto name = KN_TRY(p.string("name"));
    if (name) {
      KN_TRY(check_name(p, "name", *name));
      if (!names.insert(*name).second) return fail(p.error("name", fmt::format("{} \"{}\" is used twice", p.path("name"), *name)));
      sp.name = *name;
    } else if (items.size() > 1) {
      return fail(p.missing("name", "a Service with several ports names each of them (name: http)"));
    }
    sp.protocol = KN_TRY(p.choice("protocol", {"TCP", "UDP"}, "TCP"));
    auto port = KN_TRY(p.port("port"));
    if (!port) return fail(p.missing("port", "for example port: 80"));
    sp.port = *port;
    // targetPort is an int-or-string in Kubernetes: a string with a letter names a container port.
    if (const YAML::Node* tp = p.get("targetPort")) {
      bool named = tp->IsScalar() && std::any_of(tp->Scalar().begin(), tp->Scalar().end(), [](char c) {
                     return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                   });
      if (named)
        return fail(p.error("targetPort", fmt::format("{} \"{}\" is a named port: named target ports are not supported by kn-lab", p.path("targetPort"), tp->Scalar()),
                            "give the container's port number (for example targetPort: 8080)"));
    }
    sp.target_port = KN_TRY(p.port("targetPort")).value_or(sp.port);
    sp.node_port = KN_TRY(p.port("nodePort", 30000, 32767));
    if (sp.node_port && s.type == ServiceType::kClusterIP)
      return fail(p.error("nodePort", fmt::format("{} is set on a ClusterIP Service", p.path("nodePort")), "set spec.type: NodePort or LoadBalancer"));
    if (!seen.insert(fmt::format("{}/{}", sp.port, sp.protocol)).second)
      return fail(p.error("port", fmt::format("{}: port {}/{} appears twice", p.path(), sp.port, sp.protocol)));
    ports.push_back(std::move(sp));
  }
  s.ports = std::move(ports);
  s.session_affinity = KN_TRY(spec.choice("sessionAffinity", {"None", "ClientIP"}, "None")) == "ClientIP";
  s.local_traffic_policy = KN_TRY(spec.choice("externalTrafficPolicy", {"Cluster", "Local"}, "Cluster")) == "Local";
  if (spec.has("externalTrafficPolicy") && s.type == ServiceType::kClusterIP)
    return fail(spec.error("externalTrafficPolicy", "spec.externalTrafficPolicy may only be set when spec.type is NodePort or LoadBalancer"));
  KN_TRY(spec.choice("internalTrafficPolicy", {"Cluster"}, "Cluster"));
  if (auto ip = KN_TRY(spec.string("clusterIP")); ip && !ip->empty()) {
    if (*ip == "None")
      return fail(spec.error("clusterIP", "spec.clusterIP \"None\" (a headless Service) is not supported by kn-lab",
                             "remove clusterIP: the Service gets an address from the service CIDR"));
    auto parsed = Ipv4::parse(*ip);
    if (!parsed) return fail(spec.error("clusterIP", fmt::format("spec.clusterIP \"{}\" is not an IPv4 address", *ip)));
    s.cluster_ip = *parsed;
  }
  std::size_t i = 0;
  for (auto& [ip, mark] : KN_TRY(spec.strings("clusterIPs"))) {
    if (i++ > 0 || (s.cluster_ip ? ip != s.cluster_ip->str() : true))
      return fail(spec.doc().error(mark, fmt::format("spec.clusterIPs[{}] \"{}\" must repeat spec.clusterIP (kn-lab is IPv4 single-stack)", i - 1, ip)));
  }
  r.m.services.push_back(std::move(s));
  return {};
}

Status read_secret(Reading& r) {
  const Fields& top = r.top;
  SecretSpec s;
  auto type = KN_TRY(top.string("type"));
  if (type != "kubernetes.io/tls")
    return fail(top.error("type", type ? fmt::format("type \"{}\" is not supported: kn-lab reads TLS Secrets", *type)
                                       : "type is not set (Opaque): kn-lab reads TLS Secrets",
                          "allowed: type: kubernetes.io/tls with data tls.crt and tls.key (kn-lab create secret tls NAME --cert FILE --key FILE)"));
  s.type = *type;
  struct Value {
    std::string text, path;
    YAML::Mark mark;
  };
  std::map<std::string, Value> values;
  for (auto& [k, v] : KN_TRY(top.string_map("data"))) {
    auto decoded = base64_decode(v);
    if (!decoded)
      return fail(top.doc().error(top.mark_in("data", k), fmt::format("data[{}] is not valid base64", k),
                                  "data values are base64 (stringData takes plain text)"));
    values[k] = Value{*decoded, fmt::format("data[{}]", k), top.mark_in("data", k)};
  }
  for (auto& [k, v] : KN_TRY(top.string_map("stringData"))) values[k] = Value{v, fmt::format("stringData[{}]", k), top.mark_in("stringData", k)};
  for (auto& [k, v] : values) {
    bool ok = !k.empty() && k.size() <= 253 && std::all_of(k.begin(), k.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
    if (!ok) return fail(top.doc().error(v.mark, fmt::format("{}: \"{}\" is not a valid Secret key", v.path, k), "keys: [-._a-zA-Z0-9]+"));
  }
  for (std::string_view key : {"tls.crt", "tls.key"}) {
    auto it = values.find(std::string(key));
    if (it == values.end())
      return fail(top.error(top.has("data") ? "data" : top.has("stringData") ? "stringData" : "type",
                            fmt::format("data[{}] is required in a Secret of type kubernetes.io/tls", key),
                            "a TLS Secret has data tls.crt (the certificate, PEM) and tls.key (its private key, PEM)"));
    const Value& v = it->second;
    auto problem = key == "tls.crt" ? check_pem_certificate(v.text) : check_pem_private_key(v.text);
    if (problem)
      return fail(top.doc().error(v.mark, fmt::format("{}: {}", v.path, *problem),
                                  key == "tls.crt" ? "the certificate in PEM (openssl x509 -outform PEM)" : "the private key in PEM, unencrypted"));
    (key == "tls.crt" ? s.cert_pem : s.key_pem) = v.text;
  }
  s.meta = std::move(r.meta);
  r.m.l7.secrets.push_back(std::move(s));
  return {};
}

Status read_ingress_class(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "an IngressClass needs spec.controller"));
  KN_TRY(spec.allow({"controller"}));
  IngressClassSpec c;
  c.controller = KN_TRY(read_controller(spec, "controller", "k8s.io/ingress-nginx"));
  auto it = r.meta.annotations.find("ingressclass.kubernetes.io/is-default-class");
  c.is_default = it != r.meta.annotations.end() && it->second == "true";
  c.meta = std::move(r.meta);
  r.m.l7.ingress_classes.push_back(std::move(c));
  return {};
}

Result<IngressBackend> read_ingress_backend(const Fields& b) {
  KN_TRY(b.allow({"service"}));
  Fields svc = KN_TRY(b.required_object("service", "kn-lab's Ingress backends are Services: service: {name: web, port: {number: 80}}"));
  KN_TRY(svc.allow({"name", "port"}));
  IngressBackend out;
  out.service = KN_TRY(required_name(svc, "name", "the Service's name"));
  Fields port = KN_TRY(svc.required_object("port", "port: {number: 80} or port: {name: http}"));
  KN_TRY(port.allow({"number", "name"}));
  if (port.has("number") == port.has("name"))
    return fail(port.doc().error(port.mark(), fmt::format("{} needs exactly one of number and name", port.path()),
                                 "port: {number: 80} or port: {name: http}"));
  out.port = KN_TRY(port.port("number")).value_or(0);
  out.port_name = KN_TRY(optional_name(port, "name"));
  return out;
}

Status read_ingress(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "an Ingress needs spec.rules or spec.defaultBackend"));
  KN_TRY(spec.allow({"ingressClassName", "defaultBackend", "rules", "tls"}));
  IngressSpec ing;
  ing.class_name = KN_TRY(optional_name(spec, "ingressClassName"));
  auto annotation = r.meta.annotations.find("kubernetes.io/ingress.class");
  if (annotation != r.meta.annotations.end()) {
    if (spec.has("ingressClassName"))
      return fail(spec.error("ingressClassName", "metadata.annotations[kubernetes.io/ingress.class] can not be set when spec.ingressClassName is also set",
                             "keep spec.ingressClassName (the annotation is deprecated)"));
    if (auto problem = check_label(annotation->second, kMaxObjectNameLength))
      return fail(r.top.error("metadata", fmt::format("metadata.annotations[kubernetes.io/ingress.class] \"{}\" {}", annotation->second, *problem), kNameHint));
    ing.class_name = annotation->second;
  }
  if (spec.has("defaultBackend")) ing.default_backend = KN_TRY(read_ingress_backend(KN_TRY(spec.object("defaultBackend"))));
  for (const Fields& rule : KN_TRY(spec.objects("rules"))) {
    KN_TRY(rule.allow({"host", "http"}));
    IngressRule ir;
    ir.host = KN_TRY(read_hostname(rule, "host", true));
    if (rule.has("http")) {
      Fields http = KN_TRY(rule.object("http"));
      KN_TRY(http.allow({"paths"}));
      std::vector<Fields> paths = KN_TRY(http.objects("paths"));
      if (paths.empty()) return fail(http.missing("paths", "for example paths: [{path: /, pathType: Prefix, backend: {...}}]"));
      for (const Fields& p : paths) {
        KN_TRY(p.allow({"path", "pathType", "backend"}));
        IngressPath ip;
        ip.where = at(p.doc().file, p.mark());
        std::string type = KN_TRY(p.choice("pathType", {"Prefix", "Exact", "ImplementationSpecific"}, ""));
        ip.type = type == "Prefix" ? IngressPathType::kPrefix : type == "Exact" ? IngressPathType::kExact : IngressPathType::kImplementationSpecific;
        auto path = KN_TRY(p.string("path"));
        if (ip.type == IngressPathType::kImplementationSpecific) {
          ip.path = path && !path->empty() ? *path : "/";
          auto problem = ip.path.front() != '/' ? std::optional<std::string>("must be an absolute path (start with '/')") : check_free_text(ip.path, false);
          if (problem) return fail(p.error("path", fmt::format("{} \"{}\" {}", p.path("path"), ip.path, *problem)));
        } else {
          if (!path) return fail(p.missing("path", fmt::format("pathType {} needs a path, for example path: /", type)));
          if (auto problem = check_http_path(*path)) return fail(p.error("path", fmt::format("{} \"{}\" {}", p.path("path"), *path, *problem)));
          ip.path = *path;
        }
        ip.backend = KN_TRY(read_ingress_backend(KN_TRY(p.required_object("backend", "backend: {service: {name: web, port: {number: 80}}}"))));
        ir.paths.push_back(std::move(ip));
      }
    }
    ing.rules.push_back(std::move(ir));
  }
  if (ing.rules.empty() && !ing.default_backend)
    return fail(spec.missing("rules", "an Ingress needs spec.rules or spec.defaultBackend"));
  for (const Fields& t : KN_TRY(spec.objects("tls"))) {
    KN_TRY(t.allow({"hosts", "secretName"}));
    IngressTls tls;
    tls.hosts = KN_TRY(read_hostnames(t, "hosts"));
    tls.secret = KN_TRY(optional_name(t, "secretName"));
    ing.tls.push_back(std::move(tls));
  }
  ing.meta = std::move(r.meta);
  r.m.l7.ingresses.push_back(std::move(ing));
  return {};
}

Status read_gateway_class(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", fmt::format("a GatewayClass needs spec.controllerName ({})", kGatewayController)));
  KN_TRY(spec.allow({"controllerName", "description"}));
  KN_TRY(spec.string("description"));
  GatewayClassSpec c;
  c.controller = KN_TRY(read_controller(spec, "controllerName", kGatewayController));
  c.meta = std::move(r.meta);
  r.m.l7.gateway_classes.push_back(std::move(c));
  return {};
}

// A Gateway API section name (listener name): a DNS subdomain.
Result<std::string> read_section_name(const Fields& f, std::string_view key, bool required) {
  auto v = KN_TRY(f.string(key));
  if (!v) {
    if (required) return fail(f.missing(key, "for example name: http"));
    return std::string{};
  }
  if (!is_dns_subdomain(*v))
    return fail(f.error(key, fmt::format("{} \"{}\" is not a valid section name", f.path(key), *v), "lowercase letters, digits, '-' and '.'"));
  return *v;
}

Status read_gateway(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a Gateway needs spec.gatewayClassName and spec.listeners"));
  KN_TRY(spec.allow({"gatewayClassName", "listeners"}));
  GatewaySpec gw;
  gw.class_name = KN_TRY(required_name(spec, "gatewayClassName", "the GatewayClass, for example gatewayClassName: kn-lab"));
  std::vector<Fields> items = KN_TRY(spec.objects("listeners"));
  if (items.empty()) return fail(spec.missing("listeners", "for example listeners: [{name: http, port: 80, protocol: HTTP}]"));
  if (items.size() > 64) return fail(spec.error("listeners", "spec.listeners has more than 64 listeners"));
  std::set<std::string> names, combos;
  for (const Fields& l : items) {
    KN_TRY(l.allow({"name", "hostname", "port", "protocol", "tls", "allowedRoutes"}));
    ListenerSpec ls;
    ls.name = KN_TRY(read_section_name(l, "name", true));
    if (!names.insert(ls.name).second) return fail(l.error("name", fmt::format("{} \"{}\" is used by another listener", l.path("name"), ls.name)));
    ls.hostname = KN_TRY(read_hostname(l, "hostname", true));
    auto port = KN_TRY(l.port("port"));
    if (!port) return fail(l.missing("port", "for example port: 80"));
    ls.port = *port;
    auto protocol = KN_TRY(l.string("protocol"));
    if (protocol && *protocol == "TLS")
      return fail(l.error("protocol", fmt::format("{} TLS (TLS passthrough, for TLSRoutes) is not supported by kn-lab", l.path("protocol")),
                          "allowed: HTTP, HTTPS (TLS terminated by the gateway), TCP, UDP"));
    std::string proto = KN_TRY(l.choice("protocol", {"HTTP", "HTTPS", "TCP", "UDP"}, ""));
    ls.protocol = proto == "HTTP" ? ListenerProtocol::kHTTP : proto == "HTTPS" ? ListenerProtocol::kHTTPS
                  : proto == "TCP" ? ListenerProtocol::kTCP : ListenerProtocol::kUDP;
    if (!combos.insert(fmt::format("{}/{}/{}", ls.port, proto, ls.hostname)).second)
      return fail(l.error("port", fmt::format("{}: another listener has the same port, protocol and hostname", l.path())));
    if (ls.protocol == ListenerProtocol::kHTTPS) {
      Fields tls = KN_TRY(l.required_object("tls", "an HTTPS listener terminates TLS: tls: {mode: Terminate, certificateRefs: [{name: my-cert}]}"));
      KN_TRY(tls.allow({"mode", "certificateRefs"}));
      auto mode = KN_TRY(tls.string("mode"));
      if (mode && *mode == "Passthrough")
        return fail(tls.error("mode", fmt::format("{} Passthrough is not supported by kn-lab", tls.path("mode")), "allowed: Terminate"));
      KN_TRY(tls.choice("mode", {"Terminate"}, "Terminate"));
      std::vector<Fields> refs = KN_TRY(tls.objects("certificateRefs"));
      if (refs.empty()) return fail(tls.missing("certificateRefs", "the TLS Secret: certificateRefs: [{name: my-cert}]"));
      for (const Fields& ref : refs) {
        KN_TRY(ref.allow({"group", "kind", "name", "namespace"}));
        std::string group = KN_TRY(ref.string("group")).value_or("");
        if (!group.empty() && group != "core")
          return fail(ref.error("group", fmt::format("{} \"{}\" is not supported: certificates are core Secrets", ref.path("group"), group), "allowed: \"\" (core)"));
        KN_TRY(ref.choice("kind", {"Secret"}, "Secret"));
        SecretRef sr;
        sr.name = KN_TRY(required_name(ref, "name", "the TLS Secret's name"));
        sr.ns = KN_TRY(optional_name(ref, "namespace"));
        ls.certificates.push_back(std::move(sr));
      }
    } else if (l.has("tls")) {
      return fail(l.error("tls", fmt::format("{} must not be set for protocol {}", l.path("tls"), proto), "only HTTPS listeners terminate TLS"));
    }
    Fields allowed = KN_TRY(l.object("allowedRoutes"));
    KN_TRY(allowed.allow({"namespaces", "kinds"}));
    Fields nss = KN_TRY(allowed.object("namespaces"));
    KN_TRY(nss.allow({"from"}));
    auto from = KN_TRY(nss.string("from"));
    if (from && *from == "Selector")
      return fail(nss.error("from", fmt::format("{} Selector is not supported by kn-lab", nss.path("from")),
                            "allowed: Same (routes in the Gateway's namespace) or All (any namespace)"));
    ls.allowed_from = KN_TRY(nss.choice("from", {"Same", "All"}, "Same"));
    std::string_view route_kind = ls.protocol == ListenerProtocol::kTCP ? "TCPRoute" : ls.protocol == ListenerProtocol::kUDP ? "UDPRoute" : "HTTPRoute";
    for (const Fields& k : KN_TRY(allowed.objects("kinds"))) {
      KN_TRY(k.allow({"group", "kind"}));
      std::string group = KN_TRY(k.string("group")).value_or(std::string(kGatewayGroup));
      std::string kind = KN_TRY(k.required_string("kind", fmt::format("kind: {}", route_kind)));
      if (group != kGatewayGroup || kind != route_kind)
        return fail(k.error("kind", fmt::format("{} {} cannot attach to a {} listener", k.path("kind"), kind, proto),
                            fmt::format("allowed: {} (group {})", route_kind, kGatewayGroup)));
    }
    gw.listeners.push_back(std::move(ls));
  }
  gw.meta = std::move(r.meta);
  r.m.l7.gateways.push_back(std::move(gw));
  return {};
}

Result<std::vector<ParentRef>> read_parent_refs(const Fields& spec) {
  std::vector<ParentRef> out;
  for (const Fields& p : KN_TRY(spec.objects("parentRefs"))) {
    KN_TRY(p.allow({"group", "kind", "namespace", "name", "sectionName", "port"}));
    std::string group = KN_TRY(p.string("group")).value_or(std::string(kGatewayGroup));
    if (group != kGatewayGroup)
      return fail(p.error("group", fmt::format("{} \"{}\" is not supported", p.path("group"), group), fmt::format("allowed: {}", kGatewayGroup)));
    KN_TRY(p.choice("kind", {"Gateway"}, "Gateway"));
    ParentRef ref;
    ref.name = KN_TRY(required_name(p, "name", "the Gateway's name"));
    ref.ns = KN_TRY(optional_name(p, "namespace"));
    ref.section_name = KN_TRY(read_section_name(p, "sectionName", false));
    ref.port = KN_TRY(p.port("port"));
    out.push_back(std::move(ref));
  }
  return out;
}

Result<std::vector<BackendRef>> read_backend_refs(const Fields& rule) {
  std::vector<BackendRef> out;
  for (const Fields& b : KN_TRY(rule.objects("backendRefs"))) {
    KN_TRY(b.allow({"group", "kind", "name", "namespace", "port", "weight"}));
    std::string group = KN_TRY(b.string("group")).value_or("");
    std::string kind = KN_TRY(b.string("kind")).value_or("Service");
    if (!group.empty() || kind != "Service")
      return fail(b.error(b.has("kind") ? "kind" : "group",
                          fmt::format("{}: backendRef kind {}{} is not supported: kn-lab routes to Services", b.path(), group.empty() ? "" : group + "/", kind),
                          "allowed: kind: Service (group \"\")"));
    BackendRef ref;
    ref.name = KN_TRY(required_name(b, "name", "the Service's name"));
    ref.ns = KN_TRY(optional_name(b, "namespace"));
    auto port = KN_TRY(b.port("port"));
    if (!port) return fail(b.missing("port", "a Service backend needs the Service's port, for example port: 80"));
    ref.port = *port;
    ref.weight = static_cast<int>(KN_TRY(b.integer("weight", 0, 1000000)).value_or(1));
    out.push_back(std::move(ref));
  }
  return out;
}

Result<std::vector<ValueMatch>> read_value_matches(const Fields& match, std::string_view key, bool case_insensitive) {
  std::vector<ValueMatch> out;
  std::set<std::string> names;
  for (const Fields& h : KN_TRY(match.objects(key))) {
    KN_TRY(h.allow({"type", "name", "value"}));
    ValueMatch v;
    v.regex = KN_TRY(h.choice("type", {"Exact", "RegularExpression"}, "Exact")) == "RegularExpression";
    v.name = KN_TRY(h.required_string("name", "for example name: x-env"));
    if (!is_header_name(v.name))
      return fail(h.error("name", fmt::format("{} \"{}\" is not a valid name", h.path("name"), v.name), "an HTTP token: letters, digits and !#$%&'*+-.^_`|~"));
    if (!names.insert(case_insensitive ? lower(v.name) : v.name).second)
      return fail(h.error("name", fmt::format("{} \"{}\" is matched twice in one match", h.path("name"), v.name)));
    v.value = KN_TRY(h.required_string("value"));
    if (auto problem = check_free_text(v.value, true)) return fail(h.error("value", fmt::format("{} {}", h.path("value"), *problem)));
    out.push_back(std::move(v));
  }
  return out;
}

Result<PathModifier> read_path_modifier(const Fields& f) {
  KN_TRY(f.allow({"type", "replaceFullPath", "replacePrefixMatch"}));
  PathModifier m;
  std::string type = KN_TRY(f.choice("type", {"ReplaceFullPath", "ReplacePrefixMatch"}, ""));
  m.type = type == "ReplaceFullPath" ? PathModifier::Type::kReplaceFullPath : PathModifier::Type::kReplacePrefixMatch;
  std::string_view field = type == "ReplaceFullPath" ? "replaceFullPath" : "replacePrefixMatch";
  std::string_view other = type == "ReplaceFullPath" ? "replacePrefixMatch" : "replaceFullPath";
  if (f.has(other)) return fail(f.error(other, fmt::format("{} must not be set when type is {}", f.path(other), type)));
  m.value = KN_TRY(f.required_string(field, fmt::format("type {} takes {}: /new/path", type, field)));
  if (auto problem = check_http_path(m.value)) return fail(f.error(field, fmt::format("{} \"{}\" {}", f.path(field), m.value, *problem)));
  return m;
}

Result<HeaderModifier> read_header_modifier(const Fields& f) {
  KN_TRY(f.allow({"set", "add", "remove"}));
  HeaderModifier hm;
  std::set<std::string> seen;
  auto check = [&](const Fields& where, std::string_view key, const std::string& name, YAML::Mark mark) -> Status {
    if (!is_header_name(name))
      return fail(where.doc().error(mark, fmt::format("{} \"{}\" is not a valid header name", where.path(key), name),
                                    "an HTTP token: letters, digits and !#$%&'*+-.^_`|~"));
    if (!seen.insert(lower(name)).second)
      return fail(where.doc().error(mark, fmt::format("{}: header \"{}\" is modified twice in one filter", where.path(key), name)));
    return {};
  };
  for (std::string_view list : {"set", "add"}) {
    for (const Fields& h : KN_TRY(f.objects(list))) {
      KN_TRY(h.allow({"name", "value"}));
      std::string name = KN_TRY(h.required_string("name", "for example name: x-env"));
      KN_TRY(check(h, "name", name, h.mark_of("name")));
      std::string value = KN_TRY(h.required_string("value"));
      if (auto problem = check_free_text(value, true)) return fail(h.error("value", fmt::format("{} {}", h.path("value"), *problem)));
      (list == "set" ? hm.set : hm.add).emplace_back(name, value);
    }
  }
  for (auto& [name, mark] : KN_TRY(f.strings("remove"))) {
    KN_TRY(check(f, "remove", name, mark));
    hm.remove.push_back(name);
  }
  return hm;
}

Result<HttpFilter> read_filter(const Fields& f) {
  KN_TRY(f.allow({"type", "requestHeaderModifier", "responseHeaderModifier", "requestRedirect", "urlRewrite"}));
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {"RequestHeaderModifier", "requestHeaderModifier"},
      {"ResponseHeaderModifier", "responseHeaderModifier"},
      {"RequestRedirect", "requestRedirect"},
      {"URLRewrite", "urlRewrite"},
  };
  auto type = KN_TRY(f.string("type"));
  if (type && (*type == "RequestMirror" || *type == "ExtensionRef" || *type == "CORS"))
    return fail(f.error("type", fmt::format("{} {} is not supported by kn-lab", f.path("type"), *type),
                        "allowed: RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite"));
  std::string t = KN_TRY(f.choice("type", {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"}, ""));
  std::string_view field;
  for (auto& [name, key] : kTypes) {
    if (name == t) field = key;
    else if (f.has(key)) return fail(f.error(key, fmt::format("{} must not be set when type is {}", f.path(key), t)));
  }
  HttpFilter out;
  Fields body = KN_TRY(f.required_object(field, fmt::format("type {} takes its settings in {}", t, field)));
  if (t == "RequestHeaderModifier" || t == "ResponseHeaderModifier") {
    out.type = t == "RequestHeaderModifier" ? HttpFilter::Type::kRequestHeaderModifier : HttpFilter::Type::kResponseHeaderModifier;
    out.headers = KN_TRY(read_header_modifier(body));
  } else if (t == "RequestRedirect") {
    out.type = HttpFilter::Type::kRequestRedirect;
    KN_TRY(body.allow({"scheme", "hostname", "path", "port", "statusCode"}));
    if (body.has("scheme")) out.scheme = KN_TRY(body.choice("scheme", {"http", "https"}, "http"));
    out.hostname = KN_TRY(read_hostname(body, "hostname", false));
    if (body.has("path")) out.path = KN_TRY(read_path_modifier(KN_TRY(body.object("path"))));
    out.port = KN_TRY(body.port("port"));
    auto code = KN_TRY(body.integer("statusCode", 0, 999));
    if (code && *code != 301 && *code != 302)
      return fail(body.error("statusCode", fmt::format("{} {} is not supported", body.path("statusCode"), *code), "allowed: 301, 302"));
    out.status_code = static_cast<int>(code.value_or(302));
  } else {
    out.type = HttpFilter::Type::kURLRewrite;
    KN_TRY(body.allow({"hostname", "path"}));
    out.hostname = KN_TRY(read_hostname(body, "hostname", false));
    if (body.has("path")) out.path = KN_TRY(read_path_modifier(KN_TRY(body.object("path"))));
  }
  return out;
}

Status read_http_route(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "an HTTPRoute needs spec.parentRefs and spec.rules"));
  KN_TRY(spec.allow({"parentRefs", "hostnames", "rules"}));
  HttpRouteSpec route;
  route.parents = KN_TRY(read_parent_refs(spec));
  route.hostnames = KN_TRY(read_hostnames(spec, "hostnames"));
  for (const Fields& rule : KN_TRY(spec.objects("rules"))) {
    KN_TRY(rule.allow({"matches", "filters", "backendRefs"}));
    HttpRouteRule hr;
    hr.where = at(rule.doc().file, rule.mark());
    for (const Fields& m : KN_TRY(rule.objects("matches"))) {
      KN_TRY(m.allow({"path", "headers", "queryParams", "method"}));
      HttpMatch match;
      if (m.has("path")) {
        Fields p = KN_TRY(m.object("path"));
        KN_TRY(p.allow({"type", "value"}));
        PathMatch pm;
        std::string type = KN_TRY(p.choice("type", {"Exact", "PathPrefix", "RegularExpression"}, "PathPrefix"));
        pm.type = type == "Exact" ? PathMatchType::kExact : type == "PathPrefix" ? PathMatchType::kPathPrefix : PathMatchType::kRegularExpression;
        pm.value = KN_TRY(p.string("value")).value_or("/");
        auto problem = pm.type == PathMatchType::kRegularExpression
                           ? (pm.value.empty() ? std::optional<std::string>("must not be empty") : check_free_text(pm.value, false))
                           : check_http_path(pm.value);
        if (problem) return fail(p.error("value", fmt::format("{} \"{}\" {}", p.path("value"), pm.value, *problem)));
        match.path = std::move(pm);
      }
      match.headers = KN_TRY(read_value_matches(m, "headers", true));
      match.query = KN_TRY(read_value_matches(m, "queryParams", false));
      if (m.has("method"))
        match.method = KN_TRY(m.choice("method", {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}, "GET"));
      hr.matches.push_back(std::move(match));
    }
    std::set<int> kinds;
    std::vector<Fields> filters = KN_TRY(rule.objects("filters"));
    for (const Fields& f : filters) {
      HttpFilter filter = KN_TRY(read_filter(f));
      if (!kinds.insert(static_cast<int>(filter.type)).second)
        return fail(f.error("type", fmt::format("{}: a rule may have one filter of each type", f.path("type"))));
      if (kinds.count(static_cast<int>(HttpFilter::Type::kRequestRedirect)) && kinds.count(static_cast<int>(HttpFilter::Type::kURLRewrite)))
        return fail(f.error("type", fmt::format("{}: RequestRedirect and URLRewrite cannot be used together", f.path("type"))));
      if (filter.path && filter.path->type == PathModifier::Type::kReplacePrefixMatch) {
        bool one_prefix = hr.matches.size() <= 1 &&
                          (hr.matches.empty() || !hr.matches[0].path || hr.matches[0].path->type == PathMatchType::kPathPrefix);
        if (!one_prefix)
          return fail(f.error("type", fmt::format("{}: ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix", f.path()),
                              "the prefix that is replaced is the one that matched"));
      }
      hr.filters.push_back(std::move(filter));
    }
    hr.backends = KN_TRY(read_backend_refs(rule));
    route.rules.push_back(std::move(hr));
  }
  route.meta = std::move(r.meta);
  r.m.l7.http_routes.push_back(std::move(route));
  return {};
}

Status read_l4_route(Reading& r) {
  std::string_view kind = r.info.kind;
  Fields spec = KN_TRY(r.top.required_object("spec", fmt::format("a {} needs spec.parentRefs and spec.rules", kind)));
  KN_TRY(spec.allow({"parentRefs", "rules"}));
  L4RouteSpec route;
  route.protocol = kind == "UDPRoute" ? ListenerProtocol::kUDP : ListenerProtocol::kTCP;
  route.parents = KN_TRY(read_parent_refs(spec));
  std::vector<Fields> rules = KN_TRY(spec.objects("rules"));
  if (rules.empty()) return fail(spec.missing("rules", "for example rules: [{backendRefs: [{name: db, port: 5432}]}]"));
  for (const Fields& rule : rules) {
    KN_TRY(rule.allow({"backendRefs"}));
    auto backends = KN_TRY(read_backend_refs(rule));
    if (backends.empty()) return fail(rule.missing("backendRefs", "for example backendRefs: [{name: db, port: 5432}]"));
    for (auto& b : backends) route.backends.push_back(std::move(b));
  }
  route.meta = std::move(r.meta);
  r.m.l7.l4_routes.push_back(std::move(route));
  return {};
}

Status read_reference_grant(Reading& r) {
  Fields spec = KN_TRY(r.top.required_object("spec", "a ReferenceGrant needs spec.from and spec.to"));
  KN_TRY(spec.allow({"from", "to"}));
  ReferenceGrantSpec g;
  std::vector<Fields> from = KN_TRY(spec.objects("from"));
  if (from.empty()) return fail(spec.missing("from", "for example from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: web}]"));
  for (const Fields& f : from) {
    KN_TRY(f.allow({"group", "kind", "namespace"}));
    ReferenceGrantSpec::From x;
    x.group = KN_TRY(f.required_string("group", fmt::format("group: {}", kGatewayGroup)));
    if (x.group != kGatewayGroup)
      return fail(f.error("group", fmt::format("{} \"{}\" is not supported", f.path("group"), x.group), fmt::format("allowed: {}", kGatewayGroup)));
    x.kind = KN_TRY(f.choice("kind", {"HTTPRoute", "TCPRoute", "UDPRoute", "Gateway"}, ""));
    std::string ns = KN_TRY(f.required_string("namespace", "the namespace of the routes (or Gateways) that refer"));
    KN_TRY(check_name(f, "namespace", ns));
    x.ns = ns;
    g.from.push_back(std::move(x));
  }
  std::vector<Fields> to = KN_TRY(spec.objects("to"));
  if (to.empty()) return fail(spec.missing("to", "for example to: [{group: \"\", kind: Service}]"));
  for (const Fields& t : to) {
    KN_TRY(t.allow({"group", "kind", "name"}));
    ReferenceGrantSpec::To x;
    x.group = KN_TRY(t.required_string("group", "group: \"\" (the core group of Services and Secrets)"));
    if (!x.group.empty() && x.group != "core")
      return fail(t.error("group", fmt::format("{} \"{}\" is not supported", t.path("group"), x.group), "allowed: \"\" (core)"));
    x.group.clear();
    x.kind = KN_TRY(t.choice("kind", {"Service", "Secret"}, ""));
    x.name = KN_TRY(optional_name(t, "name"));
    g.to.push_back(std::move(x));
  }
  g.meta = std::move(r.meta);
  r.m.l7.reference_grants.push_back(std::move(g));
  return {};
}

Status read_namespace(Reading& r) {
  Fields spec = KN_TRY(r.top.object("spec"));
  KN_TRY(spec.allow({}, {"finalizers"}));
  r.m.l7.namespaces.push_back(r.meta.name);
  return {};
}

// --- documents -----------------------------------------------------------------------------

struct Session {
  Manifest& m;
  std::map<std::string, SourceLocation> seen;  // kind/ns/name -> where
};

Result<ObjectMeta> read_metadata(const Fields& top, Doc& doc, const KindInfo& info) {
  Fields md = KN_TRY(top.required_object("metadata", "for example metadata: {name: web}"));
  if (md.has("generateName"))
    return fail(md.error("generateName", "metadata.generateName is not supported by kn-lab", "give the object a metadata.name"));
  // What the API server sets: a manifest saved with `kubectl get -o yaml` has them.
  KN_TRY(md.allow({"name", "namespace", "labels", "annotations"},
                  {"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink", "finalizers",
                   "ownerReferences", "deletionTimestamp", "deletionGracePeriodSeconds"}));
  ObjectMeta meta;
  meta.where = at(doc.file, top.mark());
  meta.name = KN_TRY(md.required_string("name", "for example name: web"));
  KN_TRY(check_name(md, "name", meta.name, info.max_name));
  if (info.kind == "Pod" && is_reserved_name(meta.name))
    return fail(md.error("name", fmt::format("metadata.name \"{}\" is reserved for the lab's own infrastructure", meta.name),
                         "reserved: wire, external, router, cloud-lb, host"));
  if (info.kind == "Service" && !(meta.name.front() >= 'a' && meta.name.front() <= 'z'))
    return fail(md.error("name", fmt::format("metadata.name \"{}\" must start with a letter (a Service name is a DNS-1035 label)", meta.name), kNameHint));
  if (info.namespaced) {
    meta.ns = KN_TRY(md.string("namespace")).value_or("default");
    KN_TRY(check_name(md, "namespace", meta.ns));
    doc.label = fmt::format("{} {}/{}", info.kind, meta.ns, meta.name);
  } else {
    meta.ns.clear();  // cluster-scoped: a namespace given is ignored, as the API server does
    doc.label = fmt::format("{} {}", info.kind, meta.name);
  }
  meta.labels = KN_TRY(read_labels(md, "labels"));
  meta.annotations = KN_TRY(md.string_map("annotations"));
  for (auto& [k, v] : meta.annotations) {
    (void)v;
    if (!valid_label_key(k))
      return fail(md.doc().error(md.mark_in("annotations", k), fmt::format("metadata.annotations: \"{}\" is not a valid annotation key", k),
                           "at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends, after an optional DNS prefix (example.com/key)"));
  }
  return meta;
}

std::string supported_kinds() {
  std::vector<std::string_view> names;
  for (auto& k : kinds()) names.push_back(k.kind);
  return join(names);
}

Status read_object(Session& s, const YAML::Node& node, Doc doc, const std::string& path, bool in_list);

Status read_list(Session& s, const Fields& top, const Doc& doc) {
  KN_TRY(top.allow({"apiVersion", "kind", "items"}, {"metadata"}));
  std::size_t i = 0;
  for (const YAML::Node& item : KN_TRY(top.list("items"))) {
    std::string path = fmt::format("{}[{}]", top.path("items"), i++);
    Doc item_doc{doc.file, fmt::format("{} of {}", path, doc.label)};
    KN_TRY(read_object(s, item, std::move(item_doc), path, true));
  }
  return {};
}

Status read_object(Session& s, const YAML::Node& node, Doc doc, const std::string& path, bool in_list) {
  Fields top = KN_TRY(Fields::of(doc, node, path));
  std::string kind = KN_TRY(top.required_string("kind", "for example kind: Deployment"));
  std::string version = KN_TRY(top.required_string("apiVersion", "for example apiVersion: apps/v1"));
  if (kind == "List" && !in_list) {
    if (version != "v1") return fail(top.error("apiVersion", fmt::format("apiVersion \"{}\" is not served for kind List", version), "allowed: v1"));
    return read_list(s, top, doc);
  }
  const KindInfo* info = nullptr;
  for (auto& k : kinds())
    if (k.kind == kind) info = &k;
  if (!info) {
    std::vector<std::string_view> names;
    for (auto& k : kinds()) names.push_back(k.kind);
    return fail(top.error("kind", fmt::format("kind {} is not supported by kn-lab; supported: {}", kind, supported_kinds()),
                          did_you_mean(kind, names) + "kn-lab builds pods, Deployments and Services, and serves Ingress and Gateway API objects"));
  }
  doc.label = std::string(info->kind);
  if (std::none_of(info->versions.begin(), info->versions.end(), [&](std::string_view v) { return api_version(*info, v) == version; })) {
    std::vector<std::string> allowed;
    for (auto v : info->versions) allowed.push_back(api_version(*info, v));
    std::string list;
    for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return fail(top.error("apiVersion", fmt::format("apiVersion \"{}\" is not served for kind {}", version, kind), "allowed: " + list));
  }
  ObjectMeta meta = KN_TRY(read_metadata(top, doc, *info));
  if (info->kind == "Secret")
    KN_TRY(top.allow({"apiVersion", "kind", "metadata", "type", "data", "stringData"}, {"immutable"}));
  else
    KN_TRY(top.allow({"apiVersion", "kind", "metadata", "spec"}, {"status"}));
  std::string identity = fmt::format("{}/{}/{}", info->kind, meta.ns, meta.name);
  if (auto [it, fresh] = s.seen.emplace(identity, meta.where); !fresh)
    return fail(input_error(meta.where, fmt::format("{}: defined twice (same kind, metadata.namespace and metadata.name)", doc.label),
                            fmt::format("the first is at {}; each object is defined once", it->second.str())));
  meta.yaml = canonical_yaml(node);
  ManifestObject obj{std::string(info->kind), std::string(info->group), meta.ns, meta.name, meta.where};
  Reading r{*info, top, std::move(meta), s.m};
  std::string_view k = info->kind;
  if (k == "Namespace") KN_TRY(read_namespace(r));
  else if (k == "Pod") KN_TRY(read_pod(r));
  else if (k == "Deployment") KN_TRY(read_deployment(r));
  else if (k == "Service") KN_TRY(read_service(r));
  else if (k == "Secret") KN_TRY(read_secret(r));
  else if (k == "IngressClass") KN_TRY(read_ingress_class(r));
  else if (k == "Ingress") KN_TRY(read_ingress(r));
  else if (k == "GatewayClass") KN_TRY(read_gateway_class(r));
  else if (k == "Gateway") KN_TRY(read_gateway(r));
  else if (k == "HTTPRoute") KN_TRY(read_http_route(r));
  else if (k == "TCPRoute" || k == "UDPRoute") KN_TRY(read_l4_route(r));
  else if (k == "ReferenceGrant") KN_TRY(read_reference_grant(r));
  s.m.objects.push_back(std::move(obj));
  return {};
}

// yaml-cpp 0.7 loops forever in LoadAll, making a null document per turn, when its parser stops
// at a token that no document can start with (a ',' at the top level): the parser then starts
// every document at the same place. This pass runs the same parser without building anything
// and stops there, so that LoadAll only sees text on which it makes progress.
class ProgressCheck : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark start;
};

// Throws what yaml-cpp throws on a syntax error.
Status check_progress(const std::string& text, const std::string& file) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  ProgressCheck check;
  int previous = -1;
  std::size_t documents = 0;
  while (parser.HandleNextDocument(check)) {
    if (check.start.pos == previous || ++documents > text.size() + 1)
      return fail(input_error(at(file, check.start), "YAML syntax error: no document can start here",
                              "a stray ',', ']' or '}' outside a flow collection?"));
    previous = check.start.pos;
  }
  return {};
}

Status parse_into(Session& s, std::string_view text, const std::string& file) {
  if (auto e = check_text(text, file)) return fail(std::move(*e));
  try {
    std::string owned(text);
    KN_TRY(check_progress(owned, file));
    std::vector<YAML::Node> docs = YAML::LoadAll(owned);
    std::size_t index = 0;
    for (const YAML::Node& node : docs) {
      ++index;
      if (node.IsNull()) continue;  // comments only, or an empty document between separators
      std::size_t count = 0;
      std::string label = fmt::format("document {}", index);
      KN_TRY(check_tree(node, 0, count, file, label, ""));
      KN_TRY(read_object(s, node, Doc{file, label}, "", false));
    }
  } catch (const YAML::Exception& e) {
    return fail(input_error(at(file, e.mark), fmt::format("YAML syntax error: {}", e.msg.empty() ? std::string(e.what()) : e.msg)));
  }
  return {};
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error e = input_error(SourceLocation{path, 0, 0}, "cannot read the manifest", "give a path to a .yaml file or a directory of them");
    e.err = errno;
    return fail(std::move(e));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <class T>
bool same_object(const T& a, const ObjectMeta& b) {
  return a.meta.ns == b.ns && a.meta.name == b.name;
}

template <class T>
void put(std::vector<T>& into, const T& x) {
  auto it = std::find_if(into.begin(), into.end(), [&](const T& y) { return same_object(y, x.meta); });
  if (it != into.end()) *it = x;
  else into.push_back(x);
}

template <class T, class Pred>
bool remove_if_any(std::vector<T>& v, Pred pred) {
  auto it = std::remove_if(v.begin(), v.end(), pred);
  bool any = it != v.end();
  v.erase(it, v.end());
  return any;
}

bool remove_object(Lab& lab, const ManifestObject& o) {
  auto meta_is = [&](const auto& x) { return x.meta.ns == o.ns && x.meta.name == o.name; };
  auto spec_is = [&](const auto& x) { return x.ns == o.ns && x.name == o.name; };
  L7Objects& l7 = lab.l7;
  const std::string& k = o.kind;
  if (k == "Pod") return remove_if_any(lab.pods, spec_is);
  if (k == "Deployment") return remove_if_any(lab.deployments, spec_is);
  if (k == "Service") return remove_if_any(lab.services, spec_is);
  if (k == "Secret") return remove_if_any(l7.secrets, meta_is);
  if (k == "IngressClass") return remove_if_any(l7.ingress_classes, meta_is);
  if (k == "Ingress") return remove_if_any(l7.ingresses, meta_is);
  if (k == "GatewayClass") return remove_if_any(l7.gateway_classes, meta_is);
  if (k == "Gateway") return remove_if_any(l7.gateways, meta_is);
  if (k == "HTTPRoute") return remove_if_any(l7.http_routes, meta_is);
  if (k == "TCPRoute" || k == "UDPRoute") {
    ListenerProtocol p = k == "UDPRoute" ? ListenerProtocol::kUDP : ListenerProtocol::kTCP;
    return remove_if_any(l7.l4_routes, [&](const L4RouteSpec& x) { return x.protocol == p && meta_is(x); });
  }
  if (k == "ReferenceGrant") return remove_if_any(l7.reference_grants, meta_is);
  return false;
}

// Deleting a Namespace deletes what is in it, as in Kubernetes.
bool remove_namespace(Lab& lab, const std::string& ns) {
  if (!remove_if_any(lab.l7.namespaces, [&](const std::string& n) { return n == ns; })) return false;
  auto spec_in = [&](const auto& x) { return x.ns == ns; };
  auto meta_in = [&](const auto& x) { return x.meta.ns == ns; };
  remove_if_any(lab.pods, spec_in);
  remove_if_any(lab.deployments, spec_in);
  remove_if_any(lab.services, spec_in);
  L7Objects& l7 = lab.l7;
  remove_if_any(l7.secrets, meta_in);
  remove_if_any(l7.ingresses, meta_in);
  remove_if_any(l7.gateways, meta_in);
  remove_if_any(l7.http_routes, meta_in);
  remove_if_any(l7.l4_routes, meta_in);
  remove_if_any(l7.reference_grants, meta_in);
  return true;
}

std::string namespace_yaml(const std::string& name) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << "v1" << YAML::Key << "kind" << YAML::Value << "Namespace";
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
  emit_string(out, name);
  out << YAML::EndMap << YAML::EndMap;
  return finish(out);
}

}  // namespace

Result<Manifest> parse_manifests(std::string_view text, std::string source_name) {
  Manifest m;
  Session s{m, {}};
  KN_TRY(parse_into(s, text, source_name));
  return m;
}

Result<Manifest> load_manifests(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::string ext = it->path().extension().string();
      if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    if (ec) {
      Error e = input_error(SourceLocation{path, 0, 0}, "cannot list the manifest directory");
      e.err = ec.value();
      return fail(std::move(e));
    }
    if (files.empty())
      return fail(input_error(SourceLocation{path, 0, 0}, "the directory has no *.yaml or *.yml file", "give a manifest file or a directory of them"));
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  Manifest m;
  Session s{m, {}};
  for (auto& f : files) {
    std::string text = KN_TRY(read_file(f));
    KN_TRY(parse_into(s, text, f));
  }
  return m;
}

Status apply_manifest(Lab& lab, const Manifest& m) {
  Lab next = lab;
  std::vector<std::string_view> node_names;
  for (auto& n : next.nodes) node_names.push_back(n.name);
  auto has_node = [&](const std::string& n) { return std::find(node_names.begin(), node_names.end(), n) != node_names.end(); };
  for (const PodSpec& given : m.pods) {
    PodSpec p = given;
    // A pod of namespace default is the network namespace kn-<lab>.<pod>: it shares the names
    // of nodes and the lab's own (wire, external, ...).
    if (p.ns == "default" && (has_node(p.name) || is_reserved_name(p.name)))
      return fail(input_error(p.where, fmt::format("Pod {}/{}: the name '{}' is used twice (pods of namespace default and nodes share one set of names: each is a network namespace)",
                                                   p.ns, p.name, p.name),
                              "rename the pod (reserved too: wire, external, router, cloud-lb, host)"));
    auto existing = std::find_if(next.pods.begin(), next.pods.end(), [&](const PodSpec& x) { return x.ns == p.ns && x.name == p.name; });
    if (p.node.empty() && existing != next.pods.end() && has_node(existing->node)) {
      p.node = existing->node;  // replaced in place: it stays where it is
    } else if (p.node.empty()) {
      if (next.nodes.empty())
        return fail(input_error(p.where, fmt::format("Pod {}/{}: the lab has no node to run it on", p.ns, p.name), "add a [[node]] to the lab"));
      std::size_t best = 0, best_count = SIZE_MAX;
      for (std::size_t i = 0; i < next.nodes.size(); ++i) {
        auto count = static_cast<std::size_t>(std::count_if(next.pods.begin(), next.pods.end(), [&](const PodSpec& x) {
          return x.node == next.nodes[i].name && !(x.ns == p.ns && x.name == p.name);
        }));
        if (count < best_count) best = i, best_count = count;
      }
      p.node = next.nodes[best].name;
    } else if (!has_node(p.node)) {
      return fail(input_error(p.where, fmt::format("Pod {}/{}: spec.nodeName \"{}\" is not a node of the lab", p.ns, p.name, p.node),
                              fmt::format("nodes of this lab: {} (or leave nodeName out: the pod goes to the node with the fewest pods)",
                                          join(node_names))));
    }
    if (existing != next.pods.end()) *existing = std::move(p);
    else next.pods.push_back(std::move(p));
  }
  for (const DeploymentSpec& d : m.deployments) {
    auto it = std::find_if(next.deployments.begin(), next.deployments.end(), [&](const DeploymentSpec& x) { return x.ns == d.ns && x.name == d.name; });
    if (it != next.deployments.end()) *it = d;
    else next.deployments.push_back(d);
  }
  for (const ServiceSpec& sv : m.services) {
    auto it = std::find_if(next.services.begin(), next.services.end(), [&](const ServiceSpec& x) { return x.ns == sv.ns && x.name == sv.name; });
    if (it != next.services.end()) *it = sv;
    else next.services.push_back(sv);
  }
  L7Objects& l7 = next.l7;
  for (auto& ns : m.l7.namespaces)
    if (std::find(l7.namespaces.begin(), l7.namespaces.end(), ns) == l7.namespaces.end()) l7.namespaces.push_back(ns);
  for (auto& x : m.l7.secrets) put(l7.secrets, x);
  for (auto& x : m.l7.ingress_classes) put(l7.ingress_classes, x);
  for (auto& x : m.l7.ingresses) put(l7.ingresses, x);
  for (auto& x : m.l7.gateway_classes) put(l7.gateway_classes, x);
  for (auto& x : m.l7.gateways) put(l7.gateways, x);
  for (auto& x : m.l7.http_routes) put(l7.http_routes, x);
  for (auto& x : m.l7.l4_routes) {
    auto it = std::find_if(l7.l4_routes.begin(), l7.l4_routes.end(),
                           [&](const L4RouteSpec& y) { return y.protocol == x.protocol && same_object(y, x.meta); });
    if (it != l7.l4_routes.end()) *it = x;
    else l7.l4_routes.push_back(x);
  }
  for (auto& x : m.l7.reference_grants) put(l7.reference_grants, x);
  lab = std::move(next);
  return {};
}

void delete_manifest(Lab& lab, const Manifest& m, std::vector<std::string>& missing) {
  // Objects first, then namespaces: deleting a namespace deletes what is in it, which must not
  // make the objects named after it in the same manifest look missing.
  for (const ManifestObject& o : m.objects)
    if (o.kind != "Namespace" && !remove_object(lab, o)) missing.push_back(o.display());
  for (const ManifestObject& o : m.objects)
    if (o.kind == "Namespace" && !remove_namespace(lab, o.name)) missing.push_back(o.display());
}

std::string l7_yaml(const L7Objects& l7) {
  std::string out;
  auto add = [&](const std::string& doc) {
    if (doc.empty()) return;
    if (!out.empty()) out += "---\n";
    out += doc;
    if (out.back() != '\n') out += '\n';
  };
  for (auto& ns : l7.namespaces) add(namespace_yaml(ns));
  for (auto& x : l7.secrets) add(x.meta.yaml);
  for (auto& x : l7.ingress_classes) add(x.meta.yaml);
  for (auto& x : l7.ingresses) add(x.meta.yaml);
  for (auto& x : l7.gateway_classes) add(x.meta.yaml);
  for (auto& x : l7.gateways) add(x.meta.yaml);
  for (auto& x : l7.http_routes) add(x.meta.yaml);
  for (auto& x : l7.l4_routes) add(x.meta.yaml);
  for (auto& x : l7.reference_grants) add(x.meta.yaml);
  return out;
}

Result<std::string> tls_secret_yaml(const std::string& name, const std::string& ns, const std::string& cert_pem,
                                    const std::string& key_pem) {
  SourceLocation where{"kn-lab create secret tls", 0, 0};
  if (auto problem = check_label(name, kMaxObjectNameLength))
    return fail(input_error(where, fmt::format("Secret name \"{}\" {}", name, *problem), kNameHint));
  if (auto problem = check_label(ns, kMaxObjectNameLength))
    return fail(input_error(where, fmt::format("namespace \"{}\" {}", ns, *problem), kNameHint));
  if (auto problem = check_pem_certificate(cert_pem))
    return fail(input_error(where, fmt::format("the certificate is {}", *problem), "give the certificate file in PEM (openssl x509 -outform PEM)"));
  if (auto problem = check_pem_private_key(key_pem))
    return fail(input_error(where, fmt::format("the key is {}", *problem), "give the private key file in PEM, unencrypted"));
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1" << YAML::Key << "kind" << YAML::Value << "Secret";
  out << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  emit_string(out, name);
  out << YAML::Key << "namespace" << YAML::Value;
  emit_string(out, ns);
  out << YAML::EndMap;
  out << YAML::Key << "type" << YAML::Value << "kubernetes.io/tls";
  out << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "tls.crt" << YAML::Value;
  emit_string(out, base64_encode(cert_pem));
  out << YAML::Key << "tls.key" << YAML::Value;
  emit_string(out, base64_encode(key_pem));
  out << YAML::EndMap << YAML::EndMap;
  return finish(out);
}

}  // namespace knlab
