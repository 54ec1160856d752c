// SPDX-License-Identifier: BSD-3-Clause
// The io_uring back-end's operations; the contract is in backend.hpp.
//
// Note [io_uring requests]
// ~~~~~~~~~~~~~~~~~~~~~~~~
// Why io_uring: every wait of a thread in the non-threaded RTS is one-shot,
// and the RTS cannot see close(). epoll must therefore re-arm each wait with
// an epoll_ctl, one syscall per hop. A one-shot IORING_OP_POLL_ADD written
// into the submission ring costs no syscall at all: the io_uring_enter that
// waits also submits it, and it names the file the fd names at that moment.
//
// Request lifetime. arm(fd, interest, mode, tag) queues a POLL_ADD whose
// user_data is (tag << 32 | fd); the PollTable remembers the tag and mode of
// fd's request. wait() publishes the ring's tail and makes ONE
// io_uring_enter(to_submit, min_complete = 1, GETEVENTS | EXT_ARG) with the
// manager's timeout, so the manager's timers need no timeout request.
// dispatch() reaps every completion: a poll's result mask becomes the
// (fd, events, tag) the manager expects, and the fd's entry goes idle. A
// poll is one-shot in the kernel whatever the mode: a level-triggered watch
// (persistent registrations) is re-queued by dispatch() after each
// completion, so the next wait looks again, exactly like epoll's level
// triggering. (IORING_POLL_ADD_MULTI is not level-triggered: it reports
// wake-ups of the file, not a readiness that lasts.)
//
// Cancellation. disarm(fd), and an arm() that replaces a request, queue a
// POLL_REMOVE naming the old request's user_data, batched in the ring like
// any submission. The cancelled poll completes with -ECANCELED and the
// remove with its own completion (user_data kRemoveData): both are dropped.
// A poll that completed before its removal was submitted still reaches
// dispatch(), with a tag the manager no longer holds, and is dropped there.
//
// Closed fds. A pending poll holds a reference to its file: close(fd) by
// the programme does not release it (a socket's peer sees no FIN) until the
// poll completes or is removed. The manager's closed-fd sweep finds the
// number closed (its poll(2) batch: POLLNVAL) or naming another file (its
// file probe: the fstat identity recorded at the first wait, since this
// back-end cannot tell a replaced file itself; a new registration on the
// number compares too) and drops the watch, which queues the POLL_REMOVE;
// the next enter sends it and the file is released. A poll submitted after its fd was closed completes with
// -EBADF, reported as kClosed.
//
// Wake-ups. An IORING_OP_READ of an eventfd is kept in flight; wakeup()
// writes the eventfd (async-signal-safe) and the read's completion ends the
// enter. The read drains the counter itself, so a wake-up costs no read(2).
//
// Overflow. IORING_FEAT_NODROP (required) keeps completions that do not fit
// the completion ring in the kernel; the ring says so with
// IORING_SQ_CQ_OVERFLOW and the next enter with GETEVENTS flushes them. A
// full submission ring is flushed with an enter that only submits.
//
// Signals. io_uring_enter returns EINTR like epoll_wait, except when the
// same call submitted requests: it then returns their count and hides the
// wait's own result (timeout or signal). wait() tells the two apart by the
// clock (Note [Hidden EINTR] below).
//
// Fork. The ring's memory is shared with the kernel and would be shared
// with a forked child too; it is mapped MADV_DONTFORK, so the child has no
// mapping of the parent's ring at all and cannot submit to it or reap from
// it by mistake. after_fork() forgets the addresses (never munmap: the
// child may have mapped something else there since), closes the child's
// copies of the ring fd and the eventfd, and sets up a ring of its own.
#include "evmgr/config.hpp"
#if EVMGR_HAVE_IO_URING
#include "evmgr/io_uring_backend.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "evmgr/clock.hpp"
#include "evmgr/private_fd.hpp"

namespace evmgr {

namespace io_uring_detail {

// PollEntry::state
constexpr std::uint8_t kIdle = 0;     // no request in the kernel or the ring
constexpr std::uint8_t kOneShot = 1;  // a POLL_ADD for a one-shot watch
constexpr std::uint8_t kLevel = 2;    // one for a level-triggered watch

// user_data of the back-end's own requests. A poll's is (tag << 32 | fd)
// with a non-zero tag and fd >= 0, so it never has all low 32 bits set.
constexpr std::uint64_t kWakeData = UINT64_MAX;
constexpr std::uint64_t kRemoveData = UINT64_MAX - 1;

// Ring sizes: a submission ring of 1024 holds every arm of a typical batch
// (a full one is flushed, not refused); a completion ring of 4096 holds the
// completions of most waits, and NODROP keeps the rest.
constexpr unsigned kSqEntries = 1024;
constexpr unsigned kCqEntries = 4096;

std::uint64_t poll_data(int fd, WatchTag tag) noexcept {
  return (static_cast<std::uint64_t>(tag) << 32) | static_cast<std::uint32_t>(fd);
}

int sys_setup(unsigned entries, io_uring_params* p) noexcept {
  return static_cast<int>(::syscall(__NR_io_uring_setup, entries, p));
}

int sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, const void* arg,
              std::size_t argsz) noexcept {
  return static_cast<int>(
      ::syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz));
}

// What a ring must offer: NODROP (no completion is ever lost) and EXT_ARG
// (the wait's timeout on the enter itself), Linux 5.11.
constexpr unsigned kNeededFeatures = IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;

// io_uring_setup with the flags worth having, dropping the optional ones a
// kernel refuses (EINVAL). The fd, or -1 with errno set.
int setup_ring(unsigned entries, unsigned cq_entries, io_uring_params* p) noexcept {
  // SUBMIT_ALL (5.18): a request that fails early does not stop the rest
  // of its batch. CLAMP: sizes above the kernel's limits are clamped.
  const unsigned optional[] = {IORING_SETUP_SUBMIT_ALL, 0};
  for (unsigned extra : optional) {
    std::memset(p, 0, sizeof *p);
    p->flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | extra;
    p->cq_entries = cq_entries;
    const int fd = sys_setup(entries, p);
    if (fd >= 0 || errno != EINVAL || extra == 0) return fd;
  }
  return -1;
}

std::uint8_t to_poll_bits(Events interest) noexcept {
  std::uint8_t bits = 0;
  if (interest & kRead) bits |= POLLIN;
  if (interest & kWrite) bits |= POLLOUT;
  return bits;
}

Events from_result(int res) noexcept {
  if (res < 0) {
    // EBADF: the fd was closed before the enter that submitted the poll.
    // Anything else (ENOMEM) is an error the next read/write explains.
    return res == -EBADF ? kClosed : (kError | kRead | kWrite);
  }
  Events ev = 0;
  if (res & (POLLIN | POLLRDHUP)) ev |= kRead;
  if (res & POLLOUT) ev |= kWrite;
  // As with epoll: error and hang-up wake every waiter.
  if (res & (POLLERR | POLLHUP)) ev |= kError | kRead | kWrite;
  if (res & POLLNVAL) ev = kClosed;
  return ev;
}

unsigned load_acquire(const unsigned* p) noexcept { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void store_release(unsigned* p, unsigned v) noexcept { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

void unmap_all(IoUringState& s) noexcept {
  if (s.sqe_map != nullptr) (void)munmap(s.sqe_map, s.sqe_map_size);
  if (s.cq_map != nullptr && s.cq_map != s.sq_map) (void)munmap(s.cq_map, s.cq_map_size);
  if (s.sq_map != nullptr) (void)munmap(s.sq_map, s.sq_map_size);
}

// Forgets the ring's memory and fds without touching them (after fork they
// are not ours), leaving the state as a default-constructed one.
void forget_all(IoUringState& s) noexcept {
  s.ring_fd = s.wake_fd = -1;
  s.wake_armed = false;
  s.sq_khead = s.sq_ktail = s.sq_kflags = nullptr;
  s.sq_mask = s.sq_entries = s.sq_tail = 0;
  s.sqes = nullptr;
  s.cq_khead = s.cq_ktail = nullptr;
  s.cq_mask = 0;
  s.cqes = nullptr;
  s.sq_map = s.cq_map = s.sqe_map = nullptr;
  s.sq_map_size = s.cq_map_size = s.sqe_map_size = 0;
  s.mapped_by = 0;
  s.polls.clear();
}

void close_all(IoUringState& s) noexcept {
  unmap_all(s);
  if (s.wake_fd >= 0) (void)::close(s.wake_fd);
  if (s.ring_fd >= 0) (void)::close(s.ring_fd);
  forget_all(s);
}

void* map_ring(int fd, std::size_t size, off_t offset) noexcept {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
  if (p == MAP_FAILED) return nullptr;
  // Note [io_uring requests], Fork: a child never sees this mapping.
  (void)madvise(p, size, MADV_DONTFORK);
  return p;
}

// The next free submission entry, zeroed; flushes a full ring first. 0 or
// an errno (the ring stays full: EBUSY/EAGAIN from the kernel).
int next_sqe(IoUringState& s, io_uring_sqe** out) noexcept {
  unsigned head = load_acquire(s.sq_khead);
  if (s.sq_tail - head >= s.sq_entries) {
    store_release(s.sq_ktail, s.sq_tail);
    int r;
    do {
      r = sys_enter(s.ring_fd, s.sq_tail - head, 0, 0, nullptr, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return errno;
    head = load_acquire(s.sq_khead);
    if (s.sq_tail - head >= s.sq_entries) return EBUSY;
  }
  io_uring_sqe* sqe = &s.sqes[s.sq_tail & s.sq_mask];
  std::memset(sqe, 0, sizeof *sqe);
  ++s.sq_tail;
  *out = sqe;
  return 0;
}

int queue_poll(IoUringState& s, int fd, std::uint8_t poll_bits, WatchTag tag) noexcept {
  io_uring_sqe* sqe;
  if (const int err = next_sqe(s, &sqe)) return err;
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = fd;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  sqe->poll32_events = static_cast<std::uint32_t>(poll_bits) << 16;  // the kernel swaps halves
#else
  sqe->poll32_events = poll_bits;
#endif
  sqe->user_data = poll_data(fd, tag);
  return 0;
}

int queue_remove(IoUringState& s, std::uint64_t target) noexcept {
  io_uring_sqe* sqe;
  if (const int err = next_sqe(s, &sqe)) return err;
  sqe->opcode = IORING_OP_POLL_REMOVE;
  sqe->fd = -1;
  sqe->addr = target;
  sqe->user_data = kRemoveData;
  return 0;
}

int queue_wake_read(IoUringState& s) noexcept {
  io_uring_sqe* sqe;
  if (const int err = next_sqe(s, &sqe)) return err;
  sqe->opcode = IORING_OP_READ;
  sqe->fd = s.wake_fd;
  sqe->addr = reinterpret_cast<std::uint64_t>(&s.wake_count);
  sqe->len = sizeof s.wake_count;
  sqe->user_data = kWakeData;
  s.wake_armed = true;
  return 0;
}

// Note [The probe's ring]
// ~~~~~~~~~~~~~~~~~~~~~~~
// Whether the kernel allows io_uring is only known by setting up a ring.
// Closing a ring is not free of side effects, though: the kernel's clean-up
// later sends task work to the thread that created it, and the thread's
// next blocking call (epoll_wait, select, io_uring_enter) returns EINTR
// once for nothing. So the probe (io_uring_refusal) keeps the ring it made
// and the first back-end of the process adopts it; a process that probes
// and then uses epoll keeps one idle ring fd. A forked child never adopts
// its parent's spare (the pid says whose it is). Freeing an io_uring
// manager has the same effect once; the RTS frees its manager at exit only.
struct SpareRing {
  int fd = -1;
  pid_t pid = 0;
  io_uring_params params;
};
SpareRing spare;  // guarded by spare_lock
int spare_lock = 0;

void lock_spare() noexcept {
  while (__atomic_exchange_n(&spare_lock, 1, __ATOMIC_ACQUIRE) != 0) {
  }
}
void unlock_spare() noexcept { __atomic_store_n(&spare_lock, 0, __ATOMIC_RELEASE); }

// A full-size ring: the probe's spare if this process made one, else a new
// one. The fd (the core's own) or -1 with errno set.
int take_ring(io_uring_params* p) noexcept {
  lock_spare();
  int fd = -1;
  if (spare.fd >= 0 && spare.pid == getpid()) {
    fd = spare.fd;
    *p = spare.params;
    spare.fd = -1;
  }
  unlock_spare();
  if (fd < 0) fd = setup_ring(kSqEntries, kCqEntries, p);
  if (fd < 0) return -1;
  if (const int err = make_fd_private(&fd)) {
    errno = err;
    return -1;
  }
  return fd;
}

// The ring, its mappings and the eventfd whose READ is the wake-up channel,
// all the core's own (Note [The core's own fds]). 0 or an errno (nothing
// open).
int open_all(IoUringState& s) noexcept {
  io_uring_params p;
  s.ring_fd = take_ring(&p);
  if (s.ring_fd < 0) {
    const int err = errno;
    s.ring_fd = -1;
    return err;
  }
  int err = 0;
  if (err == 0 && (p.features & kNeededFeatures) != kNeededFeatures) err = ENOSYS;
  if (err == 0) {
    s.sq_map_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    s.cq_map_size = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single && s.cq_map_size > s.sq_map_size) s.sq_map_size = s.cq_map_size;
    s.sq_map = map_ring(s.ring_fd, s.sq_map_size, IORING_OFF_SQ_RING);
    s.cq_map = single ? s.sq_map : map_ring(s.ring_fd, s.cq_map_size, IORING_OFF_CQ_RING);
    s.sqe_map_size = p.sq_entries * sizeof(io_uring_sqe);
    s.sqe_map = map_ring(s.ring_fd, s.sqe_map_size, IORING_OFF_SQES);
    s.mapped_by = getpid();
    if (s.sq_map == nullptr || s.cq_map == nullptr || s.sqe_map == nullptr) err = errno;
  }
  if (err == 0) {
    char* sq = static_cast<char*>(s.sq_map);
    char* cq = static_cast<char*>(s.cq_map);
    s.sq_khead = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
    s.sq_ktail = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
    s.sq_kflags = reinterpret_cast<unsigned*>(sq + p.sq_off.flags);
    s.sq_mask = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
    s.sq_entries = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_entries);
    s.sq_tail = *s.sq_ktail;
    // Entry i of the ring always names submission entry i.
    unsigned* array = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
    for (unsigned i = 0; i < s.sq_entries; ++i) array[i] = i;
    s.sqes = static_cast<io_uring_sqe*>(s.sqe_map);
    s.cq_khead = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
    s.cq_ktail = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
    s.cq_mask = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
    s.cqes = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);

    // Blocking on purpose: an O_NONBLOCK file makes io_uring fail the READ
    // with EAGAIN instead of waiting for it. wakeup() never blocks: an
    // eventfd write blocks only when the counter would overflow.
    s.wake_fd = eventfd(0, EFD_CLOEXEC);
    err = s.wake_fd < 0 ? errno : make_fd_private(&s.wake_fd);
  }
  if (err == 0) err = queue_wake_read(s);
  if (err != 0) close_all(s);
  return err;
}

// Note [Requests of exited threads]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// io_uring ties a request to the thread that submitted it: when that thread
// exits, the kernel cancels its pending requests (-ECANCELED). Under the
// non-threaded RTS one thread submits everything, but a threaded caller may
// poll from a thread that then ends (the conformance suite does). A
// cancelled request that is still the fd's current one was not cancelled by
// us (disarm() and arm() make the entry move on first), so dispatch()
// submits it again from the polling thread; a cancelled wake-up READ is
// queued again without counting as a wake-up.
//
// Note [Hidden EINTR]
// ~~~~~~~~~~~~~~~~~~~
// An io_uring_enter that submitted requests returns their count even when
// its wait then ended on a signal or the timeout. With no completion to
// show for it, the wait ended for one of those two reasons: the timeout if
// it has passed, otherwise a signal, which the manager must hear as EINTR
// (the RTS then runs its handlers). The clock is read only in that case
// and, before the enter, only when a submission and a finite timeout come
// together.
int hidden_result(std::int64_t timeout_ns, std::int64_t start) noexcept {
  if (timeout_ns < 0) return EINTR;
  return now_ns() - start < timeout_ns ? EINTR : 0;
}

}  // namespace io_uring_detail

// ---- PollTable --------------------------------------------------------------

PollTable::~PollTable() { std::free(entries_); }

PollEntry* PollTable::get(int fd) noexcept {
  if (fd < 0) return nullptr;
  if (static_cast<std::size_t>(fd) < size_) return &entries_[fd];
  std::size_t size = size_ < 64 ? 64 : size_;
  while (size <= static_cast<std::size_t>(fd)) size *= 2;
  void* grown = std::realloc(entries_, size * sizeof(PollEntry));
  if (grown == nullptr) return nullptr;
  entries_ = static_cast<PollEntry*>(grown);
  for (std::size_t i = size_; i < size; ++i) new (&entries_[i]) PollEntry();
  size_ = size;
  return &entries_[fd];
}

void PollTable::clear() noexcept {
  for (std::size_t i = 0; i < size_; ++i) entries_[i] = PollEntry();
}

// ---- refusal probe ------------------------------------------------------------

int io_uring_refusal() noexcept {
  // 0 untried, 1 usable, otherwise errno + 2. Racing first calls both probe:
  // harmless.
  static int cached = 0;
  int seen = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
  if (seen == 0) {
    using namespace io_uring_detail;
    io_uring_params p;
    int fd = setup_ring(kSqEntries, kCqEntries, &p);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0 && (p.features & kNeededFeatures) != kNeededFeatures) {
      err = ENOSYS;
      (void)::close(fd);
    } else if (fd >= 0 && (err = make_fd_private(&fd)) == 0) {
      // Kept for the first back-end (Note [The probe's ring]).
      lock_spare();
      if (spare.fd < 0) {
        spare.fd = fd;
        spare.pid = getpid();
        spare.params = p;
        fd = -1;
      }
      unlock_spare();
      if (fd >= 0) (void)::close(fd);
    }
    seen = err == 0 ? 1 : err + 2;
    __atomic_store_n(&cached, seen, __ATOMIC_RELEASE);
  }
  return seen == 1 ? 0 : seen - 2;
}

// ---- the operations -----------------------------------------------------------

template <>
IoUringBackend::Backend() noexcept : error_(io_uring_detail::open_all(state_)) {}

template <>
IoUringBackend::~Backend() {
  io_uring_detail::close_all(state_);
}

template <>
int IoUringBackend::after_fork() noexcept {
  if (state_.mapped_by == getpid()) {
    // Called without a fork: the ring and its mappings are ours. Unmap
    // them too, or they would keep the ring, and every file its pending
    // polls hold, alive for good (the fuzzer found a pipe's write end
    // that never saw its reader go).
    io_uring_detail::close_all(state_);
  } else {
    // Note [io_uring requests], Fork: the mappings are not in the child
    // (MADV_DONTFORK); the fds are the child's copies of the parent's.
    if (state_.wake_fd >= 0) (void)::close(state_.wake_fd);
    if (state_.ring_fd >= 0) (void)::close(state_.ring_fd);
    io_uring_detail::forget_all(state_);
  }
  return io_uring_detail::open_all(state_);
}

template <>
ArmResult IoUringBackend::arm(int fd, Events interest, ArmMode mode, WatchTag tag) noexcept {
  using namespace io_uring_detail;
  ArmResult result;
  if (fd < 0) {
    result.error = EBADF;
    return result;
  }
  PollEntry* entry = state_.polls.get(fd);
  if (entry == nullptr) {
    result.error = ENOMEM;
    return result;
  }
  if (entry->state != kIdle) {
    if ((result.error = queue_remove(state_, poll_data(fd, entry->tag))) != 0) return result;
    entry->state = kIdle;
  }
  const std::uint8_t bits = to_poll_bits(interest);
  if ((result.error = queue_poll(state_, fd, bits, tag)) != 0) return result;
  entry->tag = tag;
  entry->events = bits;
  entry->state = mode == ArmMode::kOneShot ? kOneShot : kLevel;
  return result;
}

template <>
void IoUringBackend::disarm(int fd) noexcept {
  using namespace io_uring_detail;
  PollEntry* entry = state_.polls.find(fd);
  if (entry == nullptr || entry->state == kIdle) return;
  // If the ring is full and cannot be flushed, the poll stays: a one-shot
  // one fires at most once more and a level one is not re-queued (its
  // entry is idle), and the manager drops their events by tag.
  (void)queue_remove(state_, poll_data(fd, entry->tag));
  entry->state = kIdle;
}

template <>
int IoUringBackend::wait(std::int64_t timeout_ns, ManagerLock& lock) noexcept {
  using namespace io_uring_detail;
  IoUringState& s = state_;
  const unsigned to_submit = s.sq_tail - load_acquire(s.sq_khead);
  store_release(s.sq_ktail, s.sq_tail);
  const bool overflow = (__atomic_load_n(s.sq_kflags, __ATOMIC_RELAXED) & IORING_SQ_CQ_OVERFLOW) != 0;

  if (timeout_ns == 0) {
    // Just look: submit what is queued (a ready fd's poll completes during
    // its submission) and flush overflowed completions; with neither to
    // do, the completion ring already says everything.
    if (to_submit == 0 && !overflow) return 0;
    const int r = sys_enter(s.ring_fd, to_submit, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
    if (r >= 0) return 0;
    return errno == EBUSY || errno == EAGAIN ? 0 : errno;
  }

  __kernel_timespec ts;
  io_uring_getevents_arg arg;
  std::memset(&arg, 0, sizeof arg);
  if (timeout_ns > 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    arg.ts = reinterpret_cast<std::uint64_t>(&ts);
  }
  const std::int64_t start = (to_submit > 0 && timeout_ns > 0) ? now_ns() : 0;
  lock.unlock();
  const int r = sys_enter(s.ring_fd, to_submit, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
                          &arg, sizeof arg);
  const int err = r < 0 ? errno : 0;
  lock.lock();
  if (r < 0) {
    // ETIME: the timeout passed. EBUSY/EAGAIN: the kernel wants completions
    // reaped first; dispatch() does that and the manager waits again.
    if (err == ETIME || err == EBUSY || err == EAGAIN) return 0;
    return err;
  }
  if (to_submit > 0 && load_acquire(s.cq_ktail) == *s.cq_khead &&
      (__atomic_load_n(s.sq_kflags, __ATOMIC_RELAXED) & IORING_SQ_CQ_OVERFLOW) == 0) {
    return hidden_result(timeout_ns, start);  // Note [Hidden EINTR]
  }
  return 0;
}

template <>
bool IoUringBackend::dispatch(ReadyCallback on_ready) noexcept {
  using namespace io_uring_detail;
  IoUringState& s = state_;
  bool woken = false;
  unsigned head = *s.cq_khead;
  const unsigned tail = load_acquire(s.cq_ktail);
  while (head != tail) {
    const io_uring_cqe& cqe = s.cqes[head & s.cq_mask];
    const std::uint64_t data = cqe.user_data;
    const int res = cqe.res;
    // Give the entry back before on_ready: the manager may arm fds, and a
    // flush of a full submission ring posts completions.
    store_release(s.cq_khead, ++head);
    if (data == kWakeData) {
      s.wake_armed = false;
      woken = woken || res != -ECANCELED;  // Note [Requests of exited threads]
      continue;
    }
    if (data == kRemoveData) continue;
    const int fd = static_cast<int>(static_cast<std::uint32_t>(data));
    const auto tag = static_cast<WatchTag>(data >> 32);
    PollEntry* entry = s.polls.find(fd);
    if (res == -ECANCELED) {
      // Removed by us (the entry moved on: drop it), or by the exit of the
      // thread that submitted it: submit it again.
      if (entry != nullptr && entry->tag == tag && entry->state != kIdle &&
          queue_poll(s, fd, entry->events, tag) != 0) {
        entry->state = kIdle;
        on_ready(fd, kError | kRead | kWrite, tag);
      }
      continue;
    }
    Events events = from_result(res);
    if (entry != nullptr && entry->tag == tag && entry->state != kIdle) {
      // The fd's current request. A level-triggered watch looks again at
      // the next wait; a failed re-queue is reported as an error, after
      // which the manager arms again or fails the waiters.
      if (entry->state == kLevel && res >= 0 && (events & kClosed) == 0) {
        if (queue_poll(s, fd, entry->events, tag) != 0) {
          entry->state = kIdle;
          events |= kError | kRead | kWrite;
        }
      } else {
        entry->state = kIdle;
      }
    }
    on_ready(fd, events, tag);
  }
  // The channel's READ completed: queue the next one (if the ring is full
  // and cannot be flushed, the next dispatch tries again; wait() then
  // returns at once since a completion is pending or the ring is busy).
  if (!s.wake_armed) (void)queue_wake_read(s);
  return woken;
}

template <>
int IoUringBackend::wakeup() noexcept {
  const std::uint64_t one = 1;
  if (::write(state_.wake_fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) return 0;
  return errno;
}

template <>
int IoUringBackend::submit() noexcept {
  using namespace io_uring_detail;
  const unsigned to_submit = state_.sq_tail - load_acquire(state_.sq_khead);
  store_release(state_.sq_ktail, state_.sq_tail);
  if (to_submit == 0) return 0;
  if (sys_enter(state_.ring_fd, to_submit, 0, 0, nullptr, 0) >= 0) return 0;
  return errno == EINTR || errno == EBUSY || errno == EAGAIN ? 0 : errno;  // the next wait sends them
}

template <>
int IoUringBackend::pollable_fd() const noexcept {
  // The ring polls readable when its completion ring holds an entry.
  return state_.ring_fd;
}

}  // namespace evmgr

#endif  // EVMGR_HAVE_IO_URING
