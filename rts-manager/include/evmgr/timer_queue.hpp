// SPDX-License-Identifier: BSD-3-Clause
//
// The timer queue: an intrusive 4-ary min-heap.
//
// Why a 4-ary heap in an array rather than a node-based tree: the earliest
// deadline is entries_[0] (O(1)); insert, cancel and update are O(log n);
// and each 16-byte entry caches its deadline, so sifting compares
// neighbouring array cells (four siblings share a cache line) instead of
// chasing node pointers: the layout of libev's 4-heap. It is intrusive the
// other way round: every node records its own heap position, so cancel
// needs no search.
//
// Ties: equal deadlines pop in insertion order, by a sequence number kept in
// the node (read only when deadlines tie), so threads that call threadDelay
// with the same target wake in the order they slept. The sequence is 32 bits
// compared with wrap-around, which is exact while tied timers were set less
// than 2^31 insertions apart.
//
// Node requirements: `std::uint32_t heap_index` and `std::uint32_t
// timer_sequence` members; the queue writes heap_index on every move and
// sets it to kNotInHeap (UINT32_MAX) on removal.
#pragma once

#include <cstddef>
#include <cstdint>

#include "evmgr/memory.hpp"

namespace evmgr {

template <class Node>
class TimerQueue {
 public:
  static constexpr std::uint32_t kNotInHeap = UINT32_MAX;

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  Node* top() const noexcept { return entries_.front().node; }
  std::int64_t top_deadline() const noexcept { return entries_.front().deadline; }

  // Makes room for one more push(), growing geometrically: 0 or ENOMEM.
  // The push() that follows does not allocate.
  [[nodiscard]] int reserve_one_more() noexcept { return entries_.reserve_one_more(); }

  // Inserts node (not in the heap), into room made by reserve_one_more().
  // Returns true if it became the earliest, so a blocked poll must be woken
  // to shorten its timeout.
  bool push(Node* node, std::int64_t deadline) noexcept {
    node->timer_sequence = next_sequence_++;
    entries_.push_back(Entry{deadline, node});
    return sift_up(entries_.size() - 1) == 0;
  }

  // Removes node from anywhere in the heap.
  void erase(Node* node) noexcept {
    const std::size_t index = node->heap_index;
    node->heap_index = kNotInHeap;
    const std::size_t last = entries_.size() - 1;
    if (index != last) {
      entries_[index] = entries_[last];
      entries_.pop_back();
      place(index);
      restore(index);
    } else {
      entries_.pop_back();
    }
  }

  // Moves node to a new deadline (it goes behind existing equal deadlines).
  // Returns true if it is now the earliest.
  bool update(Node* node, std::int64_t deadline) noexcept {
    const std::size_t index = node->heap_index;
    entries_[index].deadline = deadline;
    node->timer_sequence = next_sequence_++;
    return restore(index) == 0;
  }

  // Removes and returns the earliest node.
  Node* pop() noexcept {
    Node* node = entries_.front().node;
    erase(node);
    return node;
  }

  // Pops every node due at `now` (deadline <= now), earliest first.
  template <class F>
  void pop_expired(std::int64_t now, F&& on_expired) noexcept {
    while (!entries_.empty() && entries_.front().deadline <= now) on_expired(pop());
  }

 private:
  static constexpr std::size_t kArity = 4;

  struct Entry {
    std::int64_t deadline;
    Node* node;
  };
  // Two fields, no more: the four children a sift compares sit in one
  // 64-byte cache line (on 64-bit targets).
  static_assert(sizeof(void*) != 8 || sizeof(Entry) * kArity == 64,
                "a heap entry is 16 bytes, four siblings to a cache line");

  static bool before(const Entry& a, const Entry& b) noexcept {
    if (a.deadline != b.deadline) return a.deadline < b.deadline;
    return static_cast<std::int32_t>(a.node->timer_sequence - b.node->timer_sequence) < 0;
  }

  void place(std::size_t index) noexcept {
    entries_[index].node->heap_index = static_cast<std::uint32_t>(index);
  }

  // Moves the entry at index to its place; returns where it ended.
  std::size_t restore(std::size_t index) noexcept {
    if (index > 0 && before(entries_[index], entries_[(index - 1) / kArity])) return sift_up(index);
    return sift_down(index);
  }

  std::size_t sift_up(std::size_t index) noexcept {
    const Entry moving = entries_[index];
    while (index > 0) {
      const std::size_t parent = (index - 1) / kArity;
      if (!before(moving, entries_[parent])) break;
      entries_[index] = entries_[parent];
      place(index);
      index = parent;
    }
    entries_[index] = moving;
    place(index);
    return index;
  }

  std::size_t sift_down(std::size_t index) noexcept {
    const Entry moving = entries_[index];
    const std::size_t count = entries_.size();
    for (;;) {
      const std::size_t first = index * kArity + 1;
      if (first >= count) break;
      std::size_t best = first;
      const std::size_t end = first + kArity < count ? first + kArity : count;
      for (std::size_t child = first + 1; child < end; ++child) {
        if (before(entries_[child], entries_[best])) best = child;
      }
      if (!before(entries_[best], moving)) break;
      entries_[index] = entries_[best];
      place(index);
      index = best;
    }
    entries_[index] = moving;
    place(index);
    return index;
  }

  GrowableArray<Entry> entries_;
  std::uint32_t next_sequence_ = 0;
};

}  // namespace evmgr
