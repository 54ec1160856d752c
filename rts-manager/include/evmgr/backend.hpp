// SPDX-License-Identifier: BSD-3-Clause
//
// The back-end contract. Every back-end (epoll_backend, kqueue_backend,
// poll_backend) is a class with exactly these members; the manager holds one
// in a std::variant and calls it through std::visit, so there is no virtual
// call and no #ifdef in the manager's logic. The build picks which back-end
// files exist on a platform (see CMakeLists.txt).
//
//   int open() noexcept;
//       Creates the kernel object and the wake-up channel. 0 or an errno.
//   void close() noexcept;
//       Releases them. Idempotent.
//   int reopen_after_fork() noexcept;
//       In a forked child: drops the kernel objects inherited from the parent
//       (they are shared with it) and creates fresh ones. The manager re-arms
//       every fd afterwards.
//   int arm(int fd, Events interest, ArmMode mode, bool known,
//           WatchTag tag, bool* replaced) noexcept;
//       Asks the kernel to report `interest` (kRead/kWrite, never empty) on
//       fd, labelling the watch with `tag` (given back by dispatch). `known` says the fd was armed before (the kernel may hold a
//       disarmed watch for it). Sets *replaced when the kernel's watch turns
//       out to belong to a file that has since been closed and its number
//       reused (epoll: MOD gives ENOENT). Returns 0, EBADF (not an open fd),
//       EPERM (the mechanism cannot watch this kind of file, e.g. a regular
//       file under epoll: the manager treats it as always ready), ENOMEM,
//       ENOSPC, or another errno.
//   void disarm(int fd) noexcept;
//       Forgets fd. Errors are ignored on purpose: the fd may be closed.
//   void prepare_wait() noexcept;
//       Called with the manager's lock held, right before wait().
//   int wait(std::int64_t timeout_ns) noexcept;
//       Blocks without the manager's lock until something is ready, the
//       wake-up channel fires, a signal arrives or the timeout passes
//       (< 0: no limit). Returns >= 0, or -errno (-EINTR on a signal).
//   bool dispatch(ReadyCallback on_ready) noexcept;
//       With the lock held again: hands each ready (fd, events, tag) of the
//       last wait to on_ready (tag: the watch's label, or 0 if the back-end
//       keeps none), and returns true if the wake-up channel fired
//       (after draining it). Events are kRead/kWrite, plus kError (with
//       kRead|kWrite) on error or hang-up, or kClosed for an fd the kernel
//       reports invalid. An fd armed with ArmMode::kOneShot is disarmed once
//       reported, for all its events, until armed again.
//   int wakeup() noexcept;
//       Makes a concurrent or the next wait() return. Async-signal-safe.
//   int pollable_fd() const noexcept;
//       An fd that polls readable when wait() would return, or -1.
//   static constexpr bool kDetectsReplacedFiles;
//       True if arm() sets *replaced reliably (epoll). Otherwise the manager
//       compares the file's identity itself when a second waiter arrives
//       (Note [Closed fds] in manager.cpp).
//   static constexpr bool kWaitSeesChangesLive;
//       True if arm/disarm made by another thread reach a wait() already
//       blocked (epoll, kqueue). False for poll, whose wait works on a
//       snapshot: the manager wakes it after each change.
//
// Back-ends never see user tokens or callbacks: they deal in (fd, events).
#pragma once

#include <cstdint>

#include "evmgr/events.hpp"

namespace evmgr {

enum class BackendKind { kAuto = 0, kEpoll = 1, kKqueue = 2, kPoll = 3 };

// Level-triggered watches stay armed (persistent registrations); one-shot
// watches disarm on delivery (the RTS's threadWaitRead and every one-shot
// registration), so a readiness is reported once and re-armed on demand.
enum class ArmMode { kLevel, kOneShot };

// The label of one kernel watch. The manager gives every arm a fresh tag
// and keeps the latest per fd, so an event from a watch it has lost track
// of (epoll keeps watching a closed file that a dup() keeps alive, under an
// fd number that now names another file) is recognised and dropped. Never 0.
using WatchTag = std::uint32_t;

// How a back-end reports readiness to the manager: a plain function pointer
// and context, called with the manager's lock held.
struct ReadyCallback {
  void* ctx;
  void (*fn)(void* ctx, int fd, Events events, WatchTag tag);
  void operator()(int fd, Events events, WatchTag tag) const noexcept { fn(ctx, fd, events, tag); }
};

// Largest number of kernel events one wait() collects; more stay in the
// kernel for the next wait.
inline constexpr int kMaxEventsPerWait = 512;

}  // namespace evmgr
