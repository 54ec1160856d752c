// SPDX-License-Identifier: BSD-3-Clause
#include "evmgr/registration.hpp"

#include <cerrno>
#include <new>

namespace evmgr {

RegistrationPool::~RegistrationPool() {
  for (Chunk& chunk : chunks_) {
    for (std::uint32_t i = 0; i < kChunkSize; ++i) chunk.nodes[i].~Registration();
    free_storage(chunk.nodes);
  }
}

int RegistrationPool::add_chunk() noexcept {
  if (capacity_ > UINT32_MAX - 2 * kChunkSize) return ENOMEM;
  if (chunks_.reserve_one_more() != 0) return ENOMEM;
  Chunk chunk{allocate_storage<Registration>(kChunkSize), {}, kChunkSize};
  if (chunk.nodes == nullptr) return ENOMEM;
  for (std::uint64_t& word : chunk.free_bits) word = ~std::uint64_t{0};
  for (std::uint32_t i = 0; i < kChunkSize; ++i) {
    Registration* node = new (&chunk.nodes[i]) Registration();
    node->slot = capacity_ + i;
  }
  chunks_.push_back(chunk);
  capacity_ += kChunkSize;
  return 0;
}

Registration* RegistrationPool::allocate() noexcept {
  std::size_t c = first_free_chunk_;
  while (c < chunks_.size() && chunks_[c].free_count == 0) ++c;
  if (c == chunks_.size()) {
    // Grow by one chunk. Chunks never move, so hooks and pointers into the
    // pool stay valid; this is the only allocation a registration can cause.
    if (add_chunk() != 0) return nullptr;
  }
  first_free_chunk_ = c;
  Chunk& chunk = chunks_[c];
  std::uint32_t word = 0;
  while (chunk.free_bits[word] == 0) ++word;  // free_count > 0: one is set
  const auto bit = static_cast<std::uint32_t>(__builtin_ctzll(chunk.free_bits[word]));
  chunk.free_bits[word] &= chunk.free_bits[word] - 1;  // clear the lowest set bit
  --chunk.free_count;
  ++live_;
  return &chunk.nodes[word * 64 + bit];
}

void RegistrationPool::release(Registration* node) noexcept {
  node->kind = Registration::Kind::kFree;
  node->token = 0;
  node->fired = 0;
  node->persistent = false;
  node->interest = 0;
  node->heap_index = Registration::kNotInHeap;
  // Generation 0 is skipped so that no key is ever 0.
  if (++node->generation == 0) node->generation = 1;
  const std::uint32_t slot = node->slot;
  Chunk& chunk = chunks_[slot >> kChunkBits];
  const std::uint32_t index = slot & (kChunkSize - 1);
  chunk.free_bits[index / 64] |= std::uint64_t{1} << (index % 64);
  ++chunk.free_count;
  if ((slot >> kChunkBits) < first_free_chunk_) first_free_chunk_ = slot >> kChunkBits;
  --live_;
}

}  // namespace evmgr
