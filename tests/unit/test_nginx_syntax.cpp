// nginx syntax on its own: tokens, quoting (nginx's backslash rules), regex escaping, variable
// names, and the indented configuration builder.
#include <doctest/doctest.h>

#include "plan/nginx_syntax.hpp"

using namespace knlab::nginx;

TEST_CASE("tok: plain tokens as they are, anything else quoted") {
  CHECK(tok("/api/v1") == "/api/v1");
  CHECK(tok("$host") == "$host");
  CHECK(tok("a.b:80") == "a.b:80");
  CHECK(tok("") == "\"\"");
  CHECK(tok("two words") == "\"two words\"");
  CHECK(tok("a;b") == "\"a;b\"");
  CHECK(tok("{x}") == "\"{x}\"");
  CHECK(plain_token("_-./:@*=,+%~&?!$"));
  CHECK_FALSE(plain_token("a\"b"));
}

TEST_CASE("quote: a backslash is doubled only where nginx would read it as an escape") {
  CHECK(quote("plain") == "\"plain\"");
  CHECK(quote("say \"hi\"") == "\"say \\\"hi\\\"\"");
  // \. and \d stay as they are (nginx keeps them), so regexes stay readable.
  CHECK(quote("^/a\\.b\\d$") == "\"^/a\\.b\\d$\"");
  // Before a quote, a backslash, t, r, n, or at the end: doubled.
  CHECK(quote("a\\\"") == "\"a\\\\\\\"\"");
  CHECK(quote("a\\\\") == "\"a\\\\\\\\\"");
  CHECK(quote("\\t\\r\\n") == "\"\\\\t\\\\r\\\\n\"");
  CHECK(quote("end\\") == "\"end\\\\\"");
  CHECK(quote("it\\'s") == "\"it\\\\'s\"");
}

TEST_CASE("regex_escape: a literal string as a PCRE") {
  CHECK(regex_escape("/api") == "/api");
  CHECK(regex_escape("a.b") == "a\\.b");
  CHECK(regex_escape("^$.|?*+()[]{}\\") == "\\^\\$\\.\\|\\?\\*\\+\\(\\)\\[\\]\\{\\}\\\\");
  CHECK(quote("^" + regex_escape("/v1.0") + "$") == "\"^/v1\\.0$\"");
}

TEST_CASE("variable names: ident, header_var, braced") {
  CHECK(ident("My-Route.v2") == "my_route_v2");
  CHECK(header_var("X-Version") == "$http_x_version");
  CHECK(braced("$knlab_path_1") == "${knlab_path_1}");
  CHECK(braced("1") == "1");
}

TEST_CASE("Conf: indentation, comments, blank lines and appended blocks") {
  Conf inner;
  inner.open("upstream a");
  inner.line("server 10.0.0.1:80;");
  inner.close();

  Conf c;
  c.blank();  // nothing before: no empty line
  c.comment("first\n\nthird");
  c.open("http");
  c.blank();  // right after "{": no empty line
  c.line("a;");
  c.blank();
  c.blank();  // one empty line at most
  c.append(inner);
  c.close();
  CHECK(c.str() ==
        "# first\n"
        "#\n"
        "# third\n"
        "http {\n"
        "  a;\n"
        "\n"
        "  upstream a {\n"
        "    server 10.0.0.1:80;\n"
        "  }\n"
        "}\n");
  CHECK_FALSE(c.empty());
  CHECK(Conf().empty());
}

TEST_CASE("VarNames: each name once") {
  VarNames names;
  CHECK(names.unique("$knlab_a") == "$knlab_a");
  CHECK(names.unique("$knlab_a") == "$knlab_a_2");
  CHECK(names.unique("$knlab_a") == "$knlab_a_3");
  CHECK(names.unique("$knlab_b") == "$knlab_b");
}
