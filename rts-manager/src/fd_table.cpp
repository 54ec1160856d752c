// SPDX-License-Identifier: BSD-3-Clause
#include "evmgr/fd_table.hpp"

namespace evmgr {

FdSlot* FdTable::get(int fd) noexcept {
  // Geometric growth (GrowableArray::resize) keeps registration amortised
  // O(1). The intrusive lists move with their slots (Boost.Intrusive fixes
  // the neighbours' links on move), so growing while waiters are linked is
  // safe.
  const std::size_t needed = static_cast<std::size_t>(fd) + 1;
  if (needed > slots_.size() && slots_.resize(needed) != 0) return nullptr;
  return &slots_[static_cast<std::size_t>(fd)];
}

}  // namespace evmgr
