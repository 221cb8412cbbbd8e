#include "net/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace knlab {

namespace {

std::string netns_path(const std::string& name) { return fmt::format("{}/{}", kNetnsDir, name); }

bool is_mount_point(const char* path) {
  struct stat self{}, parent{};
  if (::stat(path, &self) != 0) return false;
  std::string up = fmt::format("{}/..", path);
  if (::stat(up.c_str(), &parent) != 0) return false;
  if (self.st_dev != parent.st_dev) return true;
  // A bind mount of a directory onto itself keeps st_dev: consult mountinfo.
  FILE* f = std::fopen("/proc/self/mountinfo", "r");
  if (!f) return false;
  char line[4096];
  bool found = false;
  while (std::fgets(line, sizeof line, f)) {
    // fields: id parent major:minor root mountpoint ...
    char mp[4096];
    if (std::sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && std::string_view(mp) == path) {
      found = true;
      break;
    }
  }
  std::fclose(f);
  return found;
}

}  // namespace

Result<NetnsRef> NetnsRef::open(const std::string& name) {
  std::string path = netns_path(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Error e = sys_error("open network namespace", name, errno);
    if (errno == ENOENT) e.hint = "the namespace does not exist: is the lab up? (`kn-lab status`)";
    return fail(std::move(e));
  }
  return NetnsRef(name, Fd(fd));
}

Result<NetnsRef> NetnsRef::current() {
  int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(sys_error("open current network namespace", "/proc/thread-self/ns/net", errno));
  return NetnsRef("", Fd(fd));
}

Result<ScopedNetns> ScopedNetns::enter(const NetnsRef& target) {
  int saved = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) return fail(sys_error("open current network namespace", "", errno));
  Fd saved_fd(saved);
  if (::setns(target.fd(), CLONE_NEWNET) != 0)
    return fail(sys_error("enter network namespace", target.name(), errno));
  return ScopedNetns(std::move(saved_fd));
}

ScopedNetns::~ScopedNetns() {
  if (!saved_.valid()) return;  // moved from
  if (::setns(saved_.get(), CLONE_NEWNET) != 0) {
    std::perror("kn-lab: cannot return to the original network namespace");
    std::abort();
  }
}

Result<bool> netns_dir_is_mount() {
  const std::string dir(kNetnsDir);
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return fail(sys_error("stat", dir, errno));
  return is_mount_point(dir.c_str());
}

Status netns_dir_make_shared() {
  const std::string dir(kNetnsDir);
  if (!is_mount_point(dir.c_str()) && ::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0)
    return fail(sys_error("bind-mount", dir, errno));
  if (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0)
    return fail(sys_error("make shared mount", dir, errno));
  return {};
}

bool netns_dir_unmount() {
  return ::umount2(std::string(kNetnsDir).c_str(), MNT_DETACH) == 0 || errno == EINVAL;
}

Status netns_add(const std::string& name) {
  std::string path = netns_path(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return fail(sys_error("create network namespace", name, errno));
  ::close(fd);
  // unshare() moves this thread into the new namespace; the ScopedNetns-style guard below
  // brings it back on every path, so the bind mount is the only thing that outlives this call.
  auto home = KN_TRY(NetnsRef::current());
  if (::unshare(CLONE_NEWNET) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return fail(sys_error("create network namespace", name, err));
  }
  int mount_err = 0;
  if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
    mount_err = errno;
  if (::setns(home.fd(), CLONE_NEWNET) != 0) {
    std::perror("kn-lab: cannot return to the original network namespace");
    std::abort();
  }
  if (mount_err != 0) {
    ::unlink(path.c_str());
    return fail(sys_error("bind-mount network namespace", path, mount_err));
  }
  return {};
}

Status netns_delete(const std::string& name) {
  std::string path = netns_path(name);
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return fail(sys_error("unmount network namespace", name, errno));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(sys_error("remove network namespace", path, errno));
  return {};
}

std::vector<std::string> netns_list(const std::string& prefix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(std::string(kNetnsDir).c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.starts_with(prefix) && n != "." && n != "..") out.emplace_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<NsId> netns_id(const std::string& name) {
  struct stat st{};
  std::string path = netns_path(name);
  if (::stat(path.c_str(), &st) != 0) return fail(sys_error("stat network namespace", name, errno));
  return NsId{static_cast<unsigned long>(st.st_dev), static_cast<unsigned long>(st.st_ino)};
}

}  // namespace knlab
