/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The floor for the RTS ping-pong benchmark: the same hops as
 * examples/demo/WakeDemo.hs `pipes N LAPS` (one byte going around a ring of
 * N pipes, one reader per pipe), done by a plain C loop over one-shot epoll,
 * with nothing of GHC or evmgr: per hop one epoll_wait, the read, the write
 * to the next pipe, and the one-shot re-arm (EPOLL_CTL_MOD) that a reader
 * waiting again needs. What this loop loses from N = 1 to N = 9,000 is the
 * kernel's own cost of a larger epoll set and of cold pipes: the part of
 * evmgr's drop that no user-space code can remove.
 *
 *   pingpong_floor N LAPS     prints "pipes HOPS SECONDS HOPS_PER_SECOND"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s N LAPS\n", argv[0]);
    return 2;
  }
  const int n = atoi(argv[1]);
  const long laps = atol(argv[2]);
  if (n < 1 || laps < 1) return 2;

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  int (*pipes)[2] = calloc((size_t)n, sizeof *pipes);
  if (pipes == NULL) die("calloc");
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < n; i++) {
    if (pipe2(pipes[i], O_CLOEXEC | O_NONBLOCK) != 0) die("pipe2");
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, pipes[i][0], &ev) != 0) die("epoll_ctl ADD");
  }

  const long hops = laps * n;
  char byte = 'x';
  if (write(pipes[0][1], &byte, 1) != 1) die("write");
  const double t0 = now_s();
  for (long h = 0; h < hops; h++) {
    struct epoll_event ev;
    int got;
    do got = epoll_wait(ep, &ev, 1, -1);
    while (got < 0 && errno == EINTR);
    if (got != 1) die("epoll_wait");
    const int i = (int)ev.data.u32;
    if (read(pipes[i][0], &byte, 1) != 1) die("read");
    if (write(pipes[(i + 1) % n][1], &byte, 1) != 1) die("write");
    struct epoll_event again = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, pipes[i][0], &again) != 0) die("epoll_ctl MOD");
  }
  const double secs = now_s() - t0;
  printf("pipes %ld %.3f %.0f\n", hops, secs, (double)hops / secs);
  return 0;
}
