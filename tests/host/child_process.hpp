// Runs part of a test in a forked child process: for code that must fault (use after free, a
// write past a guarded block) or that changes the process itself (resource limits).
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "catch.hpp"

namespace host_test {

// How a child process ended, and what it reported.
struct child_end {
  bool signaled = false;
  int signal = 0;
  int exit_code = -1;
  std::string report;  // what the child wrote (run_checks_in_child)
  bool faulted() const { return signaled && (signal == SIGSEGV || signal == SIGBUS); }
};

// Runs `body(fd)` in a child process and reports how the child ended and what it wrote to `fd`.
// The child restores the default action of SIGSEGV and SIGBUS (the test framework and
// sanitizers install handlers), cannot dump core, and is killed by SIGALRM if it runs for more
// than 10 seconds. The child never returns into the test framework: it exits with 0 after body.
template <class F>
child_end run_in_child_with_pipe(F body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigset_t unblock;
    sigemptyset(&unblock);
    for (const int sig : {SIGSEGV, SIGBUS, SIGALRM}) {
      ::sigaction(sig, &dfl, nullptr);
      sigaddset(&unblock, sig);
    }
    ::sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
    ::alarm(10);
    body(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  child_end e;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) e.report.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(fds[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) REQUIRE(errno == EINTR);
  if (WIFSIGNALED(st)) {
    e.signaled = true;
    e.signal = WTERMSIG(st);
  } else if (WIFEXITED(st)) {
    e.exit_code = WEXITSTATUS(st);
  }
  return e;
}

// Runs `body()` in a child process (see run_in_child_with_pipe).
template <class F>
child_end run_in_child(F body) {
  return run_in_child_with_pipe([&](int) { body(); });
}

// Runs `body()`, which returns what went wrong (empty when nothing did), in a child process; the
// child writes it back. Checks in the child cannot use the test framework, which lives on in the
// parent.
template <class F>
child_end run_checks_in_child(F body) {
  return run_in_child_with_pipe([&](int fd) {
    const std::string problem = body();
    const std::string out = problem.empty() ? std::string("ok") : problem;
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
  });
}

// Checks that a child of run_checks_in_child exited normally and found nothing wrong.
inline void check_child_passed(const child_end& end) {
  INFO("signal " << end.signal << ", exit code " << end.exit_code << ", child: " << end.report);
  CHECK_FALSE(end.signaled);
  CHECK(end.exit_code == 0);
  CHECK(end.report == "ok");
}

}  // namespace host_test
