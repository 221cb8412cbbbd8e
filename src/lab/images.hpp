// The image catalogue (data/images.toml): image names -> behaviours. Parsing is pure; finding
// the file is the runtime's job (runtime/lifecycle find_data_file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace knlab {

struct ImageEntry {
  std::string name;        // repository name: "ghost", "stefanprodan/podinfo"
  bool server = false;     // server: kn-netexec on `port`; client: sleep
  std::uint16_t port = 0;
  std::uint16_t udp_port = 0;  // server: also answers UDP on this port (0: no UDP)
};

struct ImageCatalogue {
  std::vector<ImageEntry> images;
  // The entry for an image reference ("ghost:4", "docker.io/library/nginx:1.25"), if any.
  const ImageEntry* find(std::string_view reference) const;
  std::string names() const;  // "ghost, stefanprodan/podinfo, ..." for error hints
};

Result<ImageCatalogue> parse_images(std::string_view text, std::string source_name);

// The repository part of an image reference, without registry prefix, tag or digest.
std::string image_repository(std::string_view reference);

}  // namespace knlab
