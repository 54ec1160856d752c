// SPDX-License-Identifier: BSD-3-Clause
//
// The evmgr manager: the public API, the lock, timers, the ready queue, the
// poll loop and fork. The mechanisms it drives live in their own units:
//   src/fd_watch.cpp         the kernel's watch of each fd, always-ready fds
//   src/closed_fd_check.cpp  waiters on fds closed behind our back
//   src/wake_channel.cpp     interrupting a blocked wait
//   backend.hpp              the kernel mechanism (epoll, kqueue, poll)
//
// One mutex guards the fd table, the registration pool, the timer heap and
// the ready queue. poll() releases it only around the back-end's blocking
// wait, so registrations from other threads go straight to the kernel
// (epoll_ctl and kevent are thread-safe) while a poll is blocked; the poll
// back-end, which waits on a snapshot, is woken after each change instead.
// Readiness is turned into queued events with the lock held, and the caller
// gets them as a batch after poll() returns: no user code ever runs inside
// the manager or under its lock.
//
// Note [Stale keys]
// ~~~~~~~~~~~~~~~~~
// A key is (generation, slot). Releasing a node bumps its generation, so a
// key that outlived its registration (unregistered twice, fired one-shot,
// fd closed and reused) finds a live node with another generation and gets
// ENOENT: it can never reach the registration that reused the slot.
//
// Note [Clock reads]
// ~~~~~~~~~~~~~~~~~~
// On some VMs clock_gettime(CLOCK_MONOTONIC) is a real syscall (~100 ns),
// a measurable share of one event's cost. poll() reads the precise clock
// once per wait, and only when a deadline depends on it: a timer is pending
// or the caller gave a finite timeout. Otherwise the coarse clock serves
// the closed-fd check, which tolerates a tick of error. After a wait that
// produced events with no timer pending, the clock is not read at all.
//
// Note [Timer slack]
// ~~~~~~~~~~~~~~~~~~
// Linux ends a thread's sleep up to its timer slack (50 us by default)
// after the time asked, to batch wake-ups. For a sleep of 1 ms that is
// noise; for threadDelay 1, or `timeout 1`, it is the whole cost: a 1 us
// timer took 55-80 us under epoll where select's path (which polls the
// clock and finds the timer due) takes 2-4 us. So when the wait a deadline
// allows is shorter than the thread's slack, poll() does not sleep: it
// polls the kernel with a zero timeout (new readiness and wake-ups, hence
// signals, still end it at once) and loops until the deadline is due. A
// timer still never fires early: it fires when the clock has reached it.
// The slack is read once, at creation (prctl(PR_GET_TIMERSLACK): the
// creating thread's, which in the RTS is the polling one), and the spin is
// capped at kMaxSpinNs, so a thread given a huge slack still sleeps.
//
// Note [Fork]
// ~~~~~~~~~~~
// After fork() the child shares the parent's epoll/kqueue object and wake
// channel: a registration in one would fire in the other. after_fork() gives
// the child its own and re-arms every waiter from the fd table, which is
// plain memory the child inherited. The mutex is re-created because the
// thread that may have held it at fork time does not exist in the child.
#include "evmgr/manager.hpp"

#include <fcntl.h>

#include <cerrno>
#include <new>
#include <type_traits>

#include "evmgr/clock.hpp"

namespace evmgr {

namespace manager_detail {
// Whether fd names an open file (EBADF is the only answer that says no).
bool fd_is_open(int fd) noexcept { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }
}  // namespace manager_detail

// The longest wait poll() turns into zero-timeout polls (Note [Timer slack]).
constexpr std::int64_t kMaxSpinNs = 1'000'000;

bool Manager::available(BackendKind kind) noexcept {
  return backend_compiled_in(kind) && backend_refusal(kind) == 0;
}

BackendKind Manager::resolve(BackendKind kind) noexcept { return resolve_backend(kind); }

int Manager::create(BackendKind kind, Manager** out, bool locked) noexcept {
  const int as_int = static_cast<int>(kind);
  if (as_int < 0 || as_int > static_cast<int>(BackendKind::kIoUring)) return EINVAL;
  if (!backend_compiled_in(kind)) return ENOSYS;
  const BackendKind chosen = resolve_backend(kind);
  const int err = create_on(chosen, locked, out);
  // auto: a ring the probe allowed can still fail to set up (EMFILE,
  // ENOMEM for its memory); epoll then, as when the kernel refuses.
  if (err != 0 && kind == BackendKind::kAuto && chosen == BackendKind::kIoUring &&
      backend_compiled_in(BackendKind::kEpoll)) {
    return create_on(BackendKind::kEpoll, locked, out);
  }
  return err;
}

int Manager::create_on(BackendKind kind, bool locked, Manager** out) noexcept {
  Manager* storage = allocate_storage<Manager>(1);
  if (storage == nullptr) return ENOMEM;
  Manager* mgr = new (storage) Manager(kind, locked);
  if (const int err = mgr->with_backend([](auto& b) { return b.error(); })) {
    destroy(mgr);
    return err;
  }
  mgr->with_backend([&](auto& b) {
    using B = std::decay_t<decltype(b)>;
    mgr->wait_sees_changes_live_ = B::kWaitSeesChangesLive;
    mgr->detects_replaced_files_ = B::kDetectsReplacedFiles;
    mgr->pollable_fd_ = b.pollable_fd();
  });
  mgr->closed_fds_.set_interval(kDefaultClosedFdCheckNs, now_ns());
  const std::int64_t slack = thread_timer_slack_ns();
  mgr->spin_below_ns_ = slack < kMaxSpinNs ? slack : kMaxSpinNs;
  *out = mgr;
  return 0;
}

void Manager::destroy(Manager* mgr) noexcept { destroy_object(mgr); }

Manager::~Manager() {
  // Unlink everything before the pool's nodes go away.
  ready_.clear();
  for (std::size_t fd = 0; fd < fds_.size(); ++fd) fds_[fd].waiters.clear();
}

// ---- wake-ups (mu_ held, except kick() from wakeup()) ---------------------------

void Manager::note_change_for_poller() noexcept {
  if (polling_ && !wait_sees_changes_live_) (void)kick();
  if (!polling_ && submit_when_idle_) submit_queued_changes();
}

// For callers that wait on the pollable fd: a back-end that queues changes
// for its next wait (io_uring) sends them now, since that wait may be a
// poll(2) on the pollable fd rather than poll().
void Manager::submit_queued_changes() noexcept {
  with_backend([](auto& b) {
    if constexpr (std::decay_t<decltype(b)>::kQueuesChanges) (void)b.submit();
  });
}

int Manager::kick() noexcept {
  if (!wake_.claim_signal()) return 0;
  return with_backend([](auto& b) { return b.wakeup(); });
}

// ---- the ready queue -------------------------------------------------------------

void Manager::queue(Registration& node, Events events) noexcept {
  node.fired = static_cast<std::uint8_t>(node.fired | events);
  if (!node.ready_hook.is_linked()) ready_.push_back(node);
}

void Manager::release(Registration& node) noexcept {
  if (node.ready_hook.is_linked()) ready_.erase(ready_.iterator_to(node));
  if (node.kind == Registration::Kind::kFd) --fd_registrations_;
  pool_.release(&node);
}

int Manager::drain(ReadyEvent* out, std::size_t capacity) noexcept {
  std::size_t count = 0;
  while (count < capacity && !ready_.empty()) {
    Registration& node = ready_.front();
    ready_.pop_front();
    const Events fired = node.fired;
    node.fired = 0;
    const bool is_fd = node.kind == Registration::Kind::kFd;
    out[count++] = ReadyEvent{node.token, node.key(), is_fd ? node.fd : -1, fired};
    // A persistent registration stays while it still waits in its fd's list
    // (close_slot took it out if the fd was closed).
    if (!(is_fd && node.persistent && node.hook.is_linked())) release(node);
  }
  return static_cast<int>(count);
}

// ---- fd waiters (mu_ held) -------------------------------------------------------

void Manager::unlink_waiter(Registration& node) noexcept {
  FdSlot* slot = fds_.find(node.fd);
  slot->waiters.erase(slot->waiters.iterator_to(node));
}

SyncResult Manager::sync_watch(int fd, FdSlot& slot, WantedWatch wanted, Resync when) noexcept {
  const SyncPlan plan = plan_sync(slot.watch, wanted, when);
  if (plan.op == SyncPlan::Op::kNothing) return SyncResult{};  // the common case
  const SyncResult result =
      with_backend([&](auto& b) { return watches_.apply(b, fd, slot.watch, plan); });
  if (result.changed) note_change_for_poller();
  return result;
}

void Manager::fail_waiters(FdSlot& slot, Events why) noexcept {
  while (!slot.waiters.empty()) {
    Registration& waiter = slot.waiters.front();
    slot.waiters.pop_front();
    queue(waiter, why);
  }
}

void Manager::close_slot(int fd, FdSlot& slot, Events why) noexcept {
  fail_waiters(slot, why);
  with_backend([&](auto& b) { watches_.drop(b, fd, slot.watch); });
}

void Manager::resync_after_event(int fd, FdSlot& slot) noexcept {
  tell_unwatchable(fd, slot, sync_watch(fd, slot, wanted_watch(slot), Resync::kIfChanged));
}

void Manager::tell_unwatchable(int fd, FdSlot& slot, const SyncResult& synced) noexcept {
  if (synced.error == 0 && !synced.replaced) return;
  // The remaining waiters cannot be watched any more. Tell them rather than
  // leave them waiting forever: EBADF means the fd is gone, and `replaced`
  // that its number names another file now (their file is gone either way:
  // kClosed, whatever the new file's arm said; the fuzzer found a
  // persistent waiter dropped with a bare kError when the new file was one
  // epoll refuses); anything else (ENOMEM, ENOSPC) is reported as an error
  // event, after which the caller may register again.
  const bool gone = synced.replaced || synced.error == EBADF;
  close_slot(fd, slot, gone ? (kClosed | kError) : (kError | kRead | kWrite));
}

void Manager::on_ready(void* self, int fd, Events events, WatchTag tag) noexcept {
  static_cast<Manager*>(self)->fd_ready(fd, events, tag);
}

void Manager::fd_ready(int fd, Events events, WatchTag tag) noexcept {
  FdSlot* slot = fds_.find(fd);
  if (slot == nullptr) return;
  // An event from a watch we no longer own (see WatchTag): not this fd's.
  if (tag != 0 && tag != slot->watch.tag) return;
  slot->watch.delivered();
  if (events & kClosed) {
    close_slot(fd, *slot, kClosed | kError);
    return;
  }
  for (auto it = slot->waiters.begin(); it != slot->waiters.end();) {
    Registration& waiter = *it;
    const Events match = (events & kError) ? (waiter.interest | kError) : (events & waiter.interest);
    if (match == 0) {
      ++it;
      continue;
    }
    queue(waiter, match);
    it = waiter.persistent ? std::next(it) : slot->waiters.erase(it);
  }
  // Note [One batch, one re-arm]
  // ~~~~~~~~~~~~~~~~~~~~~~~~~~~~
  // kqueue reports each filter of an fd as an event of its own: READ and
  // WRITE of one one-shot watch come in one batch, both with the watch's
  // tag. Re-arming at the first would give the watch a new tag and make the
  // second look stale: its waiter (the WRITE one) would lose the event, in
  // every batch, forever (the fuzzer found it with /dev/null, always ready
  // for both). So the re-arm waits until the whole batch is dispatched; a
  // batch holds at most kMaxEventsPerWait events, more only under poll,
  // which reports an fd once per batch and is re-armed at once when the
  // list is full.
  if (slot->watch.resync_pending) return;
  if (resync_count_ == kMaxEventsPerWait) {
    resync_after_event(fd, *slot);
    return;
  }
  slot->watch.resync_pending = true;
  resync_after_batch_[resync_count_++] = fd;
}

void Manager::resync_after_batch() noexcept {
  for (std::size_t i = 0; i < resync_count_; ++i) {
    const int fd = resync_after_batch_[i];
    FdSlot& slot = fds_[static_cast<std::size_t>(fd)];
    slot.watch.resync_pending = false;
    resync_after_event(fd, slot);
  }
  resync_count_ = 0;
}

bool Manager::queue_always_ready() noexcept {
  bool queued = false;
  watches_.serve_always_ready([&](int fd) {
    FdSlot& slot = fds_[static_cast<std::size_t>(fd)];
    if (!slot.watch.always_ready || slot.waiters.empty()) {
      slot.watch.always_ready = false;
      return false;
    }
    for (Registration& waiter : slot.waiters) queue(waiter, waiter.interest);
    queued = true;
    return true;
  });
  return queued;
}

// The closed-fd sweep (Note [Closed fds]): fds not open any more, then a
// slice of the waited-on fds probed for a replaced file. 0 or the errno of
// a batch that went unchecked.
int Manager::sweep_closed_fds() noexcept {
  ++stats_.sweeps;
  const int err = ClosedFdCheck::sweep(
      fds_,
      [](void* self, int fd) {
        auto* mgr = static_cast<Manager*>(self);
        mgr->close_slot(fd, mgr->fds_[static_cast<std::size_t>(fd)], kClosed | kError);
      },
      this);
  closed_fds_.next_probes(fds_, [this](int fd, FdSlot& slot) { probe_file(fd, slot); });
  return err;
}

// Does fd still name the file its waiters registered on? If not (or if it
// is not open), they get kClosed and the fd's watch goes. One syscall.
void Manager::probe_file(int fd, FdSlot& slot) noexcept {
  ++stats_.file_probes;
  bool gone;
  if (detects_replaced_files_ && !slot.watch.always_ready) {
    // Re-arm the watch as it is: the kernel finds it only if the number
    // still names the watched file (ENOENT otherwise, with the new file
    // armed in passing; EPERM: the number is a regular file now).
    const SyncResult probe = sync_watch(fd, slot, wanted_watch(slot), Resync::kAlways);
    gone = probe.replaced || probe.error == EBADF || probe.error == EPERM;
  } else {
    gone = check_file(fd, slot.file) != FileCheck::kSameFile;
  }
  if (gone) close_slot(fd, slot, kClosed | kError);
}

// ---- fd registrations ------------------------------------------------------------

Registration* Manager::new_fd_node(int fd, Events interest, bool persistent,
                                   std::uintptr_t token) noexcept {
  Registration* node = pool_.allocate();
  if (node == nullptr) return nullptr;
  node->kind = Registration::Kind::kFd;
  node->fd = fd;
  node->token = token;
  node->interest = static_cast<std::uint8_t>(interest);
  node->persistent = persistent;
  ++fd_registrations_;
  return node;
}

// A new waiter on a number whose file the kernel cannot track for us: is it
// still the file the current waiters registered on (Note [Closed fds])? If
// not, they hear that theirs was closed. 0, or EBADF if fd is not open.
int Manager::check_same_file(int fd, FdSlot& slot) noexcept {
  if (slot.waiters.empty()) return 0;
  switch (check_file(fd, slot.file)) {
    case FileCheck::kSameFile:
      return 0;
    case FileCheck::kNotOpen:
      return EBADF;
    case FileCheck::kReplaced:
      fail_waiters(slot, kClosed | kError);
      slot.watch.always_ready = false;
      slot.file.forget();
      return 0;
  }
  return 0;
}

int Manager::register_fd(int fd, Events interest, bool persistent, std::uintptr_t token,
                         Key* key) noexcept {
  if (fd < 0) return EBADF;
  if (interest == 0 || (interest & ~kInterestMask) != 0) return EINVAL;
  LockGuard lock(mu_);
  // The table grows to hold fd: a number beyond it must name an open file
  // first, or a stray number (INT_MAX) would grow it by gigabytes only to
  // fail with EBADF. One fcntl, and only when the table grows.
  if (fds_.find(fd) == nullptr && !manager_detail::fd_is_open(fd)) return EBADF;
  // Everything that can run out of memory first, so nothing below fails
  // half-way for want of it.
  FdSlot* slot = fds_.get(fd);
  if (slot == nullptr || watches_.reserve_always_ready() != 0) return ENOMEM;
  Registration* node = new_fd_node(fd, interest, persistent, token);
  if (node == nullptr) return ENOMEM;

  if (const int err = check_same_file(fd, *slot)) {
    release(*node);
    return err;
  }
  // A back-end that cannot tell a replaced file records the file now, and
  // its fstat is also what says EBADF for an fd that is not open (io_uring's
  // arm() only queues a request).
  const bool record = slot->waiters.empty() && !detects_replaced_files_;
  if (record) {
    slot->file.record(fd);
    if (!slot->file.recorded) {
      release(*node);
      return EBADF;
    }
  }

  // Always ask the kernel, even if the fd looks armed already: that is how
  // epoll tells us that its file was replaced (Note [Closed fds]).
  WantedWatch wanted = wanted_watch(*slot);
  wanted.add(interest, persistent);
  const SyncResult synced = sync_watch(fd, *slot, wanted, Resync::kAlways);
  if (synced.replaced) fail_waiters(*slot, kClosed | kError);  // waited on a closed file
  const bool always_ready = synced.error == EPERM;  // Note [Always-ready fds]
  if (synced.error != 0 && !always_ready) {
    release(*node);
    return synced.error;
  }
  // The kernel watches the number's file now: an always-ready mark left by
  // an earlier, unpollable file there (cleared lazily once it has no
  // waiter) must go, or the next poll would serve this waiter as always
  // ready, a one-shot one without taking it off the fd (the fuzzer found
  // it released yet still listed, its slot later reused).
  if (!always_ready) slot->watch.always_ready = false;
  if (!record && slot->waiters.empty() && always_ready) slot->file.record(fd);
  if (const auto sweep = closed_fds_.next_due(true); polling_ && sweep && *sweep < wait_until_) {
    (void)kick();  // the blocked wait must end in time for the sweep
  }
  if (always_ready) {
    if (persistent) {
      slot->waiters.push_back(*node);
      watches_.mark_always_ready(fd, slot->watch);
    } else {
      queue(*node, interest);
    }
    if (polling_) (void)kick();
  } else {
    slot->waiters.push_back(*node);
  }
  *key = node->key();
  return 0;
}

int Manager::modify_fd(Key key, Events interest) noexcept {
  if (interest == 0 || (interest & ~kInterestMask) != 0) return EINVAL;
  LockGuard lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kFd || !node->hook.is_linked()) {
    return ENOENT;
  }
  const int fd = node->fd;
  FdSlot& slot = *fds_.find(fd);
  const std::uint8_t old_interest = node->interest;
  node->interest = static_cast<std::uint8_t>(interest);
  if (slot.watch.always_ready) return 0;
  const SyncResult synced = sync_watch(fd, slot, wanted_watch(slot), Resync::kIfChanged);
  if (synced.replaced || synced.error == EBADF) {
    // The file the waiters registered on is gone (closed, or its number
    // now names another file, which the arm just watched in passing): they
    // hear it, this registration included, as after a sweep. Ignoring
    // `replaced` here left them watching the new file, told nothing ever
    // (found by the fuzzer).
    tell_unwatchable(fd, slot, synced);
    return EBADF;
  }
  if (synced.error != 0) node->interest = old_interest;
  return synced.error;
}

int Manager::unregister_fd(Key key) noexcept {
  LockGuard lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kFd) return ENOENT;
  const int fd = node->fd;
  const bool was_waiting = node->hook.is_linked();
  if (was_waiting) unlink_waiter(*node);
  release(*node);
  if (was_waiting) {
    FdSlot& slot = *fds_.find(fd);
    if (!slot.watch.always_ready) {
      // Narrowing the interest fails only if the fd's file is gone (EBADF,
      // or replaced: the arm watched the number's new file in passing); the
      // remaining waiters then hear it instead of watching that new file.
      tell_unwatchable(fd, slot, sync_watch(fd, slot, wanted_watch(slot), Resync::kIfChanged));
    }
  }
  return 0;
}

// ---- timers --------------------------------------------------------------------

int Manager::add_timer_at(std::int64_t deadline_ns, std::uintptr_t token, Key* key) noexcept {
  LockGuard lock(mu_);
  if (timers_.reserve_one_more() != 0) return ENOMEM;
  Registration* node = pool_.allocate();
  if (node == nullptr) return ENOMEM;
  node->kind = Registration::Kind::kTimer;
  node->token = token;
  if (timers_.push(node, deadline_ns) && polling_) (void)kick();
  *key = node->key();
  return 0;
}

int Manager::update_timer_at(Key key, std::int64_t deadline_ns) noexcept {
  LockGuard lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kTimer) return ENOENT;
  bool earliest;
  if (node->heap_index != Registration::kNotInHeap) {
    earliest = timers_.update(node, deadline_ns);
  } else {
    // It fired and its event waits in the ready queue: take the event back
    // and set the timer again.
    if (timers_.reserve_one_more() != 0) return ENOMEM;
    ready_.erase(ready_.iterator_to(*node));
    node->fired = 0;
    earliest = timers_.push(node, deadline_ns);
  }
  if (earliest && polling_) (void)kick();
  return 0;
}

int Manager::cancel_timer(Key key) noexcept {
  LockGuard lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kTimer) return ENOENT;
  if (node->heap_index != Registration::kNotInHeap) timers_.erase(node);
  release(*node);
  return 0;
}

void Manager::expire_timers(std::int64_t now) noexcept {
  timers_.pop_expired(now, [this](Registration* timer) { queue(*timer, kTimeout); });
}

// ---- waiting -------------------------------------------------------------------

// The earliest moment poll() must act on its own: the first timer, or the
// next closed-fd sweep while fd waiters exist. Nothing when neither.
std::optional<std::int64_t> Manager::earliest_deadline() const noexcept {
  std::optional<std::int64_t> earliest = closed_fds_.next_due(fd_registrations_ > 0);
  if (!timers_.empty() && (!earliest || timers_.top_deadline() < *earliest)) {
    earliest = timers_.top_deadline();
  }
  return earliest;
}

// How long the next blocking wait may last (< 0: no limit).
std::int64_t Manager::wait_budget(std::int64_t now, std::int64_t limit, bool woken) const noexcept {
  if (woken || watches_.any_always_ready()) return 0;
  std::int64_t until = limit;
  if (const auto deadline = earliest_deadline(); deadline && *deadline < until) until = *deadline;
  if (until == INT64_MAX) return -1;
  return until > now ? until - now : 0;
}

int Manager::poll(std::int64_t timeout_ns, ReadyEvent* out, std::size_t capacity) noexcept {
  if (out == nullptr || capacity == 0) return -EINVAL;
  LockGuard lock(mu_);
  if (polling_) return -EBUSY;
  // The precise clock only when a deadline depends on it (Note [Clock
  // reads]).
  std::int64_t now = (timeout_ns > 0 || !timers_.empty()) ? now_ns() : now_coarse_ns();
  const std::int64_t limit = timeout_ns < 0 ? INT64_MAX : deadline_after(now, timeout_ns);
  bool woken = wake_.take_return_request();
  bool looked = false;
  for (;;) {
    expire_timers(now);
    const bool always_ready = queue_always_ready();
    if (closed_fds_.take_due(now) && fd_registrations_ > 0) (void)sweep_closed_fds();
    // Always-ready fds are ready at every call: returning their events
    // without asking the kernel would starve every other fd (Note
    // [Always-ready fds]), so the kernel gets one look, which cannot block.
    if (!ready_.empty() && (looked || !always_ready)) break;
    if (looked && (woken || now >= limit)) break;

    std::int64_t budget = ready_.empty() ? wait_budget(now, limit, woken) : 0;
    if (budget > 0 && budget < spin_below_ns_) {  // Note [Timer slack]
      budget = 0;
      ++stats_.slack_polls;
    }
    wait_until_ = budget < 0 ? INT64_MAX : deadline_after(now, budget);
    polling_ = true;
    // The back-end unlocks mu_ for the blocking call only, so `lock` still
    // owns it when the wait returns.
    const int err = with_backend([&](auto& b) { return b.wait(budget, mu_); });
    polling_ = false;
    looked = true;
    if (err != 0) {
      if (err != EINTR) return -err;
      // A signal: return so the caller can run its handlers, unless
      // something became ready meanwhile (then deliver it; nothing is lost
      // either way, the kernel keeps fd readiness for the next wait).
      expire_timers(now_ns());
      if (ready_.empty()) return -EINTR;
      break;
    }
    const bool channel_fired =
        with_backend([this](auto& b) { return b.dispatch(ReadyCallback{this, &Manager::on_ready}); });
    resync_after_batch();
    if (channel_fired) wake_.drained();
    if (wake_.take_return_request()) woken = true;
    // Fresh readiness and no timer that could be due as well: deliver it
    // without another clock read (the closed-fd check waits for the next
    // call; it is periodic anyway).
    if (!ready_.empty() && timers_.empty()) break;
    now = now_ns();
  }
  if (submit_when_idle_) submit_queued_changes();  // re-queued level watches
  return drain(out, capacity);
}

int Manager::pollable_fd() noexcept {
  LockGuard lock(mu_);
  if (!submit_when_idle_) {
    submit_when_idle_ = true;
    submit_queued_changes();
  }
  return pollable_fd_;
}

int Manager::wakeup() noexcept {
  wake_.request_return();
  return kick();
}

int Manager::after_fork() noexcept {
  // See Note [Fork]. Re-initialising the mutex is the only way out of a
  // lock held by a thread that no longer exists.
  mu_.reset_after_fork();
  LockGuard lock(mu_);
  polling_ = false;
  wake_.reset();
  if (const int err = with_backend([](auto& b) { return b.after_fork(); })) return err;
  pollable_fd_ = with_backend([](auto& b) { return b.pollable_fd(); });
  for (std::size_t fd = 0; fd < fds_.size(); ++fd) {
    FdSlot& slot = fds_[fd];
    FdWatches::forget_kernel(slot.watch);
    if (slot.waiters.empty() || slot.watch.always_ready) continue;
    // Closed, or closed and its number reused, before the fork: kClosed
    // (Note [Closed fds]).
    const int ifd = static_cast<int>(fd);
    tell_unwatchable(ifd, slot, sync_watch(ifd, slot, wanted_watch(slot), Resync::kAlways));
  }
  return 0;
}

// ---- introspection -------------------------------------------------------------

std::int64_t Manager::next_deadline() noexcept {
  LockGuard lock(mu_);
  if (!ready_.empty() || watches_.any_always_ready()) return now_ns();
  return earliest_deadline().value_or(-1);
}

std::size_t Manager::pending() noexcept {
  LockGuard lock(mu_);
  return pool_.live();
}

void Manager::visit_tokens(void (*visit)(void* ctx, std::uintptr_t* token), void* ctx) noexcept {
  LockGuard lock(mu_);
  pool_.for_each_live([&](Registration& node) { visit(ctx, &node.token); });
}

int Manager::fd_of(Key key) noexcept {
  LockGuard lock(mu_);
  const Registration* node = pool_.find(key);
  return node != nullptr && node->kind == Registration::Kind::kFd ? node->fd : -1;
}

void Manager::set_closed_fd_check_interval(std::int64_t interval_ns) noexcept {
  LockGuard lock(mu_);
  closed_fds_.set_interval(interval_ns, now_ns());
}

int Manager::check_closed_fds() noexcept {
  LockGuard lock(mu_);
  if (fd_registrations_ == 0) return 0;
  const int err = sweep_closed_fds();
  // A poll blocked in another thread must deliver what the sweep queued.
  if (polling_ && !ready_.empty()) (void)kick();
  return err;
}

Manager::Stats Manager::stats() noexcept {
  LockGuard lock(mu_);
  return stats_;
}

}  // namespace evmgr
