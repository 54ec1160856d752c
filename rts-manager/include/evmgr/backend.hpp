// SPDX-License-Identifier: BSD-3-Clause
//
// The back-end contract: the handful of operations the manager needs from a
// kernel mechanism (epoll, kqueue, poll), declared once.
//
// A back-end is Backend<State>: the class template below declares every
// operation, and each back-end supplies its State (its kernel objects and
// its own per-fd kernel bookkeeping) and defines the operations for it in
// its own source file, as libuv's linux.c / kqueue.c / posix-poll.c each
// define the functions internal.h declares once. A back-end that leaves an
// operation out does not link; one whose State lacks a trait does not
// compile (is_backend_state below), and is_backend checks the whole
// contract of whatever the manager holds (evmgr/backends.hpp).
//
// The definitions are explicit specializations (template <> ... ), which
// must be seen before the first call: evmgr_core.cpp includes the
// back-ends' sources before the manager's, and nothing else calls them.
//
// The manager holds one back-end in a std::variant and calls it through
// std::visit: no virtual call, and no #if in the manager's logic.
//
// Conventions, the same for every operation:
//   - Errors are positive errno values and 0 means success, the manager's
//     own convention (its public members and the C ABI return the same
//     numbers), so nothing is negated on the way up.
//   - Every operation is noexcept and allocates only where it says so.
//   - Everything but wakeup() runs with the manager's lock held; wait()
//     releases it for the blocking call only.
//   - A back-end never sees user tokens or callbacks: it deals in (fd,
//     events, tag).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "evmgr/events.hpp"
#include "evmgr/manager_lock.hpp"

namespace evmgr {

// The numbers are the C ABI's (evmgr_backend): new back-ends go at the end.
enum class BackendKind { kAuto = 0, kEpoll = 1, kKqueue = 2, kPoll = 3, kIoUring = 4 };

// Level-triggered watches stay armed (persistent registrations); one-shot
// watches disarm on delivery (the RTS's threadWaitRead and every one-shot
// registration), so a readiness is reported once and re-armed on demand.
enum class ArmMode { kLevel, kOneShot };

// The label of one kernel watch. The manager gives every arm a fresh tag
// and keeps the latest per fd, so an event from a watch it has lost track
// of (epoll keeps watching a closed file that a dup() keeps alive, under an
// fd number that now names another file) is recognised and dropped. Never 0.
using WatchTag = std::uint32_t;

// What arm() did.
struct ArmResult {
  // 0, or: EBADF (fd is not open; a back-end that cannot tell without a
  // syscall, poll and io_uring, reports it at the next wait() as a kClosed
  // event instead, the manager having checked the fd at registration), EPERM (the mechanism cannot watch this
  // kind of file, e.g. a regular file under epoll: the manager treats the fd
  // as always ready), ENOMEM, ENOSPC, or another errno.
  int error = 0;
  // The kernel held a watch for fd that belonged to a file closed since,
  // whose number now names another file: the fd's old waiters must hear
  // that their file is gone. Only back-ends with kDetectsReplacedFiles set
  // it; it may be set together with an error.
  bool replaced = false;
};

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

// Whether State can make a Backend<State>: both traits as constants, and
// default-constructible without throwing (its fds start at -1).
template <class State>
inline constexpr bool is_backend_state =
    std::is_same_v<decltype(State::kWaitSeesChangesLive), const bool> &&
    std::is_same_v<decltype(State::kDetectsReplacedFiles), const bool> &&
    std::is_nothrow_default_constructible_v<State>;

// Whether State's arm()/disarm() only queue requests that the next wait()
// sends (State::kQueuesChanges, io_uring); false when State does not say.
template <class State, class = void>
struct queues_changes : std::false_type {};
template <class State>
struct queues_changes<State, std::void_t<decltype(State::kQueuesChanges)>>
    : std::bool_constant<State::kQueuesChanges> {};

// The one back-end interface. State is the back-end's own data; its
// source file defines each operation below for Backend<State>.
//
// Why a constructor and error() rather than a static create(): a back-end
// lives in place inside the manager's std::variant and is neither copyable
// nor movable (it owns kernel objects, and the kernel may still report the
// fds it watches after a copy), so it cannot be built elsewhere and handed
// over. The constructor opens the kernel objects and records the errno if
// that fails; a back-end whose error() is non-zero holds no kernel object
// and is only ever destroyed.
template <class State>
class Backend {
  static_assert(is_backend_state<State>, "a back-end's State must declare both traits");

 public:
  // True if arm()/disarm() made by another thread reach a wait() already
  // blocked (epoll, kqueue). False for poll, whose wait() works on a
  // snapshot: the manager then wakes the wait after each change.
  static constexpr bool kWaitSeesChangesLive = State::kWaitSeesChangesLive;
  // True if arm() sets ArmResult::replaced reliably (epoll). Otherwise the
  // manager compares file identities itself (Note [Closed fds] in
  // src/closed_fd_check.cpp).
  static constexpr bool kDetectsReplacedFiles = State::kDetectsReplacedFiles;
  // True if arm()/disarm() only queue their requests for the next wait()
  // (io_uring). Such a back-end also defines submit().
  static constexpr bool kQueuesChanges = queues_changes<State>::value;

  // Creates the kernel object and the wake-up channel; see error().
  Backend() noexcept;
  // Releases whatever the constructor (or after_fork()) opened.
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // 0, or the errno that kept the constructor from opening the back-end.
  int error() const noexcept { return error_; }

  // Asks the kernel to report `interest` (kRead/kWrite, never empty) on fd,
  // labelling the watch with `tag` (given back by dispatch()). Replaces any
  // earlier watch of fd, whatever its interest and mode. Whether the kernel
  // already holds a watch for fd is the back-end's own business. May
  // allocate when fd is higher than any seen before (ENOMEM then).
  ArmResult arm(int fd, Events interest, ArmMode mode, WatchTag tag) noexcept;

  // Forgets fd. Errors are ignored on purpose: the fd may be closed.
  void disarm(int fd) noexcept;

  // Called with `lock` (the manager's lock, possibly disabled) held; unlocks it for the
  // blocking call only and holds it again on return. Blocks until something is
  // ready, the wake-up channel fires, a signal arrives or timeout_ns
  // passes (< 0: no limit). 0, or an errno (EINTR on a signal).
  int wait(std::int64_t timeout_ns, ManagerLock& lock) noexcept;

  // Hands each ready (fd, events, tag) of the last wait() to on_ready (tag:
  // the watch's label, or 0 if the back-end keeps none) and returns true if
  // the wake-up channel fired (after draining it). Events are kRead/kWrite,
  // plus kError (with kRead|kWrite) on error or hang-up, or kClosed for an
  // fd the kernel reports invalid. A watch armed ArmMode::kOneShot is
  // disarmed once reported, for all its events, until armed again.
  bool dispatch(ReadyCallback on_ready) noexcept;

  // Makes a concurrent or the next wait() return. Async-signal-safe; the
  // only operation called without the manager's lock. 0 or an errno.
  int wakeup() noexcept;

  // An fd that polls readable when wait() would return, or -1.
  int pollable_fd() const noexcept;

  // Only where kQueuesChanges: sends what arm()/disarm() queued to the
  // kernel now, without waiting, for a caller that waits on pollable_fd()
  // rather than in wait(). 0 or an errno.
  int submit() noexcept;

  // In a forked child: lets go of the kernel objects inherited from the
  // parent (shared with it) without disturbing the parent's, and opens
  // fresh ones holding no watch. The manager re-arms every fd afterwards.
  // 0 or an errno.
  int after_fork() noexcept;

 private:
  State state_;
  int error_ = 0;
};

// ---- the contract, checked --------------------------------------------------

namespace contract {

// The exact type of each operation: result, parameters, const, noexcept.
template <class B>
struct Operations {
  using arm = ArmResult (B::*)(int, Events, ArmMode, WatchTag) noexcept;
  using disarm = void (B::*)(int) noexcept;
  using wait = int (B::*)(std::int64_t, ManagerLock&) noexcept;
  using dispatch = bool (B::*)(ReadyCallback) noexcept;
  using wakeup = int (B::*)() noexcept;
  using pollable_fd = int (B::*)() const noexcept;
  using error = int (B::*)() const noexcept;
  using after_fork = int (B::*)() noexcept;
};

template <class B, class = void>
struct has_operations : std::false_type {};

template <class B>
struct has_operations<B, std::void_t<decltype(&B::arm), decltype(&B::disarm), decltype(&B::wait),
                                     decltype(&B::dispatch), decltype(&B::wakeup),
                                     decltype(&B::pollable_fd), decltype(&B::error),
                                     decltype(&B::after_fork), decltype(B::kWaitSeesChangesLive),
                                     decltype(B::kDetectsReplacedFiles)>>
    : std::bool_constant<std::is_same_v<decltype(&B::arm), typename Operations<B>::arm> &&
                         std::is_same_v<decltype(&B::disarm), typename Operations<B>::disarm> &&
                         std::is_same_v<decltype(&B::wait), typename Operations<B>::wait> &&
                         std::is_same_v<decltype(&B::dispatch), typename Operations<B>::dispatch> &&
                         std::is_same_v<decltype(&B::wakeup), typename Operations<B>::wakeup> &&
                         std::is_same_v<decltype(&B::pollable_fd),
                                        typename Operations<B>::pollable_fd> &&
                         std::is_same_v<decltype(&B::error), typename Operations<B>::error> &&
                         std::is_same_v<decltype(&B::after_fork),
                                        typename Operations<B>::after_fork> &&
                         std::is_same_v<decltype(B::kWaitSeesChangesLive), const bool> &&
                         std::is_same_v<decltype(B::kDetectsReplacedFiles), const bool>> {};

}  // namespace contract

// Whether B is a back-end the manager can hold: every operation of
// Backend<State> with exactly its signature (a class written from scratch,
// e.g. a test double, is checked the same way), both traits, built in place
// by a non-throwing default constructor, neither copyable nor movable.
// evmgr/backends.hpp asserts it for every back-end the manager may hold.
template <class B>
inline constexpr bool is_backend =
    contract::has_operations<B>::value && std::is_nothrow_default_constructible_v<B> &&
    std::is_nothrow_destructible_v<B> && !std::is_copy_constructible_v<B> &&
    !std::is_move_constructible_v<B>;

}  // namespace evmgr
