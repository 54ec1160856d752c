// SPDX-License-Identifier: BSD-3-Clause
//
// What evmgr_bench's translation units share: the fd ring, the per-event
// work every library does, and the entry points of the libev and libevent
// drivers. libev's ev.h and libevent's event2/event.h define the same macro
// names (EV_READ, EV_WRITE, EV_TIMEOUT, ...) with different values, so each
// library lives in its own .cpp file and this header includes neither.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace bench {

[[noreturn]] inline void die(const char* what, int err) {
  std::fprintf(stderr, "evmgr_bench: %s: %s\n", what, std::strerror(err));
  std::exit(2);
}

inline void check(int err, const char* what) {
  if (err != 0) die(what, err);
}

inline std::int64_t clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
inline std::int64_t wall_ns() { return clock_ns(CLOCK_MONOTONIC); }
// CPU time of the calling thread: the benchmarks are single-threaded and
// never block for long, so on a shared (over-subscribed) machine this is
// the robust measure; time spent preempted by other processes is excluded.
inline std::int64_t cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

// ---- the fd ring -------------------------------------------------------------
//
// Watched fd i is rfd[i]; writing one byte to wfd[i] makes it readable.
// Pipes need 2 fds per watched fd. When 2N does not fit in RLIMIT_NOFILE
// (N = 10000 here: the hard limit is 20000 and cannot be raised without
// CAP_SYS_RESOURCE), both ends of N/2 socketpairs are watched instead: a
// byte written on one end makes the other readable, so N watched fds cost N
// fds.
struct Ring {
  int n = 0;
  bool socketpairs = false;
  std::vector<int> rfd, wfd;

  void open(int count, bool use_socketpairs) {
    n = count;
    socketpairs = use_socketpairs;
    rfd.assign(static_cast<std::size_t>(n), -1);
    wfd.assign(static_cast<std::size_t>(n), -1);
    if (!socketpairs) {
      for (int i = 0; i < n; ++i) {
        int p[2];
        if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) die("pipe2", errno);
        rfd[i] = p[0];
        wfd[i] = p[1];
      }
    } else {
      if (n % 2 != 0) die("socketpair ring needs an even N", EINVAL);
      for (int i = 0; i < n; i += 2) {
        int s[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s) != 0) {
          die("socketpair", errno);
        }
        rfd[i] = s[0];
        wfd[i] = s[1];
        rfd[i + 1] = s[1];
        wfd[i + 1] = s[0];
      }
    }
  }

  void close_all() {
    for (int i = 0; i < n; ++i) {
      (void)::close(rfd[i]);
      if (!socketpairs) (void)::close(wfd[i]);
    }
    rfd.clear();
    wfd.clear();
    n = 0;
  }
};

// ---- the per-event work, shared by every library --------------------------------

extern Ring g_ring;
extern long g_count;   // bytes read
extern long g_fired;   // bytes written
extern long g_writes;  // writes left

// bench.c's read_cb minus the timer: read this fd's byte, pass one on.
inline void on_readable(int idx) {
  unsigned char ch;
  const ssize_t got = ::read(g_ring.rfd[idx], &ch, 1);
  if (got > 0) g_count += got;
  if (g_writes > 0) {
    int next = idx + 1;
    if (next >= g_ring.n) next -= g_ring.n;
    if (::write(g_ring.wfd[next], "e", 1) != 1) die("write", errno);
    --g_writes;
    ++g_fired;
  }
}

// The per-event timer re-arm: 10 s + a random fraction of a second, from one
// precomputed sequence shared by every library (bench.c's drand48()).
constexpr std::size_t kRandCount = 1 << 16;
extern std::vector<std::int64_t> g_rand_ns;  // in [0, 1e9)
extern std::size_t g_rand_i;

inline std::int64_t next_timeout_ns() {
  const std::int64_t t = 10'000'000'000 + g_rand_ns[g_rand_i];
  g_rand_i = (g_rand_i + 1) & (kRandCount - 1);
  return t;
}

struct RunConfig {
  int n;
  int active;
  bool timers;
  long writes;
};

// ---- timers ------------------------------------------------------------------------

struct TimerInput {
  std::vector<std::int64_t> far;   // relative deadlines for insert+cancel
  std::vector<std::int64_t> near;  // relative deadlines for insert+expire
  std::vector<std::size_t> order;  // cancel order
  int reps;
  std::int64_t settle_ns;  // sleep between inserting near timers and expiring
};

// Per repetition, ns per timer (thread CPU time) of each phase.
struct TimerTimes {
  std::vector<double> insert, cancel, insert2, expire;

  // One repetition: each phase's elapsed ns, divided by the timers it handled.
  void add(double count, std::int64_t insert_ns, std::int64_t cancel_ns,
           std::int64_t insert2_ns, std::int64_t expire_ns) {
    insert.push_back(static_cast<double>(insert_ns) / count);
    cancel.push_back(static_cast<double>(cancel_ns) / count);
    insert2.push_back(static_cast<double>(insert2_ns) / count);
    expire.push_back(static_cast<double>(expire_ns) / count);
  }
};

inline void sleep_ns(std::int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// ---- the library drivers -------------------------------------------------------------

namespace libev {
void setup(const RunConfig& c);
void loop_once();
void teardown();
void timers(const TimerInput& in, TimerTimes& out);
std::size_t io_size();
std::size_t timer_size();
int version_major();
int version_minor();
}  // namespace libev

namespace libevent {
void setup(const RunConfig& c);
void loop_once();
void teardown();
void timers(const TimerInput& in, TimerTimes& out);
std::size_t event_size();
const char* version();
}  // namespace libevent

}  // namespace bench
