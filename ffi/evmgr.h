/*
 * evmgr: the C ABI of the evmgr event manager.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * This header is the whole contract between the C++ core and its users: the
 * GHC RTS adapter (C), the Haskell binding (FFI) and C programs. It is plain
 * C99, uses only fixed-width types, and every function returns an errno value
 * (0 on success) or a count; no C++ exception ever crosses it.
 *
 * Model
 * -----
 * A manager owns two kinds of registration, each named by an evmgr_key:
 *   - fd registrations: interest in EVMGR_READ and/or EVMGR_WRITE on an fd,
 *     one-shot (the default: delivered once, then gone, like threadWaitRead)
 *     or persistent (EVMGR_PERSISTENT: level-triggered until unregistered);
 *   - timers: fire once when the monotonic clock reaches their deadline.
 * Each registration carries an opaque uintptr_t token chosen by the caller
 * (a TSO pointer, a StablePtr, an index) that comes back with its event.
 *
 * evmgr_poll() waits until something is ready (or the timeout passes, or
 * evmgr_wakeup() is called from any thread) and copies ready events into a
 * caller-provided array. Events that do not fit stay queued for the next
 * call: nothing is lost. A one-shot registration's key is dead once its
 * event has been copied out.
 *
 * Keys are (slot, generation) pairs: a stale key (unregistered twice, already
 * fired, or from before an fd was closed and its number reused) is rejected
 * with ENOENT and never touches another registration.
 *
 * Threads: every function may be called from any thread, except that only
 * one thread may be inside evmgr_poll() at a time (another gets EBUSY). A
 * manager made with EVMGR_SINGLE_THREADED takes no lock and must be used
 * from one thread at a time; evmgr_wakeup is still safe from anywhere.
 * Registrations made while a poll is blocked take effect in that poll.
 */
#ifndef EVMGR_H
#define EVMGR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EVMGR_API __attribute__((visibility("default")))
#else
#define EVMGR_API
#endif

/* Opaque manager handle. */
typedef struct evmgr_manager evmgr_manager;

/* Names a registration; 0 is never a valid key. */
typedef uint64_t evmgr_key;

/* Back-end selection. The numbers are ABI: new back-ends are added at the
 * end. */
typedef enum evmgr_backend {
  EVMGR_BACKEND_AUTO = 0,    /* best available: io_uring if the kernel allows
                                it, else epoll, else kqueue, else poll */
  EVMGR_BACKEND_EPOLL = 1,   /* Linux */
  EVMGR_BACKEND_KQUEUE = 2,  /* FreeBSD, macOS, other BSDs */
  EVMGR_BACKEND_POLL = 3,    /* poll(2): portable, O(n) per wait */
  EVMGR_BACKEND_IO_URING = 4, /* Linux 5.11+, when not refused (seccomp,
                                 kernel.io_uring_disabled) */
  /* Not a back-end: widens the enum's range to every int, so that a caller
   * passing an unknown number gets EINVAL (or 0, or NULL) from the functions
   * below rather than undefined behaviour in the C++ core (in C++ an
   * unscoped enum's valid values are only those that fit its enumerators'
   * bits). Keep it last. */
  EVMGR_BACKEND_INT_RANGE_ = -0x7fffffff - 1
} evmgr_backend;

/* Event bits: in interest masks (READ, WRITE) and in delivered events. */
#define EVMGR_READ 0x01u    /* readable (or EOF) */
#define EVMGR_WRITE 0x02u   /* writable */
#define EVMGR_ERROR 0x04u   /* error or hang-up on the fd; READ/WRITE set too */
#define EVMGR_CLOSED 0x08u  /* the fd was found closed (EBADF) while
                               registered; the registration is removed */
#define EVMGR_TIMEOUT 0x10u /* a timer expired */

/* Registration flags. */
#define EVMGR_ONESHOT 0x00u    /* default: delivered once, then removed */
#define EVMGR_PERSISTENT 0x01u /* stays until evmgr_fd_unregister */

/* One ready event, as filled in by evmgr_poll (24 bytes). */
typedef struct evmgr_event {
  uintptr_t token; /* the registration's token */
  evmgr_key key;   /* the registration's key */
  int32_t fd;      /* the fd, or -1 for a timer */
  uint32_t events; /* EVMGR_* bits */
} evmgr_event;

/* ---- Lifetime ---------------------------------------------------------- */

/* Creates a manager. 0, or EINVAL (unknown back-end), ENOSYS (back-end not
 * available on this platform), ENOMEM, EMFILE/ENFILE (no fd for the kernel
 * object). */
EVMGR_API int evmgr_new(evmgr_backend backend, evmgr_manager **out);

/* Flags of evmgr_new_with. */
#define EVMGR_SINGLE_THREADED 0x1u /* the manager takes no lock: every call
                                      but evmgr_wakeup must come from one
                                      thread at a time (the non-threaded GHC
                                      RTS). evmgr_wakeup stays callable from
                                      any thread and from signal handlers. */

/* evmgr_new with flags (0 or EVMGR_SINGLE_THREADED); evmgr_new(b, out) is
 * evmgr_new_with(b, 0, out). EINVAL for unknown flags, else as evmgr_new. */
EVMGR_API int evmgr_new_with(evmgr_backend backend, uint32_t flags,
                             evmgr_manager **out);

/* Frees the manager and its kernel objects. Pending registrations are
 * dropped without being delivered. NULL is accepted. */
EVMGR_API void evmgr_free(evmgr_manager *mgr);

/* The back-end actually in use (never EVMGR_BACKEND_AUTO). */
EVMGR_API evmgr_backend evmgr_backend_of(const evmgr_manager *mgr);

/* Static name of a back-end ("auto", "epoll", "kqueue", "poll",
 * "io_uring"), or NULL. */
EVMGR_API const char *evmgr_backend_name(evmgr_backend backend);

/* Parses a name as above; 0 or EINVAL. */
EVMGR_API int evmgr_backend_parse(const char *name, evmgr_backend *out);

/* 1 when the back-end can be created on this platform, else 0. */
EVMGR_API int evmgr_backend_available(evmgr_backend backend);

/* Why evmgr_new(backend, ...) cannot work here: 0 if it can (as far as the
 * kernel says without creating a manager), EINVAL for an unknown value,
 * EOPNOTSUPP when this build lacks it, or the errno the kernel refuses it with
 * (io_uring: EPERM under a seccomp profile or kernel.io_uring_disabled,
 * ENOSYS on a kernel without it or older than 5.11). The kernel is asked
 * once per process. */
EVMGR_API int evmgr_backend_refusal(evmgr_backend backend);

/* The back-end evmgr_new(backend, ...) uses: EVMGR_BACKEND_AUTO becomes the
 * best one this platform has and the kernel allows (io_uring is tried once
 * per process); any other value is returned unchanged. */
EVMGR_API evmgr_backend evmgr_backend_resolve(evmgr_backend backend);

/* In the child after fork(): gives the manager fresh kernel objects (the
 * epoll/kqueue fd and the wake-up channel are shared with the parent
 * otherwise) and re-arms every registration. Must be the child's first call
 * on this manager. 0 or an errno. */
EVMGR_API int evmgr_after_fork(evmgr_manager *mgr);

/* ---- fd registrations --------------------------------------------------- */

/* Registers interest in `events` (EVMGR_READ and/or EVMGR_WRITE) on `fd`.
 * Errors: EBADF (fd < 0 or not open), EINVAL (no interest bits, unknown
 * bits), ENOMEM, ENOSPC (kernel watch limit), or another errno from the
 * kernel. An fd the back-end cannot watch (a regular file: epoll says EPERM)
 * is reported ready at once, as select and poll do. Several registrations
 * may name the same fd. */
EVMGR_API int evmgr_fd_register(evmgr_manager *mgr, int fd, uint32_t events,
                                uint32_t flags, uintptr_t token,
                                evmgr_key *out_key);

/* Changes the interest of a live fd registration. 0, ENOENT (stale key),
 * EINVAL, EBADF (the fd's file was found closed, or its number naming
 * another file: the fd's waiters, this one included, get EVMGR_CLOSED from
 * the next poll), or another kernel errno (the interest is unchanged). */
EVMGR_API int evmgr_fd_modify(evmgr_manager *mgr, evmgr_key key,
                              uint32_t events);

/* Removes an fd registration; an event of it that is queued but not yet
 * delivered is dropped. 0 or ENOENT (stale key: harmless). */
EVMGR_API int evmgr_fd_unregister(evmgr_manager *mgr, evmgr_key key);

/* ---- Timers --------------------------------------------------------------
 * Deadlines are on the monotonic clock, in nanoseconds (evmgr_now_ns). They
 * are clamped to INT64_MAX: a timeout of any size is valid and never
 * overflows. A timer never fires before its deadline. Timers with equal
 * deadlines fire in the order they were set. */

/* Sets a timer firing `timeout_ns` from now (<= 0: at the next poll). */
EVMGR_API int evmgr_timer_add(evmgr_manager *mgr, int64_t timeout_ns,
                              uintptr_t token, evmgr_key *out_key);

/* Sets a timer at an absolute deadline (evmgr_now_ns clock). */
EVMGR_API int evmgr_timer_add_at(evmgr_manager *mgr, int64_t deadline_ns,
                                 uintptr_t token, evmgr_key *out_key);

/* Moves a pending timer to fire `timeout_ns` from now. 0 or ENOENT. */
EVMGR_API int evmgr_timer_update(evmgr_manager *mgr, evmgr_key key,
                                 int64_t timeout_ns);

/* Cancels a timer (and drops its event if queued). 0 or ENOENT. */
EVMGR_API int evmgr_timer_cancel(evmgr_manager *mgr, evmgr_key key);

/* The manager's clock: CLOCK_MONOTONIC in nanoseconds. */
EVMGR_API int64_t evmgr_now_ns(void);

/* A duration in microseconds (threadDelay's unit) in nanoseconds, for the
 * timer functions: a negative duration becomes 0 and a product beyond
 * INT64_MAX saturates, so every value a caller can pass is safe. */
EVMGR_API int64_t evmgr_ns_from_us(int64_t us);

/* ---- Waiting ------------------------------------------------------------ */

/* Waits up to `timeout_ns` (< 0: no limit; 0: just look) for ready events
 * and copies at most `capacity` of them into `out`. Returns the number
 * copied (0 on timeout or wake-up), or a negative errno: -EINTR when a signal
 * interrupted the wait before anything was ready (nothing is lost), -EBUSY
 * when another thread is polling, -EINVAL for a NULL array or a capacity
 * of 0. */
EVMGR_API int evmgr_poll(evmgr_manager *mgr, int64_t timeout_ns,
                         evmgr_event *out, size_t capacity);

/* Makes a blocked (or the next) evmgr_poll return promptly. Callable from
 * any thread and from a signal handler. 0 or an errno. */
EVMGR_API int evmgr_wakeup(evmgr_manager *mgr);

/* An fd that becomes readable when evmgr_poll has work (the epoll or kqueue
 * fd), for callers that must not block in C (a non-threaded Haskell program
 * waits on it with threadWaitRead, then calls evmgr_poll with timeout 0).
 * -1 for back-ends that have none (poll). Only new fd readiness shows on
 * it: wait no longer than evmgr_next_deadline_ns says. */
EVMGR_API int evmgr_pollable_fd(const evmgr_manager *mgr);

/* The latest time (evmgr_now_ns clock) at which evmgr_poll must be called
 * again: the earliest timer, the next closed-fd check while fds are
 * registered, or now when events are already waiting (for instance because
 * the last evmgr_poll filled its whole array). -1 when none of these. */
EVMGR_API int64_t evmgr_next_deadline_ns(evmgr_manager *mgr);

/* ---- Introspection ------------------------------------------------------ */

/* Number of live registrations (fd + timers, including queued events). */
EVMGR_API size_t evmgr_pending_count(evmgr_manager *mgr);

/* Calls `visit(ctx, &token)` on every live registration's token slot, in
 * place, with the manager's lock held; `visit` may overwrite the token (the
 * RTS's GC moves TSOs, see Note [GC roots] in the RTS adapter) but must not
 * call back into the manager. */
EVMGR_API void evmgr_visit_tokens(evmgr_manager *mgr,
                                  void (*visit)(void *ctx, uintptr_t *token),
                                  void *ctx);

/* The fd of a live fd registration (for debug printers), or -1. */
EVMGR_API int evmgr_key_fd(evmgr_manager *mgr, evmgr_key key);

/* ---- Closed fds -----------------------------------------------------------
 * A registered fd may be closed behind the manager's back, and its number
 * reused by another file (a new pipe or socket, a dup2() onto it, a regular
 * file), while the old file may live on through a dup(). epoll and kqueue
 * forget a closed file's watch silently and poll(2) watches numbers, so
 * the manager checks: the closed-fd sweep finds every registered fd that is
 * not open any more, and probes registered fds for a number that now names
 * another file than the one their registrations were made on (every fd up
 * to 1024 registered fds, a rotating slice of 1024 per sweep beyond). The
 * registrations of such an fd get EVMGR_CLOSED (with EVMGR_ERROR) and are
 * removed. Independently of the sweep, a new registration on a number that
 * names another file than the existing registrations' gives those
 * EVMGR_CLOSED at once. See docs/design.md. */

/* How often, in nanoseconds, evmgr_poll runs the closed-fd sweep while fds
 * are registered; it also cuts its blocking waits to this period so that
 * the sweep runs when idle. Default 250 ms. 0 (or a negative value) turns
 * the periodic sweep off entirely: evmgr_poll then never sweeps and never
 * cuts a wait short for it, and the caller runs the sweep with
 * evmgr_check_closed_fds when fds may have been closed. The next periodic
 * sweep is due one period after this call. */
EVMGR_API void evmgr_set_closed_fd_check_interval(evmgr_manager *mgr,
                                                  int64_t interval_ns);

/* Runs the closed-fd sweep now, whatever the period, from any thread: the
 * registrations of every registered fd found closed, and of every probed fd
 * whose number names another file than theirs, get EVMGR_CLOSED events,
 * queued: the next evmgr_poll returns them without waiting (and a poll
 * blocked in another thread returns). Costs one poll(2) per 256 registered
 * fds plus one syscall per probed fd, and none when no fd is registered.
 * Returns 0, or an errno (ENOMEM: part of the fds went unchecked; call
 * again later). */
EVMGR_API int evmgr_check_closed_fds(evmgr_manager *mgr);

#ifdef __cplusplus
}
#endif

#endif /* EVMGR_H */
