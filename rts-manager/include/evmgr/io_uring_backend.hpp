// SPDX-License-Identifier: BSD-3-Clause
// Linux io_uring back-end: Backend<IoUringState>, defined in
// src/io_uring_backend.cpp (the contract is in backend.hpp; the design is
// Note [io_uring requests] there).
//
// Raw system calls on <linux/io_uring.h>, no liburing: the back-end needs
// a handful of operations (POLL_ADD, POLL_REMOVE, READ) on one ring, and a
// programme built with the patched GHC gains no library to link or ship.
//
// Built without exceptions, RTTI or the C++ library's allocating types:
// the per-fd table is malloc-backed (PollTable below).
#pragma once

#include <linux/io_uring.h>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "evmgr/backend.hpp"

namespace evmgr {

// What the back-end asked the kernel for on one fd.
struct PollEntry {
  WatchTag tag = 0;          // the request's tag (its user_data's high half)
  std::uint8_t events = 0;   // POLLIN/POLLOUT of the request (kRead/kWrite)
  std::uint8_t state = 0;    // io_uring_detail::kIdle, kOneShot or kLevel
};

// fd -> PollEntry, grown geometrically with realloc (no C++ library).
class PollTable {
 public:
  PollTable() noexcept = default;
  PollTable(const PollTable&) = delete;
  PollTable& operator=(const PollTable&) = delete;
  ~PollTable();

  PollEntry* find(int fd) noexcept {
    return static_cast<unsigned>(fd) < size_ ? &entries_[fd] : nullptr;
  }
  // fd's entry, grown to hold it: nullptr on ENOMEM (or a negative fd).
  PollEntry* get(int fd) noexcept;
  // A fresh ring holds no request.
  void clear() noexcept;

 private:
  PollEntry* entries_ = nullptr;
  std::size_t size_ = 0;
};

struct IoUringState {
  // Requests queued by another thread sit in the submission ring until the
  // next io_uring_enter: the manager wakes a blocked wait after a change.
  static constexpr bool kWaitSeesChangesLive = false;
  // A poll names the file the fd names when it is submitted, so a reused
  // number is followed silently: the manager records file identities.
  static constexpr bool kDetectsReplacedFiles = false;
  // arm() and disarm() write requests into the submission ring; wait()
  // sends them with the enter that waits (or submit(), for callers that
  // wait on the pollable fd).
  static constexpr bool kQueuesChanges = true;

  int ring_fd = -1;
  int wake_fd = -1;           // eventfd; a READ request on it is the channel
  bool wake_armed = false;    // that READ is queued or in flight
  std::uint64_t wake_count = 0;  // the READ's buffer

  // Submission ring (the kernel's head, tail, flags; our local tail).
  unsigned* sq_khead = nullptr;
  unsigned* sq_ktail = nullptr;
  unsigned* sq_kflags = nullptr;
  unsigned sq_mask = 0;
  unsigned sq_entries = 0;
  unsigned sq_tail = 0;       // next free entry (published at flush/wait)
  io_uring_sqe* sqes = nullptr;
  // Completion ring.
  unsigned* cq_khead = nullptr;
  unsigned* cq_ktail = nullptr;
  unsigned cq_mask = 0;
  io_uring_cqe* cqes = nullptr;

  // The mappings, for munmap (never touched in a forked child).
  void* sq_map = nullptr;
  std::size_t sq_map_size = 0;
  void* cq_map = nullptr;     // == sq_map with IORING_FEAT_SINGLE_MMAP
  std::size_t cq_map_size = 0;
  void* sqe_map = nullptr;
  std::size_t sqe_map_size = 0;
  pid_t mapped_by = 0;        // the process the mappings belong to

  PollTable polls;
};

using IoUringBackend = Backend<IoUringState>;

// Whether this kernel lets a process set up a ring the back-end can use:
// 0, or the errno that refuses it (ENOSYS: no io_uring or too old a
// kernel; EPERM: a seccomp filter or kernel.io_uring_disabled; ...).
// Tried once per process, then remembered. Async-signal-unsafe.
int io_uring_refusal() noexcept;

}  // namespace evmgr
