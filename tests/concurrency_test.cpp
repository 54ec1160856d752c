// SPDX-License-Identifier: BSD-3-Clause
//
// Concurrency: worker threads register/unregister fds, add/cancel timers and
// wake the manager while one thread polls in a loop. Every write a worker
// makes must be observed exactly once, every timer that was not cancelled
// must fire exactly once, and a cancelled one never. Meant for TSan
// (build/tsan) as much as for the logic. Built twice like the conformance
// suite (epoll+poll, and kqueue over the emulation).
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "evmgr.h"
#include "test_util.hpp"

using namespace evmgr_test;

namespace {

constexpr uintptr_t kFdTag = uintptr_t{1} << 62;
constexpr uintptr_t kTimerTag = uintptr_t{1} << 61;
constexpr uintptr_t kIdleTag = uintptr_t{1} << 60;

uintptr_t make_token(uintptr_t tag, unsigned worker, unsigned seq) {
  return tag | (uintptr_t{worker} << 32) | seq;
}

class Concurrency : public ::testing::TestWithParam<evmgr_backend> {};

TEST_P(Concurrency, WorkersRegisterTimersAndWakeWhileOnePollsNothingLost) {
  const unsigned kWorkers = 4;
  const unsigned kRounds = sanitized() ? 300 : 5000;
  const int64_t kBudget = 60 * kSec;  // the whole test; ctest TIMEOUT is 120 s

  evmgr_manager* m = nullptr;
  ASSERT_EQ(0, evmgr_new(GetParam(), &m));
  evmgr_set_closed_fd_check_interval(m, 5 * kMs);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::multiset<uintptr_t>> fd_seen(kWorkers);   // guarded by mu
  std::vector<std::multiset<uintptr_t>> timer_seen(kWorkers);
  std::vector<std::set<uintptr_t>> timer_live(kWorkers);      // per worker: not cancelled
  std::atomic<unsigned> unexpected{0};
  std::atomic<bool> stop{false};
  std::atomic<unsigned> poll_errors{0};
  const int64_t deadline = evmgr_now_ns() + kBudget;

  std::thread poller([&] {
    std::vector<evmgr_event> out(16);
    while (!stop.load()) {
      const int n = evmgr_poll(m, 10 * kMs, out.data(), out.size());
      if (n < 0) {
        if (n != -EINTR) ++poll_errors;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu);
      for (int i = 0; i < n; ++i) {
        const evmgr_event& e = out[static_cast<size_t>(i)];
        const unsigned worker = static_cast<unsigned>((e.token >> 32) & 0xffff);
        if (worker >= kWorkers) {
          ++unexpected;
        } else if (e.token & kFdTag) {
          fd_seen[worker].insert(e.token);
        } else if (e.token & kTimerTag) {
          timer_seen[worker].insert(e.token);
        } else {
          ++unexpected;  // idle registrations never become ready
        }
      }
      if (n > 0) cv.notify_all();
    }
  });

  std::vector<std::thread> workers;
  std::atomic<unsigned> worker_failures{0};
  for (unsigned w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937 rng(1234 + w);
      Pipe p;
      Pipe idle;  // registered and unregistered, never written
      if (p.r < 0 || idle.r < 0) {
        ++worker_failures;
        return;
      }
      for (unsigned k = 0; k < kRounds; ++k) {
        const uintptr_t token = make_token(kFdTag, w, k);
        evmgr_key key;
        if (evmgr_fd_register(m, p.r, EVMGR_READ, EVMGR_ONESHOT, token, &key) != 0) {
          ++worker_failures;
          return;
        }
        // Churn: another registration, timers, wake-ups.
        evmgr_key idle_key;
        if (evmgr_fd_register(m, idle.r, EVMGR_READ, rng() % 2 ? EVMGR_PERSISTENT : EVMGR_ONESHOT,
                              make_token(kIdleTag, w, k), &idle_key) != 0) {
          ++worker_failures;
        }
        const uintptr_t ttoken = make_token(kTimerTag, w, k);
        evmgr_key tkey;
        if (evmgr_timer_add(m, static_cast<int64_t>(rng() % 3000) * 1000, ttoken, &tkey) != 0) {
          ++worker_failures;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          timer_live[w].insert(ttoken);
        }
        switch (rng() % 4) {
          case 0:
            if (evmgr_timer_cancel(m, tkey) == 0) {
              std::lock_guard<std::mutex> lock(mu);
              timer_live[w].erase(ttoken);
            }
            break;
          case 1:
            (void)evmgr_timer_update(m, tkey, static_cast<int64_t>(rng() % 2000) * 1000);
            break;
          case 2:
            (void)evmgr_wakeup(m);
            break;
          default:
            break;
        }
        if (!p.put()) {
          ++worker_failures;
          return;
        }
        if (evmgr_fd_unregister(m, idle_key) != 0) ++worker_failures;
        // Wait until the poller saw this round's write.
        {
          std::unique_lock<std::mutex> lock(mu);
          const bool seen = cv.wait_until(lock, std::chrono::steady_clock::now() + std::chrono::seconds(10),
                                          [&] { return fd_seen[w].count(token) > 0; });
          if (!seen || evmgr_now_ns() > deadline) {
            ++worker_failures;
            return;
          }
        }
        p.drain();
        // The one-shot key is stale once delivered.
        if (evmgr_fd_unregister(m, key) != ENOENT) ++worker_failures;
      }
    });
  }
  for (std::thread& t : workers) t.join();

  // Let the remaining timers (at most 3 ms) fire, then stop the poller.
  const int64_t settle_end = evmgr_now_ns() + 5 * kSec;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      size_t seen = 0, live = 0;
      for (unsigned w = 0; w < kWorkers; ++w) {
        seen += timer_seen[w].size();
        live += timer_live[w].size();
      }
      if (seen >= live || evmgr_now_ns() > settle_end) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  (void)evmgr_wakeup(m);
  poller.join();

  EXPECT_EQ(0u, worker_failures.load());
  EXPECT_EQ(0u, unexpected.load());
  EXPECT_EQ(0u, poll_errors.load());
  for (unsigned w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(kRounds, fd_seen[w].size()) << "worker " << w << " lost or duplicated writes";
    EXPECT_EQ(kRounds, std::set<uintptr_t>(fd_seen[w].begin(), fd_seen[w].end()).size());
    EXPECT_EQ(std::multiset<uintptr_t>(timer_live[w].begin(), timer_live[w].end()), timer_seen[w])
        << "worker " << w << ": timers fired != timers not cancelled";
  }
  EXPECT_EQ(0u, evmgr_pending_count(m));
  evmgr_free(m);
}

TEST_P(Concurrency, ManyThreadsWakeAndAddTimersWhilePolling) {
  evmgr_manager* m = nullptr;
  ASSERT_EQ(0, evmgr_new(GetParam(), &m));
  const unsigned kThreads = 3;
  const unsigned kPerThread = sanitized() ? 500 : 5000;
  std::atomic<bool> stop{false};
  std::atomic<size_t> fired{0};
  std::thread poller([&] {
    evmgr_event out[32];
    while (!stop.load()) {
      const int n = evmgr_poll(m, -1, out, 32);
      if (n > 0) fired += static_cast<size_t>(n);
    }
  });
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (unsigned i = 0; i < kPerThread; ++i) {
        evmgr_key key;
        EXPECT_EQ(0, evmgr_timer_add(m, 0, i, &key));
        if (i % 7 == 0) {
          EXPECT_EQ(0, evmgr_wakeup(m));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t end = evmgr_now_ns() + 10 * kSec;
  while (fired.load() < kThreads * kPerThread && evmgr_now_ns() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  EXPECT_EQ(0, evmgr_wakeup(m));
  poller.join();
  EXPECT_EQ(size_t{kThreads} * kPerThread, fired.load());
  evmgr_free(m);
}

INSTANTIATE_TEST_SUITE_P(Backends, Concurrency, ::testing::ValuesIn(backends_under_test()),
                         [](const ::testing::TestParamInfo<evmgr_backend>& param_info) {
                           return backend_param_name(param_info.param);
                         });

}  // namespace
