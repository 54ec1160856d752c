/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Link-time fault injection: the fault driver is linked with
 * -Wl,--wrap=<call> for each call below, so only the calls made by the
 * objects of that link (the core's, and the driver's, which uses the
 * __real_ names for its own pipes) come here; libc's internal calls do not.
 * See fault.h for EVMGR_FAULT.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"

int __real_epoll_create1(int);
int __wrap_epoll_create1(int flags) {
  FAIL_WITH(F_EPOLL_CREATE1, -1);
  return __real_epoll_create1(flags);
}
int __real_epoll_ctl(int, int, int, struct epoll_event *);
int __wrap_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  FAIL_WITH(F_EPOLL_CTL, -1);
  return __real_epoll_ctl(epfd, op, fd, ev);
}
int __real_eventfd(unsigned, int);
int __wrap_eventfd(unsigned initval, int flags) {
  FAIL_WITH(F_EVENTFD, -1);
  return __real_eventfd(initval, flags);
}
int __real_epoll_wait(int, struct epoll_event *, int, int);
int __wrap_epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout) {
  FAIL_WITH(F_EPOLL_WAIT, -1);
  return __real_epoll_wait(epfd, evs, max, timeout);
}
int __real_epoll_pwait2(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
int __wrap_epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *ts,
                        const sigset_t *mask) {
  FAIL_WITH(F_EPOLL_WAIT, -1);
  return __real_epoll_pwait2(epfd, evs, max, ts, mask);
}
int __real_poll(struct pollfd *, nfds_t, int);
int __wrap_poll(struct pollfd *fds, nfds_t n, int timeout) {
  FAIL_WITH(F_POLL, -1);
  return __real_poll(fds, n, timeout);
}
int __real_ppoll(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
int __wrap_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask) {
  FAIL_WITH(F_POLL, -1);
  return __real_ppoll(fds, n, ts, mask);
}
int __real_fcntl(int, int, ...);
int __wrap_fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  const long arg = va_arg(ap, long);
  va_end(ap);
  FAIL_WITH(F_FCNTL, -1);
  return __real_fcntl(fd, cmd, arg);
}
int __real_pipe2(int[2], int);
int __wrap_pipe2(int fds[2], int flags) {
  FAIL_WITH(F_PIPE2, -1);
  return __real_pipe2(fds, flags);
}
void *__real_malloc(size_t);
void *__wrap_malloc(size_t n) {
  FAIL_WITH(F_MALLOC, NULL);
  return __real_malloc(n);
}
void *__real_realloc(void *, size_t);
void *__wrap_realloc(void *p, size_t n) {
  FAIL_WITH(F_REALLOC, NULL);
  return __real_realloc(p, n);
}
int __real_posix_memalign(void **, size_t, size_t);
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
  const int err = fault_hit(F_POSIX_MEMALIGN);
  if (err) return err;
  return __real_posix_memalign(p, align, n);
}
