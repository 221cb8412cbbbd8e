#include "lab/yaml_doc.hpp"

#include <yaml-cpp/eventhandler.h>

#include <set>
#include <sstream>

namespace knlab {

namespace {

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

}  // namespace

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

// Checks a whole document before anything reads it: size and depth (see kMaxYamlValues), keys
// (strings, each once, as Kubernetes' strict decoding wants) and tags (plain data only).
// `label` names the document, `path` the value ("spec.ports[0]").
Status check_tree(const YAML::Node& n, int depth, std::size_t& count, const std::string& file, const std::string& label,
                  const std::string& path) {
  auto error = [&](const YAML::Mark& m, std::string what, std::string hint) {
    return fail(input_error(at(file, m), fmt::format("{}: {}", label, what), std::move(hint)));
  };
  std::string_view here = path.empty() ? std::string_view("the document") : std::string_view(path);
  if (++count > kMaxYamlValues)
    return error(n.Mark(), fmt::format("the document has more than {} values (with its aliases expanded), at {}", kMaxYamlValues, here),
                 "a Kubernetes object is far smaller: look for an alias (*name) repeated many times");
  if (depth > kMaxYamlDepth)
    return error(n.Mark(), fmt::format("{} is nested more than {} levels deep", here, kMaxYamlDepth),
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

namespace {

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

}  // namespace

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

}  // namespace knlab
