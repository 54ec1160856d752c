// SPDX-License-Identifier: BSD-3-Clause
// The manager's clock and the saturating arithmetic every deadline uses.
#pragma once

#include <time.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <climits>
#include <cstdint>

namespace evmgr {

// Nanoseconds on CLOCK_MONOTONIC: immune to wall-clock steps, like the RTS's
// own getProcessElapsedTime.
inline std::int64_t now_ns() noexcept {
  timespec ts;
  // clock_gettime(CLOCK_MONOTONIC) cannot fail on a POSIX system with a
  // valid pointer; there is nothing sensible to do if it did.
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The same clock at tick resolution (a few ms), several times cheaper to
// read where clock_gettime is not served by the vDSO (some VMs). For
// bookkeeping that tolerates a tick of error (the closed-fd check), never
// for timer deadlines.
inline std::int64_t now_coarse_ns() noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
  timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
#else
  return now_ns();
#endif
}

// now + delta, clamped to INT64_MAX: `threadDelay maxBound` must not wrap
// into the past. A non-positive delta means "already due".
inline std::int64_t deadline_after(std::int64_t now, std::int64_t delta) noexcept {
  if (delta <= 0) return now;
  if (now > INT64_MAX - delta) return INT64_MAX;
  return now + delta;
}

// A wait in nanoseconds as the millisecond timeout epoll_wait/poll take,
// rounded UP so that a 100 us wait never becomes a busy zero-timeout spin
// and a timer never fires early. Negative means "no limit" (-1).
inline int ns_to_poll_ms(std::int64_t ns) noexcept {
  if (ns < 0) return -1;
  const std::int64_t ms = ns / 1000000 + (ns % 1000000 != 0 ? 1 : 0);
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// A wait in nanoseconds (>= 0) as the timespec ppoll, epoll_pwait2 and
// kevent take.
inline timespec ns_to_timespec(std::int64_t ns) noexcept {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  return ts;
}

// The calling thread's timer slack: how much later than asked the kernel
// may end its sleeps (Linux: 50 us by default, PR_SET_TIMERSLACK changes
// it). 0 where the platform has no such notion. Note [Timer slack] in
// src/manager.cpp.
inline std::int64_t thread_timer_slack_ns() noexcept {
#if defined(PR_GET_TIMERSLACK)
  const int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  return slack > 0 ? slack : 0;
#else
  return 0;
#endif
}

}  // namespace evmgr
