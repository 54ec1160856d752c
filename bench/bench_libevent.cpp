// SPDX-License-Identifier: BSD-3-Clause
// evmgr_bench's libevent driver (its own file: see bench_common.hpp).
#include <sys/time.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "bench_common.hpp"

namespace bench {
namespace libevent {

namespace {

bool g_timers = false;
event_base* g_base = nullptr;
std::vector<event*> g_evs, g_tos;
long g_timer_fired = 0;

timeval to_timeval(std::int64_t ns) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ns / 1000000000);
  tv.tv_usec = static_cast<suseconds_t>((ns % 1000000000) / 1000);
  return tv;
}

event_base* new_epoll_base() {
  if (std::strncmp(event_get_version(), "2.", 2) != 0) {
    die("libevent calls bind to libev's libevent emulation (link order)", ENOSYS);
  }
  event_config* cfg = event_config_new();
  event_config_avoid_method(cfg, "select");
  event_config_avoid_method(cfg, "poll");
  event_base* base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  if (base == nullptr || std::strcmp(event_base_get_method(base), "epoll") != 0) {
    die("libevent: no epoll event_base", ENOSYS);
  }
  return base;
}

// bench.c's read_cb, libevent flavour: event_add on a pending timer
// reschedules it (bench.c's event_del + evtimer_set + event_add in one).
void io_cb(evutil_socket_t, short, void* arg) {
  const int idx = static_cast<int>(reinterpret_cast<std::intptr_t>(arg));
  if (g_timers) {
    const timeval tv = to_timeval(next_timeout_ns());
    event_add(g_tos[static_cast<std::size_t>(idx)], &tv);
  }
  on_readable(idx);
}

void idle_timer_cb(evutil_socket_t, short, void*) {}
void count_timer_cb(evutil_socket_t, short, void*) { ++g_timer_fired; }

}  // namespace

void setup(const RunConfig& c) {
  g_timers = c.timers;
  g_base = new_epoll_base();
  g_evs.assign(static_cast<std::size_t>(c.n), nullptr);
  g_tos.assign(static_cast<std::size_t>(c.n), nullptr);
  for (int i = 0; i < c.n; ++i) {
    void* arg = reinterpret_cast<void*>(static_cast<std::intptr_t>(i));
    g_evs[i] = event_new(g_base, g_ring.rfd[i], EV_READ | EV_PERSIST, io_cb, arg);
    if (g_evs[i] == nullptr || event_add(g_evs[i], nullptr) != 0) die("event_add", EINVAL);
    if (g_timers) {
      g_tos[i] = event_new(g_base, -1, 0, idle_timer_cb, arg);
      const timeval tv = to_timeval(next_timeout_ns());
      event_add(g_tos[i], &tv);
    }
  }
}

void loop_once() { event_base_loop(g_base, EVLOOP_ONCE); }

void teardown() {
  for (event* e : g_evs) event_free(e);
  for (event* e : g_tos)
    if (e != nullptr) event_free(e);
  event_base_free(g_base);
  g_base = nullptr;
}

// Events live in one preallocated array (event_assign), so only event_add,
// event_del and the loop are timed.
void timers(const TimerInput& in, TimerTimes& out) {
  const std::size_t n = in.far.size();
  const double count = static_cast<double>(n);
  event_base* base = new_epoll_base();
  const std::size_t esz = event_get_struct_event_size();
  std::vector<unsigned char> storage(esz * n + 64);
  const auto at = [&](std::size_t i) { return reinterpret_cast<event*>(storage.data() + i * esz); };
  for (std::size_t i = 0; i < n; ++i) event_assign(at(i), base, -1, 0, count_timer_cb, nullptr);
  std::vector<timeval> far_tv(n), near_tv(n);
  for (std::size_t i = 0; i < n; ++i) {
    far_tv[i] = to_timeval(in.far[i]);
    near_tv[i] = to_timeval(in.near[i]);
  }
  for (int r = 0; r <= in.reps; ++r) {  // r == 0: warm-up (the heap grows)
    const std::int64_t t0 = cpu_ns();
    for (std::size_t i = 0; i < n; ++i) event_add(at(i), &far_tv[i]);
    const std::int64_t t1 = cpu_ns();
    for (std::size_t i = 0; i < n; ++i) event_del(at(in.order[i]));
    const std::int64_t t2 = cpu_ns();
    for (std::size_t i = 0; i < n; ++i) event_add(at(i), &near_tv[i]);
    const std::int64_t t3 = cpu_ns();
    sleep_ns(in.settle_ns);
    g_timer_fired = 0;
    const std::int64_t t4 = cpu_ns();
    while (g_timer_fired < static_cast<long>(n)) event_base_loop(base, EVLOOP_NONBLOCK);
    const std::int64_t t5 = cpu_ns();
    if (r > 0) {
      out.add(count, t1 - t0, t2 - t1, t3 - t2, t5 - t4);
    }
  }
  event_base_free(base);
}

std::size_t event_size() { return event_get_struct_event_size(); }
const char* version() { return event_get_version(); }

}  // namespace libevent
}  // namespace bench
