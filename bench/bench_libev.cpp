// SPDX-License-Identifier: BSD-3-Clause
// evmgr_bench's libev driver (its own file: see bench_common.hpp).
#include <ev.h>

#include "bench_common.hpp"

namespace bench {
namespace libev {

namespace {

bool g_timers = false;
struct ev_loop* g_loop = nullptr;
std::vector<ev_io> g_ios;
std::vector<ev_timer> g_tos;
long g_timer_fired = 0;

// bench.c's read_cb, native libev flavour: ev_timer_again on the watcher's
// timer, then the shared work.
void io_cb(struct ev_loop* loop, ev_io* w, int) {
  const int idx = static_cast<int>(reinterpret_cast<std::intptr_t>(w->data));
  if (g_timers) {
    ev_timer* t = &g_tos[static_cast<std::size_t>(idx)];
    t->repeat = static_cast<ev_tstamp>(next_timeout_ns()) * 1e-9;
    ev_timer_again(loop, t);
  }
  on_readable(idx);
}

void idle_timer_cb(struct ev_loop*, ev_timer*, int) {}
void count_timer_cb(struct ev_loop*, ev_timer*, int) { ++g_timer_fired; }

}  // namespace

void setup(const RunConfig& c) {
  g_timers = c.timers;
  g_loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
  if (g_loop == nullptr) die("ev_loop_new", ENOMEM);
  g_ios.assign(static_cast<std::size_t>(c.n), ev_io{});
  g_tos.assign(static_cast<std::size_t>(c.n), ev_timer{});
  for (int i = 0; i < c.n; ++i) {
    ev_io* w = &g_ios[static_cast<std::size_t>(i)];
    ev_io_init(w, io_cb, g_ring.rfd[i], EV_READ);
    w->data = reinterpret_cast<void*>(static_cast<std::intptr_t>(i));
    ev_io_start(g_loop, w);
    if (g_timers) {
      ev_timer* t = &g_tos[static_cast<std::size_t>(i)];
      ev_init(t, idle_timer_cb);
      t->repeat = static_cast<ev_tstamp>(next_timeout_ns()) * 1e-9;
      ev_timer_again(g_loop, t);
    }
  }
}

void loop_once() { ev_run(g_loop, EVRUN_ONCE); }

void teardown() {
  for (auto& w : g_ios) ev_io_stop(g_loop, &w);
  for (auto& t : g_tos) ev_timer_stop(g_loop, &t);
  ev_loop_destroy(g_loop);
  g_loop = nullptr;
}

void timers(const TimerInput& in, TimerTimes& out) {
  const std::size_t n = in.far.size();
  const double count = static_cast<double>(n);
  struct ev_loop* loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
  std::vector<ev_timer> ts(n);
  for (std::size_t i = 0; i < n; ++i) ev_init(&ts[i], count_timer_cb);
  for (int r = 0; r <= in.reps; ++r) {  // r == 0: warm-up (the heap grows)
    ev_now_update(loop);
    const std::int64_t t0 = cpu_ns();
    for (std::size_t i = 0; i < n; ++i) {
      ev_timer_set(&ts[i], static_cast<ev_tstamp>(in.far[i]) * 1e-9, 0.);
      ev_timer_start(loop, &ts[i]);
    }
    const std::int64_t t1 = cpu_ns();
    for (std::size_t i = 0; i < n; ++i) ev_timer_stop(loop, &ts[in.order[i]]);
    const std::int64_t t2 = cpu_ns();
    ev_now_update(loop);
    const std::int64_t t2b = cpu_ns();
    for (std::size_t i = 0; i < n; ++i) {
      ev_timer_set(&ts[i], static_cast<ev_tstamp>(in.near[i]) * 1e-9, 0.);
      ev_timer_start(loop, &ts[i]);
    }
    const std::int64_t t3 = cpu_ns();
    sleep_ns(in.settle_ns);
    g_timer_fired = 0;
    const std::int64_t t4 = cpu_ns();
    while (g_timer_fired < static_cast<long>(n)) ev_run(loop, EVRUN_NOWAIT);
    const std::int64_t t5 = cpu_ns();
    if (r > 0) {
      out.add(count, t1 - t0, t2 - t1, t3 - t2b, t5 - t4);
    }
  }
  ev_loop_destroy(loop);
}

std::size_t io_size() { return sizeof(ev_io); }
std::size_t timer_size() { return sizeof(ev_timer); }
int version_major() { return ev_version_major(); }
int version_minor() { return ev_version_minor(); }

}  // namespace libev
}  // namespace bench
