// SPDX-License-Identifier: BSD-3-Clause
#include "evmgr/fd_table.hpp"

#include <algorithm>

namespace evmgr {

FdSlot& FdTable::get(int fd) {
  const std::size_t needed = static_cast<std::size_t>(fd) + 1;
  if (needed > slots_.size()) {
    // Geometric growth keeps registration amortised O(1). The intrusive
    // lists move with their slots (Boost.Intrusive fixes the neighbours'
    // links on move), so growing while waiters are linked is safe.
    if (needed > slots_.capacity()) {
      slots_.reserve(std::max<std::size_t>({needed, slots_.capacity() * 2, 64}));
    }
    slots_.resize(needed);
  }
  return slots_[fd];
}

}  // namespace evmgr
