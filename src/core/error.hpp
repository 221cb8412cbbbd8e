// Error: the one failure type of kn-lab.
//
// Contract: every fallible function returns Result<T> (std::expected<T, Error>). An Error says
// what was being done (op), to what (object), where (netns, or file:line:column for input),
// why (errno text or a detail), and what the learner can do about it (hint). It is built where
// the failure happens, passed up unchanged (callers may add context, never collapse it), and
// printed exactly once, by main().
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace knlab {

// A place in an input file, 1-based. line == 0 means "no position known".
struct SourceLocation {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;

  bool known() const { return line != 0; }
  std::string str() const;  // "labs/x.toml:3:7" (or just the file)
};

enum class ErrorKind {
  kInput,       // the lab file, a manifest or a command-line argument is wrong
  kPermission,  // not root / missing capability
  kKernel,      // a syscall or netlink request failed
  kState,       // the lab's recorded state disagrees with the request (not up, already up, ...)
  kMissing,     // a program or kernel feature is not installed
  kInternal,
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string op;      // "create veth pair", "parse lab file"
  std::string object;  // "vethab12cd34 <-> eth0", "pod web"
  std::string netns;   // namespace the operation ran in, empty for the host's
  int err = 0;         // errno (positive), 0 if none
  std::string detail;  // free text: what exactly is wrong, what is allowed
  std::string hint;    // what to do about it
  SourceLocation where;

  // Multi-line, human-readable: "error: <op> <object> [in netns X]: <errno text|detail>\n  hint: ..."
  std::string format() const;

  // Adds a hint unless one is already set; returns *this for chaining.
  Error& with_hint(std::string h) &;
  Error&& with_hint(std::string h) &&;
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// A kernel error from an errno value. Adds a hint for the errno values a learner can fix
// (EPERM/EACCES: run as root; EEXIST: a leftover object, run `kn-lab down`; ...).
Error sys_error(std::string op, std::string object, int err, std::string netns = {});

// An input error at a source location, with what is allowed.
Error input_error(SourceLocation where, std::string detail, std::string hint = {});

// A state error (lab already up, not up, ...).
Error state_error(std::string op, std::string detail, std::string hint = {});

inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

}  // namespace knlab

// Propagates an error from an expression returning Result<T>; on success yields the value.
// A statement-expression (GCC/Clang), like Open/R's and bpftrace's TRY macros. Each use gets
// its own variable name so that uses can nest.
#define KN_TRY_CONCAT_(a, b) a##b
#define KN_TRY_CONCAT(a, b) KN_TRY_CONCAT_(a, b)
#define KN_TRY_IMPL_(expr, var)                                        \
  __extension__({                                                      \
    auto&& var = (expr);                                               \
    if (!var) return ::knlab::fail(std::move(var).error());            \
    std::move(var).value();                                            \
  })
#define KN_TRY(expr) KN_TRY_IMPL_(expr, KN_TRY_CONCAT(kn_try_, __COUNTER__))
