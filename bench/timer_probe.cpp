// SPDX-License-Identifier: BSD-3-Clause
//
// evmgr_timer_probe: the two experiments behind the timer diagnosis in
// docs/benchmarks.md (## Core), kept so that they can be re-run after a fix.
//
//   1. evmgr_timer_add_at cost versus the order of the registration pool's
//      free list: 1,000,000 timers inserted into a fresh pool, after a
//      cancel in slot order, and after a cancel in random order.
//   2. libev's ev_timer_start / random-order ev_timer_stop, plain and with a
//      pthread mutex lock/unlock around each call (what evmgr's per-call
//      lock costs when every call misses the cache).
//
// Thread CPU time, ns per operation; run it a few times on a busy machine.
#include <pthread.h>

#include <ev.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "bench_common.hpp"
#include "evmgr.h"

namespace {

constexpr std::size_t kCount = 1000000;

double per_op(std::int64_t t0, std::int64_t t1) {
  return static_cast<double>(t1 - t0) / static_cast<double>(kCount);
}

void evmgr_free_list_order(const std::vector<std::int64_t>& far,
                           const std::vector<std::size_t>& order) {
  evmgr_manager* mgr;
  bench::check(evmgr_new(EVMGR_BACKEND_EPOLL, &mgr), "evmgr_new");
  std::vector<evmgr_key> keys(kCount);
  const std::int64_t base = evmgr_now_ns();
  const char* before = "fresh pool (includes growing it)";
  for (int round = 0; round < 4; ++round) {
    const std::int64_t t0 = bench::cpu_ns();
    for (std::size_t i = 0; i < kCount; ++i) {
      bench::check(evmgr_timer_add_at(mgr, base + far[i], i, &keys[i]), "timer_add_at");
    }
    const std::int64_t t1 = bench::cpu_ns();
    // Even rounds free the slots in slot order (the free list ends up in
    // address order), odd rounds in random order.
    const bool in_slot_order = round % 2 == 0;
    std::vector<std::pair<std::uint32_t, evmgr_key>> by_slot;
    if (in_slot_order) {
      for (evmgr_key k : keys) by_slot.emplace_back(static_cast<std::uint32_t>(k), k);
      std::sort(by_slot.begin(), by_slot.end());
      std::reverse(by_slot.begin(), by_slot.end());  // LIFO: lowest slot popped first
    }
    const std::int64_t t2 = bench::cpu_ns();
    for (std::size_t i = 0; i < kCount; ++i) {
      bench::check(evmgr_timer_cancel(mgr, in_slot_order ? by_slot[i].second : keys[order[i]]),
                   "timer_cancel");
    }
    const std::int64_t t3 = bench::cpu_ns();
    std::printf("| evmgr_timer_add_at | %s | %.1f |\n", before, per_op(t0, t1));
    std::printf("| evmgr_timer_cancel | %s | %.1f |\n",
                in_slot_order ? "in slot order" : "in random order", per_op(t2, t3));
    before = in_slot_order ? "free list in slot order" : "free list in random order";
  }
  evmgr_free(mgr);
}

void libev_with_and_without_lock(const std::vector<std::int64_t>& far,
                                 const std::vector<std::size_t>& order) {
  struct ev_loop* loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
  std::vector<ev_timer> ts(kCount);
  for (auto& t : ts) ev_init(&t, nullptr);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  for (int round = 0; round < 4; ++round) {
    const bool locked = round % 2 == 1;
    const std::int64_t t0 = bench::cpu_ns();
    for (std::size_t i = 0; i < kCount; ++i) {
      if (locked) pthread_mutex_lock(&mu);
      ev_timer_set(&ts[i], static_cast<ev_tstamp>(far[i]) * 1e-9, 0.);
      ev_timer_start(loop, &ts[i]);
      if (locked) pthread_mutex_unlock(&mu);
    }
    const std::int64_t t1 = bench::cpu_ns();
    for (std::size_t i = 0; i < kCount; ++i) {
      if (locked) pthread_mutex_lock(&mu);
      ev_timer_stop(loop, &ts[order[i]]);
      if (locked) pthread_mutex_unlock(&mu);
    }
    const std::int64_t t2 = bench::cpu_ns();
    const char* how = locked ? "with a mutex lock/unlock per call" : "plain";
    std::printf("| ev_timer_start | %s%s | %.1f |\n", how, round == 0 ? " (heap grows)" : "",
                per_op(t0, t1));
    std::printf("| ev_timer_stop, random order | %s | %.1f |\n", how, per_op(t1, t2));
  }
  ev_loop_destroy(loop);
}

}  // namespace

int main() {
  std::mt19937_64 rng(42);
  std::vector<std::int64_t> far(kCount);
  std::uniform_int_distribution<std::int64_t> far_d(1'000'000'000, 11'000'000'000);
  for (auto& f : far) f = far_d(rng);
  std::vector<std::size_t> order(kCount);
  for (std::size_t i = 0; i < kCount; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);

  std::printf("| operation (1,000,000 timers) | condition | CPU ns/op |\n|:---|:---|---:|\n");
  evmgr_free_list_order(far, order);
  libev_with_and_without_lock(far, order);
  return 0;
}
