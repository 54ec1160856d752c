// SPDX-License-Identifier: BSD-3-Clause
//
// The fd table: one slot per fd number, in a vector indexed by fd that grows
// geometrically (like libuv's watcher array), so finding an fd's waiters is
// one index. Each slot holds its waiters in an intrusive list, so adding or
// removing a waiter is O(1) and allocates nothing. The manager's mutex guards
// the whole table.
#pragma once

#include <boost/intrusive/list.hpp>

#include <sys/types.h>

#include <cstddef>
#include <vector>

#include "evmgr/backend.hpp"
#include "evmgr/registration.hpp"

namespace evmgr {

using WaiterList = boost::intrusive::list<
    Registration,
    boost::intrusive::member_hook<Registration, WaiterHook, &Registration::hook>,
    boost::intrusive::constant_time_size<false>>;

// Which open file an fd number named when its waiters registered: (device,
// inode), as fstat says. Tells a reused fd number from the same file.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity& o) const noexcept {
    return device == o.device && inode == o.inode;
  }
};

struct FdSlot {
  WaiterList waiters;
  FileIdentity identity;       // valid when has_identity
  WatchTag tag = 0;            // label of the kernel's current watch
  Events armed = 0;            // what the kernel is asked to report now
  bool one_shot = false;       // `armed` was armed one-shot
  bool always_ready = false;   // the back-end refused the fd (regular file)
  bool has_identity = false;   // identity was recorded for these waiters
};

class FdTable {
 public:
  // The slot of fd, or nullptr when fd was never seen.
  FdSlot* find(int fd) noexcept {
    return fd >= 0 && static_cast<std::size_t>(fd) < slots_.size() ? &slots_[fd] : nullptr;
  }

  // The slot of fd, growing the table to hold it. Throws std::bad_alloc.
  FdSlot& get(int fd);

  std::size_t size() const noexcept { return slots_.size(); }
  FdSlot& operator[](std::size_t fd) noexcept { return slots_[fd]; }

 private:
  std::vector<FdSlot> slots_;
};

// Union of the interests of a slot's waiters, and whether any is one-shot.
struct WantedInterest {
  Events events = 0;
  bool any_one_shot = false;
};

inline WantedInterest wanted_interest(const FdSlot& slot) noexcept {
  WantedInterest wanted;
  for (const Registration& waiter : slot.waiters) {
    wanted.events |= waiter.interest;
    wanted.any_one_shot |= !waiter.persistent;
  }
  return wanted;
}

}  // namespace evmgr
