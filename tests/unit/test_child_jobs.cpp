#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "net/child_jobs.hpp"

using namespace knlab;

TEST_CASE("an Error crosses the process boundary whole") {
  Error e = sys_error("commit iptables table", "nat", 22, "kn-x.node1");
  e.kind = ErrorKind::kInput;
  e.detail = "the kernel refused the new table (9608 rules)";
  e.hint = "`dmesg | tail`";
  e.where = SourceLocation{"lab.toml", 3, 7};
  std::string wire = encode_error(e) + encode_error(Error{});
  std::size_t pos = 0;
  auto back = decode_error(wire, pos);
  REQUIRE(back);
  CHECK(back->kind == ErrorKind::kInput);
  CHECK(back->format() == e.format());
  CHECK(back->where.str() == "lab.toml:3:7");
  auto second = decode_error(wire, pos);
  REQUIRE(second);
  CHECK(second->op.empty());
  CHECK(pos == wire.size());
  std::string cut = wire.substr(0, 20);
  pos = 0;
  CHECK_FALSE(decode_error(cut, pos));
}

// The jobs run in the caller's own namespace: entering it needs CAP_SYS_ADMIN, so as a user
// every job reports that it could not enter (the work never runs), and as root the work's own
// statuses come back.
TEST_CASE("jobs run in child processes, several at once, each status in order") {
  auto self = NetnsRef::current();
  REQUIRE(self);
  // A descriptor past FD_SETSIZE in the parent: the workers must not hold it.
  int high = ::fcntl(0, F_DUPFD_CLOEXEC, 1500);
  REQUIRE(high >= 1500);
  std::vector<ChildJob> jobs;
  for (int i = 0; i < 7; ++i)
    jobs.push_back(ChildJob{&*self, [i, high]() -> Status {
                              if (::fcntl(high, F_GETFD) != -1) return fail(state_error("job", "inherited the high descriptor"));
                              std::size_t open = 0;
                              for ([[maybe_unused]] auto& f : std::filesystem::directory_iterator("/proc/self/fd")) ++open;
                              if (open > 8) return fail(state_error("job", std::to_string(open) + " descriptors open"));
                              if (i == 4) ::_exit(7);  // its worker dies: this job and its later ones are lost
                              if (i % 2 == 1) return fail(state_error("job", "odd " + std::to_string(i)));
                              return {};
                            }});
  auto out = run_in_children(jobs, 3);
  ::close(high);
  REQUIRE(out.size() == 7);
  if (::geteuid() != 0) {
    for (auto& st : out) {
      REQUIRE_FALSE(st);
      CHECK(st.error().op == "enter network namespace");
    }
    return;
  }
  // Worker 0 runs jobs 0, 3, 6; worker 1 runs 1, 4 (dies there); worker 2 runs 2, 5.
  CHECK(out[0]);
  CHECK(out[2]);
  CHECK(out[6]);
  REQUIRE_FALSE(out[1]);
  CHECK(out[1].error().detail == "odd 1");
  REQUIRE_FALSE(out[3]);
  CHECK(out[3].error().detail == "odd 3");
  REQUIRE_FALSE(out[5]);
  CHECK(out[5].error().detail == "odd 5");
  REQUIRE_FALSE(out[4]);
  CHECK(out[4].error().detail == "the process ended before reporting (exit status 7)");
}

TEST_CASE("no jobs, no processes") { CHECK(run_in_children({}, 4).empty()); }
