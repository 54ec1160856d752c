// SPDX-License-Identifier: BSD-3-Clause
// kqueue back-end (FreeBSD, macOS, other BSDs): Backend<KqueueState>,
// defined in src/kqueue_backend.cpp (the contract is in backend.hpp). On
// Linux it is compiled only against the kevent emulation in tests/kqueue_emu,
// so that its conformance suite runs in CI.
#pragma once

#include <sys/types.h>
#include <sys/event.h>

#include "evmgr/backend.hpp"
#include "evmgr/kernel_watches.hpp"

namespace evmgr {

struct KqueueState {
  // kevent() changes from another thread reach a blocked kevent() wait.
  static constexpr bool kWaitSeesChangesLive = true;
  // kqueue drops a closed file's filters silently and says nothing when the
  // number is armed again: the manager compares identities itself.
  static constexpr bool kDetectsReplacedFiles = false;

  int kqueue_fd = -1;
  int ready_count = 0;    // entries of `ready` the last wait filled
  KernelWatches filters;  // fds that may have filters: delete them first
  struct kevent ready[kMaxEventsPerWait];
};

using KqueueBackend = Backend<KqueueState>;

}  // namespace evmgr
