#include "net/sysctl.hpp"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace knlab {

namespace {
std::string path_of(const std::string& key) {
  std::string p = key;
  std::replace(p.begin(), p.end(), '.', '/');
  return "/proc/sys/" + p;
}
}  // namespace

Status sysctl_set(const NetnsRef& ns, const std::string& key, const std::string& value) {
  if (!key.starts_with("net.") || key.find("..") != std::string::npos)
    return fail(state_error("set sysctl", fmt::format("{} is not a per-namespace net.* sysctl", key)));
  std::string path = path_of(key);
  auto inside = KN_TRY(ScopedNetns::enter(ns));
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    Error e = sys_error("set sysctl", key, errno, ns.name());
    if (errno == ENOENT && key.starts_with("net.bridge."))
      e.hint = "the br_netfilter module is not loaded: `modprobe br_netfilter`";
    return fail(std::move(e));
  }
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return fail(sys_error("set sysctl", fmt::format("{}={}", key, value), errno, ns.name()));
  return {};
}

std::optional<std::string> sysctl_get(const std::string& key) {
  Fd fd(::open(path_of(key).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return std::nullopt;
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace knlab
