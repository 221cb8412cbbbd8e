// Network namespaces: named (bind-mounted under /run/netns, as `ip netns add` does, so that
// learners can use `ip netns exec` on them) and entered with setns().
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "net/fd.hpp"

namespace knlab {

// Where named namespaces live (iproute2's convention).
inline constexpr std::string_view kNetnsDir = "/run/netns";

// An open handle on a named network namespace (an fd on /run/netns/<name>). Move-only.
class NetnsRef {
 public:
  static Result<NetnsRef> open(const std::string& name);
  static Result<NetnsRef> current();  // the calling thread's namespace

  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }

 private:
  NetnsRef(std::string name, Fd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
  std::string name_;
  Fd fd_;
};

// Switches the calling thread into a namespace for the lifetime of the object, and back when it
// ends. Returning to the original namespace cannot fail in practice; if it ever does the process
// aborts, because continuing in the wrong namespace could change the host.
class ScopedNetns {
 public:
  static Result<ScopedNetns> enter(const NetnsRef& target);
  ScopedNetns(ScopedNetns&& o) noexcept : saved_(std::move(o.saved_)) {}
  ScopedNetns& operator=(ScopedNetns&&) = delete;
  ScopedNetns(const ScopedNetns&) = delete;
  ~ScopedNetns();

 private:
  explicit ScopedNetns(Fd saved) : saved_(std::move(saved)) {}
  Fd saved_;
};

// /run/netns as iproute2 leaves it before its first namespace: a shared bind mount of itself,
// so that a later delete propagates into mount namespaces that copied it (containers, `ip netns
// exec` shells). The directory must exist; when to make and undo it is the runtime's policy
// (runtime/host_dirs).
Result<bool> netns_dir_is_mount();
Status netns_dir_make_shared();
bool netns_dir_unmount();  // true when it is no longer a mount point

// Creates the named namespace (`ip netns add <name>`) in the prepared /run/netns. Fails with
// EEXIST if the name is taken.
Status netns_add(const std::string& name);

// Deletes the named namespace (`ip netns del <name>`): lazy unmount and unlink. The kernel frees
// the namespace, with every link inside it, once no process or mount holds it any more.
// A name that does not exist is not an error (deletion is idempotent).
Status netns_delete(const std::string& name);

// Names under /run/netns that start with `prefix`, sorted.
std::vector<std::string> netns_list(const std::string& prefix);

// (device, inode) identity of a namespace file, to find processes living in it.
struct NsId {
  unsigned long dev = 0;
  unsigned long ino = 0;
  bool operator==(const NsId&) const = default;
};
Result<NsId> netns_id(const std::string& name);

}  // namespace knlab
