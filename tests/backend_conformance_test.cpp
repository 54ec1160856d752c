// SPDX-License-Identifier: BSD-3-Clause
//
// Back-end conformance suite: the C ABI contract of ffi/evmgr.h, run on
// every back-end. This source is built twice: backend_conformance (epoll and
// poll, linked to libevmgr) and backend_conformance_kqueue (linked to
// evmgr_kqemu: kqueue_backend.cpp over tests/kqueue_emu).
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "evmgr.h"
#include "test_util.hpp"

using namespace evmgr_test;

namespace {

constexpr std::int64_t kCheckInterval = 20 * kMs;  // closed-fd check period

class Conformance : public ::testing::TestWithParam<evmgr_backend> {
 protected:
  void SetUp() override {
    ASSERT_EQ(0, evmgr_new_with(GetParam(), test_manager_flags(), &m_));
    ASSERT_EQ(GetParam(), evmgr_backend_of(m_));
    evmgr_set_closed_fd_check_interval(m_, kCheckInterval);
  }
  void TearDown() override { evmgr_free(m_); }

  evmgr_key reg(int fd, uint32_t events, uint32_t flags, uintptr_t token) {
    evmgr_key key = 0;
    EXPECT_EQ(0, evmgr_fd_register(m_, fd, events, flags, token, &key)) << "fd " << fd;
    EXPECT_NE(0u, key);
    return key;
  }
  evmgr_key timer(int64_t timeout_ns, uintptr_t token) {
    evmgr_key key = 0;
    EXPECT_EQ(0, evmgr_timer_add(m_, timeout_ns, token, &key));
    return key;
  }

  // One evmgr_poll; the events it returned.
  std::vector<evmgr_event> poll_once(int64_t timeout_ns, size_t capacity = 64) {
    std::vector<evmgr_event> out(capacity);
    const int n = evmgr_poll(m_, timeout_ns, out.data(), capacity);
    EXPECT_GE(n, 0) << "evmgr_poll: " << -n;
    out.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return out;
  }

  // Polls until at least `count` events arrived or `budget_ns` passed.
  std::vector<evmgr_event> poll_until(size_t count, int64_t budget_ns = 2 * kSec,
                                      size_t capacity = 64) {
    std::vector<evmgr_event> all;
    const int64_t end = evmgr_now_ns() + budget_ns;
    while (all.size() < count) {
      const int64_t left = end - evmgr_now_ns();
      if (left <= 0) break;
      for (const evmgr_event& e : poll_once(left, capacity)) all.push_back(e);
    }
    return all;
  }

  // Runs the closed-fd check now and expects `key`'s waiter to be told, in
  // the very next poll, that its fd is closed.
  void expect_closed_on_check(evmgr_key key) {
    ASSERT_EQ(0, evmgr_check_closed_fds(m_));
    const auto evs = poll_once(0);
    ASSERT_EQ(1u, evs.size()) << "the check queued nothing for the waiter";
    EXPECT_EQ(key, evs[0].key);
    EXPECT_EQ(EVMGR_CLOSED | EVMGR_ERROR, evs[0].events & (EVMGR_CLOSED | EVMGR_ERROR));
    EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, key)) << "the registration must be gone";
  }

  // `number` names /dev/null from now on (what it named before is closed
  // there, unless something else keeps it open).
  static void dup2_dev_null_onto(int number) {
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(null_fd, 0);
    ASSERT_EQ(number, dup2(null_fd, number));
    ::close(null_fd);
  }

  static const evmgr_event* find_token(const std::vector<evmgr_event>& evs, uintptr_t token) {
    for (const evmgr_event& e : evs) {
      if (e.token == token) return &e;
    }
    return nullptr;
  }

  evmgr_manager* m_ = nullptr;
};

// ---- readiness -----------------------------------------------------------------

TEST_P(Conformance, PipeReadReadinessDeliversTokenKeyFdAndReadBit) {
  Pipe p;
  const evmgr_key key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 42);
  EXPECT_EQ(p.r, evmgr_key_fd(m_, key));
  EXPECT_TRUE(poll_once(0).empty()) << "nothing written yet";
  ASSERT_TRUE(p.put());
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(42u, evs[0].token);
  EXPECT_EQ(key, evs[0].key);
  EXPECT_EQ(p.r, evs[0].fd);
  EXPECT_TRUE(evs[0].events & EVMGR_READ);
  EXPECT_FALSE(evs[0].events & (EVMGR_CLOSED | EVMGR_TIMEOUT));
}

TEST_P(Conformance, PipeWriteEndIsWritableAtOnce) {
  Pipe p;
  reg(p.w, EVMGR_WRITE, EVMGR_ONESHOT, 7);
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(p.w, evs[0].fd);
  EXPECT_TRUE(evs[0].events & EVMGR_WRITE);
}

TEST_P(Conformance, SocketpairReadAndWriteReadiness) {
  SocketPair s;
  reg(s.a, EVMGR_WRITE, EVMGR_ONESHOT, 1);
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(1u, evs[0].token);
  EXPECT_TRUE(evs[0].events & EVMGR_WRITE);

  reg(s.a, EVMGR_READ, EVMGR_ONESHOT, 2);
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  ASSERT_EQ(1, write(s.b, "x", 1));
  evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(2u, evs[0].token);
  EXPECT_TRUE(evs[0].events & EVMGR_READ);
}

TEST_P(Conformance, OneShotIsDeliveredOnceThenKeyIsStale) {
  Pipe p;
  const evmgr_key key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  ASSERT_TRUE(p.put());
  ASSERT_EQ(1u, poll_until(1).size());
  // Data is still unread, but the registration is gone.
  EXPECT_TRUE(poll_once(30 * kMs).empty());
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, key));
  EXPECT_EQ(ENOENT, evmgr_fd_modify(m_, key, EVMGR_READ));
  EXPECT_EQ(-1, evmgr_key_fd(m_, key));
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

TEST_P(Conformance, PersistentIsDeliveredRepeatedlyUntilUnregistered) {
  Pipe p;
  const evmgr_key key = reg(p.r, EVMGR_READ, EVMGR_PERSISTENT, 9);
  ASSERT_TRUE(p.put());
  for (int round = 0; round < 5; ++round) {
    auto evs = poll_until(1);
    ASSERT_EQ(1u, evs.size()) << "round " << round;
    EXPECT_EQ(key, evs[0].key);
    EXPECT_EQ(9u, evs[0].token);
  }
  EXPECT_EQ(1u, evmgr_pending_count(m_));
  EXPECT_EQ(0, evmgr_fd_unregister(m_, key));
  EXPECT_TRUE(poll_once(30 * kMs).empty());
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, key));
}

TEST_P(Conformance, ReadAndWriteRegistrationsOnOneFdFireIndependently) {
  SocketPair s;
  const evmgr_key rkey = reg(s.a, EVMGR_READ, EVMGR_ONESHOT, 1);
  const evmgr_key wkey = reg(s.a, EVMGR_WRITE, EVMGR_ONESHOT, 2);
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(wkey, evs[0].key);
  EXPECT_EQ(EVMGR_WRITE, evs[0].events & (EVMGR_READ | EVMGR_WRITE));
  EXPECT_TRUE(poll_once(30 * kMs).empty()) << "the reader must still wait";
  ASSERT_EQ(1, write(s.b, "x", 1));
  evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(rkey, evs[0].key);
  EXPECT_EQ(EVMGR_READ, evs[0].events & (EVMGR_READ | EVMGR_WRITE));
}

TEST_P(Conformance, TwoReadersOfOneFdAreBothWoken) {
  Pipe p;
  const evmgr_key k1 = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  const evmgr_key k2 = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 2);
  ASSERT_TRUE(p.put());
  auto evs = poll_until(2);
  ASSERT_EQ(2u, evs.size());
  std::set<evmgr_key> keys{evs[0].key, evs[1].key};
  EXPECT_EQ((std::set<evmgr_key>{k1, k2}), keys);
}

TEST_P(Conformance, OneShotAndPersistentReadersOfOneFdBothWoken) {
  Pipe p;
  const evmgr_key persistent = reg(p.r, EVMGR_READ, EVMGR_PERSISTENT, 1);
  const evmgr_key oneshot = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 2);
  ASSERT_TRUE(p.put());
  auto evs = poll_until(2);
  ASSERT_EQ(2u, evs.size());
  EXPECT_TRUE(find_token(evs, 1) && find_token(evs, 2));
  // Only the persistent one stays, and keeps firing while data waits.
  for (int round = 0; round < 3; ++round) {
    evs = poll_until(1);
    ASSERT_EQ(1u, evs.size()) << "round " << round;
    EXPECT_EQ(persistent, evs[0].key);
  }
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, oneshot));
}

TEST_P(Conformance, PersistentKeepsFiringAfterOneShotOfSameFdIsUnregistered) {
  // Arming history: one-shot first, then a persistent waiter joins, then the
  // one-shot leaves: the fd must end up level-triggered.
  Pipe p;
  const evmgr_key oneshot = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  const evmgr_key persistent = reg(p.r, EVMGR_READ, EVMGR_PERSISTENT, 2);
  ASSERT_EQ(0, evmgr_fd_unregister(m_, oneshot));
  ASSERT_TRUE(p.put());
  for (int round = 0; round < 3; ++round) {
    auto evs = poll_until(1, 1 * kSec);
    ASSERT_EQ(1u, evs.size()) << "round " << round << ": persistent waiter starved";
    EXPECT_EQ(persistent, evs[0].key);
  }
}

TEST_P(Conformance, ModifyChangesInterestOfALiveRegistration) {
  SocketPair s;
  const evmgr_key key = reg(s.a, EVMGR_READ, EVMGR_PERSISTENT, 5);
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  ASSERT_EQ(0, evmgr_fd_modify(m_, key, EVMGR_WRITE));
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(key, evs[0].key);
  EXPECT_TRUE(evs[0].events & EVMGR_WRITE);
  ASSERT_EQ(0, evmgr_fd_modify(m_, key, EVMGR_READ));
  EXPECT_TRUE(poll_once(20 * kMs).empty()) << "write interest must be gone";
  EXPECT_EQ(EINVAL, evmgr_fd_modify(m_, key, 0));
  EXPECT_EQ(EINVAL, evmgr_fd_modify(m_, key, EVMGR_TIMEOUT));
  ASSERT_EQ(0, evmgr_fd_unregister(m_, key));
  EXPECT_EQ(ENOENT, evmgr_fd_modify(m_, key, EVMGR_READ));
}

TEST_P(Conformance, UnregisterTwiceIsEnoentAndHarmless) {
  Pipe p;
  const evmgr_key a = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  ASSERT_EQ(0, evmgr_fd_unregister(m_, a));
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, a));
  // The slot is reused by the next registration; the old key must not reach it.
  const evmgr_key b = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 2);
  EXPECT_NE(a, b);
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, a));
  ASSERT_TRUE(p.put());
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(b, evs[0].key);
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, 0));
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, ~evmgr_key{0}));
  EXPECT_EQ(ENOENT, evmgr_timer_cancel(m_, b));
}

TEST_P(Conformance, NegativeAndNeverOpenedFdsAreEbadf) {
  evmgr_key key = 0;
  EXPECT_EQ(EBADF, evmgr_fd_register(m_, -1, EVMGR_READ, 0, 1, &key));
  EXPECT_EQ(EBADF, evmgr_fd_register(m_, INT_MIN, EVMGR_WRITE, 0, 1, &key));
  int unused = 1000;
  while (fcntl(unused, F_GETFD) >= 0) ++unused;
  EXPECT_EQ(EBADF, evmgr_fd_register(m_, unused, EVMGR_READ, 0, 1, &key));
  EXPECT_EQ(EBADF, evmgr_fd_register(m_, unused, EVMGR_READ, EVMGR_PERSISTENT, 1, &key));
  EXPECT_EQ(0u, evmgr_pending_count(m_));
  Pipe p;
  EXPECT_EQ(EINVAL, evmgr_fd_register(m_, p.r, 0, 0, 1, &key));
  EXPECT_EQ(EINVAL, evmgr_fd_register(m_, p.r, EVMGR_READ | EVMGR_CLOSED, 0, 1, &key));
  EXPECT_EQ(EINVAL, evmgr_fd_register(m_, p.r, EVMGR_READ, 0x80, 1, &key));
  EXPECT_EQ(EINVAL, evmgr_fd_register(m_, p.r, EVMGR_READ, 0, 1, nullptr));
  EXPECT_EQ(0u, evmgr_pending_count(m_));
  EXPECT_TRUE(poll_once(0).empty());
}

TEST_P(Conformance, RegularFileIsReadyAtOnce) {
  FILE* f = tmpfile();
  ASSERT_NE(nullptr, f);
  const int fd = fileno(f);
  ASSERT_EQ(4, write(fd, "data", 4));
  ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
  const evmgr_key oneshot = reg(fd, EVMGR_READ, EVMGR_ONESHOT, 1);
  auto evs = poll_once(2 * kSec);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(oneshot, evs[0].key);
  EXPECT_TRUE(evs[0].events & EVMGR_READ);
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, oneshot));

  const evmgr_key persistent = reg(fd, EVMGR_READ | EVMGR_WRITE, EVMGR_PERSISTENT, 2);
  for (int round = 0; round < 3; ++round) {
    evs = poll_once(2 * kSec);
    ASSERT_EQ(1u, evs.size()) << "round " << round;
    EXPECT_EQ(persistent, evs[0].key);
  }
  EXPECT_EQ(0, evmgr_fd_unregister(m_, persistent));
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  fclose(f);
}

// An fd that is ready at every poll (a regular file; /dev/null, which
// epoll refuses too) must not keep the other fds' readiness from being
// looked at: the fuzzer found epoll's always-ready waiters answered every
// poll without a look at the kernel.
TEST_P(Conformance, PersistentWaiterOnAnAlwaysReadyFdStarvesNoOtherFd) {
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(devnull, 0);
  FILE* f = tmpfile();
  ASSERT_NE(nullptr, f);
  Pipe p;
  const evmgr_key null_key = reg(devnull, EVMGR_READ, EVMGR_PERSISTENT, 1);
  const evmgr_key file_key = reg(fileno(f), EVMGR_READ, EVMGR_PERSISTENT, 2);
  const evmgr_key pipe_key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 3);
  ASSERT_EQ(1, write(p.w, "x", 1));
  // Non-blocking polls only: each returns the always-ready fds at once, and
  // the pipe's event must come with them, not never.
  bool pipe_seen = false;
  for (int round = 0; round < 3 && !pipe_seen; ++round) {
    const auto evs = poll_once(0);
    EXPECT_NE(nullptr, find_token(evs, 1)) << "round " << round;
    EXPECT_NE(nullptr, find_token(evs, 2)) << "round " << round;
    pipe_seen = find_token(evs, 3) != nullptr;
  }
  EXPECT_TRUE(pipe_seen) << "the pipe's readiness was never looked at";
  EXPECT_EQ(pipe_seen ? ENOENT : 0, evmgr_fd_unregister(m_, pipe_key));
  EXPECT_EQ(0, evmgr_fd_unregister(m_, null_key));
  EXPECT_EQ(0, evmgr_fd_unregister(m_, file_key));
  fclose(f);
  close(devnull);
}

// kqueue reports READ and WRITE of one fd as two events of one batch; the
// first must not re-arm the watch under a new tag before the second is seen
// (Note [One batch, one re-arm]), or the one-shot writer never hears.
TEST_P(Conformance, OneShotWriterBesidePersistentReaderWriterIsWoken) {
  SocketPair sp;
  ASSERT_EQ(1, ::write(sp.b, "x", 1));  // a: readable and writable
  reg(sp.a, EVMGR_WRITE, EVMGR_ONESHOT, 1);
  reg(sp.a, EVMGR_READ | EVMGR_WRITE, EVMGR_PERSISTENT, 2);
  bool writer_seen = false;
  for (int round = 0; round < 3 && !writer_seen; ++round) {
    writer_seen = find_token(poll_once(100 * kMs), 1) != nullptr;
  }
  EXPECT_TRUE(writer_seen) << "the one-shot writer never got its event";
}

TEST_P(Conformance, FdClosedWhileRegisteredGetsClosedEvent) {
  Pipe p;
  const evmgr_key key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 3);
  EXPECT_TRUE(poll_once(0).empty());
  p.close_read();
  const int64_t start = evmgr_now_ns();
  auto evs = poll_until(1, 3 * kSec);
  const int64_t took = evmgr_now_ns() - start;
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(key, evs[0].key);
  EXPECT_TRUE(evs[0].events & EVMGR_CLOSED);
  // Within the check interval (plus scheduling slack); poll(2) says POLLNVAL
  // at once.
  EXPECT_LT(took, (GetParam() == EVMGR_BACKEND_POLL ? 0 : kCheckInterval) + 1 * kSec);
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, key));
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

TEST_P(Conformance, PersistentRegistrationOfClosedFdGetsClosedOnceAndIsRemoved) {
  Pipe p;
  const evmgr_key key = reg(p.r, EVMGR_READ, EVMGR_PERSISTENT, 3);
  p.close_read();
  auto evs = poll_until(1, 3 * kSec);
  ASSERT_EQ(1u, evs.size());
  EXPECT_TRUE(evs[0].events & EVMGR_CLOSED);
  EXPECT_TRUE(poll_once(50 * kMs).empty());
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, key));
}

TEST_P(Conformance, PersistentRegistrationOfClosedRegularFileGetsClosed) {
  // epoll refuses regular files (EPERM) and the manager reports them always
  // ready; once the file is closed its persistent waiter must hear CLOSED
  // like any other fd's, not "ready" forever.
  FILE* f = tmpfile();
  ASSERT_NE(nullptr, f);
  const int fd = fileno(f);
  const evmgr_key key = reg(fd, EVMGR_READ, EVMGR_PERSISTENT, 1);
  ASSERT_EQ(1u, poll_once(2 * kSec).size());
  fclose(f);
  bool closed = false;
  const int64_t end = evmgr_now_ns() + kCheckInterval + 1 * kSec;
  while (!closed && evmgr_now_ns() < end) {
    for (const evmgr_event& e : poll_once(10 * kMs)) {
      EXPECT_EQ(key, e.key);
      closed = closed || (e.events & EVMGR_CLOSED) != 0;
    }
  }
  EXPECT_TRUE(closed) << "no EVMGR_CLOSED for a closed regular file";
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, key));
}

TEST_P(Conformance, ReusedFdNumberHasNoCrossTalkAndOldWaiterGetsClosed) {
  // No poll between close and reuse, so the periodic check cannot see it:
  // only re-arming can.
  evmgr_set_closed_fd_check_interval(m_, 0);
  Pipe old_pipe;
  Pipe fresh;  // made first, so that it does not take the old number itself
  const int number = old_pipe.r;
  const evmgr_key old_key = reg(number, EVMGR_READ, EVMGR_ONESHOT, 1);
  old_pipe.close_read();
  ASSERT_EQ(number, dup2(fresh.r, number));
  fresh.close_read();
  fresh.r = number;
  const evmgr_key new_key = reg(number, EVMGR_READ, EVMGR_ONESHOT, 2);
  ASSERT_NE(old_key, new_key);
  ASSERT_TRUE(fresh.put());
  auto evs = poll_until(2, 1 * kSec);
  const evmgr_event* old_ev = find_token(evs, 1);
  const evmgr_event* new_ev = find_token(evs, 2);
  ASSERT_NE(nullptr, new_ev);
  EXPECT_EQ(new_key, new_ev->key);
  EXPECT_TRUE(new_ev->events & EVMGR_READ);
  ASSERT_NE(nullptr, old_ev) << "the old waiter was never told";
  EXPECT_TRUE(old_ev->events & EVMGR_CLOSED) << "old waiter got the new file's readiness: "
                                            << old_ev->events;
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, old_key));
}

TEST_P(Conformance, ReusedFdNumberWhileOldFileLivesOnViaDupHasNoCrossTalk) {
  // The old file stays open through a dup(), so epoll keeps its watch
  // (keyed by fd number + file) after close(): its readiness must not be
  // reported to the new file's waiter under the same number.
  evmgr_set_closed_fd_check_interval(m_, 0);
  Pipe old_pipe;
  Pipe fresh;
  const int number = old_pipe.r;
  const int keep_alive = dup(old_pipe.r);
  ASSERT_GE(keep_alive, 0);
  reg(number, EVMGR_READ, EVMGR_PERSISTENT, 1);
  old_pipe.close_read();
  ASSERT_EQ(number, dup2(fresh.r, number));
  fresh.close_read();
  fresh.r = number;
  const evmgr_key new_key = reg(number, EVMGR_READ, EVMGR_ONESHOT, 2);
  ASSERT_TRUE(old_pipe.put());  // the OLD file becomes readable
  for (const evmgr_event& e : poll_until(2, 100 * kMs)) {
    EXPECT_NE(new_key, e.key) << "the new file's waiter got the old file's readiness";
  }
  ::close(keep_alive);
}

// A number that named /dev/null (always ready, Note [Always-ready fds]),
// whose waiter left before any poll, then names a pipe: its new one-shot
// waiter is the pipe's, woken once by the pipe's data and then gone.
TEST_P(Conformance, AOneShotWaiterOnANumberThatWasAlwaysReadyIsWokenOnceByItsOwnFile) {
  Pipe p;
  const int number = p.r;
  dup2_dev_null_onto(number);  // the pipe's read end is gone
  const evmgr_key null_key = reg(number, EVMGR_READ, EVMGR_PERSISTENT, 1);
  EXPECT_EQ(0, evmgr_fd_unregister(m_, null_key));
  Pipe fresh;
  ASSERT_EQ(number, dup2(fresh.r, number));  // the number names a pipe now
  fresh.close_read();
  fresh.r = number;
  p.r = -1;
  const evmgr_key key = reg(number, EVMGR_READ, EVMGR_ONESHOT, 2);
  EXPECT_TRUE(poll_once(0).empty()) << "an empty pipe served as always ready";
  ASSERT_TRUE(fresh.put());
  const auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(key, evs[0].key);
  EXPECT_EQ(2u, evs[0].token);
  EXPECT_TRUE(evs[0].events & EVMGR_READ);
  EXPECT_EQ(0u, evmgr_pending_count(m_));
  EXPECT_TRUE(poll_once(10 * kMs).empty()) << "a fired one-shot waiter came back";
}

// Note [Late events of a dropped watch]: a socket's number comes to name
// /dev/null while a dup() keeps the socket open, and the socket then hangs
// up. Its watch may still be in the kernel (epoll cannot delete it by
// number any more); its events must not reach a persistent waiter on the
// number's new file, which no back-end arms (always ready).
class SocketNumberTakenByDevNull : public Conformance {
 protected:
  void SetUp() override {
    Conformance::SetUp();
    evmgr_set_closed_fd_check_interval(m_, 0);
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_));
    number_ = sv_[0];
    old_key_ = reg(number_, EVMGR_READ | EVMGR_WRITE, EVMGR_PERSISTENT, 1);
    (void)poll_once(0);  // the socket is writable: io_uring's poll is sent
    keep_alive_ = dup(number_);
    ASSERT_GE(keep_alive_, 0);
    dup2_dev_null_onto(number_);
  }
  void TearDown() override {
    ::close(keep_alive_);
    ::close(number_);
    ::close(sv_[1]);
    Conformance::TearDown();
  }
  // A persistent reader on /dev/null hears only its own readiness, before
  // and after the old socket hangs up, and stays registered.
  void expect_the_hang_up_reaches_nobody() {
    const evmgr_key new_key = reg(number_, EVMGR_READ, EVMGR_PERSISTENT, 2);
    ::close(sv_[1]);  // the old socket hangs up
    sv_[1] = -1;
    for (int i = 0; i < 5; ++i) {
      for (const evmgr_event& e : poll_once(10 * kMs)) {
        ASSERT_EQ(new_key, e.key);
        EXPECT_EQ(EVMGR_READ, e.events) << "the old socket's hang-up reached /dev/null's waiter";
      }
    }
    EXPECT_EQ(0, evmgr_fd_unregister(m_, new_key)) << "the persistent waiter was dropped";
  }

  int sv_[2] = {-1, -1};
  int number_ = -1;
  int keep_alive_ = -1;
  evmgr_key old_key_ = 0;
};

// The socket's waiter is told by the closed-fd check, which drops its watch.
TEST_P(SocketNumberTakenByDevNull, AfterTheCheckDroppedTheOldWatch) {
  ASSERT_EQ(0, evmgr_check_closed_fds(m_));
  bool old_closed = false;
  for (const evmgr_event& e : poll_once(0)) {
    if (e.key == old_key_) old_closed = (e.events & EVMGR_CLOSED) != 0;
  }
  EXPECT_TRUE(old_closed) << "the socket's waiter was not told its file is gone";
  expect_the_hang_up_reaches_nobody();
}

// The socket's waiter leaves by unregistering: the disarm cannot reach the
// old watch either (the number names /dev/null by then).
TEST_P(SocketNumberTakenByDevNull, AfterAnUnregistrationDisarmedIt) {
  EXPECT_EQ(0, evmgr_fd_unregister(m_, old_key_));
  expect_the_hang_up_reaches_nobody();
}

TEST_P(Conformance, ReusedFdNumberStaleKeyDoesNotTouchNewRegistration) {
  Pipe old_pipe;
  Pipe fresh;  // made first, so that it does not take the old number itself
  const int number = old_pipe.r;
  const evmgr_key old_key = reg(number, EVMGR_READ, EVMGR_ONESHOT, 1);
  old_pipe.close_read();
  // Let the manager notice the close (check interval / POLLNVAL).
  auto evs = poll_until(1, 3 * kSec);
  ASSERT_EQ(1u, evs.size());
  EXPECT_TRUE(evs[0].events & EVMGR_CLOSED);
  ASSERT_EQ(number, dup2(fresh.r, number));
  fresh.close_read();
  fresh.r = number;
  const evmgr_key new_key = reg(number, EVMGR_READ, EVMGR_PERSISTENT, 2);
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, old_key));
  EXPECT_EQ(ENOENT, evmgr_fd_modify(m_, old_key, EVMGR_WRITE));
  ASSERT_TRUE(fresh.put());
  evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(new_key, evs[0].key);
  EXPECT_EQ(2u, evs[0].token);
  EXPECT_EQ(0, evmgr_fd_unregister(m_, new_key));
}

TEST_P(Conformance, HangUpWakesReader) {
  Pipe p;
  reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  EXPECT_TRUE(poll_once(0).empty());
  p.close_write();
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_TRUE(evs[0].events & EVMGR_READ);
  EXPECT_FALSE(evs[0].events & EVMGR_CLOSED);

  SocketPair s;
  reg(s.a, EVMGR_READ, EVMGR_ONESHOT, 2);
  EXPECT_TRUE(poll_once(0).empty());
  ::close(s.b);
  s.b = -1;
  evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(2u, evs[0].token);
  EXPECT_TRUE(evs[0].events & EVMGR_READ);
}

TEST_P(Conformance, ReaderClosedWakesWriterWithError) {
  Pipe p;
  // Fill the pipe so that the writer really waits.
  std::vector<char> chunk(65536, 'x');
  while (::write(p.w, chunk.data(), chunk.size()) > 0) {
  }
  reg(p.w, EVMGR_WRITE, EVMGR_ONESHOT, 1);
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  p.close_read();
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_TRUE(evs[0].events & EVMGR_WRITE);
}

// ---- timers ------------------------------------------------------------------

TEST_P(Conformance, TimersFireInDeadlineOrder) {
  timer(60 * kMs, 3);
  timer(20 * kMs, 1);
  timer(40 * kMs, 2);
  std::vector<uintptr_t> order;
  for (const evmgr_event& e : poll_until(3)) {
    EXPECT_EQ(EVMGR_TIMEOUT, e.events);
    EXPECT_EQ(-1, e.fd);
    order.push_back(e.token);
  }
  EXPECT_EQ((std::vector<uintptr_t>{1, 2, 3}), order);
}

TEST_P(Conformance, EqualDeadlinesFireInTheOrderTheyWereSet) {
  const int64_t deadline = evmgr_now_ns() + 20 * kMs;
  for (uintptr_t t = 0; t < 50; ++t) {
    evmgr_key key;
    ASSERT_EQ(0, evmgr_timer_add_at(m_, deadline, t, &key));
  }
  std::vector<uintptr_t> order;
  for (const evmgr_event& e : poll_until(50, 2 * kSec, 7)) order.push_back(e.token);
  ASSERT_EQ(50u, order.size());
  for (uintptr_t t = 0; t < 50; ++t) EXPECT_EQ(t, order[t]);
}

TEST_P(Conformance, TimerNeverFiresEarly) {
  const int64_t timeouts[] = {1 * kMs, 3 * kMs, 7 * kMs, 15 * kMs, 250 * 1000 /* 250 us */};
  for (int64_t timeout : timeouts) {
    const int64_t before = evmgr_now_ns();
    timer(timeout, 1);
    auto evs = poll_until(1);
    const int64_t after = evmgr_now_ns();
    ASSERT_EQ(1u, evs.size());
    EXPECT_GE(after - before, timeout) << "timer of " << timeout << " ns fired early";
  }
  // Absolute deadlines too, checked right at delivery.
  for (int i = 0; i < 5; ++i) {
    const int64_t deadline = evmgr_now_ns() + (i + 1) * kMs;
    evmgr_key key;
    ASSERT_EQ(0, evmgr_timer_add_at(m_, deadline, 1, &key));
    auto evs = poll_until(1);
    ASSERT_EQ(1u, evs.size());
    EXPECT_GE(evmgr_now_ns(), deadline);
  }
}

TEST_P(Conformance, TimerUpdateMovesTheDeadline) {
  const int64_t start = evmgr_now_ns();
  const evmgr_key late = timer(10 * kSec, 1);
  const evmgr_key early = timer(30 * kMs, 2);
  ASSERT_EQ(0, evmgr_timer_update(m_, late, 10 * kMs));
  ASSERT_EQ(0, evmgr_timer_update(m_, early, 60 * kMs));
  auto evs = poll_until(2);
  ASSERT_EQ(2u, evs.size());
  EXPECT_EQ(late, evs[0].key);
  EXPECT_EQ(early, evs[1].key);
  EXPECT_GE(evmgr_now_ns() - start, 60 * kMs);
  EXPECT_EQ(ENOENT, evmgr_timer_update(m_, late, kMs)) << "update after fire";
}

TEST_P(Conformance, TimerCancelPreventsFiringAndIsEnoentAfterwards) {
  const evmgr_key a = timer(10 * kMs, 1);
  const evmgr_key b = timer(20 * kMs, 2);
  ASSERT_EQ(0, evmgr_timer_cancel(m_, a));
  EXPECT_EQ(ENOENT, evmgr_timer_cancel(m_, a));
  EXPECT_EQ(ENOENT, evmgr_timer_update(m_, a, kMs));
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(b, evs[0].key);
  EXPECT_TRUE(poll_once(30 * kMs).empty());
  EXPECT_EQ(ENOENT, evmgr_timer_cancel(m_, b)) << "cancel after fire";
  EXPECT_EQ(ENOENT, evmgr_fd_unregister(m_, b));
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

TEST_P(Conformance, CancelOrUpdateOfAFiredButUndeliveredTimer) {
  const evmgr_key a = timer(0, 1);
  const evmgr_key b = timer(0, 2);
  const evmgr_key c = timer(0, 3);
  evmgr_event ev;
  ASSERT_EQ(1, evmgr_poll(m_, 0, &ev, 1));
  EXPECT_EQ(a, ev.key);
  // b and c fired and wait in the queue: cancel drops b's event, update
  // takes c's back and sets it again.
  EXPECT_EQ(0, evmgr_timer_cancel(m_, b));
  const int64_t start = evmgr_now_ns();
  EXPECT_EQ(0, evmgr_timer_update(m_, c, 30 * kMs));
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(c, evs[0].key);
  EXPECT_GE(evmgr_now_ns() - start, 30 * kMs);
  EXPECT_TRUE(poll_once(20 * kMs).empty());
}

TEST_P(Conformance, MaxBoundTimeoutNeverFiresNorOverflows) {
  const evmgr_key a = timer(INT64_MAX, 1);
  evmgr_key b;
  ASSERT_EQ(0, evmgr_timer_add_at(m_, INT64_MAX, 2, &b));
  const evmgr_key c = timer(INT64_MAX - 1, 3);
  EXPECT_EQ(INT64_MAX, evmgr_next_deadline_ns(m_));
  EXPECT_TRUE(poll_once(50 * kMs).empty());
  EXPECT_TRUE(poll_once(0).empty());
  ASSERT_EQ(0, evmgr_timer_update(m_, a, INT64_MAX));
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  EXPECT_EQ(3u, evmgr_pending_count(m_));
  // A near timer still fires among them.
  const evmgr_key d = timer(5 * kMs, 4);
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(d, evs[0].key);
  EXPECT_EQ(0, evmgr_timer_cancel(m_, a));
  EXPECT_EQ(0, evmgr_timer_cancel(m_, b));
  EXPECT_EQ(0, evmgr_timer_cancel(m_, c));
  EXPECT_EQ(-1, evmgr_next_deadline_ns(m_));
}

TEST_P(Conformance, ZeroAndNegativeTimeoutsFireAtTheNextPoll) {
  timer(0, 1);
  timer(-5, 2);
  timer(INT64_MIN, 3);
  evmgr_key key;
  ASSERT_EQ(0, evmgr_timer_add_at(m_, INT64_MIN, 4, &key));
  auto evs = poll_once(0);
  ASSERT_EQ(4u, evs.size());
  std::set<uintptr_t> tokens;
  for (const evmgr_event& e : evs) tokens.insert(e.token);
  EXPECT_EQ((std::set<uintptr_t>{1, 2, 3, 4}), tokens);
}

// ---- delivery ----------------------------------------------------------------

TEST_P(Conformance, CapacitySmallerThanReadyCountLosesNothing) {
  std::vector<Pipe> pipes(10);
  std::set<evmgr_key> expected;
  for (size_t i = 0; i < pipes.size(); ++i) {
    expected.insert(reg(pipes[i].r, EVMGR_READ, EVMGR_ONESHOT, 100 + i));
    ASSERT_TRUE(pipes[i].put());
  }
  for (uintptr_t i = 0; i < 5; ++i) expected.insert(timer(0, 200 + i));
  std::multiset<evmgr_key> got;
  const int64_t end = evmgr_now_ns() + 2 * kSec;
  while (got.size() < expected.size() && evmgr_now_ns() < end) {
    evmgr_event out[3];
    const int n = evmgr_poll(m_, 100 * kMs, out, 3);
    ASSERT_GE(n, 0);
    ASSERT_LE(n, 3);
    for (int i = 0; i < n; ++i) got.insert(out[i].key);
  }
  EXPECT_EQ(expected, std::set<evmgr_key>(got.begin(), got.end()));
  EXPECT_EQ(expected.size(), got.size()) << "an event was delivered twice";
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

TEST_P(Conformance, PollRejectsNullArrayAndZeroCapacity) {
  evmgr_event ev;
  EXPECT_EQ(-EINVAL, evmgr_poll(m_, 0, nullptr, 4));
  EXPECT_EQ(-EINVAL, evmgr_poll(m_, 0, &ev, 0));
}

TEST_P(Conformance, PollTimesOutAfterTheTimeout) {
  const int64_t start = evmgr_now_ns();
  EXPECT_TRUE(poll_once(30 * kMs).empty());
  EXPECT_GE(evmgr_now_ns() - start, 30 * kMs);
}

TEST_P(Conformance, WakeupFromAnotherThreadInterruptsAnInfinitePoll) {
  Pipe p;
  reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);  // a waiter, never ready
  std::atomic<bool> returned{false};
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(0, evmgr_wakeup(m_));
    // Watchdog: if the poll does not return, keep waking (the test fails on
    // the elapsed time below instead of hanging).
    for (int i = 0; i < 100 && !returned.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!returned.load()) (void)evmgr_wakeup(m_);
  });
  evmgr_set_closed_fd_check_interval(m_, 0);  // no periodic wake-up
  const int64_t start = evmgr_now_ns();
  evmgr_event ev;
  const int n = evmgr_poll(m_, -1, &ev, 1);
  returned = true;
  const int64_t took = evmgr_now_ns() - start;
  waker.join();
  EXPECT_EQ(0, n);
  EXPECT_LT(took, 2 * kSec);
}

TEST_P(Conformance, WakeupBeforePollMakesItReturn) {
  ASSERT_EQ(0, evmgr_wakeup(m_));
  ASSERT_EQ(0, evmgr_wakeup(m_));  // bursts collapse
  const int64_t start = evmgr_now_ns();
  evmgr_event ev;
  EXPECT_EQ(0, evmgr_poll(m_, 5 * kSec, &ev, 1));
  EXPECT_LT(evmgr_now_ns() - start, 1 * kSec);
  // Consumed: the next poll waits its timeout again.
  const int64_t again = evmgr_now_ns();
  EXPECT_EQ(0, evmgr_poll(m_, 30 * kMs, &ev, 1));
  EXPECT_GE(evmgr_now_ns() - again, 30 * kMs);
}

TEST_P(Conformance, WakeupDoesNotDropReadyEvents) {
  Pipe p;
  const evmgr_key key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  ASSERT_TRUE(p.put());
  ASSERT_EQ(0, evmgr_wakeup(m_));
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(key, evs[0].key);
}

TEST_P(Conformance, FdRegisteredAndClosedDuringAnIdleInfinitePollGetsClosed) {
  SKIP_IF_SINGLE_THREADED();
  // The poll starts with nothing registered (an infinite wait); another
  // thread registers a pipe and closes it. The wait must be cut short so
  // the closed-fd check (or poll(2)'s POLLNVAL on re-entry) reports it.
  Pipe p;
  std::thread registrar([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    evmgr_key key;
    EXPECT_EQ(0, evmgr_fd_register(m_, p.r, EVMGR_READ, EVMGR_PERSISTENT, 88, &key));
    p.close_read();
  });
  const int64_t start = evmgr_now_ns();
  evmgr_event ev{};
  int n = 0;
  while (n == 0 && evmgr_now_ns() - start < 3 * kSec) n = evmgr_poll(m_, 3 * kSec, &ev, 1);
  registrar.join();
  ASSERT_EQ(1, n);
  EXPECT_EQ(88u, ev.token);
  EXPECT_TRUE(ev.events & EVMGR_CLOSED);
  EXPECT_LT(evmgr_now_ns() - start, 50 * kMs + 5 * kCheckInterval + 500 * kMs);
}

TEST_P(Conformance, RegistrationFromAnotherThreadReachesABlockedPoll) {
  SKIP_IF_SINGLE_THREADED();
  Pipe p;
  ASSERT_TRUE(p.put());
  evmgr_set_closed_fd_check_interval(m_, 0);
  std::thread registrar([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    evmgr_key key;
    EXPECT_EQ(0, evmgr_fd_register(m_, p.r, EVMGR_READ, EVMGR_ONESHOT, 77, &key));
  });
  const int64_t start = evmgr_now_ns();
  auto evs = poll_until(1, 3 * kSec);
  registrar.join();
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(77u, evs[0].token);
  EXPECT_LT(evmgr_now_ns() - start, 2 * kSec);
}

TEST_P(Conformance, TimerAddedFromAnotherThreadShortensABlockedPoll) {
  SKIP_IF_SINGLE_THREADED();
  std::thread adder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    evmgr_key key;
    EXPECT_EQ(0, evmgr_timer_add(m_, 10 * kMs, 5, &key));
  });
  const int64_t start = evmgr_now_ns();
  auto evs = poll_until(1, 3 * kSec);
  adder.join();
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(5u, evs[0].token);
  EXPECT_LT(evmgr_now_ns() - start, 2 * kSec);
}

TEST_P(Conformance, OneBlockedPollDeliversATimerAddedByAnotherThread) {
  SKIP_IF_SINGLE_THREADED();
  // ffi/evmgr.h: "Registrations made while a poll is blocked take effect in
  // that poll", and a poll returns 0 only "on timeout or wake-up". So ONE
  // evmgr_poll call must deliver the timer, not return 0 early because the
  // manager poked its own wake-up channel.
  evmgr_set_closed_fd_check_interval(m_, 0);
  std::thread adder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    evmgr_key key;
    EXPECT_EQ(0, evmgr_timer_add(m_, 20 * kMs, 5, &key));
  });
  evmgr_event ev;
  const int n = evmgr_poll(m_, 2 * kSec, &ev, 1);
  adder.join();
  EXPECT_EQ(1, n) << "the blocked poll returned early without the timer's event";
  if (n != 1) (void)poll_until(1);
}

TEST_P(Conformance, OneBlockedPollDeliversAnFdRegisteredByAnotherThread) {
  SKIP_IF_SINGLE_THREADED();
  evmgr_set_closed_fd_check_interval(m_, 0);
  Pipe p;
  std::thread registrar([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    evmgr_key key;
    EXPECT_EQ(0, evmgr_fd_register(m_, p.r, EVMGR_READ, EVMGR_ONESHOT, 6, &key));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(p.put());
  });
  evmgr_event ev;
  const int n = evmgr_poll(m_, 2 * kSec, &ev, 1);
  registrar.join();
  EXPECT_EQ(1, n) << "the blocked poll returned early without the fd's event";
  if (n != 1) (void)poll_until(1);
}

// Polls from another thread until it gets something other than -EBUSY (a
// probe of the main thread may hold the poll slot for an instant).
int poll_retrying_ebusy(evmgr_manager* m, int64_t timeout_ns) {
  for (;;) {
    evmgr_event ev;
    const int n = evmgr_poll(m, timeout_ns, &ev, 1);
    if (n != -EBUSY) return n;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST_P(Conformance, SecondConcurrentPollerGetsEbusy) {
  SKIP_IF_SINGLE_THREADED();
  std::atomic<int> result{1};
  std::atomic<bool> started{false};
  std::thread poller([&] {
    started = true;
    result = poll_retrying_ebusy(m_, 5 * kSec);
  });
  while (!started.load()) std::this_thread::yield();
  bool saw_ebusy = false;
  const int64_t end = evmgr_now_ns() + 3 * kSec;
  while (!saw_ebusy && evmgr_now_ns() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    evmgr_event ev;
    const int n = evmgr_poll(m_, 0, &ev, 1);
    EXPECT_TRUE(n == 0 || n == -EBUSY) << n;
    saw_ebusy = n == -EBUSY;
  }
  EXPECT_TRUE(saw_ebusy);
  EXPECT_EQ(0, evmgr_wakeup(m_));
  poller.join();
  EXPECT_EQ(0, result.load());
  evmgr_event ev;
  EXPECT_EQ(0, evmgr_poll(m_, 0, &ev, 1)) << "the poll slot must be free again";
}

extern "C" void noop_handler(int) {}

TEST_P(Conformance, SignalMakesPollReturnEintrAndLosesNothing) {
  struct sigaction sa = {};
  sa.sa_handler = noop_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART
  struct sigaction old;
  ASSERT_EQ(0, sigaction(SIGUSR1, &sa, &old));

  Pipe p;
  const evmgr_key fd_key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  // Long enough that a loaded machine cannot let it expire before the
  // signals arrive (the poll would then return it without blocking).
  const evmgr_key timer_key = timer(1500 * kMs, 2);
  evmgr_set_closed_fd_check_interval(m_, 0);
  std::atomic<int> result{1};
  std::atomic<bool> done{false};
  std::atomic<bool> started{false};
  std::thread poller([&] {
    evmgr_event ev;
    started = true;
    result = evmgr_poll(m_, 5 * kSec, &ev, 1);
    done = true;
  });
  const pthread_t target = poller.native_handle();
  while (!started.load()) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // A signal that lands before the thread blocks is missed by the syscall:
  // repeat until the poll returns.
  const int64_t end = evmgr_now_ns() + 3 * kSec;
  while (!done.load() && evmgr_now_ns() < end) {
    pthread_kill(target, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  poller.join();
  ASSERT_EQ(0, sigaction(SIGUSR1, &old, nullptr));
  EXPECT_EQ(-EINTR, result.load());
  // Nothing lost: both registrations still work.
  EXPECT_EQ(2u, evmgr_pending_count(m_));
  ASSERT_TRUE(p.put());
  auto evs = poll_until(2, 3 * kSec);
  ASSERT_EQ(2u, evs.size());
  EXPECT_TRUE(find_token(evs, 1) && find_token(evs, 2));
  EXPECT_EQ(fd_key, find_token(evs, 1)->key);
  EXPECT_EQ(timer_key, find_token(evs, 2)->key);
}

// ---- scale -------------------------------------------------------------------

TEST_P(Conformance, ThousandsOfFdsOnlyTheReadyOnesComeBack) {
  const rlim_t limit = raise_fd_limit();
  // 9000 waited-on fds, well past select()'s FD_SETSIZE of 1024, which is
  // what the manager replaces (18000 pipe fds of the 20000 allowed here).
  const size_t wanted = 9000;
  if (limit < 2 * wanted + 200) GTEST_SKIP() << "RLIMIT_NOFILE too low: " << limit;
  std::vector<Pipe> pipes;
  pipes.reserve(wanted);
  std::vector<evmgr_key> keys;
  for (size_t i = 0; i < wanted; ++i) {
    pipes.emplace_back();
    ASSERT_GE(pipes.back().r, 0) << "pipe " << i;
    keys.push_back(reg(pipes.back().r, EVMGR_READ, EVMGR_ONESHOT, i));
  }
  EXPECT_EQ(wanted, evmgr_pending_count(m_));
  EXPECT_TRUE(poll_once(0).empty());
  const std::set<uintptr_t> ready{0, 17, wanted / 2, wanted - 2, wanted - 1};
  for (uintptr_t i : ready) ASSERT_TRUE(pipes[i].put());
  std::set<uintptr_t> got;
  for (const evmgr_event& e : poll_until(ready.size(), 5 * kSec, 2)) {
    EXPECT_TRUE(got.insert(e.token).second);
    EXPECT_EQ(pipes[e.token].r, e.fd);
  }
  EXPECT_EQ(ready, got);
  EXPECT_TRUE(poll_once(30 * kMs).empty());
  for (size_t i = 0; i < wanted; ++i) {
    EXPECT_EQ(ready.count(i) ? ENOENT : 0, evmgr_fd_unregister(m_, keys[i]));
  }
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

TEST_P(Conformance, SparseHighFdNumberWorks) {
  const rlim_t limit = raise_fd_limit();
  const int high = 19000;
  if (limit <= static_cast<rlim_t>(high)) GTEST_SKIP() << "RLIMIT_NOFILE too low: " << limit;
  Pipe p;
  ASSERT_EQ(high, dup2(p.r, high));
  const evmgr_key key = reg(high, EVMGR_READ, EVMGR_PERSISTENT, 1);
  EXPECT_EQ(high, evmgr_key_fd(m_, key));
  ASSERT_TRUE(p.put());
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(high, evs[0].fd);
  EXPECT_EQ(0, evmgr_fd_unregister(m_, key));
  ::close(high);
}

// ---- introspection -------------------------------------------------------------

void add_100(void* ctx, uintptr_t* token) {
  ++*static_cast<int*>(ctx);
  *token += 100;
}

TEST_P(Conformance, VisitTokensRewritesTokensInPlace) {
  Pipe p;
  const evmgr_key fd_key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  const evmgr_key timer_key = timer(5 * kMs, 2);
  int visited = 0;
  evmgr_visit_tokens(m_, add_100, &visited);
  EXPECT_EQ(2, visited);
  ASSERT_TRUE(p.put());
  auto evs = poll_until(2);
  ASSERT_EQ(2u, evs.size());
  ASSERT_NE(nullptr, find_token(evs, 101));
  ASSERT_NE(nullptr, find_token(evs, 102));
  EXPECT_EQ(fd_key, find_token(evs, 101)->key);
  EXPECT_EQ(timer_key, find_token(evs, 102)->key);
  visited = 0;
  evmgr_visit_tokens(m_, add_100, &visited);
  EXPECT_EQ(0, visited);
  evmgr_visit_tokens(m_, nullptr, nullptr);  // accepted
}

TEST_P(Conformance, VisitTokensReachesQueuedEvents) {
  timer(0, 1);
  timer(0, 2);
  evmgr_event ev;
  ASSERT_EQ(1, evmgr_poll(m_, 0, &ev, 1));
  int visited = 0;
  evmgr_visit_tokens(m_, add_100, &visited);
  EXPECT_EQ(1, visited);
  ASSERT_EQ(1, evmgr_poll(m_, 0, &ev, 1));
  EXPECT_EQ(ev.token, ev.token >= 100 ? ev.token : 0u) << "queued token not rewritten";
  EXPECT_GE(ev.token, 100u);
}

TEST_P(Conformance, PendingCountCountsLiveAndQueuedRegistrations) {
  EXPECT_EQ(0u, evmgr_pending_count(m_));
  Pipe p;
  const evmgr_key persistent = reg(p.r, EVMGR_READ, EVMGR_PERSISTENT, 1);
  reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 2);
  const evmgr_key t = timer(10 * kSec, 3);
  timer(0, 4);
  EXPECT_EQ(4u, evmgr_pending_count(m_));
  ASSERT_TRUE(p.put());
  evmgr_event ev;
  // One event out, the others queued but still counted.
  ASSERT_EQ(1, evmgr_poll(m_, 2 * kSec, &ev, 1));
  const size_t after_one = evmgr_pending_count(m_);
  EXPECT_GE(after_one, 3u);
  (void)poll_once(0);  // the queued rest
  p.drain();
  // Delivered one-shots are gone; persistent and the far timer stay.
  EXPECT_EQ(2u, evmgr_pending_count(m_));
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  EXPECT_EQ(0, evmgr_fd_unregister(m_, persistent));
  EXPECT_EQ(0, evmgr_timer_cancel(m_, t));
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

TEST_P(Conformance, PollableFdSignalsReadiness) {
  const int pfd = evmgr_pollable_fd(m_);
  if (GetParam() == EVMGR_BACKEND_POLL) {
    EXPECT_EQ(-1, pfd);
    return;
  }
  ASSERT_GE(pfd, 0);
  Pipe p;
  reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  struct pollfd q = {pfd, POLLIN, 0};
  EXPECT_EQ(0, ::poll(&q, 1, 0));
  ASSERT_TRUE(p.put());
  EXPECT_EQ(1, ::poll(&q, 1, 2000));
  EXPECT_EQ(1u, poll_once(0).size());
}

// ---- fork --------------------------------------------------------------------

// Exit codes of the child: 0 success, else the step that failed.
int child_after_fork(evmgr_manager* m, const Pipe& b, evmgr_key a_key,
                     evmgr_key b_key) {
  if (evmgr_after_fork(m) != 0) return 10;
  // The child does not care about pipe a: unregistering it must not touch
  // the parent's registration (its kernel object is its own now).
  if (evmgr_fd_unregister(m, a_key) != 0) return 11;
  if (!b.put()) return 12;
  evmgr_event ev[4];
  int n = 0;
  const int64_t end = evmgr_now_ns() + 3 * kSec;
  while (n == 0 && evmgr_now_ns() < end) n = evmgr_poll(m, 100 * kMs, ev, 4);
  if (n != 1) return 13;
  if (ev[0].key != b_key || ev[0].token != 2) return 14;
  // A fresh registration and a timer work in the child too.
  Pipe c;
  evmgr_key c_key;
  if (evmgr_fd_register(m, c.r, EVMGR_READ, EVMGR_ONESHOT, 3, &c_key) != 0) return 15;
  if (!c.put()) return 16;
  evmgr_key t_key;
  if (evmgr_timer_add(m, 5 * kMs, 4, &t_key) != 0) return 17;
  int got = 0;
  const int64_t end2 = evmgr_now_ns() + 3 * kSec;
  while (got < 2 && evmgr_now_ns() < end2) {
    n = evmgr_poll(m, 100 * kMs, ev, 4);
    if (n < 0) return 18;
    got += n;
  }
  if (got != 2) return 19;
  return 0;
}

TEST_P(Conformance, AfterForkParentAndChildEachKeepTheirEvents) {
  Pipe a, b;
  const evmgr_key a_key = reg(a.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  const evmgr_key b_key = reg(b.r, EVMGR_READ, EVMGR_ONESHOT, 2);
  EXPECT_TRUE(poll_once(0).empty());
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(child_after_fork(m_, b, a_key, b_key));
  // Parent: forget b (the child writes to it), wait for the child, then
  // check that a still works here.
  EXPECT_EQ(0, evmgr_fd_unregister(m_, b_key));
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status)) << "child status " << status;
  EXPECT_EQ(0, WEXITSTATUS(status)) << "child failed at step " << WEXITSTATUS(status);
  EXPECT_TRUE(poll_once(20 * kMs).empty()) << "the child's activity leaked into the parent";
  ASSERT_TRUE(a.put());
  auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(a_key, evs[0].key);
  const evmgr_key t = timer(5 * kMs, 9);
  evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(t, evs[0].key);
}

// ---- reused fd numbers and the closed-fd check on demand ---------------------------
// A waiter whose fd number comes to name another file (Note [Closed fds]):
// whatever took the number, and whether or not the old file lives on, the
// check tells the waiter EVMGR_CLOSED; it never waits on a file it did not
// register on. The periodic check is off in these (interval 0) and the
// caller runs the check, as the non-threaded RTS does.

// A one-shot reader (token 1) waits on old_pipe's read end, `number`.
class ReusedNumber : public Conformance {
 protected:
  void SetUp() override {
    Conformance::SetUp();
    evmgr_set_closed_fd_check_interval(m_, 0);
    number_ = old_pipe_.r;
    key_ = reg(number_, EVMGR_READ, EVMGR_ONESHOT, 1);
    // A wait first, as in a program: io_uring's poll request is then in the
    // kernel, holding the old file, when the number is reused.
    EXPECT_TRUE(poll_once(0).empty());
  }

  // `number` now names `fd`'s file (dup2 drops what it named), and fd is
  // closed. The caller owns `number` from then on.
  void move_onto_number(int fd) {
    ASSERT_EQ(number_, dup2(fd, number_));
    ::close(fd);
    old_pipe_.r = -1;
  }
  // A fresh pipe's read end takes the number.
  void replace_with_fresh_pipe() {
    move_onto_number(fresh_.r);
    fresh_.r = number_;
  }

  Pipe old_pipe_;
  Pipe fresh_;
  int number_ = -1;
  evmgr_key key_ = 0;
};

TEST_P(ReusedNumber, ClosedThenTakenByANewPipeGetsClosedOnCheck) {
  // close, then pipes until one takes the number: the kernel hands out the
  // lowest free number, as in a program that closes and opens.
  old_pipe_.close_read();
  std::vector<Pipe> made;
  int took = -1;
  while (took < 0 && made.size() < 256) {
    made.emplace_back();
    if (made.back().r == number_ || made.back().w == number_) took = static_cast<int>(made.size()) - 1;
  }
  ASSERT_GE(took, 0) << "no new pipe took fd " << number_;
  ASSERT_TRUE(made[took].put());  // the new file has data: still not the waiter's
  expect_closed_on_check(key_);
  // The number's new file is watched normally.
  if (made[took].r == number_) {
    reg(number_, EVMGR_READ, EVMGR_ONESHOT, 2);
    const auto evs = poll_until(1);
    ASSERT_EQ(1u, evs.size());
    EXPECT_EQ(2u, evs[0].token);
    EXPECT_TRUE(evs[0].events & EVMGR_READ);
  }
}

TEST_P(ReusedNumber, TakenByASocketGetsClosedOnCheck) {
  SocketPair fresh;
  move_onto_number(fresh.a);
  fresh.a = number_;
  ASSERT_EQ(1, ::write(fresh.b, "x", 1));
  expect_closed_on_check(key_);
}

// The number reused before a fork: in the child, the manager's fresh kernel
// object has never seen the old file (epoll: no MOD can say ENOENT), yet
// the waiter must still hear that its file is gone.
TEST_P(ReusedNumber, ReusedBeforeAForkGetsClosedInTheChild) {
  replace_with_fresh_pipe();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (evmgr_after_fork(m_) != 0) _exit(1);
    if (evmgr_check_closed_fds(m_) != 0) _exit(2);
    evmgr_event ev[4];
    const int n = evmgr_poll(m_, 0, ev, 4);
    if (n != 1 || ev[0].key != key_) _exit(3);
    if ((ev[0].events & EVMGR_CLOSED) == 0) _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(0, WEXITSTATUS(status)) << "child failed at step " << WEXITSTATUS(status)
                                    << " (3: no event or another key, 4: not CLOSED)";
}

TEST_P(ReusedNumber, Dup2edOntoByANewPipeGetsClosedOnCheckEvenWithoutData) {
  replace_with_fresh_pipe();
  expect_closed_on_check(key_);
}

// A change of interest after the number was reused: epoll's MOD then finds
// the number's new file (ENOENT, and the new file armed in passing). The
// waiter must still hear that its own file is gone, not watch the new one
// (the fuzzer found it watching, told nothing, forever).
TEST_P(ReusedNumber, ModifiedAfterItsNumberWasReusedStillGetsClosed) {
  replace_with_fresh_pipe();
  ASSERT_TRUE(fresh_.put());  // the new file is readable: not the waiter's
  const int rc = evmgr_fd_modify(m_, key_, EVMGR_READ | EVMGR_WRITE);
  EXPECT_TRUE(rc == 0 || rc == EBADF) << "evmgr_fd_modify: " << rc;
  expect_closed_on_check(key_);
}

// The same through an unregistration: the remaining waiter's interest is
// re-armed on the number, which names the new file now.
TEST_P(ReusedNumber, TheWaiterLeftByAnUnregisterOnAReusedNumberStillGetsClosed) {
  const evmgr_key writer = reg(number_, EVMGR_WRITE, EVMGR_PERSISTENT, 3);
  replace_with_fresh_pipe();
  ASSERT_TRUE(fresh_.put());
  EXPECT_EQ(0, evmgr_fd_unregister(m_, key_));
  expect_closed_on_check(writer);
}

TEST_P(ReusedNumber, TakenByARegularFileGetsClosedOnCheck) {
  FILE* f = tmpfile();
  ASSERT_NE(nullptr, f);
  ASSERT_EQ(number_, dup2(fileno(f), number_));
  fclose(f);
  old_pipe_.r = -1;
  expect_closed_on_check(key_);
  ::close(number_);
}

TEST_P(ReusedNumber, TakenWhileADupKeepsTheOldFileOpenGetsClosedOnCheck) {
  const int keep_alive = dup(number_);  // the old file outlives its number
  ASSERT_GE(keep_alive, 0);
  replace_with_fresh_pipe();
  ASSERT_TRUE(fresh_.put());
  expect_closed_on_check(key_);
  // The old file's watch may live on in the kernel: its readiness reaches
  // nobody.
  ASSERT_TRUE(old_pipe_.put());
  EXPECT_TRUE(poll_once(20 * kMs).empty());
  ::close(keep_alive);
}

TEST_P(ReusedNumber, PeriodicCheckReportsItWithinItsInterval) {
  evmgr_set_closed_fd_check_interval(m_, kCheckInterval);
  EXPECT_TRUE(poll_once(0).empty());
  replace_with_fresh_pipe();
  // No data on the new file: nothing but the check can end the wait.
  const int64_t start = evmgr_now_ns();
  const auto evs = poll_until(1, 3 * kSec);
  ASSERT_EQ(1u, evs.size()) << "the waiter on a reused number was never told";
  EXPECT_EQ(key_, evs[0].key);
  EXPECT_TRUE(evs[0].events & EVMGR_CLOSED);
  EXPECT_LT(evmgr_now_ns() - start, kCheckInterval + 1 * kSec);
}

TEST_P(ReusedNumber, CheckFromAnotherThreadEndsABlockedPoll) {
  // A sweep from one thread while another polls needs the lock.
  SKIP_IF_SINGLE_THREADED();
  std::vector<evmgr_event> got;
  std::thread poller([&] { got = poll_once(-1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it block
  replace_with_fresh_pipe();
  EXPECT_EQ(0, evmgr_check_closed_fds(m_));
  poller.join();
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(key_, got[0].key);
  EXPECT_TRUE(got[0].events & EVMGR_CLOSED);
}

TEST_P(Conformance, IntervalZeroTurnsTheCheckOffInsidePoll) {
  evmgr_set_closed_fd_check_interval(m_, 0);
  Pipe p;
  const evmgr_key key = reg(p.r, EVMGR_READ, EVMGR_ONESHOT, 1);
  // No deadline: nothing caps a blocking wait.
  EXPECT_EQ(-1, evmgr_next_deadline_ns(m_));
  // io_uring queues its poll request until a wait sends it, and a request
  // sent after the close would fail with EBADF at once: send it first, so
  // that it holds the file as a blocked wait's would.
  if (GetParam() == EVMGR_BACKEND_IO_URING) {
    EXPECT_TRUE(poll_once(0).empty());
  }
  p.close_read();
  if (GetParam() == EVMGR_BACKEND_POLL) {
    // poll(2) itself says POLLNVAL when entered.
    const auto evs = poll_once(1 * kSec);
    ASSERT_EQ(1u, evs.size());
    EXPECT_TRUE(evs[0].events & EVMGR_CLOSED);
  } else {
    EXPECT_TRUE(poll_once(100 * kMs).empty()) << "poll swept with the check off";
    EXPECT_EQ(-1, evmgr_next_deadline_ns(m_));
    expect_closed_on_check(key);
  }
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

TEST_P(Conformance, CheckWithNothingRegisteredDoesNothing) {
  EXPECT_EQ(0, evmgr_check_closed_fds(m_));
  const evmgr_key t = timer(1 * kSec, 1);
  EXPECT_EQ(0, evmgr_check_closed_fds(m_));
  EXPECT_TRUE(poll_once(0).empty());
  EXPECT_EQ(0, evmgr_timer_cancel(m_, t));
}

INSTANTIATE_TEST_SUITE_P(Backends, SocketNumberTakenByDevNull,
                         ::testing::ValuesIn(backends_under_test()),
                         [](const ::testing::TestParamInfo<evmgr_backend>& param_info) {
                           return backend_param_name(param_info.param);
                         });

INSTANTIATE_TEST_SUITE_P(Backends, ReusedNumber, ::testing::ValuesIn(backends_under_test()),
                         [](const ::testing::TestParamInfo<evmgr_backend>& param_info) {
                           return backend_param_name(param_info.param);
                         });

INSTANTIATE_TEST_SUITE_P(Backends, Conformance, ::testing::ValuesIn(backends_under_test()),
                         [](const ::testing::TestParamInfo<evmgr_backend>& param_info) {
                           return backend_param_name(param_info.param);
                         });

// ---- the C ABI's non-manager functions ----------------------------------------

}  // namespace

extern "C" {
// tests/capi_c_callers.c: out-of-range back-end numbers, passed from C.
int capi_new_with_backend_number(int number, evmgr_manager** out);
const char* capi_backend_name_of_number(int number);
int capi_backend_available_number(int number);
}

namespace {

TEST(CApi, BackendNamesParseAndAvailability) {
  EXPECT_STREQ("poll", evmgr_backend_name(EVMGR_BACKEND_POLL));
  EXPECT_EQ(nullptr, capi_backend_name_of_number(42));
  evmgr_backend b;
  EXPECT_EQ(0, evmgr_backend_parse("kqueue", &b));
  EXPECT_EQ(EVMGR_BACKEND_KQUEUE, b);
  EXPECT_EQ(EINVAL, evmgr_backend_parse("select", &b));
  EXPECT_EQ(1, evmgr_backend_available(EVMGR_BACKEND_POLL));
  EXPECT_EQ(0, capi_backend_available_number(-1));
  evmgr_manager* m = nullptr;
  EXPECT_EQ(EINVAL, capi_new_with_backend_number(9, &m));
  EXPECT_EQ(nullptr, m);
  ASSERT_EQ(0, evmgr_new(EVMGR_BACKEND_AUTO, &m));
  EXPECT_NE(EVMGR_BACKEND_AUTO, evmgr_backend_of(m));
  // What auto resolves to is what a manager created with auto uses.
  EXPECT_EQ(evmgr_backend_of(m), evmgr_backend_resolve(EVMGR_BACKEND_AUTO));
  EXPECT_EQ(EVMGR_BACKEND_POLL, evmgr_backend_resolve(EVMGR_BACKEND_POLL));
  evmgr_free(m);
  evmgr_free(nullptr);
}

TEST(CApi, MicrosecondsToNanosecondsSaturates) {
  EXPECT_EQ(0, evmgr_ns_from_us(0));
  EXPECT_EQ(0, evmgr_ns_from_us(-5));
  EXPECT_EQ(0, evmgr_ns_from_us(INT64_MIN));
  EXPECT_EQ(1000, evmgr_ns_from_us(1));
  EXPECT_EQ(INT64_MAX / 1000 * 1000, evmgr_ns_from_us(INT64_MAX / 1000));
  EXPECT_EQ(INT64_MAX, evmgr_ns_from_us(INT64_MAX / 1000 + 1));
  EXPECT_EQ(INT64_MAX, evmgr_ns_from_us(INT64_MAX));
}

#if defined(EVMGR_TEST_KQUEUE)
TEST(KqueueFork, AfterForkDoesNotCloseAnUnrelatedFileThatTookTheOldNumber) {
  // BSD: a kqueue is not inherited, so in the child its number is free and
  // the child's next open() may take it (the kqueue emulation does the
  // same). evmgr_after_fork must not close that unrelated file. On Linux the
  // child inherits the epoll fd, so the number cannot be taken without the
  // child closing it first: only kqueue is concerned.
  evmgr_manager* m_ = nullptr;
  ASSERT_EQ(0, evmgr_new(EVMGR_BACKEND_KQUEUE, &m_));
  const int kq_number = evmgr_pollable_fd(m_);
  ASSERT_GE(kq_number, 0);
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (fcntl(kq_number, F_GETFD) >= 0) _exit(1);  // not inherited
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, kq_number) != kq_number) _exit(2);
    struct stat before, after;
    if (fstat(kq_number, &before) != 0) _exit(2);
    if (evmgr_after_fork(m_) != 0) _exit(3);
    // Still /dev/null? (Closed behind our back, the number may even have
    // been reused by the new kqueue.)
    if (fstat(kq_number, &after) != 0 || after.st_ino != before.st_ino ||
        after.st_dev != before.st_dev)
      _exit(4);
    if (evmgr_pollable_fd(m_) == kq_number) _exit(5);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(0, WEXITSTATUS(status)) << "child failed at step " << WEXITSTATUS(status)
                                    << " (4: evmgr_after_fork closed the child's file)";
  evmgr_free(m_);
}
#endif  // EVMGR_TEST_KQUEUE

}  // namespace
