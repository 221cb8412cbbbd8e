// Kernel work run in child processes, each job inside its lab namespace, several at once: how
// kn-lab programs every node's rules together (as each node's kube-proxy does on a cluster)
// with libraries that must not run in threads (libiptc, libxtables: global state) or that
// cannot wait on the descriptor numbers a big lab reaches (libnftables' select(), which aborts
// past FD_SETSIZE).
//
// `at_once` worker processes are forked; worker w runs jobs w, w + at_once, ... one after
// another. A worker keeps only stdio, its report pipe and its jobs' namespace descriptors open
// (so the sockets the libraries open get small numbers). Each job's whole Status comes back over
// the pipe; a job whose worker died before reporting gets an error saying so.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "core/error.hpp"
#include "net/netns.hpp"

namespace knlab {

struct ChildJob {
  const NetnsRef* ns;
  std::function<Status()> work;  // runs in the child (or thread), after it entered *ns
};

// One status per job, in order.
std::vector<Status> run_in_children(const std::vector<ChildJob>& jobs, std::size_t at_once);

// The same in threads of this process (each enters its job's namespace, which is per thread):
// for jobs whose libraries may run in threads (net/nft_batch's netlink messages), without a
// fork per worker.
std::vector<Status> run_in_threads(const std::vector<ChildJob>& jobs, std::size_t at_once);

// The CPUs this process may run on (at least 1).
std::size_t cpu_count();

// The wire form of an Error between processes (exposed for its unit test).
std::string encode_error(const Error& e);
Result<Error> decode_error(std::string_view bytes, std::size_t& pos);

}  // namespace knlab
