// SPDX-License-Identifier: BSD-3-Clause
//
// Registrations and the pool they live in.
//
// Every fd interest and every timer is a Registration node. Nodes live in
// fixed-size chunks that never move, so the intrusive hooks stay valid and a
// key (generation, slot) finds its node in O(1). Freed nodes are reused, the
// lowest free slot first (a free bitmap per chunk): a burst of registrations
// after random cancellations walks memory in order instead of jumping to
// wherever the last freed node was, which is what a LIFO free list would do
// (one cache miss per registration). In a steady state no wait, wake-up or
// timer fire allocates. Freeing bumps the node's generation, which turns every old key
// into a stale key (ENOENT) instead of a pointer to someone else's
// registration (Note [Stale keys] in src/manager.cpp).
#pragma once

#include <boost/intrusive/list.hpp>

#include <cstdint>

#include "evmgr/events.hpp"
#include "evmgr/memory.hpp"

namespace evmgr {

using WaiterHook =
    boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>>;

// One cache line each: a node never straddles two lines, so touching it on
// insert, fire or cancel costs one miss at most.
struct alignas(64) Registration {
  enum class Kind : std::uint8_t { kFree, kFd, kTimer };
  static constexpr std::uint32_t kNotInHeap = UINT32_MAX;

  WaiterHook hook;             // in its fd's waiter list while it waits
  WaiterHook ready_hook;       // in the manager's ready queue while an event
                               // of it waits for delivery
  std::uintptr_t token = 0;    // the user's; never interpreted
  std::uint32_t generation = 1;
  std::uint32_t slot = 0;      // its own index in the pool (for its key)
  union {
    std::int32_t fd;           // fd registrations
    std::uint32_t heap_index = kNotInHeap;  // timers: position in the heap
  };
  std::uint32_t timer_sequence = 0;  // timers: tie-break order in the heap
  std::uint8_t fired = 0;      // events queued for delivery
  Kind kind = Kind::kFree;
  bool persistent = false;     // fd: stays registered after delivery
  std::uint8_t interest = 0;   // fd: kRead|kWrite

  Key key() const noexcept { return (static_cast<Key>(generation) << 32) | slot; }
};
// Every waiting thread costs one node (threadDelay and threadWaitRead
// alike): one cache line each, so that 100,000 sleeping threads cost 6.4 MB
// and a timer fire or a wake-up touches one line of the pool.
static_assert(sizeof(Registration) == 64, "a registration is one 64-byte cache line");

class RegistrationPool {
 public:
  static constexpr std::uint32_t kChunkBits = 10;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;

  static std::uint32_t slot_of(Key key) noexcept { return static_cast<std::uint32_t>(key); }

  RegistrationPool() noexcept = default;
  ~RegistrationPool();
  RegistrationPool(const RegistrationPool&) = delete;
  RegistrationPool& operator=(const RegistrationPool&) = delete;

  // A free node, or nullptr when memory is exhausted.
  Registration* allocate() noexcept;

  // Returns the node to the pool; every key to it becomes stale. The node
  // must be in no list.
  void release(Registration* node) noexcept;

  // The live node `key` names, or nullptr for a stale or foreign key.
  Registration* find(Key key) noexcept {
    const std::uint32_t slot = slot_of(key);
    if (slot >= capacity_) return nullptr;
    Registration& node = at(slot);
    if (node.kind == Registration::Kind::kFree || node.key() != key) return nullptr;
    return &node;
  }

  Registration& at(std::uint32_t slot) noexcept {
    return chunks_[slot >> kChunkBits].nodes[slot & (kChunkSize - 1)];
  }

  std::size_t live() const noexcept { return live_; }
  std::uint32_t capacity() const noexcept { return capacity_; }

  // Calls f(node) for every live node.
  template <class F>
  void for_each_live(F&& f) {
    for (std::uint32_t slot = 0; slot < capacity_; ++slot) {
      Registration& node = at(slot);
      if (node.kind != Registration::Kind::kFree) f(node);
    }
  }

 private:
  static constexpr std::uint32_t kWords = kChunkSize / 64;

  struct Chunk {
    Registration* nodes;              // kChunkSize of them, 64-byte aligned
    std::uint64_t free_bits[kWords];  // bit set: that node is free
    std::uint32_t free_count;
  };

  // A new chunk of free nodes numbered from capacity_, or ENOMEM.
  int add_chunk() noexcept;

  GrowableArray<Chunk> chunks_;
  std::uint32_t capacity_ = 0;
  std::size_t first_free_chunk_ = 0;  // no chunk below it has a free node
  std::size_t live_ = 0;
};

}  // namespace evmgr
