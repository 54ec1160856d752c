// SPDX-License-Identifier: BSD-3-Clause
//
// The fd table: one slot per fd number, in an array indexed by fd that grows
// geometrically (like libuv's watcher array), so finding an fd's waiters is
// one index. Each slot holds its waiters in an intrusive list, so adding or
// removing a waiter is O(1) and allocates nothing. The manager's mutex guards
// the whole table.
#pragma once

#include <boost/intrusive/list.hpp>

#include <cstddef>

#include "evmgr/closed_fd_check.hpp"
#include "evmgr/fd_watch.hpp"
#include "evmgr/memory.hpp"
#include "evmgr/registration.hpp"

namespace evmgr {

using WaiterList = boost::intrusive::list<
    Registration,
    boost::intrusive::member_hook<Registration, WaiterHook, &Registration::hook>,
    boost::intrusive::constant_time_size<false>>;

// Everything the manager keeps per fd number: each part belongs to one unit.
struct FdSlot {
  WaiterList waiters;  // the manager's: registrations waiting on this fd
  FdWatch watch;       // fd_watch.hpp: the kernel's watch of the fd
  RecordedFile file;   // closed_fd_check.hpp: the file its waiters are on
};
// One slot per fd number up to the highest registered, whether or not it
// has waiters: a sparse table of 10,000 numbers stays under half a MiB.
static_assert(sizeof(FdSlot) <= 48, "an fd slot must stay within 48 bytes");

class FdTable {
 public:
  // The slot of fd, or nullptr when fd was never seen.
  FdSlot* find(int fd) noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < slots_.size() ? &slots_[fd] : nullptr;
  }

  // The slot of fd (>= 0), growing the table to hold it; nullptr when
  // memory is exhausted.
  FdSlot* get(int fd) noexcept;

  std::size_t size() const noexcept { return slots_.size(); }
  FdSlot& operator[](std::size_t fd) noexcept { return slots_[fd]; }

 private:
  GrowableArray<FdSlot> slots_;
};

// What the slot's waiters want from the kernel (fd_watch.hpp).
inline WantedWatch wanted_watch(const FdSlot& slot) noexcept {
  WantedWatch wanted;
  for (const Registration& waiter : slot.waiters) wanted.add(waiter.interest, waiter.persistent);
  return wanted;
}

}  // namespace evmgr
