// SPDX-License-Identifier: BSD-3-Clause
//
// What the io_uring back-end must get right beyond the conformance suite
// (which runs on it too): completions beyond the completion ring, more arms
// between two waits than the submission ring holds, a file kept open by a
// pending poll after close() or after its number was reused, wake-ups from a signal handler, fork. Skipped
// where the kernel refuses io_uring (io_uring_refused_* cover that).
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "evmgr.h"
#include "test_util.hpp"

using namespace evmgr_test;

namespace {

class IoUring : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!evmgr_backend_available(EVMGR_BACKEND_IO_URING)) GTEST_SKIP() << "io_uring refused here";
    ASSERT_EQ(0, evmgr_new_with(EVMGR_BACKEND_IO_URING, test_manager_flags(), &m_));
  }
  void TearDown() override { evmgr_free(m_); }

  // Polls until `count` events arrived or 5 s passed.
  std::vector<evmgr_event> poll_until(size_t count, int64_t budget_ns = 5 * kSec) {
    std::vector<evmgr_event> all, batch(512);
    const int64_t end = evmgr_now_ns() + budget_ns;
    while (all.size() < count && evmgr_now_ns() < end) {
      const int n = evmgr_poll(m_, 100 * kMs, batch.data(), batch.size());
      EXPECT_GE(n, 0);
      for (int i = 0; i < n; ++i) all.push_back(batch[i]);
    }
    return all;
  }

  evmgr_manager* m_ = nullptr;
};

TEST_F(IoUring, AutoPicksIoUringWhereTheKernelAllowsIt) {
  EXPECT_EQ(EVMGR_BACKEND_IO_URING, evmgr_backend_resolve(EVMGR_BACKEND_AUTO));
  EXPECT_EQ(0, evmgr_backend_refusal(EVMGR_BACKEND_IO_URING));
  evmgr_manager* a = nullptr;
  ASSERT_EQ(0, evmgr_new(EVMGR_BACKEND_AUTO, &a));
  EXPECT_EQ(EVMGR_BACKEND_IO_URING, evmgr_backend_of(a));
  evmgr_free(a);
}

TEST_F(IoUring, CompletionsBeyondTheCompletionRingAreAllDelivered) {
  // 6000 fds ready at once: more arms between two waits than the
  // submission ring holds (1024: it is flushed) and more completions than
  // the completion ring holds (4096: the kernel keeps the rest, NODROP).
  const size_t wanted = 6000;
  if (raise_fd_limit() < 2 * wanted + 100) GTEST_SKIP() << "RLIMIT_NOFILE too low";
  std::vector<Pipe> pipes(wanted);
  for (size_t i = 0; i < wanted; ++i) {
    ASSERT_GE(pipes[i].r, 0);
    ASSERT_TRUE(pipes[i].put());
    evmgr_key key;
    ASSERT_EQ(0, evmgr_fd_register(m_, pipes[i].r, EVMGR_READ, EVMGR_ONESHOT, i, &key));
  }
  const auto evs = poll_until(wanted);
  ASSERT_EQ(wanted, evs.size());
  std::vector<int> seen(wanted, 0);
  for (const evmgr_event& e : evs) {
    ASSERT_LT(e.token, wanted);
    EXPECT_EQ(pipes[e.token].r, e.fd);
    EXPECT_TRUE(e.events & EVMGR_READ);
    ++seen[e.token];
  }
  for (size_t i = 0; i < wanted; ++i) EXPECT_EQ(1, seen[i]) << "fd " << i;
  // And the ring still works afterwards.
  evmgr_key key;
  ASSERT_EQ(0, evmgr_fd_register(m_, pipes[0].r, EVMGR_READ, EVMGR_ONESHOT, 99, &key));
  const auto again = poll_until(1);
  ASSERT_EQ(1u, again.size());
  EXPECT_EQ(99u, again[0].token);
}

TEST_F(IoUring, PersistentFdsBeyondTheRingsKeepFiring) {
  const size_t wanted = 3000;
  if (raise_fd_limit() < 2 * wanted + 100) GTEST_SKIP() << "RLIMIT_NOFILE too low";
  std::vector<Pipe> pipes(wanted);
  for (size_t i = 0; i < wanted; ++i) {
    ASSERT_TRUE(pipes[i].put());
    evmgr_key key;
    ASSERT_EQ(0, evmgr_fd_register(m_, pipes[i].r, EVMGR_READ, EVMGR_PERSISTENT, i, &key));
  }
  for (int round = 0; round < 3; ++round) {
    // Level-triggered: every ready fd once per round (one poll may not hold
    // them all; a second one must not repeat any before the round ends).
    std::vector<int> seen(wanted, 0);
    size_t got = 0;
    const int64_t end = evmgr_now_ns() + 5 * kSec;
    std::vector<evmgr_event> batch(wanted);
    while (got < wanted && evmgr_now_ns() < end) {
      const int n = evmgr_poll(m_, 100 * kMs, batch.data(), batch.size());
      ASSERT_GE(n, 0);
      for (int i = 0; i < n; ++i) {
        if (seen[batch[i].token]++ == 0) ++got;
      }
    }
    EXPECT_EQ(wanted, got) << "round " << round;
  }
}

TEST_F(IoUring, AClosedFdsPendingPollKeepsItsFileUntilTheCheckCancelsIt) {
  // The poll holds the socket: its peer sees no end of file at close(), but
  // once the closed-fd check has told the waiter (EVMGR_CLOSED) and the
  // next wait has sent the POLL_REMOVE, it does.
  constexpr int64_t kInterval = 50 * kMs;
  evmgr_set_closed_fd_check_interval(m_, kInterval);
  SocketPair s;
  evmgr_key key;
  ASSERT_EQ(0, evmgr_fd_register(m_, s.a, EVMGR_READ, EVMGR_ONESHOT, 5, &key));
  evmgr_event ev;
  ASSERT_EQ(0, evmgr_poll(m_, 0, &ev, 1));  // the poll is in the kernel now
  ASSERT_EQ(0, ::close(s.a));
  const int closed_at = s.a;
  s.a = -1;
  char c;
  EXPECT_EQ(-1, ::read(s.b, &c, 1)) << "the peer saw the close while the poll held the file";
  EXPECT_EQ(EAGAIN, errno);
  const int64_t start = evmgr_now_ns();
  const auto evs = poll_until(1);
  ASSERT_EQ(1u, evs.size());
  EXPECT_EQ(key, evs[0].key);
  EXPECT_EQ(closed_at, evs[0].fd);
  EXPECT_TRUE(evs[0].events & EVMGR_CLOSED);
  EXPECT_LT(evmgr_now_ns() - start, kInterval + 1 * kSec);
  ASSERT_EQ(0, evmgr_poll(m_, 0, &ev, 1));  // sends the POLL_REMOVE
  // The removal completes in the kernel's task work; give it a moment.
  struct pollfd q = {s.b, POLLIN, 0};
  ASSERT_EQ(1, ::poll(&q, 1, 1000));
  EXPECT_EQ(0, ::read(s.b, &c, 1)) << "end of file once the poll is gone";
}

// evmgr_after_fork called without a fork (in the process that made the
// ring): the old ring must go, with the files its polls held, instead of
// living on through its mappings.
TEST_F(IoUring, AfterForkWithoutAForkReleasesTheOldRingsFiles) {
  SocketPair s;
  evmgr_key key;
  ASSERT_EQ(0, evmgr_fd_register(m_, s.a, EVMGR_READ, EVMGR_ONESHOT, 5, &key));
  evmgr_event ev;
  ASSERT_EQ(0, evmgr_poll(m_, 0, &ev, 1));  // the poll holds the socket now
  ASSERT_EQ(0, evmgr_fd_unregister(m_, key));
  ASSERT_EQ(0, ::close(s.a));  // the unregistration's removal is not sent yet
  s.a = -1;
  ASSERT_EQ(0, evmgr_after_fork(m_));
  // The old ring is torn down by a kernel worker: give it a moment.
  struct pollfd q = {s.b, POLLIN, 0};
  ASSERT_EQ(1, ::poll(&q, 1, 2000)) << "the old ring still holds the socket";
  char c;
  EXPECT_EQ(0, ::read(s.b, &c, 1)) << "end of file once the old ring is gone";
}

TEST_F(IoUring, AReusedNumbersPendingPollIsCancelledOnCheckAndItsFileReleased) {
  // The number is taken by another socket (dup2) while a poll on the old
  // one is in the kernel: the old socket lives on in that poll only. The
  // sweep asked for (interval 0, as in the RTS) sees another file behind the
  // number, gives the waiter EVMGR_CLOSED and cancels the poll: the old
  // socket's peer then sees end of file, and the new socket's data never
  // reaches the old waiter.
  evmgr_set_closed_fd_check_interval(m_, 0);
  SocketPair old_pair, fresh;
  evmgr_key key;
  ASSERT_EQ(0, evmgr_fd_register(m_, old_pair.a, EVMGR_READ, EVMGR_ONESHOT, 7, &key));
  evmgr_event ev;
  ASSERT_EQ(0, evmgr_poll(m_, 0, &ev, 1));  // the poll is in the kernel now
  const int number = old_pair.a;
  ASSERT_EQ(number, ::dup2(fresh.a, number));
  ASSERT_EQ(1, ::write(fresh.b, "x", 1));  // the new file is readable
  EXPECT_EQ(0, evmgr_poll(m_, 50 * kMs, &ev, 1)) << "the new file's readiness reached the old waiter";
  char c;
  EXPECT_EQ(-1, ::read(old_pair.b, &c, 1)) << "the peer saw the close while the poll held the file";
  EXPECT_EQ(0, evmgr_check_closed_fds(m_));
  ASSERT_EQ(1, evmgr_poll(m_, 0, &ev, 1));
  EXPECT_EQ(key, ev.key);
  EXPECT_EQ(number, ev.fd);
  EXPECT_TRUE(ev.events & EVMGR_CLOSED);
  ASSERT_EQ(0, evmgr_poll(m_, 0, &ev, 1));  // sends the cancellation
  struct pollfd q = {old_pair.b, POLLIN, 0};
  ASSERT_EQ(1, ::poll(&q, 1, 1000));
  EXPECT_EQ(0, ::read(old_pair.b, &c, 1)) << "end of file once the poll is gone";
  EXPECT_EQ(0u, evmgr_pending_count(m_));
  old_pair.a = -1;  // dup2 closed it; `number` is fresh's copy, closed below
  ASSERT_EQ(0, ::close(number));
}

evmgr_manager* g_signal_mgr = nullptr;
extern "C" void wake_from_handler(int) { (void)evmgr_wakeup(g_signal_mgr); }

TEST_F(IoUring, WakeupFromASignalHandlerEndsAnInfinitePoll) {
  g_signal_mgr = m_;
  struct sigaction sa = {}, old;
  sa.sa_handler = wake_from_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(0, sigaction(SIGUSR2, &sa, &old));
  // The poller blocks SIGUSR2, so the handler runs on this thread and the
  // poll can only end through the wake-up channel.
  sigset_t block, saved;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  std::atomic<int> result{1};
  std::atomic<bool> started{false};
  std::thread poller([&] {
    pthread_sigmask(SIG_BLOCK, &block, nullptr);
    evmgr_event ev;
    started = true;
    result = evmgr_poll(m_, -1, &ev, 1);
  });
  while (!started.load()) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pthread_sigmask(SIG_UNBLOCK, &block, &saved);
  ASSERT_EQ(0, pthread_kill(pthread_self(), SIGUSR2));
  poller.join();
  EXPECT_EQ(0, result.load());
  ASSERT_EQ(0, sigaction(SIGUSR2, &old, nullptr));
}

TEST_F(IoUring, AForkedChildNeverTouchesTheParentsRing) {
  Pipe a, b;
  evmgr_key ka, kb;
  ASSERT_EQ(0, evmgr_fd_register(m_, a.r, EVMGR_READ, EVMGR_ONESHOT, 1, &ka));
  ASSERT_EQ(0, evmgr_fd_register(m_, b.r, EVMGR_READ, EVMGR_ONESHOT, 2, &kb));
  evmgr_event ev[4];
  ASSERT_EQ(0, evmgr_poll(m_, 0, ev, 4));  // both polls in the parent's ring
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // A ring of its own: its registrations are re-armed there, and its
    // unregistering of `a` is its own business.
    if (evmgr_after_fork(m_) != 0) _exit(1);
    if (evmgr_fd_unregister(m_, ka) != 0) _exit(2);
    if (!b.put()) _exit(3);
    int n = 0;
    const int64_t end = evmgr_now_ns() + 3 * kSec;
    while (n == 0 && evmgr_now_ns() < end) n = evmgr_poll(m_, 100 * kMs, ev, 4);
    if (n != 1 || ev[0].key != kb) _exit(4);
    evmgr_free(m_);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(0, WEXITSTATUS(status)) << "child failed at step " << WEXITSTATUS(status);
  // The pipes are shared: the child's byte in b also wakes the parent's
  // poll on b. The child's unregistering of `a` did not touch the parent's
  // ring: its poll on `a` fires.
  ASSERT_TRUE(a.put());
  const auto evs = poll_until(2);
  ASSERT_EQ(2u, evs.size());
  EXPECT_TRUE((evs[0].key == ka && evs[1].key == kb) || (evs[0].key == kb && evs[1].key == ka));
  EXPECT_EQ(0u, evmgr_pending_count(m_));
}

}  // namespace
