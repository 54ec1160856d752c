// SPDX-License-Identifier: BSD-3-Clause
//
// The manager: fd registrations, timers and one back-end behind one mutex.
//
// Every public member is noexcept and returns 0 or an errno (poll returns a
// count or -errno): the C ABI forwards them unchanged. Any thread may call
// any member; one thread at a time may be inside poll(), which waits with the
// mutex released. See docs/design.md for the reasons behind each choice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>

#include "evmgr/backends.hpp"
#include "evmgr/closed_fd_check.hpp"
#include "evmgr/events.hpp"
#include "evmgr/fd_table.hpp"
#include "evmgr/fd_watch.hpp"
#include "evmgr/manager_lock.hpp"
#include "evmgr/registration.hpp"
#include "evmgr/timer_queue.hpp"
#include "evmgr/wake_channel.hpp"

namespace evmgr {

class Manager {
 public:
  // Default for set_closed_fd_check_interval.
  static constexpr std::int64_t kDefaultClosedFdCheckNs = ClosedFdCheck::kDefaultIntervalNs;

  // Creates a manager on `kind` (kAuto: the best the platform has and the
  // kernel allows: io_uring, else epoll), in malloc'ed memory (Note [No C++
  // runtime] in evmgr/memory.hpp); free it with destroy(). 0, ENOSYS (not
  // on this platform), EINVAL, ENOMEM, or the back-end's errno.
  // `locked` false: single-threaded mode, no lock taken (ManagerLock):
  // every call but wakeup() must then come from one thread at a time.
  static int create(BackendKind kind, Manager** out, bool locked = true) noexcept;
  // Frees a manager from create(); nullptr is accepted.
  static void destroy(Manager* mgr) noexcept;
  // Whether `kind` can be created here (compiled in, and the kernel allows
  // it: io_uring may be refused).
  static bool available(BackendKind kind) noexcept;
  // The back-end create(kind) uses: kAuto becomes the best one compiled in
  // that the kernel allows.
  static BackendKind resolve(BackendKind kind) noexcept;

  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;
  ~Manager();

  // Whether the manager takes its lock (false: single-threaded mode).
  bool locked() const noexcept { return mu_.enabled(); }

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
  // registration re-armed. See Note [Fork] in src/manager.cpp.
  int after_fork() noexcept;

  // The back-end's pollable fd. A caller that asks is taken to wait on it
  // rather than in poll(): from then on, a back-end that queues changes
  // (io_uring) sends them to the kernel as they are made.
  int pollable_fd() noexcept;
  // When poll() must run again at the latest (timers, closed-fd check,
  // queued events: now), or -1 if nothing is due.
  std::int64_t next_deadline() noexcept;
  // Live registrations, including those whose event is queued.
  std::size_t pending() noexcept;
  // visit(ctx, &token) on every live registration, lock held.
  void visit_tokens(void (*visit)(void* ctx, std::uintptr_t* token), void* ctx) noexcept;
  // fd of a live fd registration, or -1.
  int fd_of(Key key) noexcept;
  // Period of the closed-fd check (Note [Closed fds] in
  // src/closed_fd_check.cpp); 0 turns it off: no sweep inside poll(), no
  // cap on its waits.
  void set_closed_fd_check_interval(std::int64_t interval_ns) noexcept;
  // Runs the closed-fd sweep now; the waiters of fds found closed or
  // replaced get kClosed, queued for the next poll(). 0 or an errno.
  int check_closed_fds() noexcept;

  // What the manager did that is not visible in its results, for tests and
  // benchmarks.
  struct Stats {
    std::uint64_t slack_polls = 0;  // zero-timeout waits in place of a sleep
                                    // shorter than the timer slack
    std::uint64_t sweeps = 0;       // closed-fd sweeps (periodic or asked)
    std::uint64_t file_probes = 0;  // fds a sweep probed for a replaced file
  };
  Stats stats() noexcept;

 private:
  Manager(BackendKind kind, bool locked) noexcept
      : mu_(locked), kind_(kind), backend_(make_backend(kind)) {}
  // create() on a concrete back-end.
  static int create_on(BackendKind kind, bool locked, Manager** out) noexcept;

  template <class F>
  decltype(auto) with_backend(F&& f) {
    return std::visit(std::forward<F>(f), backend_);
  }

  // All private members below run with mu_ held.

  // -- fd waiters
  static void on_ready(void* self, int fd, Events events, WatchTag tag) noexcept;
  void fd_ready(int fd, Events events, WatchTag tag) noexcept;
  Registration* new_fd_node(int fd, Events interest, bool persistent,
                            std::uintptr_t token) noexcept;
  int check_same_file(int fd, FdSlot& slot) noexcept;
  SyncResult sync_watch(int fd, FdSlot& slot, WantedWatch wanted, Resync when) noexcept;
  void resync_after_event(int fd, FdSlot& slot) noexcept;
  // After an arm: the waiters of an fd that cannot be watched any more
  // (gone, replaced, or the kernel refused) hear why and are dropped.
  void tell_unwatchable(int fd, FdSlot& slot, const SyncResult& synced) noexcept;
  void resync_after_batch() noexcept;
  void fail_waiters(FdSlot& slot, Events why) noexcept;
  void close_slot(int fd, FdSlot& slot, Events why) noexcept;
  void unlink_waiter(Registration& node) noexcept;
  bool queue_always_ready() noexcept;  // true if it queued any event
  int sweep_closed_fds() noexcept;
  void probe_file(int fd, FdSlot& slot) noexcept;

  // -- the ready queue
  void queue(Registration& node, Events events) noexcept;
  void release(Registration& node) noexcept;
  int drain(ReadyEvent* out, std::size_t capacity) noexcept;

  // -- timers and the poll loop
  void expire_timers(std::int64_t now) noexcept;
  std::optional<std::int64_t> earliest_deadline() const noexcept;
  std::int64_t wait_budget(std::int64_t now, std::int64_t limit, bool woken) const noexcept;

  // -- wake-ups (Note [Wake-ups] in src/wake_channel.cpp)
  void note_change_for_poller() noexcept;
  void submit_queued_changes() noexcept;
  int kick() noexcept;

  using ReadyList = boost::intrusive::list<
      Registration,
      boost::intrusive::member_hook<Registration, WaiterHook, &Registration::ready_hook>,
      boost::intrusive::constant_time_size<false>>;

  ManagerLock mu_;  // disabled in single-threaded mode
  BackendKind kind_;
  bool wait_sees_changes_live_ = false;  // the back-end's traits
  bool detects_replaced_files_ = false;
  int pollable_fd_ = -1;
  // The pool owns the nodes the lists below link: declared first, so it is
  // destroyed last.
  RegistrationPool pool_;
  FdTable fds_;
  FdWatches watches_;
  ClosedFdCheck closed_fds_;
  TimerQueue<Registration> timers_;
  ReadyList ready_;
  std::size_t fd_registrations_ = 0;
  bool polling_ = false;
  bool submit_when_idle_ = false;  // pollable_fd() was asked for
  std::int64_t wait_until_ = 0;  // when the blocked wait ends at the latest
  // Waits shorter than this are zero-timeout polls (Note [Timer slack]).
  std::int64_t spin_below_ns_ = 0;
  Stats stats_;
  // fds whose watch is re-armed once the batch being dispatched is done
  // (Note [One batch, one re-arm] in src/manager.cpp).
  int resync_after_batch_[kMaxEventsPerWait];
  std::size_t resync_count_ = 0;
  WakeChannel wake_;
  AnyBackend backend_;
};

}  // namespace evmgr
