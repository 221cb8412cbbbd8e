#include "lab/images.hpp"

#include "lab/toml_reader.hpp"

#include <fmt/core.h>

#include <toml++/toml.h>

namespace knlab {

std::string image_repository(std::string_view ref) {
  std::string r(ref);
  if (auto at = r.find('@'); at != std::string::npos) r.erase(at);
  // A tag is a ':' after the last '/': "host:5000/x" keeps its port.
  auto slash = r.rfind('/');
  if (auto colon = r.rfind(':'); colon != std::string::npos && (slash == std::string::npos || colon > slash)) r.erase(colon);
  for (std::string_view prefix : {"docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"})
    if (r.starts_with(prefix)) {
      r.erase(0, prefix.size());
      break;
    }
  return r;
}

const ImageEntry* ImageCatalogue::find(std::string_view reference) const {
  std::string repo = image_repository(reference);
  for (const ImageEntry& e : images)
    if (e.name == repo) return &e;
  return nullptr;
}

std::string ImageCatalogue::names() const {
  std::string out;
  for (auto& e : images) out += (out.empty() ? "" : ", ") + e.name;
  return out;
}

Result<ImageCatalogue> parse_images(std::string_view text, std::string source_name) {
  toml::table root = KN_TRY(parse_toml(text, source_name));
  ImageCatalogue c;
  const toml::array* arr = root["image"].as_array();
  if (!arr) return fail(input_error(SourceLocation{source_name, 1, 1}, "no [[image]] entries"));
  for (const toml::node& n : *arr) {
    const toml::table* t = n.as_table();
    SourceLocation at{source_name, n.source().begin.line, n.source().begin.column};
    if (!t) return fail(input_error(at, "[[image]] must be a table"));
    ImageEntry e;
    e.name = (*t)["name"].value_or(std::string());
    std::string role = (*t)["role"].value_or(std::string());
    std::int64_t port = (*t)["port"].value_or(std::int64_t{0});
    if (e.name.empty()) return fail(input_error(at, "[[image]] has no name"));
    if (role != "server" && role != "client")
      return fail(input_error(at, fmt::format("image {}: role must be \"server\" or \"client\"", e.name)));
    e.server = role == "server";
    if (e.server && (port < 1 || port > 65535)) return fail(input_error(at, fmt::format("image {}: a server needs a port (1-65535)", e.name)));
    e.port = static_cast<std::uint16_t>(port);
    std::int64_t udp = (*t)["udp_port"].value_or(std::int64_t{0});
    if (udp < 0 || udp > 65535 || (udp && !e.server))
      return fail(input_error(at, fmt::format("image {}: udp_port must be a port (1-65535) of a server", e.name)));
    e.udp_port = static_cast<std::uint16_t>(udp);
    c.images.push_back(std::move(e));
  }
  return c;
}

}  // namespace knlab
