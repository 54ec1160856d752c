// SPDX-License-Identifier: BSD-3-Clause
//
// The evmgr manager.
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
// Note [One-shot arming]
// ~~~~~~~~~~~~~~~~~~~~~~
// A one-shot registration (the RTS's threadWaitRead) is armed one-shot in
// the kernel (EPOLLONESHOT, EV_ONESHOT): the kernel reports a readiness once
// and disarms the fd, so nothing fires again for a thread that has not
// waited again. The next registration re-arms it with one epoll_ctl(MOD),
// which also tells us if the fd's file changed underneath (Note [Closed
// fds]). An fd whose waiters are all persistent is armed level-triggered and
// costs no syscall per event.
//
// Note [Closed fds]
// ~~~~~~~~~~~~~~~~~
// epoll and kqueue drop the watch of a file that is closed, silently: a
// thread waiting on it would wait forever, where select() would have said
// EBADF (and the RTS raised an IOError in the thread, GHC #4934). We catch
// it three ways:
//   - When an fd is armed again and epoll says ENOENT for a watch we never
//     removed, its file was closed and the number reused: the old waiters
//     get kClosed.
//   - Back-ends that cannot tell (poll, kqueue), and fds epoll refuses
//     (regular files), record the file's (device, inode) when the fd gains
//     its first waiter; a later registration on the same number compares,
//     and on a mismatch the old waiters get kClosed instead of the new
//     file's readiness.
//   - Every closed_fd_check_ns_ (250 ms by default) a poll that has fd
//     waiters checks every waited-on fd with one zero-timeout poll(2) per
//     batch; POLLNVAL means closed, and its waiters get kClosed. Blocking waits are cut to that
//     period while fd waiters exist, so the check runs even when idle.
// poll(2) reports POLLNVAL, but only when it is entered: an fd closed
// while a poll() is blocked goes unnoticed until the next call, so the
// periodic check (and the cap on the wait) applies to every back-end. A
// registration that arrives while a poll waits longer than the next check
// kicks it, so the first fd registered into an idle manager is covered too.
//
// Note [Stale keys]
// ~~~~~~~~~~~~~~~~~
// A key is (generation, slot). Releasing a node bumps its generation, so a
// key that outlived its registration (unregistered twice, fired one-shot,
// fd closed and reused) finds a live node with another generation and gets
// ENOENT: it can never reach the registration that reused the slot.
//
// Note [Wake-ups]
// ~~~~~~~~~~~~~~~
// Two reasons interrupt a blocked wait: the user's wakeup(), after which
// poll() returns, and the manager's own kick (a new earliest timer, or a
// change the poll back-end's snapshot cannot see), after which poll()
// recomputes its wait and carries on. wake_requested_ records the first;
// channel_pending_ makes a burst of either cost one write to the back-end's
// channel. poll() clears channel_pending_ after draining the channel and
// only then reads wake_requested_, so a wakeup() is either seen by that read
// or finds the flag clear and writes the channel again: never lost.
//
// That argument needs the clear to be a read-modify-write (an exchange),
// not a store. Each side writes one flag and then reads the other:
// wakeup() stores wake_requested_ and exchanges channel_pending_, poll()
// clears channel_pending_ and loads wake_requested_. With a release store
// for the clear, poll()'s load may take effect before its store is visible
// to other threads (x86's store buffer does exactly this; the C++ model
// allows it too), so wakeup() can read the stale `true` and skip the write
// while poll() reads the stale `false` and blocks again with the request
// unseen. Two exchanges on channel_pending_ are ordered: if wakeup()'s is
// first, poll()'s reads the `true` it wrote and synchronizes with it, so
// the load sees wake_requested_; if poll()'s is first, wakeup()'s reads
// `false` and writes the channel. (core_wakeup_stress loses a wake-up
// within seconds with the store.)
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
// Note [Fork]
// ~~~~~~~~~~~
// After fork() the child shares the parent's epoll/kqueue object and wake
// channel: a registration in one would fire in the other. after_fork() gives
// the child its own and re-arms every waiter from the fd table, which is
// plain memory the child inherited. The mutex is re-created because the
// thread that may have held it at fork time does not exist in the child.
#include "evmgr/manager.hpp"

#include <poll.h>
#include <sys/stat.h>

#include <cerrno>
#include <new>
#include <type_traits>

#include "evmgr/clock.hpp"

namespace evmgr {

namespace {

bool kind_compiled_in(BackendKind kind) noexcept {
  switch (kind) {
    case BackendKind::kPoll:
      return true;
    case BackendKind::kEpoll:
      return EVMGR_HAVE_EPOLL != 0;
    case BackendKind::kKqueue:
      return EVMGR_HAVE_KQUEUE != 0;
    case BackendKind::kAuto:
      return true;
  }
  return false;
}

BackendKind resolve_auto() noexcept {
  if (EVMGR_HAVE_EPOLL) return BackendKind::kEpoll;
  if (EVMGR_HAVE_KQUEUE) return BackendKind::kKqueue;
  return BackendKind::kPoll;
}

bool file_identity(int fd, FileIdentity* out) noexcept {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  out->device = st.st_dev;
  out->inode = st.st_ino;
  return true;
}

}  // namespace

bool Manager::available(BackendKind kind) noexcept { return kind_compiled_in(kind); }

int Manager::create(BackendKind kind, std::unique_ptr<Manager>* out) noexcept {
  const int as_int = static_cast<int>(kind);
  if (as_int < 0 || as_int > static_cast<int>(BackendKind::kPoll)) return EINVAL;
  if (!kind_compiled_in(kind)) return ENOSYS;
  if (kind == BackendKind::kAuto) kind = resolve_auto();

  std::unique_ptr<Manager> mgr(new (std::nothrow) Manager());
  if (!mgr) return ENOMEM;
  mgr->kind_ = kind;
  switch (kind) {
#if EVMGR_HAVE_EPOLL
    case BackendKind::kEpoll:
      mgr->backend_.emplace<EpollBackend>();
      break;
#endif
#if EVMGR_HAVE_KQUEUE
    case BackendKind::kKqueue:
      mgr->backend_.emplace<KqueueBackend>();
      break;
#endif
    default:
      break;  // kPoll: the variant's default alternative
  }
  if (const int err = mgr->with_backend([](auto& b) { return b.open(); })) return err;
  mgr->with_backend([&](auto& b) {
    using B = std::decay_t<decltype(b)>;
    mgr->wait_sees_changes_live_ = B::kWaitSeesChangesLive;
    mgr->detects_replaced_files_ = B::kDetectsReplacedFiles;
    mgr->pollable_fd_ = b.pollable_fd();
  });
  mgr->next_closed_fd_check_ = deadline_after(now_ns(), mgr->closed_fd_check_ns_);
  *out = std::move(mgr);
  return 0;
}

Manager::~Manager() {
  // Unlink everything before the pool's nodes go away.
  ready_.clear();
  for (std::size_t fd = 0; fd < fds_.size(); ++fd) fds_[fd].waiters.clear();
}

// ---- internal helpers (mu_ held) -------------------------------------------

void Manager::note_change_for_poller() noexcept {
  if (polling_ && !wait_sees_changes_live_) (void)kick();
}

int Manager::kick() noexcept {
  if (channel_pending_.exchange(true, std::memory_order_acq_rel)) return 0;
  return with_backend([](auto& b) { return b.wakeup(); });
}

void Manager::queue(Registration& node, Events events) noexcept {
  node.fired = static_cast<std::uint8_t>(node.fired | events);
  if (!node.ready_hook.is_linked()) ready_.push_back(node);
}

void Manager::release(Registration& node) noexcept {
  if (node.ready_hook.is_linked()) ready_.erase(ready_.iterator_to(node));
  if (node.kind == Registration::Kind::kFd) --fd_registrations_;
  pool_.release(&node);
}

void Manager::unlink_waiter(Registration& node) noexcept {
  FdSlot* slot = fds_.find(node.fd);
  slot->waiters.erase(slot->waiters.iterator_to(node));
}

int Manager::sync_kernel(int fd, FdSlot& slot, Events extra_interest, bool extra_one_shot,
                         bool force, bool* replaced) noexcept {
  bool ignored = false;
  if (replaced == nullptr) replaced = &ignored;
  WantedInterest wanted = wanted_interest(slot);
  wanted.events |= extra_interest;
  wanted.any_one_shot |= extra_one_shot;
  if (wanted.events == 0) {
    // Nobody waits. A level-triggered watch would fire on every poll, so
    // drop it; a one-shot watch fires at most once more and is ignored.
    if (slot.known && slot.armed != 0 && !slot.one_shot) {
      with_backend([&](auto& b) { b.disarm(fd); });
      slot.known = false;
      slot.armed = 0;
      note_change_for_poller();
    }
    return 0;
  }
  const ArmMode mode = wanted.any_one_shot ? ArmMode::kOneShot : ArmMode::kLevel;
  if (!force && wanted.events == slot.armed && wanted.any_one_shot == slot.one_shot) return 0;
  if (++last_tag_ == 0) last_tag_ = 1;  // tags are never 0
  const WatchTag tag = last_tag_;
  const int err = with_backend(
      [&](auto& b) { return b.arm(fd, wanted.events, mode, slot.known, tag, replaced); });
  if (err != 0) return err;
  slot.tag = tag;
  slot.known = true;
  slot.armed = wanted.events;
  slot.one_shot = wanted.any_one_shot;
  note_change_for_poller();
  return 0;
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
  if (slot.known) with_backend([&](auto& b) { b.disarm(fd); });
  slot.known = false;
  slot.armed = 0;
  slot.one_shot = false;
  slot.always_ready = false;
}

void Manager::resync_after_event(int fd, FdSlot& slot) noexcept {
  const int err = sync_kernel(fd, slot, 0, false, false, nullptr);
  if (err == 0) return;
  // The remaining waiters cannot be watched any more. Tell them rather than
  // leave them waiting forever: EBADF means the fd is gone; anything else
  // (ENOMEM, ENOSPC) is reported as an error event, after which the caller
  // may register again.
  close_slot(fd, slot, err == EBADF ? (kClosed | kError) : (kError | kRead | kWrite));
}

void Manager::on_ready(void* self, int fd, Events events, WatchTag tag) noexcept {
  static_cast<Manager*>(self)->fd_ready(fd, events, tag);
}

void Manager::fd_ready(int fd, Events events, WatchTag tag) noexcept {
  FdSlot* slot = fds_.find(fd);
  if (slot == nullptr) return;
  // An event from a watch we no longer own (see WatchTag): not this fd's.
  if (tag != 0 && tag != slot->tag) return;
  if (slot->one_shot) slot->armed = 0;  // the kernel disarmed it on delivery
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
  resync_after_event(fd, *slot);
}

void Manager::expire_timers(std::int64_t now) noexcept {
  timers_.pop_expired(now, [this](Registration* timer) { queue(*timer, kTimeout); });
}

void Manager::queue_always_ready() noexcept {
  for (std::size_t i = 0; i < always_ready_fds_.size();) {
    const int fd = always_ready_fds_[i];
    FdSlot& slot = fds_[static_cast<std::size_t>(fd)];
    if (!slot.always_ready || slot.waiters.empty()) {
      slot.always_ready = false;
      always_ready_fds_[i] = always_ready_fds_.back();
      always_ready_fds_.pop_back();
      continue;
    }
    for (Registration& waiter : slot.waiters) queue(waiter, waiter.interest);
    ++i;
  }
}

void Manager::check_closed_fds() noexcept {
  // One poll(2) with a zero timeout per batch of waited-on fds: a closed fd
  // comes back POLLNVAL (whatever the events asked), and 10,000 fds cost 40
  // syscalls rather than 10,000 fcntl calls.
  constexpr int kBatch = 256;
  struct pollfd batch[kBatch];
  int count = 0;
  const auto flush = [&] {
    // EINTR or ENOMEM: skip this round; the next check comes soon enough.
    if (count > 0 && ::poll(batch, static_cast<nfds_t>(count), 0) > 0) {
      for (int i = 0; i < count; ++i) {
        if (batch[i].revents & POLLNVAL) close_slot(batch[i].fd, fds_[static_cast<std::size_t>(batch[i].fd)], kClosed | kError);
      }
    }
    count = 0;
  };
  for (std::size_t fd = 0; fd < fds_.size(); ++fd) {
    if (fds_[fd].waiters.empty()) continue;
    batch[count++] = pollfd{static_cast<int>(fd), 0, 0};
    if (count == kBatch) flush();
  }
  flush();
}

std::int64_t Manager::wait_budget(std::int64_t now, std::int64_t limit, bool woken) const noexcept {
  if (woken || !always_ready_fds_.empty()) return 0;
  std::int64_t until = limit;
  if (!timers_.empty() && timers_.top_deadline() < until) until = timers_.top_deadline();
  if (closed_fd_check_ns_ > 0 && fd_registrations_ > 0 && next_closed_fd_check_ < until) {
    until = next_closed_fd_check_;
  }
  if (until == INT64_MAX) return -1;
  return until > now ? until - now : 0;
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

// ---- fd registrations --------------------------------------------------------

int Manager::register_fd(int fd, Events interest, bool persistent, std::uintptr_t token,
                         Key* key) noexcept {
  if (fd < 0) return EBADF;
  if (interest == 0 || (interest & ~kInterestMask) != 0) return EINVAL;
  std::lock_guard<std::mutex> lock(mu_);
  FdSlot* slot;
  try {
    slot = &fds_.get(fd);
    // Room for one more always-ready fd, grown geometrically (reserve(n)
    // alone would reallocate on every push).
    if (always_ready_fds_.size() == always_ready_fds_.capacity()) {
      always_ready_fds_.reserve(always_ready_fds_.empty() ? 8 : 2 * always_ready_fds_.capacity());
    }
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
  Registration* node = pool_.allocate();
  if (node == nullptr) return ENOMEM;
  node->kind = Registration::Kind::kFd;
  node->fd = fd;
  node->token = token;
  node->interest = static_cast<std::uint8_t>(interest);
  node->persistent = persistent;
  ++fd_registrations_;

  // A second waiter on a number whose file we cannot track through the
  // kernel: make sure it is still the same file (Note [Closed fds]).
  if (!slot->waiters.empty() && slot->has_identity) {
    FileIdentity current;
    if (!file_identity(fd, &current)) {
      release(*node);
      return EBADF;
    }
    if (!(current == slot->identity)) {
      fail_waiters(*slot, kClosed | kError);
      slot->always_ready = false;
      slot->has_identity = false;
    }
  }

  // Always ask the kernel, even if the fd looks armed already: that is how
  // epoll tells us that its file was replaced (Note [Closed fds]).
  bool replaced = false;
  const int err = sync_kernel(fd, *slot, interest, !persistent, true, &replaced);
  if (replaced) fail_waiters(*slot, kClosed | kError);  // waited on a closed file
  if (err != 0 && err != EPERM) {
    release(*node);
    return err;
  }
  if (slot->waiters.empty() && (!detects_replaced_files_ || err == EPERM)) {
    slot->has_identity = file_identity(fd, &slot->identity);
  }
  if (polling_ && closed_fd_check_ns_ > 0 && next_closed_fd_check_ < wait_until_) {
    (void)kick();  // the blocked wait must end in time for the check
  }
  if (err == EPERM) {
    // The back-end cannot watch this fd (epoll and a regular file): it is
    // always ready, as select() and poll() would say.
    if (persistent) {
      slot->waiters.push_back(*node);
      if (!slot->always_ready) {
        slot->always_ready = true;
        always_ready_fds_.push_back(fd);  // capacity reserved above
      }
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
  std::lock_guard<std::mutex> lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kFd || !node->hook.is_linked()) {
    return ENOENT;
  }
  FdSlot& slot = *fds_.find(node->fd);
  const std::uint8_t old_interest = node->interest;
  node->interest = static_cast<std::uint8_t>(interest);
  if (slot.always_ready) return 0;
  const int err = sync_kernel(node->fd, slot, 0, false, false, nullptr);
  if (err != 0) node->interest = old_interest;
  return err;
}

int Manager::unregister_fd(Key key) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kFd) return ENOENT;
  const int fd = node->fd;
  const bool was_waiting = node->hook.is_linked();
  if (was_waiting) unlink_waiter(*node);
  release(*node);
  if (was_waiting) {
    FdSlot& slot = *fds_.find(fd);
    if (!slot.always_ready) {
      // Narrowing the interest can only fail if the fd is gone, and then
      // the kernel has already forgotten it: nothing left to undo.
      if (sync_kernel(fd, slot, 0, false, false, nullptr) == EBADF) {
        close_slot(fd, slot, kClosed | kError);
      }
    }
  }
  return 0;
}

// ---- timers --------------------------------------------------------------------

int Manager::add_timer_at(std::int64_t deadline_ns, std::uintptr_t token, Key* key) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    timers_.reserve_one_more();
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
  Registration* node = pool_.allocate();
  if (node == nullptr) return ENOMEM;
  node->kind = Registration::Kind::kTimer;
  node->token = token;
  if (timers_.push(node, deadline_ns) && polling_) (void)kick();
  *key = node->key();
  return 0;
}

int Manager::update_timer_at(Key key, std::int64_t deadline_ns) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kTimer) return ENOENT;
  bool earliest;
  if (node->heap_index != Registration::kNotInHeap) {
    earliest = timers_.update(node, deadline_ns);
  } else {
    // It fired and its event waits in the ready queue: take the event back
    // and set the timer again.
    try {
      timers_.reserve_one_more();
    } catch (const std::bad_alloc&) {
      return ENOMEM;
    }
    ready_.erase(ready_.iterator_to(*node));
    node->fired = 0;
    earliest = timers_.push(node, deadline_ns);
  }
  if (earliest && polling_) (void)kick();
  return 0;
}

int Manager::cancel_timer(Key key) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  Registration* node = pool_.find(key);
  if (node == nullptr || node->kind != Registration::Kind::kTimer) return ENOENT;
  if (node->heap_index != Registration::kNotInHeap) timers_.erase(node);
  release(*node);
  return 0;
}

// ---- waiting -------------------------------------------------------------------

int Manager::poll(std::int64_t timeout_ns, ReadyEvent* out, std::size_t capacity) noexcept {
  if (out == nullptr || capacity == 0) return -EINVAL;
  std::unique_lock<std::mutex> lock(mu_);
  if (polling_) return -EBUSY;
  // The precise clock only when a deadline depends on it (Note [Clock
  // reads]); the flag is read before it is exchanged, as a wake-up is rare.
  std::int64_t now = (timeout_ns > 0 || !timers_.empty()) ? now_ns() : now_coarse_ns();
  const std::int64_t limit = timeout_ns < 0 ? INT64_MAX : deadline_after(now, timeout_ns);
  bool woken = take_wake_request();
  bool looked = false;
  for (;;) {
    expire_timers(now);
    queue_always_ready();
    if (closed_fd_check_ns_ > 0 && now >= next_closed_fd_check_) {
      if (fd_registrations_ > 0) check_closed_fds();
      next_closed_fd_check_ = deadline_after(now, closed_fd_check_ns_);
    }
    if (!ready_.empty()) break;
    if (looked && (woken || now >= limit)) break;

    const std::int64_t budget = wait_budget(now, limit, woken);
    wait_until_ = budget < 0 ? INT64_MAX : deadline_after(now, budget);
    with_backend([](auto& b) { b.prepare_wait(); });
    polling_ = true;
    lock.unlock();
    const int got = with_backend([&](auto& b) { return b.wait(budget); });
    lock.lock();
    polling_ = false;
    looked = true;
    if (got < 0) {
      if (got != -EINTR) return got;
      // A signal: return so the caller can run its handlers, unless
      // something became ready meanwhile (then deliver it; nothing is lost
      // either way, the kernel keeps fd readiness for the next wait).
      expire_timers(now_ns());
      if (ready_.empty()) return -EINTR;
      break;
    }
    const bool channel_fired =
        with_backend([this](auto& b) { return b.dispatch(ReadyCallback{this, &Manager::on_ready}); });
    // An exchange, not a store: see Note [Wake-ups].
    if (channel_fired) (void)channel_pending_.exchange(false, std::memory_order_acq_rel);
    if (take_wake_request()) woken = true;
    // Fresh readiness and no timer that could be due as well: deliver it
    // without another clock read (the closed-fd check waits for the next
    // call; it is periodic anyway).
    if (!ready_.empty() && timers_.empty()) break;
    now = now_ns();
  }
  return drain(out, capacity);
}

bool Manager::take_wake_request() noexcept {
  return wake_requested_.load(std::memory_order_acquire) &&
         wake_requested_.exchange(false, std::memory_order_acq_rel);
}

int Manager::wakeup() noexcept {
  wake_requested_.store(true, std::memory_order_release);
  return kick();
}

int Manager::after_fork() noexcept {
  // See Note [Fork]. Re-creating the mutex in place is the only way out of a
  // lock held by a thread that no longer exists.
  new (&mu_) std::mutex();
  std::lock_guard<std::mutex> lock(mu_);
  polling_ = false;
  wake_requested_.store(false);
  channel_pending_.store(false);
  if (const int err = with_backend([](auto& b) { return b.reopen_after_fork(); })) return err;
  pollable_fd_ = with_backend([](auto& b) { return b.pollable_fd(); });
  for (std::size_t fd = 0; fd < fds_.size(); ++fd) {
    FdSlot& slot = fds_[fd];
    slot.known = false;
    slot.armed = 0;
    slot.one_shot = false;
    if (slot.waiters.empty() || slot.always_ready) continue;
    const int err = sync_kernel(static_cast<int>(fd), slot, 0, false, true, nullptr);
    if (err != 0) close_slot(static_cast<int>(fd), slot, err == EBADF ? (kClosed | kError) : (kError | kRead | kWrite));
  }
  return 0;
}

// ---- introspection -------------------------------------------------------------

std::int64_t Manager::next_deadline() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ready_.empty() || !always_ready_fds_.empty()) return now_ns();
  std::int64_t next = timers_.empty() ? -1 : timers_.top_deadline();
  if (closed_fd_check_ns_ > 0 && fd_registrations_ > 0 &&
      (next < 0 || next_closed_fd_check_ < next)) {
    next = next_closed_fd_check_;
  }
  return next;
}

std::size_t Manager::pending() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return pool_.live();
}

void Manager::visit_tokens(void (*visit)(void* ctx, std::uintptr_t* token), void* ctx) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  pool_.for_each_live([&](Registration& node) { visit(ctx, &node.token); });
}

int Manager::fd_of(Key key) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  const Registration* node = pool_.find(key);
  return node != nullptr && node->kind == Registration::Kind::kFd ? node->fd : -1;
}

void Manager::set_closed_fd_check_interval(std::int64_t interval_ns) noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  closed_fd_check_ns_ = interval_ns < 0 ? 0 : interval_ns;
  next_closed_fd_check_ = deadline_after(now_ns(), closed_fd_check_ns_);
}

}  // namespace evmgr
