// SPDX-License-Identifier: BSD-3-Clause
//
// The core's own fds are numbered 3 or above and close-on-exec, in every
// back-end and after evmgr_after_fork (Note [The core's own fds] in
// src/private_fd.cpp): a program started with stdin or stdout closed must
// not find the manager's wake-up pipe or epoll fd behind fd 0 or 1.
//
// Anything that closes 0, 1 and 2 runs in a forked child, so the test
// runner's own stdio survives; the child reports through a pipe opened
// before. Built twice like the conformance suite: epoll and poll, and
// kqueue over the emulation.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "evmgr.h"
#include "evmgr/private_fd.hpp"
#include "test_util.hpp"

using namespace evmgr_test;

namespace {

// Runs body(report_fd) in a forked child; body returns its verdict (empty:
// passed) and may fork again itself, its own child writing to report_fd.
// Returns everything written there.
template <class Body>
std::string in_child(Body body) {
  Pipe report;  // opened while 0, 1, 2 are open: numbered >= 3
  if (report.r < 0) return "pipe: " + std::to_string(errno);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "fork: " + std::to_string(errno);
  if (pid == 0) {
    report.close_read();
    const std::string verdict = body(report.w);
    (void)!write(report.w, verdict.data(), verdict.size());
    _exit(0);
  }
  report.close_write();
  // Pipe is non-blocking: block here until the child is done.
  (void)fcntl(report.r, F_SETFL, fcntl(report.r, F_GETFL) & ~O_NONBLOCK);
  std::string verdict;
  char buf[256];
  ssize_t n;
  while ((n = read(report.r, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) verdict.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return "waitpid: " + std::to_string(errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    verdict += " (child status " + std::to_string(status) + ")";
  }
  return verdict;
}

// The open fds, found without opening one (fcntl on each number).
std::set<int> open_fds() {
  std::set<int> fds;
  for (int fd = 0; fd < 1024; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0) fds.insert(fd);
  }
  return fds;
}

// Problems with the fds in `now` that are not in `before`: below 3, or not
// close-on-exec; and any standard stream number that is open at all.
std::string check_new_fds(const std::set<int>& before, const std::set<int>& now,
                          const char* when) {
  std::string problems;
  for (int fd : now) {
    if (fd < evmgr::kFirstPrivateFd) {
      problems += std::string(when) + ": fd " + std::to_string(fd) + " is open; ";
      continue;
    }
    if (before.count(fd) != 0) continue;
    if ((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) {
      problems += std::string(when) + ": fd " + std::to_string(fd) + " lacks FD_CLOEXEC; ";
    }
  }
  return problems;
}

// Enough of the manager to show it works: a wake-up makes poll return, and
// fd 0 (stdin, closed) is not open as far as the manager is concerned.
std::string check_manager_works(evmgr_manager* m, const char* when) {
  evmgr_key key = 0;
  const int err = evmgr_fd_register(m, 0, EVMGR_READ, EVMGR_ONESHOT, 1, &key);
  if (err != EBADF) {
    return std::string(when) + ": registering closed stdin gave " + std::to_string(err) +
           ", not EBADF; ";
  }
  if (evmgr_wakeup(m) != 0) return std::string(when) + ": evmgr_wakeup failed; ";
  evmgr_event ev[4];
  const int n = evmgr_poll(m, 5 * kSec, ev, 4);
  if (n != 0) return std::string(when) + ": evmgr_poll gave " + std::to_string(n) + "; ";
  return "";
}

class StdioClosed : public ::testing::TestWithParam<evmgr_backend> {};

TEST_P(StdioClosed, EveryFdTheManagerOpensIsAboveStdioAndCloseOnExecAlsoAfterFork) {
  const evmgr_backend backend = GetParam();
  const std::string verdict = in_child([backend](int report_fd) -> std::string {
    for (int fd = 0; fd < 3; ++fd) (void)close(fd);
    const std::set<int> before = open_fds();
    evmgr_manager* m = nullptr;
    if (const int err = evmgr_new(backend, &m)) return "evmgr_new: " + std::to_string(err);
    const std::set<int> created = open_fds();
    std::string problems = check_new_fds(before, created, "after evmgr_new");
    if (created.size() == before.size()) problems += "evmgr_new opened no fd?; ";
    problems += check_manager_works(m, "after evmgr_new");

    // A forked child makes its own kernel objects: the same rule applies.
    const pid_t pid = fork();
    if (pid < 0) return problems + "fork failed";
    if (pid == 0) {
      const std::set<int> inherited = open_fds();
      std::string child;
      if (const int err = evmgr_after_fork(m)) {
        child = "evmgr_after_fork: " + std::to_string(err);
      } else {
        child = check_new_fds(inherited, open_fds(), "after evmgr_after_fork") +
                check_manager_works(m, "after evmgr_after_fork");
      }
      (void)!write(report_fd, child.data(), child.size());
      _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      problems += "the grandchild failed (status " + std::to_string(status) + "); ";
    }
    evmgr_free(m);
    return problems;
  });
  EXPECT_EQ("", verdict);
}

INSTANTIATE_TEST_SUITE_P(Backends, StdioClosed, ::testing::ValuesIn(backends_under_test()),
                         [](const ::testing::TestParamInfo<evmgr_backend>& param_info) {
                           return backend_param_name(param_info.param);
                         });

// ---- make_fd_private itself --------------------------------------------------

TEST(MakeFdPrivate, ALowFdMovesUpAndItsNumberIsFreeAgain) {
  const std::string verdict = in_child([](int) -> std::string {
    (void)close(0);
    int fds[2];
    if (pipe(fds) != 0) return "pipe";
    if (fds[0] != 0) return "pipe did not take fd 0";
    int fd = fds[0];
    if (const int err = evmgr::make_fd_private(&fd)) return "error " + std::to_string(err);
    if (fd < 3) return "still below 3: " + std::to_string(fd);
    if ((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) return "not close-on-exec";
    if (fcntl(0, F_GETFD) >= 0) return "fd 0 was left open";
    // Still the pipe's read end.
    char c = 'x';
    if (write(fds[1], &c, 1) != 1 || read(fd, &c, 1) != 1) return "the moved fd lost its file";
    return "";
  });
  EXPECT_EQ("", verdict);
}

TEST(MakeFdPrivate, AHighFdKeepsItsNumberAndBecomesCloseOnExec) {
  int fds[2];
  ASSERT_EQ(0, pipe(fds));  // no O_CLOEXEC
  int fd = fds[0];
  ASSERT_GE(fd, 3);
  ASSERT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_EQ(0, evmgr::make_fd_private(&fd));
  EXPECT_EQ(fds[0], fd);
  EXPECT_NE(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
  (void)close(fds[0]);
  (void)close(fds[1]);
}

TEST(MakeFdPrivate, ANotOpenFdIsEbadfAndComesBackMinusOne) {
  int fd = -1;
  EXPECT_EQ(EBADF, evmgr::make_fd_private(&fd));
  Pipe p;
  fd = p.r;
  p.close_read();
  EXPECT_EQ(EBADF, evmgr::make_fd_private(&fd));
  EXPECT_EQ(-1, fd);
}

TEST(MakeFdPrivate, NoRoomAboveStdioIsAnErrorAndTheLowFdIsClosed) {
  const std::string verdict = in_child([](int) -> std::string {
    // Numbers from 3 up are beyond the limit: nothing can move up.
    (void)close(0);
    const int fd0 = open("/dev/null", O_RDONLY);
    if (fd0 != 0) return "open did not take fd 0";
    struct rlimit rl{3, 3};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return "setrlimit";
    int fd = fd0;
    const int err = evmgr::make_fd_private(&fd);
    if (err == 0) return "no error";
    if (fd != -1) return "fd not reset to -1";
    if (fcntl(0, F_GETFD) >= 0) return "the low fd was left open";
    return "";
  });
  EXPECT_EQ("", verdict);
}

}  // namespace
