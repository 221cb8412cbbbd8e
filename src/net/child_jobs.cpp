#include "net/child_jobs.hpp"

#include <fmt/core.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

namespace knlab {

namespace {

void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

bool get_u32(std::string_view in, std::size_t& pos, std::uint32_t& v) {
  if (in.size() - pos < sizeof v) return false;
  std::memcpy(&v, in.data() + pos, sizeof v);
  pos += sizeof v;
  return true;
}

bool get_str(std::string_view in, std::size_t& pos, std::string& s) {
  std::uint32_t n = 0;
  if (!get_u32(in, pos, n) || in.size() - pos < n) return false;
  s.assign(in.data() + pos, n);
  pos += n;
  return true;
}

Status truncated() { return fail(state_error("read a child process's report", "the report is cut short")); }

bool write_all(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string read_all(int fd) {
  std::string text;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

// Closes every descriptor from 3 up but those in `keep`.
void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < 3) continue;
    if (static_cast<unsigned>(fd) > from) ::close_range(from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(from, ~0U, 0);
}

// A worker: its jobs one after another, each reported as soon as it ends.
[[noreturn]] void worker(const std::vector<ChildJob>& jobs, std::size_t first, std::size_t step, int report) {
  std::vector<int> keep{report};
  for (std::size_t i = first; i < jobs.size(); i += step) keep.push_back(jobs[i].ns->fd());
  close_all_but(keep);
  for (std::size_t i = first; i < jobs.size(); i += step) {
    Status st = ::setns(jobs[i].ns->fd(), CLONE_NEWNET) == 0
                    ? jobs[i].work()
                    : fail(sys_error("enter network namespace", jobs[i].ns->name(), errno));
    std::string record;
    put_u32(record, static_cast<std::uint32_t>(i));
    record += st ? '\1' : '\0';
    if (!st) record += encode_error(st.error());
    if (!write_all(report, record)) ::_exit(3);
  }
  ::_exit(0);
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;  // the read end of its report pipe
};

// Reads a worker's reports into `out` until it ends; returns its wait status.
int collect(const Worker& w, std::vector<Status>& out, std::vector<bool>& reported) {
  std::string bytes = read_all(w.fd);
  ::close(w.fd);
  int status = 0;
  while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {}
  for (std::size_t pos = 0; pos < bytes.size();) {
    std::uint32_t job = 0;
    if (!get_u32(bytes, pos, job) || job >= out.size() || pos >= bytes.size()) break;
    bool ok = bytes[pos++] == '\1';
    if (ok) {
      out[job] = {};
    } else if (auto e = decode_error(bytes, pos)) {
      out[job] = fail(std::move(*e));
    } else {
      out[job] = truncated();
      break;
    }
    reported[job] = true;
  }
  return status;
}

std::string describe_end(int status) {
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return fmt::format("exit status {}", WEXITSTATUS(status));
}

}  // namespace

std::string encode_error(const Error& e) {
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(e.kind));
  put_u32(out, static_cast<std::uint32_t>(e.err));
  for (const std::string* s : {&e.op, &e.object, &e.netns, &e.detail, &e.hint, &e.where.file}) put_str(out, *s);
  put_u32(out, e.where.line);
  put_u32(out, e.where.column);
  return out;
}

Result<Error> decode_error(std::string_view in, std::size_t& pos) {
  Error e;
  std::uint32_t kind = 0, err = 0;
  bool ok = get_u32(in, pos, kind) && get_u32(in, pos, err);
  for (std::string* s : {&e.op, &e.object, &e.netns, &e.detail, &e.hint, &e.where.file}) ok = ok && get_str(in, pos, *s);
  ok = ok && get_u32(in, pos, e.where.line) && get_u32(in, pos, e.where.column);
  if (!ok || kind > static_cast<std::uint32_t>(ErrorKind::kInternal)) return fail(truncated().error());
  e.kind = static_cast<ErrorKind>(kind);
  e.err = static_cast<int>(err);
  return e;
}

std::size_t cpu_count() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::vector<Status> run_in_children(const std::vector<ChildJob>& jobs, std::size_t at_once) {
  std::vector<Status> out(jobs.size());
  std::vector<bool> reported(jobs.size(), false);
  std::size_t workers = std::clamp<std::size_t>(at_once, 1, std::max<std::size_t>(jobs.size(), 1));
  std::vector<Worker> running(std::min(workers, jobs.size()));
  std::vector<Status> started(running.size());
  for (std::size_t w = 0; w < running.size(); ++w) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      started[w] = fail(sys_error("start a child process", "pipe", errno, jobs[w].ns->name()));
      continue;
    }
    pid_t pid = ::fork();
    if (pid == 0) worker(jobs, w, workers, p[1]);
    ::close(p[1]);
    if (pid < 0) {
      ::close(p[0]);
      started[w] = fail(sys_error("start a child process", "fork", errno, jobs[w].ns->name()));
      continue;
    }
    running[w] = Worker{pid, p[0]};
  }
  std::vector<int> ends(running.size(), 0);
  for (std::size_t w = 0; w < running.size(); ++w)
    if (running[w].pid > 0) ends[w] = collect(running[w], out, reported);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (reported[i]) continue;
    std::size_t w = i % workers;
    if (!started[w]) {
      out[i] = fail(started[w].error());
      continue;
    }
    Error e = sys_error("run in a child process", "its job", 0, jobs[i].ns->name());
    e.kind = ErrorKind::kInternal;
    e.detail = fmt::format("the process ended before reporting ({})", describe_end(ends[w]));
    out[i] = fail(std::move(e));
  }
  return out;
}

std::vector<Status> run_in_threads(const std::vector<ChildJob>& jobs, std::size_t at_once) {
  std::vector<Status> out(jobs.size());
  std::size_t workers = std::clamp<std::size_t>(at_once, 1, std::max<std::size_t>(jobs.size(), 1));
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < std::min(workers, jobs.size()); ++w)
    threads.emplace_back([&jobs, &out, w, workers] {
      for (std::size_t i = w; i < jobs.size(); i += workers) {
        auto inside = ScopedNetns::enter(*jobs[i].ns);
        out[i] = inside ? jobs[i].work() : fail(inside.error());
      }
    });
  for (std::thread& t : threads) t.join();
  return out;
}

}  // namespace knlab
