#include "trace/l7.hpp"

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace knlab::trace {

namespace {

std::string log_path(const DataPlanePlan& dp) { return dp.dir + "/logs/access.log"; }

}  // namespace

Result<L7Stage> l7_stage(const DataPlanePlan& dp, const HttpTarget& http, std::uint16_t port) {
  L7Stage out;
  out.data_plane = fmt::format("{}/{}", dp.ns, dp.name);
  out.conf = dp.dir + "/nginx.conf";
  std::ifstream in(out.conf);
  if (!in) return fail(sys_error("read", out.conf, errno));
  std::stringstream text;
  text << in.rdbuf();
  out.request.https = http.https;
  out.request.port = port;
  out.request.host = http.host;
  out.request.path = http.path;
  out.request.query = http.query;
  out.request.headers = http.headers;
  out.match = KN_TRY(nginx_match(text.str(), out.request));
  for (const L7Upstream& u : out.match.upstreams)
    if (!u.servers.empty() && !out.endpoint) out.endpoint = u.servers.front();
  return out;
}

std::uintmax_t access_log_end(const DataPlanePlan& dp) {
  std::error_code ec;
  auto size = std::filesystem::file_size(log_path(dp), ec);
  return ec ? 0 : size;
}

std::optional<std::pair<std::string, std::string>> logged_upstream(const DataPlanePlan& dp, std::uintmax_t from,
                                                                   const HttpTarget& http) {
  std::ifstream in(log_path(dp));
  if (!in) return std::nullopt;
  in.seekg(static_cast<std::streamoff>(from));
  std::string line;
  std::optional<std::pair<std::string, std::string>> found;
  std::string target = http.path + (http.query.empty() ? "" : "?" + http.query);
  while (std::getline(in, line)) {
    if (line.find(fmt::format("\"GET {} ", target)) == std::string::npos) continue;
    auto at = line.find(" upstream=");
    if (at == std::string::npos) continue;
    std::string up = line.substr(at + 10, line.find_first_of(" ,", at + 10) - at - 10);
    found = std::pair{line, up};
  }
  return found;
}

}  // namespace knlab::trace
