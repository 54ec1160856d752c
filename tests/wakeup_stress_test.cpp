// SPDX-License-Identifier: BSD-3-Clause
//
// Wake-up stress: no interleaving of evmgr_wakeup with polls, registrations
// and other wake-ups may lose a wake-up (Note [Wake-ups] in
// rts-manager/src/manager.cpp). Three tests, each run for a time budget
// (budget_ns) rather than a count, so that they take a few seconds in a
// plain build and still fit the ctest TIMEOUT under TSan:
//
//   BlockingPollReturnsAfterEveryWakeup
//       The threaded binding's loop: one thread in evmgr_poll with no
//       timeout. Each round a kicker thread makes the core kick its own
//       wake-up channel (a new earliest timer, an fd registration) at the
//       same moment as the main thread calls evmgr_wakeup; the blocked poll
//       must return. Nothing else can end it (the timer is an hour away, the
//       fd is never written), and nothing kicks again before it has
//       returned, so a lost wake-up is a poll blocked for good.
//   LookThenPollableFdSeesEveryWakeup
//       The non-threaded binding's loop (Note [Waking the non-threaded
//       loop] in hs-binding/src/System/Evmgr.hs): a zero-timeout evmgr_poll,
//       then a check of the reason for a wake-up, then poll(2) on
//       evmgr_pollable_fd. Two threads each publish a reason and call
//       evmgr_wakeup; every reason must be seen, i.e. each wake-up is either
//       consumed by a look that ran after it was requested or leaves the
//       pollable fd readable.
//   HammerWakeupsRegistrationsAndPolls
//       Millions of operations: threads call evmgr_wakeup, add and cancel
//       timers and register and unregister fds while one thread polls; then
//       nothing may be left registered, and a last evmgr_wakeup must still
//       end a poll with no timeout. Mostly for TSan.
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "evmgr.h"
#include "test_util.hpp"

using namespace evmgr_test;

namespace {

// Each test runs for a time budget and for a minimum amount of work,
// whichever takes longer: the budget gives a quiet machine a long run, the
// minimum keeps a loaded one (other tests in parallel, a busy CI host)
// meaningful without a throughput threshold that could fail. The budget
// is 2 s (5 s under sanitizers), or EVMGR_STRESS_SECONDS for a soak.
int64_t budget_ns() {
  if (const char* s = std::getenv("EVMGR_STRESS_SECONDS")) {
    const long secs = std::strtol(s, nullptr, 10);
    if (secs > 0) return secs * kSec;
  }
  return sanitized() ? 5 * kSec : 2 * kSec;
}

// How long a wake-up may take before it counts as lost: far more than any
// scheduling delay, far less than the ctest TIMEOUT.
constexpr int64_t kLostAfterNs = 5 * kSec;

void relax(unsigned& spins) {
  // Spin a little (the races we want are nanoseconds wide), then give the
  // CPU away, and after a while sleep: the machine may have fewer cores
  // than this test has threads, and the thread we wait for needs one.
  ++spins;
  if (spins > 4096) {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  } else if (spins % 64 == 0) {
    std::this_thread::yield();
  }
}

// Spins for a random time, so the two sides of a race meet at every offset
// over the run: half the time up to about a hundred nanoseconds, else up to
// max_ns (a thread woken from a blocked wait takes microseconds to run).
void jitter(std::mt19937& rng, int64_t max_ns) {
  if (rng() % 2 == 0) {
    const unsigned n = rng() % 128;
    for (volatile unsigned i = 0; i < n; i = i + 1) {
    }
    return;
  }
  const int64_t until = evmgr_now_ns() + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_ns));
  while (evmgr_now_ns() < until) {
  }
}

// Waits until cond() or the deadline; returns cond().
template <class Cond>
bool wait_for(Cond cond, int64_t timeout_ns) {
  const int64_t until = evmgr_now_ns() + timeout_ns;
  unsigned spins = 0;
  while (!cond()) {
    if (evmgr_now_ns() > until) return cond();
    relax(spins);
  }
  return true;
}

// Minimum rounds of the two round-based tests, and operations of the hammer.
uint64_t min_rounds() { return sanitized() ? 1000 : 5000; }
uint64_t min_ops() { return sanitized() ? 50000 : 2000000; }

// A thread in evmgr_poll with no timeout, counting its returns.
struct BlockingPoller {
  evmgr_manager* m;
  std::atomic<uint64_t> returns{0};
  std::atomic<uint64_t> events{0};
  std::atomic<unsigned> errors{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> exited{false};
  std::thread thread;

  explicit BlockingPoller(evmgr_manager* mgr) : m(mgr) {
    thread = std::thread([this] {
      std::vector<evmgr_event> out(16);
      while (!stop.load()) {
        const int n = evmgr_poll(m, -1, out.data(), out.size());
        if (n < 0 && n != -EINTR) ++errors;
        if (n > 0) events += static_cast<uint64_t>(n);
        ++returns;
      }
      exited = true;
    });
  }
  // Stops it even if a wake-up was lost (then the test has failed already).
  ~BlockingPoller() {
    stop = true;
    while (!exited.load()) {
      (void)evmgr_wakeup(m);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    thread.join();
  }
};

class WakeupStress : public ::testing::TestWithParam<evmgr_backend> {};

TEST_P(WakeupStress, BlockingPollReturnsAfterEveryWakeup) {
  evmgr_manager* m = nullptr;
  ASSERT_EQ(0, evmgr_new(GetParam(), &m));
  evmgr_set_closed_fd_check_interval(m, 0);  // no periodic return of its own
  Pipe idle;  // registered and unregistered, never written
  ASSERT_GE(idle.r, 0);

  const int64_t stop_at = evmgr_now_ns() + budget_ns();
  std::atomic<uint64_t> phase{0};    // round the kicker may start
  std::atomic<uint64_t> kicked{0};   // round whose kick is done
  std::atomic<uint64_t> cleanup{0};  // round whose registration may go
  std::atomic<uint64_t> cleaned{0};
  std::atomic<bool> quit{false};
  std::atomic<unsigned> kicker_errors{0};
  uint64_t rounds = 0;
  uint64_t lost_round = 0;
  {
    BlockingPoller poller(m);
    std::thread kicker([&] {
      std::mt19937 rng(7);
      for (uint64_t i = 1;; ++i) {
        unsigned spins = 0;
        while (phase.load() < i) {
          if (quit.load()) return;
          relax(spins);
        }
        jitter(rng, 2000);
        evmgr_key key{};
        // A new earliest timer kicks a blocked poll on every back-end; an fd
        // registration kicks it on poll(2), whose wait cannot see changes.
        const bool timer = i % 2 == 0;
        const int err = timer ? evmgr_timer_add(m, 3600 * kSec, i, &key)
                              : evmgr_fd_register(m, idle.r, EVMGR_READ, EVMGR_ONESHOT, i, &key);
        if (err != 0) ++kicker_errors;
        kicked = i;
        while (cleanup.load() < i) {
          if (quit.load()) return;
          relax(spins);
        }
        if (err == 0) {
          if ((timer ? evmgr_timer_cancel(m, key) : evmgr_fd_unregister(m, key)) != 0) {
            ++kicker_errors;
          }
        }
        cleaned = i;
      }
    });

    std::mt19937 rng(11);
    for (uint64_t i = 1; i <= min_rounds() || evmgr_now_ns() < stop_at; ++i) {
      // Let the poller block again first, so the kick and the wake-up meet
      // a poll in every state: blocked, waking, draining, deciding.
      const uint64_t before = poller.returns.load();
      phase = i;
      jitter(rng, 40000);
      ASSERT_EQ(0, evmgr_wakeup(m));
      if (!wait_for([&] { return poller.returns.load() > before; }, kLostAfterNs)) {
        lost_round = i;
        break;
      }
      // The registration goes only after the poll has returned: its own
      // kick must not rescue a lost wake-up.
      ASSERT_TRUE(wait_for([&] { return kicked.load() == i; }, kLostAfterNs));
      cleanup = i;
      ASSERT_TRUE(wait_for([&] { return cleaned.load() == i; }, kLostAfterNs));
      rounds = i;
    }
    quit = true;
    kicker.join();
    EXPECT_EQ(0u, poller.errors.load());
    EXPECT_EQ(0u, poller.events.load()) << "nothing was due, nothing may fire";
  }
  EXPECT_EQ(0u, lost_round) << "evmgr_wakeup at round " << lost_round
                            << " did not end the blocked evmgr_poll";
  EXPECT_EQ(0u, kicker_errors.load());
  EXPECT_EQ(0u, evmgr_pending_count(m));
  EXPECT_GE(rounds, min_rounds());
  std::printf("%s: %llu rounds\n", evmgr_backend_name(GetParam()),
              static_cast<unsigned long long>(rounds));
  evmgr_free(m);
}

TEST_P(WakeupStress, LookThenPollableFdSeesEveryWakeup) {
  evmgr_manager* m = nullptr;
  ASSERT_EQ(0, evmgr_new(GetParam(), &m));
  const int pfd = evmgr_pollable_fd(m);
  if (pfd < 0) {
    evmgr_free(m);
    GTEST_SKIP() << "no pollable fd on this back-end";
  }
  evmgr_set_closed_fd_check_interval(m, 0);

  constexpr unsigned kWakers = 2;
  const int64_t stop_at = evmgr_now_ns() + budget_ns();
  // reason[w]: the last round waker w published before its wake-up (as
  // 'shutdown' sets mgrOpen); seen[w]: the last one the loop acted on.
  std::atomic<uint64_t> reason[kWakers] = {};
  std::atomic<uint64_t> seen[kWakers] = {};
  std::atomic<bool> stop{false};
  std::atomic<unsigned> errors{0};
  std::atomic<uint64_t> looks{0};
  std::atomic<uint64_t> fd_waits{0};
  std::atomic<uint64_t> lost{0};  // a wait on the pollable fd that timed out

  std::thread loop([&] {
    std::vector<evmgr_event> out(16);
    for (;;) {
      const int n = evmgr_poll(m, 0, out.data(), out.size());  // the look
      ++looks;
      if (n < 0 && n != -EINTR) ++errors;
      bool acted = false;  // the check after the look
      for (unsigned w = 0; w < kWakers; ++w) {
        const uint64_t r = reason[w].load();
        if (r != seen[w].load()) {
          seen[w] = r;
          acted = true;
        }
      }
      if (stop.load()) return;
      if (acted || n != 0) continue;
      // Nothing to do: wait for the pollable fd, as threadWaitRead would.
      ++fd_waits;
      pollfd p{pfd, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(kLostAfterNs / kMs));
      if (r == 0) ++lost;  // and go on: the test reports it
      if (r < 0 && errno != EINTR) ++errors;
    }
  });

  std::vector<std::thread> wakers;
  std::atomic<unsigned> failed_waker_rounds{0};
  for (unsigned w = 0; w < kWakers; ++w) {
    wakers.emplace_back([&, w] {
      std::mt19937 rng(100 + w);
      for (uint64_t i = 1; i <= min_rounds() / kWakers || evmgr_now_ns() < stop_at; ++i) {
        jitter(rng, 5000);
        reason[w] = i;
        if (evmgr_wakeup(m) != 0) ++errors;
        if (!wait_for([&] { return seen[w].load() >= i; }, kLostAfterNs + kSec)) {
          ++failed_waker_rounds;
          return;
        }
      }
    });
  }
  for (std::thread& t : wakers) t.join();
  stop = true;
  (void)evmgr_wakeup(m);
  loop.join();

  EXPECT_EQ(0u, lost.load()) << "a wake-up was neither consumed by a look nor left the fd readable";
  EXPECT_EQ(0u, failed_waker_rounds.load());
  EXPECT_EQ(0u, errors.load());
  EXPECT_GE(seen[0].load() + seen[1].load(), min_rounds());
  std::printf("%s: %llu + %llu wake-ups, %llu looks, %llu waits on the fd\n",
              evmgr_backend_name(GetParam()), static_cast<unsigned long long>(seen[0].load()),
              static_cast<unsigned long long>(seen[1].load()),
              static_cast<unsigned long long>(looks.load()),
              static_cast<unsigned long long>(fd_waits.load()));
  evmgr_free(m);
}

TEST_P(WakeupStress, HammerWakeupsRegistrationsAndPolls) {
  evmgr_manager* m = nullptr;
  ASSERT_EQ(0, evmgr_new(GetParam(), &m));
  evmgr_set_closed_fd_check_interval(m, 1 * kMs);
  constexpr unsigned kThreads = 3;
  const int64_t stop_at = evmgr_now_ns() + budget_ns();
  std::atomic<uint64_t> ops{0};
  std::atomic<unsigned> errors{0};
  {
    BlockingPoller poller(m);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(1000 + t);
        Pipe idle;
        if (idle.r < 0) {
          ++errors;
          return;
        }
        for (uint64_t mine = 0;; ++mine) {
          if ((mine & 1023) == 0 && mine > 0) {
            const uint64_t all = ops += 1024;
            if (all >= min_ops() && evmgr_now_ns() >= stop_at) break;
          }
          evmgr_key key{};
          switch (rng() % 4) {
            case 0:
              if (evmgr_wakeup(m) != 0) ++errors;
              break;
            case 1:  // far timers: a new earliest one kicks the poller
              if (evmgr_timer_add(m, static_cast<int64_t>(1 + rng() % 1000) * kSec, mine, &key) != 0 ||
                  evmgr_timer_cancel(m, key) != 0) {
                ++errors;
              }
              break;
            case 2:
              if (evmgr_fd_register(m, idle.r, EVMGR_READ, rng() % 2 ? EVMGR_PERSISTENT : EVMGR_ONESHOT, mine,
                                    &key) != 0 ||
                  evmgr_fd_unregister(m, key) != 0) {
                ++errors;
              }
              break;
            default:
              if (evmgr_timer_add(m, 3600 * kSec, mine, &key) != 0 ||
                  evmgr_timer_update(m, key, static_cast<int64_t>(1 + rng() % 1000) * kSec) != 0 ||
                  evmgr_timer_cancel(m, key) != 0) {
                ++errors;
              }
              break;
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(0u, evmgr_pending_count(m));
    // Quiet now: one more wake-up must end the poll, whatever state the
    // storm left the flags in.
    const uint64_t before = poller.returns.load();
    ASSERT_EQ(0, evmgr_wakeup(m));
    EXPECT_TRUE(wait_for([&] { return poller.returns.load() > before; }, kLostAfterNs))
        << "the last wake-up was lost";
    EXPECT_EQ(0u, poller.errors.load());
    EXPECT_EQ(0u, poller.events.load());
    std::printf("%s: %llu operations, %llu poll returns\n", evmgr_backend_name(GetParam()),
                static_cast<unsigned long long>(ops.load()),
                static_cast<unsigned long long>(poller.returns.load()));
  }
  EXPECT_EQ(0u, errors.load());
  EXPECT_GE(ops.load(), min_ops());
  evmgr_free(m);
}

INSTANTIATE_TEST_SUITE_P(Backends, WakeupStress, ::testing::ValuesIn(backends_under_test()),
                         [](const ::testing::TestParamInfo<evmgr_backend>& p) {
                           return backend_param_name(p.param);
                         });

}  // namespace
