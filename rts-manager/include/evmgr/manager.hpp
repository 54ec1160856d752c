// SPDX-License-Identifier: BSD-3-Clause
//
// The manager: fd registrations, timers and one back-end behind one mutex.
//
// Every public member is noexcept and returns 0 or an errno (poll returns a
// count or -errno): the C ABI forwards them unchanged. Any thread may call
// any member; one thread at a time may be inside poll(), which waits with the
// mutex released. See docs/design.md for the reasons behind each choice.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <variant>
#include <vector>

#include "evmgr/backends.hpp"
#include "evmgr/events.hpp"
#include "evmgr/fd_table.hpp"
#include "evmgr/registration.hpp"
#include "evmgr/timer_queue.hpp"

namespace evmgr {

class Manager {
 public:
  // Default for set_closed_fd_check_interval.
  static constexpr std::int64_t kDefaultClosedFdCheckNs = 250'000'000;

  // Creates a manager on `kind` (kAuto: the best the platform has).
  // 0, ENOSYS (not on this platform), EINVAL, ENOMEM, or the back-end's errno.
  static int create(BackendKind kind, std::unique_ptr<Manager>* out) noexcept;
  // Whether `kind` can be created here.
  static bool available(BackendKind kind) noexcept;

  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;
  ~Manager();

  // The back-end in use (never kAuto).
  BackendKind backend_kind() const noexcept { return kind_; }

  // fd interest; see ffi/evmgr.h for the exact contract of each.
  int register_fd(int fd, Events interest, bool persistent, std::uintptr_t token, Key* key) noexcept;
  int modify_fd(Key key, Events interest) noexcept;
  int unregister_fd(Key key) noexcept;

  // Timers on the now_ns() clock; deadlines are absolute.
  int add_timer_at(std::int64_t deadline_ns, std::uintptr_t token, Key* key) noexcept;
  int update_timer_at(Key key, std::int64_t deadline_ns) noexcept;
  int cancel_timer(Key key) noexcept;

  // Waits up to timeout_ns (< 0: no limit) and copies up to `capacity`
  // ready events to `out`. Count, or -EINTR / -EBUSY / -EINVAL / -errno.
  int poll(std::int64_t timeout_ns, ReadyEvent* out, std::size_t capacity) noexcept;

  // Makes a blocked or the next poll() return. Async-signal-safe.
  int wakeup() noexcept;

  // In a forked child, before anything else: fresh kernel objects, every
  // registration re-armed. See Note [Fork] in manager.cpp.
  int after_fork() noexcept;

  int pollable_fd() const noexcept { return pollable_fd_; }
  // When poll() must run again at the latest (timers, closed-fd check,
  // queued events: now), or -1 if nothing is due.
  std::int64_t next_deadline() noexcept;
  // Live registrations, including those whose event is queued.
  std::size_t pending() noexcept;
  // visit(ctx, &token) on every live registration, lock held.
  void visit_tokens(void (*visit)(void* ctx, std::uintptr_t* token), void* ctx) noexcept;
  // fd of a live fd registration, or -1.
  int fd_of(Key key) noexcept;
  // Period of the closed-fd check (Note [Closed fds]); 0 turns it off.
  void set_closed_fd_check_interval(std::int64_t interval_ns) noexcept;

 private:
  explicit Manager(BackendKind kind) noexcept : kind_(kind), backend_(make_backend(kind)) {}

  template <class F>
  decltype(auto) with_backend(F&& f) {
    return std::visit(std::forward<F>(f), backend_);
  }

  // All private members below run with mu_ held.
  static void on_ready(void* self, int fd, Events events, WatchTag tag) noexcept;
  void fd_ready(int fd, Events events, WatchTag tag) noexcept;
  // Arms fd for its waiters' interest (plus extra_*); force asks the kernel
  // even if nothing changed. *replaced (if not null): the fd's file changed.
  int sync_kernel(int fd, FdSlot& slot, Events extra_interest, bool extra_one_shot, bool force,
                  bool* replaced) noexcept;
  void resync_after_event(int fd, FdSlot& slot) noexcept;
  void fail_waiters(FdSlot& slot, Events why) noexcept;
  void close_slot(int fd, FdSlot& slot, Events why) noexcept;
  void queue(Registration& node, Events events) noexcept;
  void unlink_waiter(Registration& node) noexcept;
  void release(Registration& node) noexcept;
  void expire_timers(std::int64_t now) noexcept;
  void queue_always_ready() noexcept;
  void check_closed_fds() noexcept;
  std::int64_t wait_budget(std::int64_t now, std::int64_t limit, bool woken) const noexcept;
  int drain(ReadyEvent* out, std::size_t capacity) noexcept;
  void note_change_for_poller() noexcept;
  int kick() noexcept;
  bool take_wake_request() noexcept;

  using ReadyList = boost::intrusive::list<
      Registration,
      boost::intrusive::member_hook<Registration, WaiterHook, &Registration::ready_hook>,
      boost::intrusive::constant_time_size<false>>;

  std::mutex mu_;
  BackendKind kind_;
  bool wait_sees_changes_live_ = false;
  bool detects_replaced_files_ = false;
  int pollable_fd_ = -1;
  // The pool owns the nodes the lists below link: declared first, so it is
  // destroyed last.
  RegistrationPool pool_;
  FdTable fds_;
  TimerQueue<Registration> timers_;
  ReadyList ready_;
  std::vector<int> always_ready_fds_;  // fds with persistent waiters that
                                       // the back-end cannot watch
  std::size_t fd_registrations_ = 0;
  WatchTag last_tag_ = 0;
  bool polling_ = false;
  std::int64_t wait_until_ = 0;  // when the blocked wait ends at the latest
  std::atomic<bool> wake_requested_{false};  // wakeup() was called
  std::atomic<bool> channel_pending_{false};  // the channel holds a write
  std::int64_t closed_fd_check_ns_ = kDefaultClosedFdCheckNs;
  std::int64_t next_closed_fd_check_ = 0;
  AnyBackend backend_;
};

}  // namespace evmgr
