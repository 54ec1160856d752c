// SPDX-License-Identifier: BSD-3-Clause
//
// The wake channel's protocol (Note [Wake-ups] in src/wake_channel.cpp): a
// burst of kicks costs one signal, and a wakeup() is never lost whatever
// the interleaving with the polling thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "evmgr/wake_channel.hpp"
#include "test_util.hpp"

namespace {

using evmgr::WakeChannel;

TEST(WakeChannel, ABurstOfKicksClaimsOneSignalUntilTheChannelIsDrained) {
  WakeChannel wake;
  EXPECT_TRUE(wake.claim_signal());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(wake.claim_signal()) << "kick " << i;
  wake.drained();
  EXPECT_TRUE(wake.claim_signal());
}

TEST(WakeChannel, AReturnRequestIsTakenExactlyOnce) {
  WakeChannel wake;
  EXPECT_FALSE(wake.take_return_request());
  wake.request_return();
  wake.request_return();
  EXPECT_TRUE(wake.take_return_request());
  EXPECT_FALSE(wake.take_return_request());
}

TEST(WakeChannel, AKickIsNotAReturnRequest) {
  WakeChannel wake;
  EXPECT_TRUE(wake.claim_signal());
  wake.drained();
  EXPECT_FALSE(wake.take_return_request());
}

TEST(WakeChannel, ResetLeavesNothingPending) {
  WakeChannel wake;
  wake.request_return();
  EXPECT_TRUE(wake.claim_signal());
  wake.reset();
  EXPECT_FALSE(wake.take_return_request());
  EXPECT_TRUE(wake.claim_signal()) << "a fresh channel must be signalled again";
}

// The protocol against a model of the back-end's channel (a counter): the
// poller blocks until the channel holds a signal, drains it, then takes the
// return request, as Manager::poll does. Each waker requests a return and
// waits until the poller has seen one that started after its request; a
// lost wake-up leaves a waker (and the poller) waiting until the deadline.
TEST(WakeChannel, ConcurrentWakeupsAreNeverLost) {
  WakeChannel wake;
  std::atomic<int> channel{0};         // signals written, not yet drained
  std::atomic<unsigned> returns{0};    // return requests the poller saw
  std::atomic<bool> stop{false};
  std::atomic<bool> lost{false};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  const auto timed_out = [&] { return std::chrono::steady_clock::now() > deadline; };

  std::thread poller([&] {
    while (!stop.load()) {
      if (channel.load() == 0) {  // "blocked" in the wait
        if (timed_out()) {
          lost = true;
          return;
        }
        std::this_thread::yield();
        continue;
      }
      channel.store(0);
      wake.drained();
      if (wake.take_return_request()) returns.fetch_add(1);
    }
  });

  const unsigned kWakers = 3;
  const unsigned kRounds = evmgr_test::sanitized() ? 2000 : 20000;
  std::vector<std::thread> wakers;
  for (unsigned w = 0; w < kWakers; ++w) {
    wakers.emplace_back([&] {
      for (unsigned i = 0; i < kRounds && !lost.load(); ++i) {
        // Returns seen so far may predate this request; the poller must see
        // one more after it. Another waker's request may be taken in the
        // same round as this one, which is fine: poll() returns for both.
        const unsigned before = returns.load();
        wake.request_return();
        if (wake.claim_signal()) channel.fetch_add(1);
        while (returns.load() == before) {
          if (timed_out()) {
            lost = true;
            return;
          }
          std::this_thread::yield();
        }
      }
    });
  }
  for (std::thread& t : wakers) t.join();
  stop = true;
  channel.fetch_add(1);  // unblock the poller
  poller.join();
  EXPECT_FALSE(lost.load()) << "a wake-up was lost: the poller never saw the request";
}

}  // namespace
