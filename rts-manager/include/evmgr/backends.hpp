// SPDX-License-Identifier: BSD-3-Clause
//
// The back-ends this build has, as one type the manager holds: a
// std::variant of them. evmgr/config.hpp decides which exist; this is the
// only place that lists them, so the manager's logic has no #if.
#pragma once

#include <variant>

#include "evmgr/backend.hpp"
#include "evmgr/config.hpp"
#include "evmgr/poll_backend.hpp"
#if EVMGR_HAVE_EPOLL
#include "evmgr/epoll_backend.hpp"
#endif
#if EVMGR_HAVE_KQUEUE
#include "evmgr/kqueue_backend.hpp"
#endif
#if EVMGR_HAVE_IO_URING
#include "evmgr/io_uring_backend.hpp"
#endif

namespace evmgr {

using AnyBackend = std::variant<PollBackend
#if EVMGR_HAVE_EPOLL
                                , EpollBackend
#endif
#if EVMGR_HAVE_KQUEUE
                                , KqueueBackend
#endif
#if EVMGR_HAVE_IO_URING
                                , IoUringBackend
#endif
                                >;

// Every alternative keeps the contract (backend.hpp).
template <class Variant>
struct all_backends;
template <class... B>
struct all_backends<std::variant<B...>> : std::bool_constant<(is_backend<B> && ...)> {};
static_assert(all_backends<AnyBackend>::value, "every back-end must keep the contract in backend.hpp");

// Whether `kind` is compiled into this build (kAuto always is).
constexpr bool backend_compiled_in(BackendKind kind) noexcept {
  switch (kind) {
    case BackendKind::kPoll:
    case BackendKind::kAuto:
      return true;
    case BackendKind::kEpoll:
      return EVMGR_HAVE_EPOLL != 0;
    case BackendKind::kKqueue:
      return EVMGR_HAVE_KQUEUE != 0;
    case BackendKind::kIoUring:
      return EVMGR_HAVE_IO_URING != 0;
  }
  return false;
}

// Whether the kernel lets this process use `kind`: 0, or the errno that
// refuses it (only io_uring can be refused: io_uring_refusal()). Assumes
// backend_compiled_in(kind).
inline int backend_refusal(BackendKind kind) noexcept {
#if EVMGR_HAVE_IO_URING
  if (kind == BackendKind::kIoUring) return io_uring_refusal();
#else
  (void)kind;
#endif
  return 0;
}

// kAuto made concrete: the best mechanism this build has and the kernel
// allows (io_uring is tried once per process; refused, epoll).
inline BackendKind resolve_backend(BackendKind kind) noexcept {
  if (kind != BackendKind::kAuto) return kind;
  if (EVMGR_HAVE_IO_URING && backend_refusal(BackendKind::kIoUring) == 0) {
    return BackendKind::kIoUring;
  }
  if (EVMGR_HAVE_EPOLL) return BackendKind::kEpoll;
  if (EVMGR_HAVE_KQUEUE) return BackendKind::kKqueue;
  return BackendKind::kPoll;
}

// A back-end of `kind` (concrete and compiled in), built in place in the
// caller's variant; check error() on the result.
inline AnyBackend make_backend(BackendKind kind) noexcept {
  switch (kind) {
#if EVMGR_HAVE_EPOLL
    case BackendKind::kEpoll:
      return AnyBackend(std::in_place_type<EpollBackend>);
#endif
#if EVMGR_HAVE_KQUEUE
    case BackendKind::kKqueue:
      return AnyBackend(std::in_place_type<KqueueBackend>);
#endif
#if EVMGR_HAVE_IO_URING
    case BackendKind::kIoUring:
      return AnyBackend(std::in_place_type<IoUringBackend>);
#endif
    default:
      return AnyBackend(std::in_place_type<PollBackend>);
  }
}

}  // namespace evmgr
