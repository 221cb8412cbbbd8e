#include "runtime/host_dirs.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "net/fd.hpp"
#include "runtime/files.hpp"
#include "net/netns.hpp"
#include "plan/naming.hpp"

namespace knlab {

namespace {


// "made" (the directory) or "mounted" (/run/netns's self bind mount).
std::string marker_for(std::string_view what, const std::string& dir) {
  std::string m = dir;
  std::replace(m.begin(), m.end(), '/', '_');
  return fmt::format("{}/.{}{}", kStateRoot, what, m);
}

Status mark(std::string_view what, const std::string& dir) {
  if (::mkdir(std::string(kStateRoot).c_str(), 0700) != 0 && errno != EEXIST)
    return fail(sys_error("create directory", std::string(kStateRoot), errno));
  std::string path = marker_for(what, dir);
  Fd marker(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!marker.valid()) return fail(sys_error("create marker", path, errno));
  return {};
}

Status make_dir(const std::string& dir) {
  if (path_exists(dir)) return {};
  // The marker first: a crash between the two leaves a marker without a directory (harmless),
  // never a directory that no later `down` knows kn-lab made.
  KN_TRY(mark("made", dir));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return fail(sys_error("create directory", dir, errno));
  return {};
}

}  // namespace

Status host_dir_prepare(const std::string& dir) {
  KN_TRY(make_dir(dir));
  if (dir != kNetnsDir) return {};
  if (!KN_TRY(netns_dir_is_mount())) KN_TRY(mark("mounted", dir));
  return netns_dir_make_shared();
}

void host_dirs_release_if_unused() {
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator(std::string(kStateRoot), ec))
    if (!entry.path().filename().string().starts_with('.')) return;  // a lab (or its lock) is left
  for (const char* dir : kHostDirsManaged) {
    if (dir == kNetnsDir && !netns_list("").empty()) continue;  // somebody else's namespaces live there
    std::string mounted = marker_for("mounted", dir);
    if (path_exists(mounted) && netns_dir_unmount()) ::unlink(mounted.c_str());
    std::string made = marker_for("made", dir);
    if (path_exists(made) && (::rmdir(dir) == 0 || errno == ENOENT)) ::unlink(made.c_str());
  }
  // Only kn-lab's own dot-files can remain; the directory goes once they are gone.
  ::rmdir(std::string(kStateRoot).c_str());
}

}  // namespace knlab
