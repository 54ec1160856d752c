// SPDX-License-Identifier: BSD-3-Clause
//
// Note [Timer slack] (src/manager.cpp): a wait shorter than the thread's
// timer slack is served by zero-timeout polls, not by a sleep the kernel
// would end up to the slack late; timers still never fire early, and new
// readiness still ends the wait at once. White-box: the manager's
// Stats::slack_polls counts the zero-timeout polls. Latencies are measured
// by `evmgr_bench tiny-delay`, not here. On epoll, poll and io_uring.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <cerrno>

#include "evmgr/clock.hpp"
#include "evmgr/manager.hpp"
#include "test_util.hpp"

namespace {

using evmgr::BackendKind;
using evmgr::Manager;
using evmgr::ReadyEvent;
using evmgr_test::kMs;
using evmgr_test::kUs;

// The calling thread's timer slack set to slack_ns for the test's lifetime.
class TimerSlack {
 public:
  explicit TimerSlack(unsigned long slack_ns)
      : saved_(static_cast<unsigned long>(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0))) {
    EXPECT_EQ(0, prctl(PR_SET_TIMERSLACK, slack_ns, 0, 0, 0));
  }
  ~TimerSlack() { (void)prctl(PR_SET_TIMERSLACK, saved_, 0, 0, 0); }

 private:
  unsigned long saved_;
};

class SlackTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  // A manager created now, so that it reads the slack set before.
  void make() { ASSERT_EQ(0, Manager::create(GetParam(), &mgr_)); }
  void TearDown() override { Manager::destroy(mgr_); }

  // Adds a timer `delay_ns` from now, polls until it fires, and says when
  // relative to its deadline (>= 0: not early).
  std::int64_t fire_timer_after(std::int64_t delay_ns) {
    evmgr::Key key = 0;
    const std::int64_t deadline = evmgr::now_ns() + delay_ns;
    EXPECT_EQ(0, mgr_->add_timer_at(deadline, 1, &key));
    ReadyEvent ev[4];
    const int n = mgr_->poll(-1, ev, 4);
    const std::int64_t late = evmgr::now_ns() - deadline;
    EXPECT_EQ(1, n);
    EXPECT_EQ(key, ev[0].key);
    return late;
  }

  Manager* mgr_ = nullptr;
};

TEST_P(SlackTest, ATimerWithinTheSlackIsPolledForNotSleptFor) {
  TimerSlack slack(50 * kUs);
  make();
  for (int i = 0; i < 20; ++i) EXPECT_GE(fire_timer_after(20 * kUs), 0) << "fired early";
  EXPECT_GT(mgr_->stats().slack_polls, 0u) << "a 20 us timer slept in the kernel";
}

TEST_P(SlackTest, ATimerBeyondTheSlackIsSleptFor) {
  TimerSlack slack(50 * kUs);
  make();
  // A 5 ms wait sleeps; only its last 50 us (if the sleep ends early
  // enough to leave any) may be polled.
  const auto before = mgr_->stats().slack_polls;
  EXPECT_GE(fire_timer_after(5 * kMs), 0);
  EXPECT_LT(mgr_->stats().slack_polls - before, 1000u) << "spun through a 5 ms wait";
}

TEST_P(SlackTest, NoSlackNoPolling) {
  TimerSlack slack(1);  // 1 ns: the kernel's minimum
  make();
  for (int i = 0; i < 5; ++i) EXPECT_GE(fire_timer_after(20 * kUs), 0);
  EXPECT_EQ(0u, mgr_->stats().slack_polls);
}

// The write end the SIGALRM handler writes to (ReadinessEnds... below).
volatile int g_alarm_write_fd = -1;
void write_on_alarm(int) {
  const char byte = 1;
  const ssize_t r = write(g_alarm_write_fd, &byte, 1);  // async-signal-safe
  (void)r;
}

TEST_P(SlackTest, ReadinessEndsTheZeroTimeoutLoopAtOnce) {
  // The slack as large as the manager spins for (1 ms), a timer 900 us
  // away, and a pipe written meanwhile: the pipe's event comes back before
  // the timer is due, at least once in 100 tries. The write comes from a
  // SIGALRM handler 100 us in, i.e. from the spinning thread itself: a
  // writer thread, sleeping or even spinning, was not scheduled in time
  // round after round on a loaded machine (ASan, ctest -j2), and the test
  // failed for want of a writer, not of a wake-up.
  TimerSlack slack(1000 * kUs);
  make();
  struct sigaction on_alarm {};
  struct sigaction saved {};
  on_alarm.sa_handler = write_on_alarm;
  ASSERT_EQ(0, sigaction(SIGALRM, &on_alarm, &saved));
  bool early = false;
  for (int round = 0; round < 100 && !early; ++round) {
    evmgr_test::Pipe p;
    g_alarm_write_fd = p.w;
    evmgr::Key fd_key = 0;
    evmgr::Key timer_key = 0;
    ASSERT_EQ(0, mgr_->register_fd(p.r, evmgr::kRead, false, 2, &fd_key));
    const std::int64_t deadline = evmgr::now_ns() + 900 * kUs;
    ASSERT_EQ(0, mgr_->add_timer_at(deadline, 1, &timer_key));
    itimerval in_100us{};
    in_100us.it_value.tv_usec = 100;
    ASSERT_EQ(0, setitimer(ITIMER_REAL, &in_100us, nullptr));
    ReadyEvent ev[4];
    int n;
    do {
      n = mgr_->poll(-1, ev, 4);
    } while (n == -EINTR);  // the alarm landed in a system call
    const bool before_deadline = evmgr::now_ns() < deadline;
    const itimerval off{};
    ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, nullptr));
    ASSERT_GE(n, 1);
    early = before_deadline && n == 1 && ev[0].key == fd_key;
    (void)mgr_->cancel_timer(timer_key);
    (void)mgr_->unregister_fd(fd_key);
  }
  g_alarm_write_fd = -1;
  ASSERT_EQ(0, sigaction(SIGALRM, &saved, nullptr));
  EXPECT_TRUE(early) << "readiness never ended a zero-timeout loop before its deadline";
  EXPECT_GT(mgr_->stats().slack_polls, 0u);
}

std::vector<BackendKind> kinds() {
  std::vector<BackendKind> all{BackendKind::kPoll};
  if (Manager::available(BackendKind::kEpoll)) all.push_back(BackendKind::kEpoll);
  // io_uring's zero-timeout wait with nothing to send reads the completion
  // ring without a syscall: readiness must still end the loop at once.
  if (Manager::available(BackendKind::kIoUring)) all.push_back(BackendKind::kIoUring);
  return all;
}

INSTANTIATE_TEST_SUITE_P(Backends, SlackTest, ::testing::ValuesIn(kinds()),
                         [](const ::testing::TestParamInfo<BackendKind>& param_info) {
                           switch (param_info.param) {
                             case BackendKind::kPoll:
                               return std::string("poll");
                             case BackendKind::kIoUring:
                               return std::string("io_uring");
                             default:
                               return std::string("epoll");
                           }
                         });

}  // namespace
