// SPDX-License-Identifier: BSD-3-Clause
//
// Fd watches: what the kernel is asked to report for each fd, kept in step
// with the fd's waiters, and the fds the kernel cannot watch at all.
//
//   - FdWatch (one per fd, in its FdSlot) records the kernel's current
//     watch: its interest, its mode, its tag, or that the fd is always
//     ready.
//   - plan_sync() decides what the kernel must be told for the watch to
//     match what the waiters want, nothing when nothing changed (Note
//     [One-shot arming] in src/fd_watch.cpp); FdWatches::apply() tells it.
//   - Always-ready fds (Note [Always-ready fds]): fds the back-end refuses
//     (a regular file under epoll) are ready at once, as select() and
//     poll() say; persistent waiters on them are served on every poll().
//
// Everything here runs with the manager's lock held.
#pragma once

#include <cstddef>
#include <cstdint>

#include "evmgr/backend.hpp"
#include "evmgr/events.hpp"
#include "evmgr/memory.hpp"

namespace evmgr {

// What the waiters of an fd want from the kernel: the union of their
// interests, and one-shot if any of them is one-shot.
struct WantedWatch {
  Events events = 0;
  ArmMode mode = ArmMode::kLevel;

  void add(Events interest, bool persistent) noexcept {
    events |= interest;
    if (!persistent) mode = ArmMode::kOneShot;
  }
};

// The kernel's watch of one fd, as the manager last asked for it.
struct FdWatch {
  WatchTag tag = 0;           // label of the kernel's current watch
  std::uint8_t armed = 0;     // what the kernel is asked to report now
                              // (kRead|kWrite: a byte keeps FdSlot small)
  bool one_shot = false;      // `armed` was armed one-shot
  bool always_ready = false;  // the back-end refused the fd: always ready
  bool resync_pending = false;  // in the manager's list of fds to re-arm
                                // once the batch is dispatched

  // The kernel delivered a one-shot watch's event, which disarmed it.
  void delivered() noexcept {
    if (one_shot) armed = 0;
  }
};
static_assert(kInterestMask <= UINT8_MAX, "FdWatch::armed holds an interest in a byte");
static_assert(sizeof(FdWatch) <= 8, "an FdWatch must stay within 8 bytes (FdSlot's budget)");

// When sync() must ask the kernel.
enum class Resync {
  kIfChanged,  // only if the wanted watch differs from the armed one
  kAlways,     // even if it looks armed already: a new registration's arm
               // is how epoll says that the fd's file was replaced, and
               // after fork the kernel object is new
};

// What must be done to the kernel for a watch to match what is wanted:
// nothing (the common case after an event: no syscall, not even a call into
// the back-end), arm, or disarm. Note [One-shot arming] in src/fd_watch.cpp.
struct SyncPlan {
  enum class Op { kNothing, kArm, kDisarm } op = Op::kNothing;
  Events events = 0;
  ArmMode mode = ArmMode::kLevel;
};

inline SyncPlan plan_sync(const FdWatch& watch, WantedWatch wanted, Resync when) noexcept {
  SyncPlan plan;
  if (wanted.events == 0) {
    // Nobody waits: drop a level-triggered watch, which would fire on every
    // wait; a one-shot one fires at most once more.
    if (watch.armed != 0 && !watch.one_shot) plan.op = SyncPlan::Op::kDisarm;
    return plan;
  }
  const bool one_shot = wanted.mode == ArmMode::kOneShot;
  if (when == Resync::kIfChanged && wanted.events == watch.armed && one_shot == watch.one_shot) {
    return plan;
  }
  plan.op = SyncPlan::Op::kArm;
  plan.events = wanted.events;
  plan.mode = wanted.mode;
  return plan;
}

// What sync() did.
struct SyncResult {
  int error = 0;          // the back-end's errno (arm), or 0
  bool replaced = false;  // ArmResult::replaced
  bool changed = false;   // the kernel's watch set changed
};

class FdWatches {
 public:
  // Does `plan` (from plan_sync) to the kernel's watch of fd and records
  // the outcome in `watch`. Allocates only as Backend::arm() says.
  template <class B>
  SyncResult apply(B& backend, int fd, FdWatch& watch, const SyncPlan& plan) noexcept {
    SyncResult result;
    switch (plan.op) {
      case SyncPlan::Op::kNothing:
        break;
      case SyncPlan::Op::kDisarm:
        backend.disarm(fd);
        forget_old_file(watch);  // the kernel may keep it: Note [Late events of a dropped watch]
        result.changed = true;
        break;
      case SyncPlan::Op::kArm: {
        const WatchTag tag = next_tag();
        const ArmResult armed = backend.arm(fd, plan.events, plan.mode, tag);
        result.error = armed.error;
        result.replaced = armed.replaced;
        // A watch of another file, whether or not the arm failed; EPERM:
        // this file cannot be watched, so any watch of the number is
        // another file's (Note [Late events of a dropped watch]).
        if (armed.replaced || armed.error == EPERM) forget_old_file(watch);
        if (armed.error != 0) break;
        watch.tag = tag;
        watch.armed = static_cast<std::uint8_t>(plan.events);
        watch.one_shot = plan.mode == ArmMode::kOneShot;
        result.changed = true;
        break;
      }
    }
    return result;
  }

  // plan_sync and apply in one: makes the kernel's watch of fd match
  // `wanted`.
  template <class B>
  SyncResult sync(B& backend, int fd, FdWatch& watch, WantedWatch wanted, Resync when) noexcept {
    return apply(backend, fd, watch, plan_sync(watch, wanted, when));
  }

  // Drops fd's watch (its file is gone, or its waiters were failed): the
  // kernel forgets it and the fd is no longer always ready.
  template <class B>
  void drop(B& backend, int fd, FdWatch& watch) noexcept {
    backend.disarm(fd);
    forget_old_file(watch);
    watch.always_ready = false;
  }

  // Note [Late events of a dropped watch]
  // ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
  // A watch we drop or disarm may live on in the kernel: epoll keys a
  // watch by (number, open file), and once the number names another file
  // the old watch cannot be deleted by number; it lasts as long as a dup()
  // keeps the old file open, and reports its events under the old tag (a
  // one-shot watch left armed when its last waiter went may fire once
  // more, too). So the tag of a dropped, disarmed or replaced watch is
  // forgotten (0: no watch of ours), as is the tag of a number whose file
  // the back-end refuses (EPERM): a later waiter on the number, on a file
  // the back-end refuses (always ready, never armed, so no new tag), must
  // not take the old file's hang-up for its own (the fuzzer found
  // persistent waiters on /dev/null failed that way, twice).
  static void forget_old_file(FdWatch& watch) noexcept {
    watch.armed = 0;
    watch.one_shot = false;
    watch.tag = 0;
  }

  // After fork: the kernel object is new and holds no watch.
  static void forget_kernel(FdWatch& watch) noexcept {
    watch.armed = 0;
    watch.one_shot = false;
  }

  // ---- always-ready fds (Note [Always-ready fds]) ----

  // Room for one more always-ready fd, so that mark_always_ready() cannot
  // fail once the registration is under way. 0 or ENOMEM.
  int reserve_always_ready() noexcept { return always_ready_.reserve_one_more(); }

  // fd, which the back-end refused, is always ready for its waiters.
  void mark_always_ready(int fd, FdWatch& watch) noexcept;

  bool any_always_ready() const noexcept { return !always_ready_.empty(); }

  // Calls serve(fd) for each always-ready fd; serve returns false when the
  // fd is no longer always ready or has no waiter left, and it is dropped
  // from the list (the caller clears its FdWatch::always_ready).
  template <class Serve>
  void serve_always_ready(Serve&& serve) noexcept {
    for (std::size_t i = 0; i < always_ready_.size();) {
      if (serve(always_ready_[i])) {
        ++i;
        continue;
      }
      always_ready_[i] = always_ready_.back();
      always_ready_.pop_back();
    }
  }

 private:
  WatchTag next_tag() noexcept {
    if (++last_tag_ == 0) last_tag_ = 1;  // tags are never 0
    return last_tag_;
  }

  WatchTag last_tag_ = 0;
  GrowableArray<int> always_ready_;  // fds with always_ready set (or stale)
};

}  // namespace evmgr
