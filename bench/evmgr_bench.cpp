// SPDX-License-Identifier: BSD-3-Clause
//
// evmgr_bench: the core's benchmark, modelled on libev's
// bench.c (Niels Provos, Marc Lehmann).
//
//   evmgr_bench pipes [--reps R] [--writes W] [--n 100,1000,10000] [--a 1,100]
//                     [--timers 0,1]
//       N fds watched for read, A of them made active by writing one byte;
//       each callback reads its byte (and, with timers, re-arms its
//       watcher's timer to 10 s + random) and writes one byte to the next
//       fd's pipe, until W writes are done. Libraries: evmgr through its C
//       ABI (persistent registrations, and one-shot re-registration per
//       event as the GHC RTS does), a minimal level-triggered epoll loop (the
//       floor) and its one-shot twin, libev, libevent. All run in this one
//       process, one after the other, on the same fds with the same work per
//       event; each repetition runs every library once (interleaved), and
//       the tables show medians and paired per-repetition ratios.
//   evmgr_bench timers [--reps R] [--count C]
//       C timers inserted then cancelled in random order, and C inserted
//       then expired; same deadlines for evmgr, libev and libevent.
//   evmgr_bench memory
//       sizeof the core's per-fd, per-waiter and per-timer structures; RSS
//       and malloc'd bytes per registration.
//   evmgr_bench steady
//       Counts malloc calls (operator new included) in evmgr's steady state:
//       fd wake-ups, evmgr_wakeup wake-ups, timer fires, timer re-arms.
//       Exits 1 if there is any.
//   evmgr_bench tiny-delay [--count C]
//       C timers of 1 us, each added then polled for (evmgr_poll(-1)), per
//       back-end: how late a tiny delay ends (Note [Timer slack]).
//   evmgr_bench sweep [--n 1000,10000] [--reps R]
//       N eventfds waited on (one-shot, for read), then R evmgr_check_closed_fds
//       calls, per back-end: the closed-fd sweep's cost (Note [Closed fds]).
//   evmgr_bench env
//       One line about the machine and library versions.
//
// Diagnostics (environment): EVMGR_BENCH_ONLY=<library column name> runs
// one library only (6 copies; used by callgrind-core.sh);
// EVMGR_BENCH_FD_CHECK_NS=<ns> sets evmgr's closed-fd check period (0: off).
//
// Times are thread CPU time (see bench_common.hpp). bench/run-core.sh runs
// every mode; bench/callgrind-core.sh counts user-space instructions.
// Every mode prints markdown to stdout.
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <new>
#include <random>
#include <string>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define EVMGR_BENCH_TOGGLE_COLLECT() CALLGRIND_TOGGLE_COLLECT
#else
#define EVMGR_BENCH_TOGGLE_COLLECT() ((void)0)
#endif

#include "bench_common.hpp"
#include "evmgr.h"
#include "evmgr/fd_table.hpp"
#include "evmgr/registration.hpp"
#include "evmgr/timer_queue.hpp"
#include "malloc_count.h"

// ---- operator new through the counted malloc --------------------------------

void* operator new(std::size_t size) {
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace bench {
Ring g_ring;
long g_count = 0;
long g_fired = 0;
long g_writes = 0;
std::vector<std::int64_t> g_rand_ns;
std::size_t g_rand_i = 0;
}  // namespace bench

namespace {

using bench::check;
using bench::die;
using bench::g_ring;
using bench::on_readable;
using bench::next_timeout_ns;
using bench::RunConfig;
using bench::cpu_ns;
using bench::wall_ns;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

long rss_bytes() {
  long pages_total = 0, pages_resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return pages_resident * sysconf(_SC_PAGESIZE);
}

void raise_nofile() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

long nofile_limit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  return static_cast<long>(rl.rlim_cur);
}

// One library under test: set up N watchers (and timers), run the event
// loop once (blocking until something happens), tear down.
struct Lib {
  const char* name;
  std::function<void(const RunConfig&)> setup;
  std::function<void()> loop_once;
  std::function<void()> teardown;
};


// ---- (1) evmgr through the C ABI ---------------------------------------------------

// Single-threaded mode (EVMGR_SINGLE_THREADED: no lock), as the RTS uses
// it; the back-end is epoll unless said.
struct EvmgrLib {
  explicit EvmgrLib(bool one_shot_mode, evmgr_backend which = EVMGR_BACKEND_EPOLL)
      : one_shot(one_shot_mode), backend(which) {}
  bool one_shot;
  evmgr_backend backend;
  bool timers = false;
  evmgr_manager* mgr = nullptr;
  std::vector<evmgr_key> keys, timer_keys;
  evmgr_event events[512] = {};

  void setup(const RunConfig& c) {
    timers = c.timers;
    check(evmgr_new_with(backend, EVMGR_SINGLE_THREADED, &mgr), "evmgr_new_with");
    // Diagnostics: EVMGR_BENCH_FD_CHECK_NS overrides the closed-fd check
    // period (0 turns it off); the default (250 ms) is what is measured.
    if (const char* v = std::getenv("EVMGR_BENCH_FD_CHECK_NS")) {
      evmgr_set_closed_fd_check_interval(mgr, std::atoll(v));
    }
    keys.assign(static_cast<std::size_t>(c.n), 0);
    timer_keys.assign(static_cast<std::size_t>(c.n), 0);
    for (int i = 0; i < c.n; ++i) {
      check(evmgr_fd_register(mgr, g_ring.rfd[i], EVMGR_READ,
                              one_shot ? EVMGR_ONESHOT : EVMGR_PERSISTENT,
                              static_cast<uintptr_t>(i), &keys[i]),
            "evmgr_fd_register");
      if (timers) {
        check(evmgr_timer_add(mgr, next_timeout_ns(), static_cast<uintptr_t>(c.n + i),
                              &timer_keys[i]),
              "evmgr_timer_add");
      }
    }
  }

  void loop_once() {
    const int got = evmgr_poll(mgr, -1, events, 512);
    if (got < 0) die("evmgr_poll", -got);
    for (int k = 0; k < got; ++k) {
      if (events[k].events & EVMGR_TIMEOUT) continue;  // never: 10 s away
      const int idx = static_cast<int>(events[k].token);
      if (timers) check(evmgr_timer_update(mgr, timer_keys[idx], next_timeout_ns()), "timer_update");
      on_readable(idx);
      if (one_shot) {
        // What the RTS does: the woken thread reads, and waits again with a
        // fresh one-shot registration.
        check(evmgr_fd_register(mgr, g_ring.rfd[idx], EVMGR_READ, EVMGR_ONESHOT,
                                static_cast<uintptr_t>(idx), &keys[idx]),
              "evmgr_fd_register");
      }
    }
  }

  void teardown() {
    evmgr_free(mgr);
    mgr = nullptr;
  }
};

// ---- (2) the floor: a minimal hand-written epoll loop --------------------------------
//
// Level-triggered, data.u32 = index, no locking, no bookkeeping. With timers
// it keeps a minimal intrusive binary min-heap of (deadline, index) with a
// position array, reads the clock once per epoll_wait and re-arms from that
// cached time (as libev does with ev_now). The one-shot variant re-arms with
// EPOLL_CTL_MOD | EPOLLONESHOT after each event: the syscall floor of the
// RTS's one-shot pattern.

struct MiniHeap {
  struct Entry {
    std::int64_t at;
    int idx;
  };
  std::vector<Entry> heap;
  std::vector<std::size_t> pos;

  void reset(int n) {
    heap.clear();
    heap.reserve(static_cast<std::size_t>(n));
    pos.assign(static_cast<std::size_t>(n), 0);
  }
  void set(std::size_t i, const Entry& e) {
    heap[i] = e;
    pos[static_cast<std::size_t>(e.idx)] = i;
  }
  void up(std::size_t i) {
    const Entry e = heap[i];
    while (i > 0 && e.at < heap[(i - 1) / 2].at) {
      set(i, heap[(i - 1) / 2]);
      i = (i - 1) / 2;
    }
    set(i, e);
  }
  void down(std::size_t i) {
    const Entry e = heap[i];
    for (;;) {
      std::size_t c = 2 * i + 1;
      if (c >= heap.size()) break;
      if (c + 1 < heap.size() && heap[c + 1].at < heap[c].at) ++c;
      if (!(heap[c].at < e.at)) break;
      set(i, heap[c]);
      i = c;
    }
    set(i, e);
  }
  void push(int idx, std::int64_t at) {
    heap.push_back(Entry{at, idx});
    up(heap.size() - 1);
  }
  void update(int idx, std::int64_t at) {
    const std::size_t i = pos[static_cast<std::size_t>(idx)];
    heap[i].at = at;
    up(i);
    down(pos[static_cast<std::size_t>(idx)]);
  }
};

struct RawEpollLib {
  explicit RawEpollLib(bool one_shot_mode) : one_shot(one_shot_mode) {}
  bool one_shot;
  bool timers = false;
  int ep = -1;
  MiniHeap heap;
  epoll_event events[512] = {};

  void setup(const RunConfig& c) {
    timers = c.timers;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1", errno);
    const std::int64_t now = wall_ns();
    heap.reset(c.n);
    for (int i = 0; i < c.n; ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN | (one_shot ? EPOLLONESHOT : 0u);
      ev.data.u32 = static_cast<std::uint32_t>(i);
      if (epoll_ctl(ep, EPOLL_CTL_ADD, g_ring.rfd[i], &ev) != 0) die("epoll_ctl", errno);
      if (timers) heap.push(i, now + next_timeout_ns());
    }
  }

  void loop_once() {
    int timeout_ms = -1;
    std::int64_t now = 0;
    if (timers) {
      now = wall_ns();
      while (!heap.heap.empty() && heap.heap[0].at <= now) {
        heap.update(heap.heap[0].idx, INT64_MAX);  // never happens here
      }
      const std::int64_t wait = heap.heap[0].at - now;
      timeout_ms = static_cast<int>(std::min<std::int64_t>(wait / 1000000 + 1, INT32_MAX));
    }
    const int got = epoll_wait(ep, events, 512, timeout_ms);
    if (got < 0) {
      if (errno == EINTR) return;
      die("epoll_wait", errno);
    }
    if (timers) now = wall_ns();
    for (int k = 0; k < got; ++k) {
      const int idx = static_cast<int>(events[k].data.u32);
      if (timers) heap.update(idx, now + next_timeout_ns());
      on_readable(idx);
      if (one_shot) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLONESHOT;
        ev.data.u32 = static_cast<std::uint32_t>(idx);
        if (epoll_ctl(ep, EPOLL_CTL_MOD, g_ring.rfd[idx], &ev) != 0) die("epoll_ctl MOD", errno);
      }
    }
  }

  void teardown() {
    (void)::close(ep);
    ep = -1;
  }
};

// ---- pipes mode --------------------------------------------------------------------

struct RunResult {
  double cpu_ns_per_event;
  double wall_ns_per_event;
  double mallocs_per_event;
};

long g_events_total = 0;  // events in every timed loop so far (for callgrind)

// bench.c's run_once: set up, make A fds active, run until W writes are
// done and every byte is read; only the loop is timed.
RunResult run_once(Lib& lib, const RunConfig& c) {
  bench::g_rand_i = 0;
  lib.setup(c);
  const int space = c.n / c.active;
  bench::g_fired = 0;
  for (int i = 0; i < c.active; ++i, ++bench::g_fired) {
    if (::write(g_ring.wfd[i * space], "e", 1) != 1) die("write", errno);
  }
  bench::g_count = 0;
  bench::g_writes = c.writes;
  evb_count_start();
  // Under valgrind --tool=callgrind --collect-atstart=no, only the timed
  // loops are counted (user-space instructions per event; no-op otherwise).
  EVMGR_BENCH_TOGGLE_COLLECT();
  const std::int64_t w0 = wall_ns();
  const std::int64_t c0 = cpu_ns();
  do {
    lib.loop_once();
  } while (bench::g_count != bench::g_fired);
  const std::int64_t c1 = cpu_ns();
  const std::int64_t w1 = wall_ns();
  EVMGR_BENCH_TOGGLE_COLLECT();
  evb_count_stop();
  g_events_total += bench::g_count;
  lib.teardown();
  const double events = static_cast<double>(bench::g_count);
  return RunResult{static_cast<double>(c1 - c0) / events, static_cast<double>(w1 - w0) / events,
                   static_cast<double>(evb_count_calls()) / events};
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  while (*s) {
    char* end;
    out.push_back(static_cast<int>(std::strtol(s, &end, 10)));
    s = *end ? end + 1 : end;
  }
  return out;
}

int mode_pipes(int reps, long writes, const std::vector<int>& ns, const std::vector<int>& as,
               const std::vector<int>& ts) {
  raise_nofile();
  EvmgrLib evp(false), evo(true);
  RawEpollLib raw(false), rawo(true);
  std::vector<Lib> libs = {
      {"raw epoll LT", [&](const RunConfig& c) { raw.setup(c); }, [&] { raw.loop_once(); },
       [&] { raw.teardown(); }},
      {"evmgr persistent", [&](const RunConfig& c) { evp.setup(c); }, [&] { evp.loop_once(); },
       [&] { evp.teardown(); }},
      {"libev", bench::libev::setup, bench::libev::loop_once, bench::libev::teardown},
      {"libevent", bench::libevent::setup, bench::libevent::loop_once,
       bench::libevent::teardown},
      {"raw epoll one-shot", [&](const RunConfig& c) { rawo.setup(c); },
       [&] { rawo.loop_once(); }, [&] { rawo.teardown(); }},
      {"evmgr one-shot", [&](const RunConfig& c) { evo.setup(c); }, [&] { evo.loop_once(); },
       [&] { evo.teardown(); }},
  };
  const std::size_t kRaw = 0, kEvP = 1, kLibev = 2, kLibevent = 3, kRawO = 4, kEvO = 5, kEvU = 6;
  // io_uring one-shot (issue 12's target: <= 1.1x raw epoll LT), where the
  // kernel allows a ring.
  EvmgrLib evu(true, EVMGR_BACKEND_IO_URING);
  const bool with_io_uring = evmgr_backend_available(EVMGR_BACKEND_IO_URING) != 0;
  if (with_io_uring) {
    libs.push_back({"evmgr io_uring one-shot", [&](const RunConfig& c) { evu.setup(c); },
                    [&] { evu.loop_once(); }, [&] { evu.teardown(); }});
  }
  const std::size_t kFullSet = with_io_uring ? 7 : 6;
  if (const char* only = std::getenv("EVMGR_BENCH_ONLY")) {  // debugging: one library
    std::vector<Lib> kept;
    for (Lib& l : libs)
      if (l.name == std::string(only)) kept.push_back(l);
    if (kept.empty()) die("EVMGR_BENCH_ONLY: no such library", EINVAL);
    std::fprintf(stderr, "only %s (ratio columns are meaningless)\n", only);
    libs = kept;
    for (int i = 0; i < 5; ++i) libs.push_back(kept[0]);
  }

  struct Row {
    std::string head;
    std::vector<double> cpu, wall, mallocs;  // per library: medians / worst
    std::vector<double> ratio_raw, ratio_libev, ratio_libevent, ratio_oneshot,
        ratio_io_uring;  // paired
  };
  std::vector<Row> rows;
  bool all_met = true;
  const auto paired = [&](const std::vector<double>& x, const std::vector<double>& y) {
    std::vector<double> r;
    for (std::size_t i = 0; i < x.size(); ++i) r.push_back(x[i] / y[i]);
    return r;
  };
  // Quartiles of the paired per-repetition ratios.
  const auto quantile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
  };
  const auto spread = [&](const std::vector<double>& v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f [%.2f-%.2f]", median(v), quantile(v, 0.25),
                  quantile(v, 0.75));
    return std::string(buf);
  };
  // met: median ratio within the target; "within noise": the median misses
  // it but the lower quartile does not; not met: even the lower quartile
  // misses it.
  const auto verdict = [&](const std::vector<double>& v, double target, bool* met) {
    if (median(v) <= target) return std::string("met");
    *met = false;
    return quantile(v, 0.25) <= target ? std::string("not met (within noise)")
                                       : std::string("**not met**");
  };

  for (int n : ns) {
    const bool use_sp = 2L * n + 64 > nofile_limit();
    g_ring.open(n, use_sp);
    for (int a : as) {
      if (a > n) continue;
      for (int t : ts) {
        const RunConfig c{n, a, t != 0, writes};
        std::vector<std::vector<double>> cpu(libs.size()), wall(libs.size()), mallocs(libs.size());
        // One untimed warm-up run per library, then `reps` interleaved runs.
        for (Lib& l : libs) (void)run_once(l, RunConfig{n, a, t != 0, std::min<long>(writes, 20000)});
        for (int r = 0; r < reps; ++r) {
          for (std::size_t li = 0; li < libs.size(); ++li) {
            const RunResult res = run_once(libs[li], c);
            cpu[li].push_back(res.cpu_ns_per_event);
            wall[li].push_back(res.wall_ns_per_event);
            mallocs[li].push_back(res.mallocs_per_event);
          }
        }
        Row row;
        char head[128];
        std::snprintf(head, sizeof head, "| %d | %d | %s | %s |", n, a, t ? "yes" : "no",
                      use_sp ? "socketpairs" : "pipes");
        row.head = head;
        for (std::size_t li = 0; li < libs.size(); ++li) {
          row.cpu.push_back(median(cpu[li]));
          row.wall.push_back(median(wall[li]));
          row.mallocs.push_back(*std::max_element(mallocs[li].begin(), mallocs[li].end()));
        }
        if (libs.size() == kFullSet) {
          row.ratio_raw = paired(cpu[kEvP], cpu[kRaw]);
          row.ratio_libev = paired(cpu[kEvP], cpu[kLibev]);
          row.ratio_libevent = paired(cpu[kEvP], cpu[kLibevent]);
          row.ratio_oneshot = paired(cpu[kEvO], cpu[kRawO]);
          if (with_io_uring) row.ratio_io_uring = paired(cpu[kEvU], cpu[kRaw]);
        }
        rows.push_back(row);
        std::fprintf(stderr, "done N=%d A=%d timers=%d\n", n, a, t);
      }
    }
    g_ring.close_all();
  }

  std::printf("### fd events: CPU ns per event (median of %d runs) and ratio vs raw epoll LT\n\n",
              reps);
  std::printf("%ld writes per run; events per run = writes + A. Time is the thread's CPU time "
              "(CLOCK_THREAD_CPUTIME_ID) over the timed loop; the loop never sleeps (a byte is "
              "always in flight), so this is the wall time minus preemption by other processes "
              "on the shared machine (wall-clock table below).\n\n",
              writes);
  // One markdown table: a column per library, cell(row, library) prints a cell.
  const auto print_table = [&](auto cell) {
    std::printf("| N | A | timers | fds |");
    for (const Lib& l : libs) std::printf(" %s |", l.name);
    std::printf("\n|---:|---:|:---:|:---|");
    for (std::size_t i = 0; i < libs.size(); ++i) std::printf("---:|");
    std::printf("\n");
    for (const Row& row : rows) {
      std::printf("%s", row.head.c_str());
      for (std::size_t li = 0; li < libs.size(); ++li) cell(row, li);
      std::printf("\n");
    }
  };
  print_table([](const Row& row, std::size_t li) {
    std::printf(" %.0f (%.2fx) |", row.cpu[li], row.cpu[li] / row.cpu[kRaw]);
  });
  if (libs.size() == kFullSet) {
    std::printf("\n### fd-event targets: paired per-repetition ratios, median "
                "[quartiles] over %d runs\n\n",
                reps);
    std::printf("| N | A | timers | fds | evmgr persistent / raw epoll LT | <= 1.25 | evmgr "
                "persistent / libev | evmgr persistent / libevent | <= 1 (both) | evmgr one-shot "
                "/ raw epoll one-shot | evmgr io_uring one-shot / raw epoll LT | <= 1.1 |\n"
                "|---:|---:|:---:|:---|---:|:---|---:|---:|:---|---:|---:|:---|\n");
    for (const Row& row : rows) {
      std::vector<double> worse(row.ratio_libev.size());
      for (std::size_t i = 0; i < worse.size(); ++i) {
        worse[i] = std::max(row.ratio_libev[i], row.ratio_libevent[i]);
      }
      const std::string v1 = verdict(row.ratio_raw, 1.25, &all_met);
      const std::string v2 = verdict(worse, 1.0, &all_met);
      bool io_uring_met = true;  // reported, not part of the exit status
      const std::string v3 =
          with_io_uring ? verdict(row.ratio_io_uring, 1.1, &io_uring_met) : std::string("-");
      std::printf("%s %s | %s | %s | %s | %s | %s | %s | %s |\n", row.head.c_str(),
                  spread(row.ratio_raw).c_str(), v1.c_str(), spread(row.ratio_libev).c_str(),
                  spread(row.ratio_libevent).c_str(), v2.c_str(),
                  spread(row.ratio_oneshot).c_str(),
                  with_io_uring ? spread(row.ratio_io_uring).c_str() : "-", v3.c_str());
    }
  }
  std::printf("\n### fd events: wall-clock ns per event (median of %d runs), for reference\n\n",
              reps);
  print_table([](const Row& row, std::size_t li) {
    std::printf(" %.0f (%.2fx) |", row.wall[li], row.wall[li] / row.wall[kRaw]);
  });
  std::printf("\n### malloc calls per event in the timed loop (worst run)\n\n");
  print_table([](const Row& row, std::size_t li) { std::printf(" %.3g |", row.mallocs[li]); });
  std::printf("\n");
  std::fprintf(stderr, "events in timed loops: %ld\n", g_events_total);
  return all_met ? 0 : 3;
}

// ---- timers mode -------------------------------------------------------------------

int mode_timers(int reps, int count) {
  const std::size_t n = static_cast<std::size_t>(count);
  bench::TimerInput in;
  in.reps = reps;
  in.settle_ns = 60'000'000;  // > the largest near deadline
  std::mt19937_64 rng(42);
  // Cancel test: deadlines 1..11 s away (never reached). Expire test: 1..51 ms.
  in.far.resize(n);
  in.near.resize(n);
  std::uniform_int_distribution<std::int64_t> far_d(1'000'000'000, 11'000'000'000);
  std::uniform_int_distribution<std::int64_t> near_d(1'000'000, 51'000'000);
  for (std::size_t i = 0; i < n; ++i) {
    in.far[i] = far_d(rng);
    in.near[i] = near_d(rng);
  }
  in.order.resize(n);
  for (std::size_t i = 0; i < n; ++i) in.order[i] = i;
  std::shuffle(in.order.begin(), in.order.end(), rng);

  bench::TimerTimes tev, tevat, tlibev, tlibevent;
  std::uint64_t worst_mallocs = 0;  // evmgr timed phases after warm-up

  // evmgr, through the C ABI. Variant 0: evmgr_timer_add (relative, reads
  // the clock per call, like the RTS's threadDelay); variant 1:
  // evmgr_timer_add_at (absolute deadline computed once by the caller).
  {
    evmgr_manager* mgr;
    check(evmgr_new(EVMGR_BACKEND_EPOLL, &mgr), "evmgr_new");
    std::vector<evmgr_key> keys(n);
    std::vector<evmgr_event> out(512);
    for (int r = 0; r <= reps; ++r) {  // r == 0: warm-up (pool and heap grow)
      for (int variant = 0; variant < 2; ++variant) {
        bench::TimerTimes& tt = variant == 0 ? tev : tevat;
        if (r > 0) evb_count_start();
        const std::int64_t base = evmgr_now_ns();
        const std::int64_t t0 = cpu_ns();
        for (std::size_t i = 0; i < n; ++i) {
          if (variant == 0)
            check(evmgr_timer_add(mgr, in.far[i], i, &keys[i]), "timer_add");
          else
            check(evmgr_timer_add_at(mgr, base + in.far[i], i, &keys[i]), "timer_add_at");
        }
        const std::int64_t t1 = cpu_ns();
        for (std::size_t i = 0; i < n; ++i) check(evmgr_timer_cancel(mgr, keys[in.order[i]]), "cancel");
        const std::int64_t t2 = cpu_ns();
        const std::int64_t base2 = evmgr_now_ns();
        for (std::size_t i = 0; i < n; ++i) {
          if (variant == 0)
            check(evmgr_timer_add(mgr, in.near[i], i, &keys[i]), "timer_add");
          else
            check(evmgr_timer_add_at(mgr, base2 + in.near[i], i, &keys[i]), "timer_add_at");
        }
        const std::int64_t t3 = cpu_ns();
        bench::sleep_ns(in.settle_ns);
        long fired = 0;
        const std::int64_t t4 = cpu_ns();
        while (fired < count) {
          const int got = evmgr_poll(mgr, 0, out.data(), out.size());
          if (got < 0) die("evmgr_poll", -got);
          fired += got;
        }
        const std::int64_t t5 = cpu_ns();
        evb_count_stop();
        if (r > 0) {
          worst_mallocs = std::max(worst_mallocs, evb_count_calls());
          tt.add(count, t1 - t0, t2 - t1, t3 - t2, t5 - t4);
        }
      }
    }
    evmgr_free(mgr);
  }
  bench::libev::timers(in, tlibev);
  bench::libevent::timers(in, tlibevent);

  std::printf("### Timers: %d timeouts, CPU ns per timer, median of %d runs\n\n", count, reps);
  std::printf("Insert+cancel: deadlines uniform in [1 s, 11 s], cancelled in one random order. "
              "Insert+expire: deadlines uniform in [1 ms, 51 ms]; after a 60 ms sleep (not "
              "timed) the loop runs (non-blocking) until every timer has fired: evmgr_poll "
              "copies out events 512 at a time, libev/libevent call one callback per timer. Same "
              "deadlines and order for every library; one untimed warm-up round first (heaps "
              "and pools grow).\n\n");
  std::printf("| library | insert (far) | cancel (random order) | insert (near) | expire "
              "(fire) | insert+cancel | insert+expire | vs libev: insert+cancel / "
              "insert+expire |\n|:---|---:|---:|---:|---:|---:|---:|:---|\n");
  const double lev_ic = median(tlibev.insert) + median(tlibev.cancel);
  const double lev_ie = median(tlibev.insert2) + median(tlibev.expire);
  bool met = true;
  const auto row = [&](const char* name, const bench::TimerTimes& tt, bool target) {
    const double ic = median(tt.insert) + median(tt.cancel);
    const double ie = median(tt.insert2) + median(tt.expire);
    char verdict[160];
    std::snprintf(verdict, sizeof verdict, "%.2fx / %.2fx", ic / lev_ic, ie / lev_ie);
    std::string v = verdict;
    if (target) {
      const bool ok = ic <= lev_ic && ie <= lev_ie;
      met = met && ok;
      v += ok ? ": met" : ": **not met**";
    }
    std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s |\n", name, median(tt.insert),
                median(tt.cancel), median(tt.insert2), median(tt.expire), ic, ie, v.c_str());
  };
  row("evmgr (evmgr_timer_add, relative)", tev, true);
  row("evmgr (evmgr_timer_add_at, absolute)", tevat, false);
  row("libev (ev_timer_start/stop, ev_run)", tlibev, false);
  row("libevent (event_add/del, event_base_loop)", tlibevent, false);
  std::printf("\nTarget: evmgr timers not slower than libev. evmgr malloc calls during "
              "the timed phases after warm-up (insert, cancel, insert, expire of %d timers): "
              "%" PRIu64 " (worst run).\n\n",
              count, worst_mallocs);
  return met ? 0 : 3;
}

// ---- memory mode -------------------------------------------------------------------

// TimerQueue's Entry is private; this mirrors its layout (deadline, node)
// and is checked against the heap's real allocations below.
struct MirrorHeapEntry {
  std::int64_t deadline;
  void* node;
};

int mode_memory() {
  raise_nofile();
  std::printf("### Memory\n\n");
  std::printf("| structure | bytes | note |\n|:---|---:|:---|\n");
  std::printf("| `evmgr::Registration` (one per fd waiter and per timer) | %zu | pool chunks of "
              "%u, never freed |\n",
              sizeof(evmgr::Registration), evmgr::RegistrationPool::kChunkSize);
  std::printf("| `evmgr::FdSlot` (one per fd number up to the highest registered) | %zu | "
              "vector indexed by fd, geometric growth |\n",
              sizeof(evmgr::FdSlot));
  std::printf("| timer heap entry (`TimerQueue::Entry`: deadline, node) | %zu | "
              "vector, geometric growth (private type: layout mirrored) |\n",
              sizeof(MirrorHeapEntry));
  std::printf("| `evmgr_event` (C ABI, caller's array) | %zu | |\n", sizeof(evmgr_event));
  std::printf("| libev `ev_io` / `ev_timer` (+ libev's 16-byte heap entry, per-fd anfd 16 B) | "
              "%zu / %zu | caller-allocated |\n",
              bench::libev::io_size(), bench::libev::timer_size());
  std::printf("| libevent `struct event` | %zu | + 8 B min-heap pointer per timer |\n\n",
              bench::libevent::event_size());

  // Timers: 1,000,000 pending, malloc'd bytes and RSS growth.
  {
    constexpr int kTimers = 1000000;
    evmgr_manager* mgr;
    check(evmgr_new(EVMGR_BACKEND_EPOLL, &mgr), "evmgr_new");
    std::vector<evmgr_key> keys(kTimers);
    const long rss0 = rss_bytes();
    evb_count_start();
    for (int i = 0; i < kTimers; ++i) {
      check(evmgr_timer_add(mgr, 1'000'000'000'000 + i, static_cast<uintptr_t>(i), &keys[i]),
            "timer_add");
    }
    evb_count_stop();
    const long rss1 = rss_bytes();
    const double per_malloc = static_cast<double>(evb_count_bytes()) / kTimers;
    const double per_rss = static_cast<double>(rss1 - rss0) / kTimers;
    std::printf("| measured | per registration | malloc calls | note |\n|:---|---:|---:|:---|\n");
    std::printf("| 1,000,000 pending timers: bytes requested from malloc | %.1f | %" PRIu64
                " | Registration + heap entry; the heap vector's doublings make the "
                "cumulative request up to 2x the entry size |\n",
                per_malloc, evb_count_calls());
    std::printf("| 1,000,000 pending timers: RSS growth | %.1f | | |\n", per_rss);
    evmgr_free(mgr);
  }

  // fd registrations: 10,000 fds (both ends of 5,000 socketpairs), one
  // persistent waiter each.
  {
    constexpr int kFds = 10000;
    bench::Ring ring;
    ring.open(kFds, true);
    evmgr_manager* mgr;
    check(evmgr_new(EVMGR_BACKEND_EPOLL, &mgr), "evmgr_new");
    const long rss0 = rss_bytes();
    evb_count_start();
    const std::int64_t t0 = cpu_ns();
    for (int i = 0; i < kFds; ++i) {
      evmgr_key key;
      check(evmgr_fd_register(mgr, ring.rfd[i], EVMGR_READ, EVMGR_PERSISTENT,
                              static_cast<uintptr_t>(i), &key),
            "fd_register");
    }
    const std::int64_t t1 = cpu_ns();
    evb_count_stop();
    const long rss1 = rss_bytes();
    // The same registrations on a bare epoll fd, for comparison.
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    const std::int64_t t2 = cpu_ns();
    for (int i = 0; i < kFds; ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(i);
      if (epoll_ctl(ep, EPOLL_CTL_ADD, ring.rfd[i], &ev) != 0) die("epoll_ctl", errno);
    }
    const std::int64_t t3 = cpu_ns();
    (void)::close(ep);
    std::printf("| 10,000 fds, one waiter each: bytes requested from malloc (user space) | %.1f "
                "| %" PRIu64
                " | Registration + FdSlot, plus every reallocation of the fd table "
                "(cumulative: geometric growth should stay under 2x FdSlot) |\n",
                static_cast<double>(evb_count_bytes()) / kFds, evb_count_calls());
    std::printf("| 10,000 fds, one waiter each: RSS growth (user space only; the kernel's "
                "epitem is ~128 B more) | %.1f | | |\n",
                static_cast<double>(rss1 - rss0) / kFds);
    std::printf("| 10,000 fds registered in increasing fd order: CPU ns per evmgr_fd_register "
                "(raw epoll_ctl ADD: %.0f) | %.0f | | |\n\n",
                static_cast<double>(t3 - t2) / kFds, static_cast<double>(t1 - t0) / kFds);
    evmgr_free(mgr);
    ring.close_all();
  }
  return 0;
}

// ---- steady-state allocation check ---------------------------------------------------

int mode_steady() {
  std::printf("### Steady-state allocations in evmgr (malloc + operator new calls)\n\n");
  std::printf("| loop (after warm-up) | iterations | malloc calls |\n|:---|---:|---:|\n");
  constexpr int kIters = 100000;
  evmgr_manager* mgr;
  check(evmgr_new(EVMGR_BACKEND_EPOLL, &mgr), "evmgr_new");
  evmgr_event out[64];
  bool ok = true;
  const auto report = [&](const char* what, int iters) {
    const std::uint64_t calls = evb_count_calls();
    ok = ok && calls == 0;
    std::printf("| %s | %d | %" PRIu64 " |\n", what, iters, calls);
  };
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) die("pipe2", errno);
  // A population to make it realistic: 1000 far timers pending.
  std::vector<evmgr_key> far(1000);
  for (std::size_t i = 0; i < far.size(); ++i) {
    check(evmgr_timer_add(mgr, 3'600'000'000'000, i, &far[i]), "timer_add");
  }

  for (int phase = 0; phase < 2; ++phase) {  // phase 0 warms up, phase 1 counts
    const int iters = phase == 0 ? 1000 : kIters;
    unsigned char ch;
    // (a) persistent fd wake-ups.
    evmgr_key key;
    check(evmgr_fd_register(mgr, p[0], EVMGR_READ, EVMGR_PERSISTENT, 1, &key), "register");
    if (phase) evb_count_start();
    for (int i = 0; i < iters; ++i) {
      if (::write(p[1], "e", 1) != 1) die("write", errno);
      if (evmgr_poll(mgr, -1, out, 64) != 1) die("poll", EIO);
      if (::read(p[0], &ch, 1) != 1) die("read", errno);
    }
    evb_count_stop();
    if (phase) report("persistent fd: write, evmgr_poll (1 event), read", iters);
    check(evmgr_fd_unregister(mgr, key), "unregister");
    // (b) one-shot fd wake-ups with re-registration (the RTS pattern).
    if (phase) evb_count_start();
    for (int i = 0; i < iters; ++i) {
      check(evmgr_fd_register(mgr, p[0], EVMGR_READ, EVMGR_ONESHOT, 2, &key), "register");
      if (::write(p[1], "e", 1) != 1) die("write", errno);
      if (evmgr_poll(mgr, -1, out, 64) != 1) die("poll", EIO);
      if (::read(p[0], &ch, 1) != 1) die("read", errno);
    }
    evb_count_stop();
    if (phase) report("one-shot fd: evmgr_fd_register, write, evmgr_poll, read", iters);
    // (c) evmgr_wakeup wake-ups.
    if (phase) evb_count_start();
    for (int i = 0; i < iters; ++i) {
      check(evmgr_wakeup(mgr), "wakeup");
      if (evmgr_poll(mgr, -1, out, 64) != 0) die("poll after wakeup", EIO);
    }
    evb_count_stop();
    if (phase) report("evmgr_wakeup, evmgr_poll (returns 0)", iters);
    // (d) timer fires.
    if (phase) evb_count_start();
    for (int i = 0; i < iters; ++i) {
      evmgr_key tk;
      check(evmgr_timer_add(mgr, 0, 3, &tk), "timer_add");
      if (evmgr_poll(mgr, -1, out, 64) != 1) die("poll timer", EIO);
    }
    evb_count_stop();
    if (phase) report("evmgr_timer_add(0), evmgr_poll (fires 1 timer)", iters);
    // (e) timer re-arm and cancel.
    if (phase) evb_count_start();
    for (int i = 0; i < iters; ++i) {
      check(evmgr_timer_update(mgr, far[static_cast<std::size_t>(i) % far.size()],
                               3'600'000'000'000 + i),
            "timer_update");
      evmgr_key tk;
      check(evmgr_timer_add(mgr, 1'000'000'000, 4, &tk), "timer_add");
      check(evmgr_timer_cancel(mgr, tk), "timer_cancel");
    }
    evb_count_stop();
    if (phase) report("evmgr_timer_update + evmgr_timer_add + evmgr_timer_cancel", iters);
  }
  evmgr_free(mgr);
  (void)::close(p[0]);
  (void)::close(p[1]);
  std::printf("\nResult: %s\n\n", ok ? "**zero allocations** in every steady-state loop (asserted)"
                                        : "**ALLOCATIONS FOUND** in a steady-state loop");
  return ok ? 0 : 1;
}

// ---- tiny delays and the closed-fd sweep ---------------------------------------------

const evmgr_backend kLinuxBackends[] = {EVMGR_BACKEND_EPOLL, EVMGR_BACKEND_POLL};

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

int mode_tiny_delay(int count) {
  std::printf("### Tiny delays: a 1 us timer, added then polled for (wall us from add to "
              "delivery)\n\n");
  std::printf("Timer slack of this thread: %d ns.\n\n", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
  std::printf("| back-end | timers | median | p90 | p99 | max | early |\n"
              "|:---|---:|---:|---:|---:|---:|---:|\n");
  bool ok = true;
  for (const evmgr_backend backend : kLinuxBackends) {
    evmgr_manager* mgr;
    check(evmgr_new(backend, &mgr), "evmgr_new");
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(count));
    int early = 0;
    evmgr_event out[4];
    for (int i = 0; i < count; ++i) {
      evmgr_key key;
      const std::int64_t t0 = evmgr_now_ns();
      check(evmgr_timer_add(mgr, 1000, 1, &key), "timer_add");
      if (evmgr_poll(mgr, -1, out, 4) != 1) die("poll", EIO);
      const std::int64_t t1 = evmgr_now_ns();
      if (t1 < t0 + 1000) ++early;
      us.push_back(static_cast<double>(t1 - t0) / 1000.0);
    }
    evmgr_free(mgr);
    ok = ok && early == 0;
    std::printf("| %s | %d | %.1f | %.1f | %.1f | %.1f | %d |\n", evmgr_backend_name(backend),
                count, median(us), quantile(us, 0.9), quantile(us, 0.99), quantile(us, 1.0),
                early);
  }
  std::printf("\n");
  return ok ? 0 : 1;
}

int mode_sweep(const std::vector<int>& ns, int reps) {
  raise_nofile();
  std::printf("### The closed-fd sweep: evmgr_check_closed_fds with N fds waited on\n\n");
  std::printf("| back-end | waited fds | median us per sweep | us per fd | poll(2) batches | "
              "file probes |\n|:---|---:|---:|---:|---:|---:|\n");
  for (const int n : ns) {
    if (n + 64L > nofile_limit()) {
      std::printf("| (skipped: %d fds need RLIMIT_NOFILE >= %d) |\n", n, n + 64);
      continue;
    }
    // eventfds: one fd per waited fd, pollable and fstat-able like a pipe.
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
      const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (fd < 0) die("eventfd", errno);
      fds.push_back(fd);
    }
    for (const evmgr_backend backend : kLinuxBackends) {
      evmgr_manager* mgr;
      check(evmgr_new(backend, &mgr), "evmgr_new");
      evmgr_set_closed_fd_check_interval(mgr, 0);
      for (int i = 0; i < n; ++i) {
        evmgr_key key;
        check(evmgr_fd_register(mgr, fds[static_cast<std::size_t>(i)], EVMGR_READ,
                                EVMGR_ONESHOT, 1, &key),
              "register");
      }
      std::vector<double> us;
      for (int r = 0; r < reps; ++r) {
        const std::int64_t t0 = wall_ns();
        check(evmgr_check_closed_fds(mgr), "check_closed_fds");
        us.push_back(static_cast<double>(wall_ns() - t0) / 1000.0);
      }
      const double med = median(us);
      std::printf("| %s | %d | %.0f | %.3f | %d | %d |\n", evmgr_backend_name(backend), n, med,
                  med / n, (n + 255) / 256, n < 1024 ? n : 1024);
      evmgr_free(mgr);
    }
    for (const int fd : fds) (void)::close(fd);
  }
  std::printf("\nOne poll(2) per 256 waited fds finds closed fds; up to 1024 waited fds per "
              "sweep are probed for a replaced file (epoll_ctl(MOD) under epoll, fstat "
              "under poll), a rotating slice beyond (Note [Closed fds]).\n\n");
  return 0;
}

void print_env() {
  utsname u;
  uname(&u);
  std::string cpu = "?";
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      if (std::strncmp(line, "model name", 10) == 0) {
        const char* colon = std::strchr(line, ':');
        if (colon) cpu = std::string(colon + 2, std::strcspn(colon + 2, "\n"));
        break;
      }
    }
    std::fclose(f);
  }
  std::printf("Machine: %s, %ld CPUs online, Linux %s. libev %d.%d, libevent %s. "
              "RLIMIT_NOFILE %ld.\n\n",
              cpu.c_str(), sysconf(_SC_NPROCESSORS_ONLN), u.release, bench::libev::version_major(),
              bench::libev::version_minor(), bench::libevent::version(), (raise_nofile(), nofile_limit()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s pipes [--reps R] [--writes W] [--n 100,1000,10000] [--a 1,100] "
                 "[--timers 0,1]\n"
                 "       %s timers [--reps R] [--count C]\n"
                 "       %s tiny-delay [--count C] | sweep [--n 1000,10000] [--reps R]\n"
                 "       %s memory | steady | env\n",
                 argv[0], argv[0], argv[0], argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  int reps = -1;    // per mode when not given
  long writes = 100000;
  int count = -1;   // per mode when not given
  std::vector<int> ns, as = {1, 100}, ts = {0, 1};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--reps") reps = std::atoi(argv[i + 1]);
    else if (opt == "--writes") writes = std::atol(argv[i + 1]);
    else if (opt == "--count") count = std::atoi(argv[i + 1]);
    else if (opt == "--n") ns = parse_list(argv[i + 1]);
    else if (opt == "--a") as = parse_list(argv[i + 1]);
    else if (opt == "--timers") ts = parse_list(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", opt.c_str());
      return 2;
    }
  }
  std::mt19937_64 rng(7);
  bench::g_rand_ns.resize(bench::kRandCount);
  for (auto& r : bench::g_rand_ns) r = static_cast<std::int64_t>(rng() % 1000000000u);

  const auto or_default = [](auto given, auto fallback) { return given < 0 ? fallback : given; };
  if (mode == "pipes") {
    return mode_pipes(or_default(reps, 5), writes, ns.empty() ? std::vector<int>{100, 1000, 10000} : ns,
                      as, ts);
  }
  if (mode == "timers") return mode_timers(or_default(reps, 5), or_default(count, 1000000));
  if (mode == "memory") return mode_memory();
  if (mode == "steady") return mode_steady();
  if (mode == "tiny-delay") return mode_tiny_delay(or_default(count, 20000));
  if (mode == "sweep") {
    return mode_sweep(ns.empty() ? std::vector<int>{1000, 10000} : ns, or_default(reps, 21));
  }
  if (mode == "env") {
    print_env();
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
