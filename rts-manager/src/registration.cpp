// SPDX-License-Identifier: BSD-3-Clause
#include "evmgr/registration.hpp"

#include <new>

namespace evmgr {

Registration* RegistrationPool::allocate() noexcept {
  if (free_head_ == Registration::kNotInHeap) {
    // Grow by one chunk. Chunks never move, so hooks and pointers into the
    // pool stay valid; this is the only allocation a registration can cause.
    if (capacity_ > UINT32_MAX - 2 * kChunkSize) return nullptr;
    try {
      chunks_.reserve(chunks_.size() + 1);
      chunks_.emplace_back(new Registration[kChunkSize]);
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
    // Thread the new nodes onto the free list, lowest slot first.
    const std::uint32_t base = capacity_;
    capacity_ += kChunkSize;
    for (std::uint32_t i = kChunkSize; i-- > 0;) {
      at(base + i).slot = base + i;
      at(base + i).heap_index = free_head_;
      free_head_ = base + i;
    }
  }
  const std::uint32_t slot = free_head_;
  Registration& node = at(slot);
  free_head_ = node.heap_index;
  node.heap_index = Registration::kNotInHeap;
  ++live_;
  return &node;
}

void RegistrationPool::release(Registration* node) noexcept {
  node->kind = Registration::Kind::kFree;
  node->token = 0;
  node->fired = 0;
  node->persistent = false;
  node->interest = 0;
  // Generation 0 is skipped so that no key is ever 0.
  if (++node->generation == 0) node->generation = 1;
  node->heap_index = free_head_;
  free_head_ = node->slot;
  --live_;
}

}  // namespace evmgr
