// SPDX-License-Identifier: BSD-3-Clause
//
// The C ABI: a thin layer that turns handles into evmgr::Manager calls.
// Every Manager member is noexcept and reports errors as errno values, so
// nothing here can throw. An evmgr_manager is never defined: a handle is
// the Manager itself (from Manager::create, malloc'ed), seen through an
// opaque type.
#include "evmgr.h"

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "evmgr/clock.hpp"
#include "evmgr/manager.hpp"

namespace {

evmgr::Manager* impl(evmgr_manager* handle) { return reinterpret_cast<evmgr::Manager*>(handle); }
const evmgr::Manager* impl(const evmgr_manager* handle) {
  return reinterpret_cast<const evmgr::Manager*>(handle);
}

using evmgr::BackendKind;

static_assert(EVMGR_READ == evmgr::kRead && EVMGR_WRITE == evmgr::kWrite &&
                  EVMGR_ERROR == evmgr::kError && EVMGR_CLOSED == evmgr::kClosed &&
                  EVMGR_TIMEOUT == evmgr::kTimeout,
              "C ABI event bits must match the core's");
static_assert(static_cast<int>(EVMGR_BACKEND_AUTO) == static_cast<int>(BackendKind::kAuto) &&
                  static_cast<int>(EVMGR_BACKEND_EPOLL) == static_cast<int>(BackendKind::kEpoll) &&
                  static_cast<int>(EVMGR_BACKEND_KQUEUE) == static_cast<int>(BackendKind::kKqueue) &&
                  static_cast<int>(EVMGR_BACKEND_POLL) == static_cast<int>(BackendKind::kPoll) &&
                  static_cast<int>(EVMGR_BACKEND_IO_URING) == static_cast<int>(BackendKind::kIoUring),
              "C ABI back-end numbers must match the core's");
// evmgr_poll hands the caller's array to the core as ReadyEvent[].
static_assert(sizeof(evmgr_event) == sizeof(evmgr::ReadyEvent) &&
                  offsetof(evmgr_event, token) == offsetof(evmgr::ReadyEvent, token) &&
                  offsetof(evmgr_event, key) == offsetof(evmgr::ReadyEvent, key) &&
                  offsetof(evmgr_event, fd) == offsetof(evmgr::ReadyEvent, fd) &&
                  offsetof(evmgr_event, events) == offsetof(evmgr::ReadyEvent, events),
              "evmgr_event must have ReadyEvent's layout");

struct BackendName {
  evmgr_backend backend;
  const char* name;
};
constexpr BackendName kBackendNames[] = {
    {EVMGR_BACKEND_AUTO, "auto"},
    {EVMGR_BACKEND_EPOLL, "epoll"},
    {EVMGR_BACKEND_KQUEUE, "kqueue"},
    {EVMGR_BACKEND_POLL, "poll"},
    {EVMGR_BACKEND_IO_URING, "io_uring"},
};

}  // namespace

extern "C" {

int evmgr_new(evmgr_backend backend, evmgr_manager** out) { return evmgr_new_with(backend, 0, out); }

int evmgr_new_with(evmgr_backend backend, uint32_t flags, evmgr_manager** out) {
  if (out == nullptr) return EINVAL;
  *out = nullptr;
  if ((flags & ~static_cast<uint32_t>(EVMGR_SINGLE_THREADED)) != 0) return EINVAL;
  const bool locked = (flags & EVMGR_SINGLE_THREADED) == 0;
  evmgr::Manager* mgr = nullptr;
  if (const int err = evmgr::Manager::create(static_cast<BackendKind>(backend), &mgr, locked)) {
    return err;
  }
  *out = reinterpret_cast<evmgr_manager*>(mgr);
  return 0;
}

void evmgr_free(evmgr_manager* mgr) { evmgr::Manager::destroy(impl(mgr)); }

evmgr_backend evmgr_backend_of(const evmgr_manager* mgr) {
  return static_cast<evmgr_backend>(impl(mgr)->backend_kind());
}

const char* evmgr_backend_name(evmgr_backend backend) {
  for (const BackendName& entry : kBackendNames) {
    if (entry.backend == backend) return entry.name;
  }
  return nullptr;
}

int evmgr_backend_parse(const char* name, evmgr_backend* out) {
  if (name == nullptr || out == nullptr) return EINVAL;
  for (const BackendName& entry : kBackendNames) {
    if (std::strcmp(entry.name, name) == 0) {
      *out = entry.backend;
      return 0;
    }
  }
  return EINVAL;
}

int evmgr_backend_available(evmgr_backend backend) {
  const int as_int = static_cast<int>(backend);
  if (as_int < EVMGR_BACKEND_AUTO || as_int > EVMGR_BACKEND_IO_URING) return 0;
  return evmgr::Manager::available(static_cast<BackendKind>(backend)) ? 1 : 0;
}

int evmgr_backend_refusal(evmgr_backend backend) {
  const int as_int = static_cast<int>(backend);
  if (as_int < EVMGR_BACKEND_AUTO || as_int > EVMGR_BACKEND_IO_URING) return EINVAL;
  const auto kind = static_cast<BackendKind>(backend);
  // Not ENOSYS, which is the kernel's word for a kernel without io_uring.
  if (!evmgr::backend_compiled_in(kind)) return EOPNOTSUPP;
  return evmgr::backend_refusal(kind);
}

evmgr_backend evmgr_backend_resolve(evmgr_backend backend) {
  return static_cast<evmgr_backend>(evmgr::Manager::resolve(static_cast<BackendKind>(backend)));
}

int evmgr_after_fork(evmgr_manager* mgr) { return impl(mgr)->after_fork(); }

int evmgr_fd_register(evmgr_manager* mgr, int fd, uint32_t events, uint32_t flags,
                      uintptr_t token, evmgr_key* out_key) {
  if (out_key == nullptr || (flags & ~static_cast<uint32_t>(EVMGR_PERSISTENT)) != 0) return EINVAL;
  return impl(mgr)->register_fd(fd, events, (flags & EVMGR_PERSISTENT) != 0, token, out_key);
}

int evmgr_fd_modify(evmgr_manager* mgr, evmgr_key key, uint32_t events) {
  return impl(mgr)->modify_fd(key, events);
}

int evmgr_fd_unregister(evmgr_manager* mgr, evmgr_key key) { return impl(mgr)->unregister_fd(key); }

int evmgr_timer_add(evmgr_manager* mgr, int64_t timeout_ns, uintptr_t token, evmgr_key* out_key) {
  if (out_key == nullptr) return EINVAL;
  return impl(mgr)->add_timer_at(evmgr::deadline_after(evmgr::now_ns(), timeout_ns), token,
                                 out_key);
}

int evmgr_timer_add_at(evmgr_manager* mgr, int64_t deadline_ns, uintptr_t token,
                       evmgr_key* out_key) {
  if (out_key == nullptr) return EINVAL;
  return impl(mgr)->add_timer_at(deadline_ns, token, out_key);
}

int evmgr_timer_update(evmgr_manager* mgr, evmgr_key key, int64_t timeout_ns) {
  return impl(mgr)->update_timer_at(key, evmgr::deadline_after(evmgr::now_ns(), timeout_ns));
}

int evmgr_timer_cancel(evmgr_manager* mgr, evmgr_key key) { return impl(mgr)->cancel_timer(key); }

int64_t evmgr_now_ns(void) { return evmgr::now_ns(); }

int64_t evmgr_ns_from_us(int64_t us) {
  if (us <= 0) return 0;
  if (us > INT64_MAX / 1000) return INT64_MAX;
  return us * 1000;
}

int evmgr_poll(evmgr_manager* mgr, int64_t timeout_ns, evmgr_event* out, size_t capacity) {
  return impl(mgr)->poll(timeout_ns, reinterpret_cast<evmgr::ReadyEvent*>(out), capacity);
}

int evmgr_wakeup(evmgr_manager* mgr) { return impl(mgr)->wakeup(); }

// const in the C ABI, but asking switches a back-end that queues changes
// (io_uring) to sending them at once (Manager::pollable_fd).
int evmgr_pollable_fd(const evmgr_manager* mgr) {
  return impl(const_cast<evmgr_manager*>(mgr))->pollable_fd();
}

int64_t evmgr_next_deadline_ns(evmgr_manager* mgr) { return impl(mgr)->next_deadline(); }

size_t evmgr_pending_count(evmgr_manager* mgr) { return impl(mgr)->pending(); }

void evmgr_visit_tokens(evmgr_manager* mgr, void (*visit)(void* ctx, uintptr_t* token),
                        void* ctx) {
  if (visit != nullptr) impl(mgr)->visit_tokens(visit, ctx);
}

int evmgr_key_fd(evmgr_manager* mgr, evmgr_key key) { return impl(mgr)->fd_of(key); }

void evmgr_set_closed_fd_check_interval(evmgr_manager* mgr, int64_t interval_ns) {
  impl(mgr)->set_closed_fd_check_interval(interval_ns);
}

int evmgr_check_closed_fds(evmgr_manager* mgr) { return impl(mgr)->check_closed_fds(); }

}  // extern "C"
