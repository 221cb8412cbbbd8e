#include "core/error.hpp"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>

namespace knlab {

std::string SourceLocation::str() const {
  if (line == 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

std::string Error::format() const {
  std::string out = "error: ";
  if (where.known() || !where.file.empty()) out += where.str() + ": ";
  out += op;
  if (!object.empty()) out += " " + object;
  if (!netns.empty()) out += fmt::format(" (in netns {})", netns);
  if (err != 0 || !detail.empty()) out += ": ";
  if (err != 0) out += std::strerror(err);
  if (err != 0 && !detail.empty()) out += ": ";
  out += detail;
  if (!hint.empty()) out += "\n  hint: " + hint;
  return out;
}

Error& Error::with_hint(std::string h) & {
  if (hint.empty()) hint = std::move(h);
  return *this;
}

Error&& Error::with_hint(std::string h) && {
  if (hint.empty()) hint = std::move(h);
  return std::move(*this);
}

Error sys_error(std::string op, std::string object, int err, std::string netns) {
  Error e;
  e.kind = ErrorKind::kKernel;
  e.op = std::move(op);
  e.object = std::move(object);
  e.netns = std::move(netns);
  e.err = err;
  switch (err) {
    case EPERM:
    case EACCES:
      e.kind = ErrorKind::kPermission;
      e.hint = "run as root: kn-lab needs CAP_SYS_ADMIN and CAP_NET_ADMIN (try sudo)";
      break;
    case EEXIST:
      e.hint = "an object of that name already exists: a lab may be left over, try `sudo kn-lab down --all`";
      break;
    case EOPNOTSUPP:
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT:
      e.kind = ErrorKind::kMissing;
      e.hint = "the kernel lacks a feature this needs (a module such as veth, bridge or vxlan?)";
      break;
    default:
      break;
  }
  return e;
}

Error input_error(SourceLocation where, std::string detail, std::string hint) {
  Error e;
  e.kind = ErrorKind::kInput;
  e.op = "invalid input";
  e.where = std::move(where);
  e.detail = std::move(detail);
  e.hint = std::move(hint);
  return e;
}

Error state_error(std::string op, std::string detail, std::string hint) {
  Error e;
  e.kind = ErrorKind::kState;
  e.op = std::move(op);
  e.detail = std::move(detail);
  e.hint = std::move(hint);
  return e;
}

}  // namespace knlab
