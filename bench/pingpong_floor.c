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
 * The pipes are the same files as WakeDemo's: named pipes (FIFOs) in
 * $TMPDIR, each opened read-write as one fd. The file system matters: on
 * ext4 every write and read of a FIFO updates its inode's times, a journal
 * update whenever the clock has moved since that inode's last one, which
 * with thousands of FIFOs is nearly every hop (anonymous pipes live in
 * pipefs and never pay it). scripts/rts-bench.sh runs this loop and every
 * runtime with the same TMPDIR.
 *
 *   pingpong_floor N LAPS     prints "pipes HOPS SECONDS HOPS_PER_SECOND"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
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
  int *fifos = calloc((size_t)n, sizeof *fifos);
  if (fifos == NULL) die("calloc");
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/pingpong-floor-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) die("mkdtemp");
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < n; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%d", dir, i);
    if (mkfifo(path, 0600) != 0) die("mkfifo");
    fifos[i] = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fifos[i] < 0) die("open");
    (void)unlink(path);  /* an open FIFO outlives its name */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fifos[i], &ev) != 0) die("epoll_ctl ADD");
  }
  (void)rmdir(dir);

  const long hops = laps * n;
  char byte = 'x';
  if (write(fifos[0], &byte, 1) != 1) die("write");
  const double t0 = now_s();
  for (long h = 0; h < hops; h++) {
    struct epoll_event ev;
    int got;
    do got = epoll_wait(ep, &ev, 1, -1);
    while (got < 0 && errno == EINTR);
    if (got != 1) die("epoll_wait");
    const int i = (int)ev.data.u32;
    if (read(fifos[i], &byte, 1) != 1) die("read");
    if (write(fifos[(i + 1) % n], &byte, 1) != 1) die("write");
    struct epoll_event again = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fifos[i], &again) != 0) die("epoll_ctl MOD");
  }
  const double secs = now_s() - t0;
  printf("pipes %ld %.3f %.0f\n", hops, secs, (double)hops / secs);
  return 0;
}
