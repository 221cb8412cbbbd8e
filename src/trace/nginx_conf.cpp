#include "trace/nginx_conf.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <utility>

namespace knlab::trace::ngx {

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Inside quotes nginx turns \" \' \\ \t \r \n into one character and keeps other backslashes.
char unescaped(char c) {
  switch (c) {
    case 't': return '\t';
    case 'r': return '\r';
    case 'n': return '\n';
    default: return c;
  }
}

struct Comment {
  int line = 0;
  std::string text;
};

// The reader: one pass over the text, blocks by recursion.
class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}
  Status block(std::vector<Directive>& out, bool top);

 private:
  // An error at byte `at` (its line and column), by default where the reader is.
  Error error(std::string detail, std::size_t at = std::string_view::npos) const {
    at = std::min(at, pos_);
    std::size_t line_start = s_.rfind('\n', at == 0 ? 0 : at - 1);
    line_start = line_start == std::string_view::npos || at == 0 ? 0 : line_start + 1;
    auto line = static_cast<unsigned>(std::count(s_.begin(), s_.begin() + static_cast<long>(at), '\n'));
    return input_error(
        SourceLocation{"nginx.conf", line + 1, static_cast<unsigned>(at - line_start) + 1},
        std::move(detail));
  }
  bool eof() const { return pos_ >= s_.size(); }
  void skip_space();
  void comment(bool in_directive);
  Result<Token> token();
  Token word();
  std::string comment_above(int line);
  void done(std::vector<Directive>& out, Directive d);

  std::string_view s_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::vector<Comment> pending_;         // comment lines not yet given to a directive
  std::vector<Directive>* last_ = nullptr;  // the list holding the last finished directive
  int last_line_ = 0;                    // the line it ended on
};

void Reader::skip_space() {
  while (!eof() && space(s_[pos_])) {
    if (s_[pos_] == '\n') ++line_;
    ++pos_;
  }
}

// A `#` comment to the end of the line: the last directive's when it ends on this line, else
// one above the next directive.
void Reader::comment(bool in_directive) {
  std::size_t end = s_.find('\n', pos_);
  if (end == std::string_view::npos) end = s_.size();
  std::string_view body = s_.substr(pos_ + 1, end - pos_ - 1);
  while (!body.empty() && (body.front() == ' ' || body.front() == '\t')) body.remove_prefix(1);
  while (!body.empty() && space(body.back())) body.remove_suffix(1);
  pos_ = end;
  if (!in_directive && last_ != nullptr && last_line_ == line_ && last_->back().trailing.empty())
    last_->back().trailing = std::string(body);
  else
    pending_.push_back(Comment{line_, std::string(body)});
}

// The comment lines that end right above `line`, joined by "; ".
std::string Reader::comment_above(int line) {
  std::size_t first = pending_.size();
  int want = line - 1;
  while (first > 0 && pending_[first - 1].line == want) {
    --first;
    --want;
  }
  std::string out;
  for (std::size_t i = first; i < pending_.size(); ++i) {
    if (pending_[i].text.empty()) continue;
    if (!out.empty()) out += "; ";
    out += pending_[i].text;
  }
  pending_.clear();
  return out;
}

// An unquoted word: up to a space, `;`, `{` or `}` (a `{` right after `$` is a variable's).
Token Reader::word() {
  Token t;
  std::size_t start = pos_;
  while (!eof()) {
    char c = s_[pos_];
    if (space(c) || c == ';' || c == '}') break;
    if (c == '{') {
      if (pos_ == start || s_[pos_ - 1] != '$') break;
      std::size_t close = s_.find('}', pos_);
      if (close == std::string_view::npos) break;
      pos_ = close + 1;
      continue;
    }
    ++pos_;
  }
  t.raw = std::string(s_.substr(start, pos_ - start));
  t.value = t.raw;
  return t;
}

Result<Token> Reader::token() {
  char q = s_[pos_];
  if (q != '"' && q != '\'') return word();
  Token t;
  t.quoted = true;
  std::size_t start = pos_++;
  for (;;) {
    if (eof()) return fail(error("a quoted string is not closed", start));
    char c = s_[pos_++];
    if (c == q) break;
    if (c == '\n') ++line_;
    if (c == '\\' && !eof()) {
      char n = s_[pos_];
      if (n == '"' || n == '\'' || n == '\\' || n == 't' || n == 'r' || n == 'n') {
        t.value += unescaped(n);
        ++pos_;
        continue;
      }
    }
    t.value += c;
  }
  t.raw = std::string(s_.substr(start, pos_ - start));
  return t;
}

void Reader::done(std::vector<Directive>& out, Directive d) {
  out.push_back(std::move(d));
  last_ = &out;
  last_line_ = line_;
}

Status Reader::block(std::vector<Directive>& out, bool top) {
  Directive cur;
  for (;;) {
    skip_space();
    const bool in = !cur.args.empty();
    if (eof()) {
      if (in) return fail(error("unexpected end of file, expecting \";\" or \"}\""));
      if (!top) return fail(error("unexpected end of file, expecting \"}\""));
      return {};
    }
    char c = s_[pos_];
    if (c == '#' && (pos_ == 0 || space(s_[pos_ - 1]) || s_[pos_ - 1] == ';' || s_[pos_ - 1] == '{' ||
                     s_[pos_ - 1] == '}')) {
      comment(in);
      continue;
    }
    if (c == ';' || c == '{') {
      if (!in) return fail(error(fmt::format("unexpected \"{}\"", c)));
      ++pos_;
      if (c == '{') {
        cur.has_block = true;
        pending_.clear();
        last_ = nullptr;
        KN_TRY(block(cur.block, false));
      }
      done(out, std::exchange(cur, Directive{}));
      pending_.clear();
      continue;
    }
    if (c == '}') {
      if (in || top) return fail(error("unexpected \"}\""));
      ++pos_;
      return {};
    }
    if (!in) {
      cur.line = line_;
      cur.comment = comment_above(line_);
    }
    cur.args.push_back(KN_TRY(token()));
  }
}

}  // namespace

const std::string& Directive::arg(std::size_t i) const {
  static const std::string kNone;
  return i < args.size() ? args[i].value : kNone;
}

std::string Directive::text(std::size_t from) const {
  std::string out;
  for (std::size_t i = from; i < args.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += args[i].raw;
  }
  return out;
}

Result<std::vector<Directive>> parse_conf(std::string_view text) {
  std::vector<Directive> top;
  Reader r(text);
  KN_TRY(r.block(top, true));
  return top;
}

std::vector<const Directive*> named(const std::vector<Directive>& block, std::string_view name) {
  std::vector<const Directive*> out;
  for (const Directive& d : block)
    if (d.name() == name) out.push_back(&d);
  return out;
}

const Directive* first_named(const std::vector<Directive>& block, std::string_view name) {
  for (const Directive& d : block)
    if (d.name() == name) return &d;
  return nullptr;
}

}  // namespace knlab::trace::ngx
