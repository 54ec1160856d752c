// SPDX-License-Identifier: BSD-3-Clause
//
// libFuzzer harness for the C ABI (ffi/evmgr.h), checked against a model.
//
// Each input is decoded into a sequence of C ABI calls on one manager:
// register / modify / unregister on the ends of real pipes and socket
// pairs and on /dev/null (an always-ready fd), closing fds and putting
// another file behind their number (dup2), timers added, updated and
// cancelled, polls with small arrays, wake-ups, after_fork (in place and in
// a real child), the closed-fd sweep, and bad keys and bad arguments. The
// back-end is the one EVMGR_FUZZ_BACKEND names, or else picked by the first
// byte among those the C ABI reports (evmgr_backend_name non-NULL and
// evmgr_backend_available), so a back-end added to the enum is covered with
// no change here.
//
// What the model checks, after every call:
//   - every result is the one the contract (ffi/evmgr.h) gives;
//   - no event for a dead key (unregistered, cancelled, fired one-shot,
//     closed): every event names a live registration, with its key and fd;
//   - a one-shot is delivered at most once, a timer fires once and never
//     before its deadline (evmgr_now_ns);
//   - evmgr_pending_count equals the model's live registrations;
// and at the end of the input (after the closed-fd sweep and a few polls):
//   - every timer whose deadline has passed has fired;
//   - every registration whose fd is ready (data written into its pipe, a
//     writable end, a closed peer, /dev/null) has had an event;
//   - every registration whose fd number was closed or now names another
//     file has had an event (EVMGR_CLOSED, or a last readiness).
// Readiness is only what this harness made itself by writing to its own
// pipes; nothing depends on scheduling beyond "a deadline has passed".
//
// Environment: EVMGR_FUZZ_BACKEND=name (one back-end only);
//   EVMGR_FUZZ_LIST=1 (print the back-ends this binary has, one a line, and
//   exit: tests/fuzz/run.sh iterates over them).
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <map>
#include <vector>

#include "evmgr.h"

// The kqueue emulation's (tests/kqueue_emu), when it is linked in.
extern "C" void kqueue_emu_collect(void) __attribute__((weak));

namespace {

std::vector<evmgr_backend> g_backends;
bool g_trace = false;

[[noreturn]] void fail(const char* what, long a = 0, long b = 0) {
  fprintf(stderr, "capi_fuzz: model violation: %s (%ld, %ld)\n", what, a, b);
  abort();
}
template <class... Args>
void check_that(const char* what, bool cond, Args... values) {
  if (!cond) fail(what, static_cast<long>(values)...);
}
#define CHECK(...) check_that("CHECK(" #__VA_ARGS__ ")", __VA_ARGS__)

// ---- the files behind our fds ------------------------------------------------

enum class Kind { kPipeRead, kPipeWrite, kSocket, kDevNull };

struct Desc {          // one open file description we made
  Kind kind;
  int peer = -1;       // the other end's Desc index (pipes, socket pairs)
  int refs = 0;        // our fds naming it
  size_t buffered = 0; // bytes waiting to be read from it
};

struct FdSlot {        // one of our fd numbers
  int fd = -1;         // -1: closed (the number may be reused by anything)
  int desc = -1;
  unsigned incarnation = 0;  // bumped whenever the number is closed or replaced
};

constexpr int kSlots = 10;

struct Reg {
  evmgr_key key;
  bool timer;
  // fd registrations
  int fd = -1;
  int slot = -1;
  int desc = -1;
  unsigned incarnation = 0;
  bool persistent = false;
  uint32_t interest = 0;
  // timers: the deadline lies in [lo, hi]
  int64_t lo = 0, hi = 0;
  bool seen_in_drain = false;
};

int64_t sat_add(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}

struct Harness {
  FuzzedDataProvider& in;
  evmgr_manager* mgr = nullptr;
  std::vector<Desc> descs;
  FdSlot slots[kSlots];
  std::map<uintptr_t, Reg> live;       // token -> registration
  std::vector<evmgr_key> dead_keys;
  uintptr_t next_token = 1;
  bool forked = false;
  bool draining = false;

  explicit Harness(FuzzedDataProvider& p) : in(p) {}

  // -- files
  int free_slot() {
    for (int i = 0; i < kSlots; ++i)
      if (slots[i].fd == -1) return i;  // not -2: reserved by op_new_pair
    return -1;
  }
  void attach(int slot, int fd, int desc) {
    slots[slot].fd = fd;
    slots[slot].desc = desc;
    slots[slot].incarnation++;
    descs[desc].refs++;
  }
  void unref(int desc) { descs[desc].refs--; }
  bool desc_open(int d) const { return d >= 0 && descs[d].refs > 0; }

  void op_new_pair(bool socket) {
    const int a = free_slot();
    if (a < 0) return;
    slots[a].fd = -2;  // reserve
    const int b = free_slot();
    slots[a].fd = -1;
    if (b < 0) return;
    int fds[2];
    const int rc = socket ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds)
                          : pipe2(fds, O_NONBLOCK | O_CLOEXEC);
    if (rc != 0) return;
    const int d0 = static_cast<int>(descs.size());
    descs.push_back(Desc{socket ? Kind::kSocket : Kind::kPipeRead, d0 + 1});
    descs.push_back(Desc{socket ? Kind::kSocket : Kind::kPipeWrite, d0});
    attach(a, fds[0], d0);
    attach(b, fds[1], d0 + 1);
  }
  void op_devnull() {
    const int a = free_slot();
    if (a < 0) return;
    const int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    descs.push_back(Desc{Kind::kDevNull});
    attach(a, fd, static_cast<int>(descs.size()) - 1);
  }
  void op_close(int s) {
    if (slots[s].fd < 0) return;
    close(slots[s].fd);
    unref(slots[s].desc);
    slots[s].fd = -1;
    slots[s].incarnation++;
  }
  // dup2 slot s's file onto slot t's number: t's number now names another file.
  void op_dup2(int s, int t) {
    if (s == t || slots[s].fd < 0 || slots[t].fd < 0) return;
    if (dup2(slots[s].fd, slots[t].fd) < 0) return;
    unref(slots[t].desc);
    slots[t].desc = slots[s].desc;
    descs[slots[s].desc].refs++;
    slots[t].incarnation++;
  }
  void op_write(int s, size_t n) {
    if (slots[s].fd < 0) return;
    Desc& d = descs[slots[s].desc];
    if (d.kind != Kind::kPipeWrite && d.kind != Kind::kSocket) return;
    if (!desc_open(d.peer)) return;  // EPIPE: SIGPIPE is ignored, nothing to model
    char buf[64] = {0};
    const ssize_t w = write(slots[s].fd, buf, n);
    if (w > 0) descs[d.peer].buffered += static_cast<size_t>(w);
  }
  void op_read(int s) {
    if (slots[s].fd < 0) return;
    Desc& d = descs[slots[s].desc];
    if (d.kind != Kind::kPipeRead && d.kind != Kind::kSocket) return;
    char buf[4096];
    while (read(slots[s].fd, buf, sizeof buf) > 0) {
    }
    d.buffered = 0;
  }

  // -- keys
  evmgr_key pick_key(bool want_timer) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0:
        return 0;
      case 1:
        return in.ConsumeIntegral<uint64_t>();
      case 2:
        if (!dead_keys.empty())
          return dead_keys[in.ConsumeIntegralInRange<size_t>(0, dead_keys.size() - 1)];
        return 0;
      case 3: {  // a live key of the other kind
        for (auto& [t, r] : live)
          if (r.timer != want_timer) return r.key;
        return 0;
      }
      default: {
        std::vector<evmgr_key> keys;
        for (auto& [t, r] : live)
          if (r.timer == want_timer) keys.push_back(r.key);
        if (keys.empty()) return 0;
        return keys[in.ConsumeIntegralInRange<size_t>(0, keys.size() - 1)];
      }
    }
  }
  Reg* find_live(evmgr_key key) {
    for (auto& [t, r] : live)
      if (r.key == key) return &r;
    return nullptr;
  }
  void kill(uintptr_t token) {
    dead_keys.push_back(live.at(token).key);
    if (dead_keys.size() > 64) dead_keys.erase(dead_keys.begin());
    live.erase(token);
  }

  // -- fd registrations
  void op_register() {
    int fd;
    int slot = -1;
    const int which = in.ConsumeIntegralInRange<int>(0, kSlots + 3);
    if (which < kSlots) {
      slot = which;
      fd = slots[slot].fd;
      if (fd < 0) fd = 1000 + slot;  // a number we do not hold
    } else if (which == kSlots) {
      fd = -1 - in.ConsumeIntegralInRange<int>(0, 2);
    } else if (which == kSlots + 1) {
      fd = INT_MIN;
    } else if (which == kSlots + 2) {
      fd = INT_MAX;
    } else {
      fd = in.ConsumeIntegralInRange<int>(1 << 16, 1 << 24);
    }
    const bool ours = slot >= 0 && slots[slot].fd >= 0;
    if (!ours && fd >= 0 && fcntl(fd, F_GETFD) != -1) return;  // somebody else's fd
    uint32_t events = in.ConsumeIntegralInRange<uint32_t>(1, 3);
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) events = in.ConsumeIntegral<uint8_t>();
    uint32_t flags = in.ConsumeBool() ? EVMGR_PERSISTENT : EVMGR_ONESHOT;
    if (in.ConsumeIntegralInRange<int>(0, 31) == 0) flags = in.ConsumeIntegral<uint8_t>();
    const uintptr_t token = next_token++;
    evmgr_key key = 0;
    const bool null_key = in.ConsumeIntegralInRange<int>(0, 31) == 0;
    const int rc = evmgr_fd_register(mgr, fd, events, flags, token, null_key ? nullptr : &key);
    int want;
    if (null_key || (flags & ~EVMGR_PERSISTENT) != 0) want = EINVAL;
    else if (fd < 0) want = EBADF;
    else if (events == 0 || (events & ~(EVMGR_READ | EVMGR_WRITE)) != 0) want = EINVAL;
    else if (!ours) want = EBADF;
    else want = 0;
    if (g_trace) fprintf(stderr, "   fd %d events %u flags %u -> %d\n", fd, events, flags, rc);
    if (rc != want) fail("evmgr_fd_register result", rc, want);
    if (rc != 0) return;
    CHECK(key != 0);
    Reg r{key, false};
    r.fd = fd;
    r.slot = slot;
    r.desc = slots[slot].desc;
    r.incarnation = slots[slot].incarnation;
    r.persistent = flags == EVMGR_PERSISTENT;
    r.interest = events;
    live.emplace(token, r);
  }
  void op_modify() {
    const evmgr_key key = pick_key(false);
    uint32_t events = in.ConsumeIntegralInRange<uint32_t>(0, 4);
    const int rc = evmgr_fd_modify(mgr, key, events);
    Reg* r = find_live(key);
    if (events == 0 || events > 3) {
      if (rc != EINVAL) fail("evmgr_fd_modify bad events", rc);
      return;
    }
    if (r == nullptr || r->timer) {
      if (rc != ENOENT) fail("evmgr_fd_modify of a dead key", rc);
      return;
    }
    // ENOENT: a one-shot whose event is queued, or a waiter the sweep
    // closed (its EVMGR_CLOSED is queued); EBADF and the like: the fd's
    // number was closed. The registration lives on in every case.
    if (rc == 0) r->interest = events;
  }
  void op_unregister() {
    const evmgr_key key = pick_key(false);
    const int rc = evmgr_fd_unregister(mgr, key);
    Reg* r = find_live(key);
    if (r == nullptr || r->timer) {
      if (rc != ENOENT) fail("evmgr_fd_unregister of a dead key", rc);
      return;
    }
    if (rc != 0) fail("evmgr_fd_unregister of a live key", rc);
    for (auto& [t, reg] : live)
      if (&reg == r) {
        kill(t);
        break;
      }
  }

  // -- timers
  int64_t pick_timeout() {
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
      case 0: return 0;
      case 1: return -in.ConsumeIntegralInRange<int64_t>(1, INT64_MAX);
      case 2: return INT64_MAX;
      case 3: return in.ConsumeIntegralInRange<int64_t>(INT64_MAX / 2, INT64_MAX);
      default: return in.ConsumeIntegralInRange<int64_t>(1, 2'000'000);  // up to 2 ms
    }
  }
  void op_timer_add(bool absolute) {
    const uintptr_t token = next_token++;
    evmgr_key key = 0;
    const bool null_key = in.ConsumeIntegralInRange<int>(0, 31) == 0;
    int64_t lo, hi;
    int rc;
    if (absolute) {
      const int64_t now = evmgr_now_ns();
      int64_t at;
      switch (in.ConsumeIntegralInRange<int>(0, 4)) {
        case 0: at = INT64_MIN; break;
        case 1: at = INT64_MAX; break;
        case 2: at = now - in.ConsumeIntegralInRange<int64_t>(0, 1'000'000'000); break;
        default: at = now + in.ConsumeIntegralInRange<int64_t>(0, 2'000'000); break;
      }
      rc = evmgr_timer_add_at(mgr, at, token, null_key ? nullptr : &key);
      lo = hi = at;
    } else {
      const int64_t t = pick_timeout();
      lo = sat_add(evmgr_now_ns(), t);
      rc = evmgr_timer_add(mgr, t, token, null_key ? nullptr : &key);
      hi = sat_add(evmgr_now_ns(), t);
    }
    if (rc != (null_key ? EINVAL : 0)) fail("evmgr_timer_add result", rc);
    if (rc != 0) return;
    Reg r{key, true};
    r.lo = lo;
    r.hi = hi;
    live.emplace(token, r);
  }
  void op_timer_update() {
    const evmgr_key key = pick_key(true);
    const int64_t t = pick_timeout();
    const int64_t lo = sat_add(evmgr_now_ns(), t);
    const int rc = evmgr_timer_update(mgr, key, t);
    const int64_t hi = sat_add(evmgr_now_ns(), t);
    Reg* r = find_live(key);
    if (r == nullptr || !r->timer) {
      if (rc != ENOENT) fail("evmgr_timer_update of a dead key", rc);
      return;
    }
    if (rc != 0) fail("evmgr_timer_update of a live timer", rc);
    r->lo = lo;
    r->hi = hi;
  }
  void op_timer_cancel() {
    const evmgr_key key = pick_key(true);
    const int rc = evmgr_timer_cancel(mgr, key);
    Reg* r = find_live(key);
    if (r == nullptr || !r->timer) {
      if (rc != ENOENT) fail("evmgr_timer_cancel of a dead key", rc);
      return;
    }
    if (rc != 0) fail("evmgr_timer_cancel of a live timer", rc);
    for (auto& [t, reg] : live)
      if (&reg == r) {
        kill(t);
        break;
      }
  }

  // -- waiting
  void take(const evmgr_event& ev, int64_t after) {
    auto it = live.find(ev.token);
    if (it == live.end()) fail("event for a dead or unknown registration", static_cast<long>(ev.token));
    Reg& r = it->second;
    if (ev.key != r.key) fail("event with another key than its registration's");
    if (r.timer) {
      if (ev.events != EVMGR_TIMEOUT || ev.fd != -1) fail("bad timer event", ev.events, ev.fd);
      if (after < r.lo) fail("timer fired early (ns)", static_cast<long>(r.lo - after));
      kill(ev.token);
      return;
    }
    if (ev.fd != r.fd) fail("fd event with another fd", ev.fd, r.fd);
    if (ev.events == 0 || (ev.events & EVMGR_TIMEOUT) != 0) fail("bad fd event bits", ev.events);
    if (draining) r.seen_in_drain = true;
    if (!r.persistent || (ev.events & EVMGR_CLOSED) != 0) kill(ev.token);
  }
  int do_poll(int64_t timeout, size_t cap) {
    evmgr_event evs[64];
    const int n = evmgr_poll(mgr, timeout, evs, cap);
    const int64_t after = evmgr_now_ns();
    if (g_trace) {
      fprintf(stderr, "   poll(%lld, cap %zu) -> %d:", static_cast<long long>(timeout), cap, n);
      for (int i = 0; i < n; ++i) fprintf(stderr, " [token %zu fd %d ev 0x%x]", static_cast<size_t>(evs[i].token), evs[i].fd, evs[i].events);
      fprintf(stderr, "\n");
    }
    if (n < 0 && n != -EINTR) fail("evmgr_poll error", n);
    for (int i = 0; i < n; ++i) take(evs[i], after);
    return n;
  }
  void op_poll() {
    const int mode = in.ConsumeIntegralInRange<int>(0, 15);
    if (mode == 0) {
      evmgr_event ev;
      CHECK(evmgr_poll(mgr, 0, nullptr, 1) == -EINVAL);
      CHECK(evmgr_poll(mgr, 0, &ev, 0) == -EINVAL);
      return;
    }
    int64_t timeout = 0;
    if (mode >= 12) timeout = in.ConsumeIntegralInRange<int64_t>(1, 1'000'000);  // up to 1 ms
    if (mode == 11) timeout = -in.ConsumeIntegralInRange<int64_t>(1, 1'000'000);  // negative: no limit
    if (timeout < 0) {
      // A wait with no limit must end: wake it first.
      CHECK(evmgr_wakeup(mgr) == 0);
    }
    do_poll(timeout, in.ConsumeIntegralInRange<size_t>(1, 4));
  }

  void op_fork() {
    if (forked) return;
    forked = true;
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) return;
    if (pid == 0) {
      // The child: fresh kernel objects, then the registrations still
      // work and no dead key comes back.
      if (evmgr_after_fork(mgr) != 0) _exit(3);
      for (int i = 0; i < 3; ++i) do_poll(0, 8);
      _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("forked child failed", status);
  }

  void check_counts() {
    CHECK(evmgr_pending_count(mgr) == live.size(), static_cast<long>(evmgr_pending_count(mgr)),
          static_cast<long>(live.size()));
  }
  void op_introspect() {
    check_counts();
    size_t visited = 0;
    evmgr_visit_tokens(
        mgr, [](void* ctx, uintptr_t*) { ++*static_cast<size_t*>(ctx); }, &visited);
    CHECK(visited == live.size());
    evmgr_visit_tokens(mgr, nullptr, nullptr);
    const evmgr_key key = pick_key(in.ConsumeBool());
    const Reg* r = find_live(key);
    const int fd = evmgr_key_fd(mgr, key);
    if (r == nullptr || r->timer) CHECK(fd == -1, fd);
    else CHECK(fd == r->fd, fd, r->fd);
    (void)evmgr_next_deadline_ns(mgr);
    CHECK(evmgr_pollable_fd(mgr) >= -1);
  }
  void op_bad_args() {
    evmgr_manager* other = nullptr;
    const int b = in.ConsumeIntegral<int>();
    const int rc = evmgr_new(static_cast<evmgr_backend>(b), &other);
    if (evmgr_backend_name(static_cast<evmgr_backend>(b)) == nullptr) CHECK(rc == EINVAL, rc);
    if (rc == 0) evmgr_free(other);
    CHECK(evmgr_new(EVMGR_BACKEND_AUTO, nullptr) == EINVAL);
    evmgr_free(nullptr);
    evmgr_backend parsed;
    CHECK(evmgr_backend_parse(nullptr, &parsed) == EINVAL);
    CHECK(evmgr_backend_parse("no-such-backend", &parsed) == EINVAL);
    (void)evmgr_backend_available(static_cast<evmgr_backend>(b));
    (void)evmgr_backend_resolve(EVMGR_BACKEND_AUTO);
    CHECK(evmgr_ns_from_us(-1) == 0 && evmgr_ns_from_us(INT64_MAX) == INT64_MAX);
  }

  // -- the end of an input: what must have happened by now
  bool fd_ready(const Reg& r) const {
    const FdSlot& s = slots[r.slot];
    const Desc& d = descs[r.desc];
    (void)s;
    if (d.kind == Kind::kDevNull) return true;
    if (!desc_open(d.peer)) return true;  // EOF / hang-up / EPIPE
    if ((r.interest & EVMGR_READ) && d.buffered > 0) return true;
    if ((r.interest & EVMGR_WRITE) && (d.kind == Kind::kPipeWrite || d.kind == Kind::kSocket))
      return true;
    return false;
  }
  // Files the manager may take for one another when one replaces the
  // other under a number: two opens of /dev/null, and (except under epoll,
  // which watches open files, not inodes) the two ends of one pipe, which
  // share an inode, so the identity check (device, inode) cannot tell them
  // apart (docs/limitations.md).
  bool same_identity(int a, int b) const {
    if (descs[a].kind == Kind::kDevNull && descs[b].kind == Kind::kDevNull) return true;
    const bool pipe_ends = descs[a].peer == b && descs[a].kind != Kind::kSocket;
    return pipe_ends && evmgr_backend_of(mgr) != EVMGR_BACKEND_EPOLL;
  }
  bool some_ready_fd_unseen() const {
    for (const auto& [t, r] : live) {
      if (r.timer || r.seen_in_drain) continue;
      const FdSlot& s = slots[r.slot];
      if (s.fd >= 0 && s.incarnation == r.incarnation && fd_ready(r)) return true;
    }
    return false;
  }
  void drain_and_check() {
    // Let every short timer come due.
    int64_t latest = 0;
    for (auto& [t, r] : live)
      if (r.timer && r.hi < evmgr_now_ns() + 5'000'000 && r.hi > latest) latest = r.hi;
    for (int64_t now = evmgr_now_ns(); now < latest; now = evmgr_now_ns()) {
      const struct timespec ts = {0, static_cast<long>(latest - now)};
      nanosleep(&ts, nullptr);
    }
    const int rc = evmgr_check_closed_fds(mgr);
    CHECK(rc == 0, rc);
    const int64_t start = evmgr_now_ns();
    draining = true;
    for (int i = 0; i < 6; ++i) do_poll(0, 64);
    // The kernel may release a file late: an io_uring ring closed by an
    // in-place evmgr_after_fork is torn down by a kernel worker, and until
    // then its pending polls keep their files open (a pipe's write end
    // sees no POLLERR while the ring holds the read end). So an fd that
    // should be ready gets up to 200 ms more before its silence counts.
    for (int i = 0; i < 10 && some_ready_fd_unseen(); ++i) do_poll(20'000'000, 64);
    draining = false;
    check_counts();
    for (auto& [t, r] : live) {
      if (r.timer) {
        if (r.hi <= start) fail("a due timer never fired (ns late)", static_cast<long>(start - r.hi));
        continue;
      }
      if (r.seen_in_drain) continue;
      const FdSlot& s = slots[r.slot];
      const bool same_number = s.fd >= 0 && s.incarnation == r.incarnation;
      if (same_number) {
        if (fd_ready(r)) fail("a ready fd's registration got no event", r.fd, r.interest);
      } else if (s.fd < 0 || (s.desc != r.desc && !same_identity(s.desc, r.desc))) {
        fail("a closed or replaced fd's registration got no event", r.fd);
      }
    }
  }

  void run() {
    if (g_backends.empty()) return;
    const evmgr_backend backend =
        g_backends[in.ConsumeIntegralInRange<size_t>(0, g_backends.size() - 1)];
    const int fds_before = open_fd_count();
    const int rc = evmgr_new(backend, &mgr);
    if (rc != 0) fail("evmgr_new", rc);
    CHECK(evmgr_backend_of(mgr) == backend);
    // The periodic sweep is cut to nothing (deterministic) unless the input
    // asks otherwise.
    evmgr_set_closed_fd_check_interval(mgr, 0);
    for (int ops = 0; ops < 48 && in.remaining_bytes() > 0; ++ops) {
      const int s = in.ConsumeIntegralInRange<int>(0, kSlots - 1);
      const int op = in.ConsumeIntegralInRange<int>(0, 23);
      if (g_trace) trace_op(op, s);
      switch (op) {
        case 0: op_new_pair(false); break;
        case 1: op_new_pair(true); break;
        case 2: op_devnull(); break;
        case 3: op_close(s); break;
        case 4: op_dup2(s, in.ConsumeIntegralInRange<int>(0, kSlots - 1)); break;
        case 5: op_write(s, in.ConsumeIntegralInRange<size_t>(1, 64)); break;
        case 6: op_read(s); break;
        case 7: case 8: case 9: op_register(); break;
        case 10: op_modify(); break;
        case 11: op_unregister(); break;
        case 12: op_timer_add(false); break;
        case 13: op_timer_add(true); break;
        case 14: op_timer_update(); break;
        case 15: op_timer_cancel(); break;
        case 16: case 17: case 18: op_poll(); break;
        case 19: CHECK(evmgr_wakeup(mgr) == 0); break;
        case 20: {
          // In place, not in a child: fine for back-ends whose kernel object
          // a child inherits (they close and reopen it). A kqueue is not
          // inherited, so after_fork leaves the old number alone, as the
          // contract wants in a child; called in place it would leak that
          // fd each time (EMFILE after thousands of inputs). The real-child
          // case covers kqueue.
          if (backend == EVMGR_BACKEND_KQUEUE) break;
          const int r = evmgr_after_fork(mgr);
          CHECK(r == 0, r);
          break;
        }
        case 21: {
          if (in.ConsumeBool()) {
            const int r = evmgr_check_closed_fds(mgr);
            CHECK(r == 0, r);
          } else {
            const int64_t iv[] = {0, 1, 100'000, 250'000'000, -5};
            evmgr_set_closed_fd_check_interval(mgr, iv[in.ConsumeIntegralInRange<int>(0, 4)]);
          }
          break;
        }
        case 22: op_introspect(); break;
        case 23:
          if (in.ConsumeBool()) op_bad_args();
          else op_fork();
          break;
      }
      check_counts();
    }
    drain_and_check();
    evmgr_free(mgr);
    mgr = nullptr;
    for (int i = 0; i < kSlots; ++i)
      if (slots[i].fd >= 0) close(slots[i].fd);
    const int fds_after = open_fd_count();
    if (fds_after > fds_before) fail("open fds grew over one input", fds_before, fds_after);
  }

  // EVMGR_FUZZ_TRACE=1: each operation and the slots, to read a crash input.
  void trace_op(int op, int s) const {
    static const char* const names[] = {
        "new pipe", "new socketpair", "open /dev/null", "close", "dup2", "write", "read",
        "register", "register", "register", "modify", "unregister", "timer add",
        "timer add_at", "timer update", "timer cancel", "poll", "poll", "poll", "wakeup",
        "after_fork", "closed-fd check", "introspect", "bad args or fork"};
    fprintf(stderr, "op %-16s slot %d |", names[op], s);
    for (const FdSlot& slot : slots) fprintf(stderr, " %d", slot.fd);
    fprintf(stderr, " | live %zu\n", live.size());
  }

  // Every input ends with as many open fds as it started with. Counted
  // within the input: between inputs libFuzzer may start its symbolizer
  // (a pipe pair that stays open). The kqueue emulation frees a closed
  // kqueue's eventfd only when it next looks, so it is asked to look.
  static int open_fd_count() {
    if (kqueue_emu_collect != nullptr) kqueue_emu_collect();
    int n = 0;
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    while (const dirent* e = readdir(dir)) n += e->d_name[0] != '.';
    closedir(dir);
    return n;
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  signal(SIGPIPE, SIG_IGN);
  g_trace = getenv("EVMGR_FUZZ_TRACE") != nullptr;
  const char* only = getenv("EVMGR_FUZZ_BACKEND");
  for (int b = 0; b < 64; ++b) {
    const auto backend = static_cast<evmgr_backend>(b);
    if (backend == EVMGR_BACKEND_AUTO) continue;
    const char* name = evmgr_backend_name(backend);
    if (name == nullptr || !evmgr_backend_available(backend)) continue;
    if (only != nullptr && *only != '\0' && strcmp(only, name) != 0) continue;
    g_backends.push_back(backend);
  }
  if (getenv("EVMGR_FUZZ_LIST") != nullptr) {
    for (evmgr_backend b : g_backends) printf("%s\n", evmgr_backend_name(b));
    exit(0);
  }
  if (g_backends.empty()) {
    fprintf(stderr, "capi_fuzz: no back-end%s%s\n", only ? " named " : "", only ? only : "");
    exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Harness h(in);
  h.run();
  return 0;
}
