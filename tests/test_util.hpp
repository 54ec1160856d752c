// SPDX-License-Identifier: BSD-3-Clause
// Helpers shared by the C ABI suites.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "evmgr.h"

namespace evmgr_test {

constexpr std::int64_t kUs = 1000;
constexpr std::int64_t kMs = 1000 * kUs;
constexpr std::int64_t kSec = 1000 * kMs;

// A write to a pipe whose reader is gone must fail with EPIPE, not kill the
// test binary.
inline const bool kSigpipeIgnored = [] {
  (void)signal(SIGPIPE, SIG_IGN);
  return true;
}();

inline bool sanitized() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

// The back-ends a test binary covers: the kqueue binary links the kqueue
// back-end built against tests/kqueue_emu, the other the platform's.
inline std::vector<evmgr_backend> backends_under_test() {
#if defined(EVMGR_TEST_KQUEUE)
  return {EVMGR_BACKEND_KQUEUE};
#else
  std::vector<evmgr_backend> all;
  if (evmgr_backend_available(EVMGR_BACKEND_EPOLL)) all.push_back(EVMGR_BACKEND_EPOLL);
  all.push_back(EVMGR_BACKEND_POLL);
  // io_uring where the kernel allows it. A machine that refuses it (a
  // seccomp profile, kernel.io_uring_disabled) runs the others; the
  // refusal itself is tested by io_uring_refusal.
  if (evmgr_backend_available(EVMGR_BACKEND_IO_URING)) all.push_back(EVMGR_BACKEND_IO_URING);
  return all;
#endif
}

// The manager mode a test binary covers: built twice, the second time with
// EVMGR_TEST_SINGLE_THREADED (evmgr_new_with(..., EVMGR_SINGLE_THREADED)).
inline uint32_t test_manager_flags() {
#if defined(EVMGR_TEST_SINGLE_THREADED)
  return EVMGR_SINGLE_THREADED;
#else
  return 0;
#endif
}

// A test that calls the manager from a second thread (other than
// evmgr_wakeup) is for the locked mode only.
#if defined(EVMGR_TEST_SINGLE_THREADED)
#define SKIP_IF_SINGLE_THREADED() \
  GTEST_SKIP() << "calls the manager from two threads: locked mode only"
#else
#define SKIP_IF_SINGLE_THREADED() (void)0
#endif

inline std::string backend_param_name(evmgr_backend b) {
  const char* name = evmgr_backend_name(b);
  return name != nullptr ? name : "unknown";
}

struct Pipe {
  int r = -1;
  int w = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
      r = fds[0];
      w = fds[1];
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  Pipe(Pipe&& o) noexcept : r(o.r), w(o.w) { o.r = o.w = -1; }
  ~Pipe() { close_both(); }
  void close_read() {
    if (r >= 0) ::close(r);
    r = -1;
  }
  void close_write() {
    if (w >= 0) ::close(w);
    w = -1;
  }
  void close_both() {
    close_read();
    close_write();
  }
  bool put(char c = 'x') const { return ::write(w, &c, 1) == 1; }
  void drain() const {
    char buf[256];
    while (::read(r, buf, sizeof buf) > 0) {
    }
  }
};

struct SocketPair {
  int a = -1;
  int b = -1;
  SocketPair() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
      a = sv[0];
      b = sv[1];
    }
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  ~SocketPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

// Raises RLIMIT_NOFILE's soft limit to the hard one; returns the new soft.
inline rlim_t raise_fd_limit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    (void)getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

}  // namespace evmgr_test
