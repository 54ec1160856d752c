// SPDX-License-Identifier: BSD-3-Clause
//
// White-box tests of the core's data structures:
//   - TimerQueue<Node> (4-ary heap) against a std::map<(deadline, seq)>
//     model over millions of random insert/cancel/update/pop operations;
//   - RegistrationPool: keys go stale on release, generations skip 0.
// The operation count scales down under sanitizers and in unoptimised
// builds; EVMGR_MODEL_OPS overrides it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "evmgr/fd_table.hpp"
#include "evmgr/registration.hpp"
#include "evmgr/timer_queue.hpp"
#include "test_util.hpp"

namespace {

using evmgr::Key;
using evmgr::Registration;
using evmgr::RegistrationPool;
using evmgr::TimerQueue;

struct Node {
  std::uint32_t heap_index = TimerQueue<Node>::kNotInHeap;
  std::uint32_t timer_sequence = 0;
  int id = 0;
};

long model_ops() {
  if (const char* v = std::getenv("EVMGR_MODEL_OPS")) return std::atol(v);
  long ops = 3'000'000;
  if (evmgr_test::sanitized()) ops /= 15;
#ifndef NDEBUG
  ops /= 3;
#endif
  return ops;
}

class Model {
 public:
  // The queue's ordering: deadline, then a sequence number taken at push and
  // at update.
  using Entry = std::pair<std::int64_t, std::uint64_t>;

  void push(int id, std::int64_t deadline) {
    const Entry e{deadline, seq_++};
    by_key_.emplace(e, id);
    key_of_[id] = e;
  }
  void erase(int id) {
    by_key_.erase(key_of_.at(id));
    key_of_.erase(id);
  }
  void update(int id, std::int64_t deadline) {
    erase(id);
    push(id, deadline);
  }
  int top() const { return by_key_.begin()->second; }
  std::int64_t top_deadline() const { return by_key_.begin()->first.first; }
  int pop() {
    const int id = top();
    erase(id);
    return id;
  }
  bool empty() const { return by_key_.empty(); }
  size_t size() const { return by_key_.size(); }
  bool contains(int id) const { return key_of_.count(id) != 0; }

 private:
  std::uint64_t seq_ = 0;
  std::map<Entry, int> by_key_;
  std::map<int, Entry> key_of_;
};

TEST(TimerQueueModel, RandomOperationsMatchAnOrderedMapModel) {
  const long ops = model_ops();
  const int kNodes = 4096;
  std::vector<Node> nodes(kNodes);
  for (int i = 0; i < kNodes; ++i) nodes[i].id = i;
  std::vector<int> live;  // ids in the queue, in no order
  std::vector<size_t> pos_in_live(kNodes, SIZE_MAX);
  TimerQueue<Node> queue;
  Model model;
  std::mt19937_64 rng(20261129);
  // Deadlines from a small range so that ties (FIFO order) are frequent, plus
  // the extremes.
  auto random_deadline = [&]() -> std::int64_t {
    switch (rng() % 16) {
      case 0:
        return INT64_MAX;
      case 1:
        return INT64_MIN;
      case 2:
        return 0;
      default:
        return static_cast<std::int64_t>(rng() % 64);
    }
  };
  auto add_live = [&](int id) {
    pos_in_live[id] = live.size();
    live.push_back(id);
  };
  auto remove_live = [&](int id) {
    const size_t at = pos_in_live[id];
    live[at] = live.back();
    pos_in_live[live[at]] = at;
    live.pop_back();
    pos_in_live[id] = SIZE_MAX;
  };
  std::int64_t now = 0;
  for (long op = 0; op < ops; ++op) {
    const unsigned kind = static_cast<unsigned>(rng() % 100);
    // Grow while small, shrink while large, so the heap depth varies.
    const bool can_insert = live.size() < static_cast<size_t>(kNodes);
    if ((kind < 40 && can_insert) || live.empty()) {
      int id;
      do {
        id = static_cast<int>(rng() % kNodes);
      } while (pos_in_live[id] != SIZE_MAX);
      const std::int64_t d = random_deadline();
      ASSERT_EQ(0, queue.reserve_one_more());
      const bool earliest = queue.push(&nodes[id], d);
      model.push(id, d);
      add_live(id);
      ASSERT_EQ(earliest, model.top() == id) << "op " << op;
    } else if (kind < 55) {
      const int id = live[rng() % live.size()];
      queue.erase(&nodes[id]);
      model.erase(id);
      remove_live(id);
      ASSERT_EQ(TimerQueue<Node>::kNotInHeap, nodes[id].heap_index);
    } else if (kind < 75) {
      const int id = live[rng() % live.size()];
      const std::int64_t d = random_deadline();
      const bool earliest = queue.update(&nodes[id], d);
      model.update(id, d);
      ASSERT_EQ(earliest, model.top() == id) << "op " << op;
    } else if (kind < 90) {
      Node* got = queue.pop();
      const int want = model.pop();
      ASSERT_EQ(want, got->id) << "op " << op;
      ASSERT_EQ(TimerQueue<Node>::kNotInHeap, got->heap_index);
      remove_live(want);
    } else {
      now = static_cast<std::int64_t>(rng() % 70) - 3;
      std::vector<int> expired;
      queue.pop_expired(now, [&](Node* n) { expired.push_back(n->id); });
      for (int id : expired) {
        ASSERT_FALSE(model.empty());
        ASSERT_LE(model.top_deadline(), now);
        ASSERT_EQ(model.pop(), id) << "op " << op;
        remove_live(id);
      }
      ASSERT_TRUE(model.empty() || model.top_deadline() > now) << "op " << op;
    }
    ASSERT_EQ(model.size(), queue.size());
    ASSERT_EQ(model.empty(), queue.empty());
    if (!model.empty()) {
      ASSERT_EQ(model.top(), queue.top()->id) << "op " << op;
      ASSERT_EQ(model.top_deadline(), queue.top_deadline());
    }
    if (op % 4099 == 0) {
      // Every heap_index is consistent: live nodes have distinct in-range
      // indices, the others kNotInHeap.
      std::set<std::uint32_t> seen;
      for (int i = 0; i < kNodes; ++i) {
        if (model.contains(i)) {
          ASSERT_LT(nodes[i].heap_index, queue.size());
          ASSERT_TRUE(seen.insert(nodes[i].heap_index).second);
        } else {
          ASSERT_EQ(TimerQueue<Node>::kNotInHeap, nodes[i].heap_index);
        }
      }
    }
  }
  // Drain: strictly by (deadline, FIFO).
  while (!model.empty()) ASSERT_EQ(model.pop(), queue.pop()->id);
  EXPECT_TRUE(queue.empty());
}

TEST(TimerQueueModel, EqualDeadlinesPopInInsertionOrderAndUpdateGoesBehind) {
  std::vector<Node> nodes(100);
  TimerQueue<Node> queue;
  for (int i = 0; i < 100; ++i) {
    nodes[i].id = i;
    ASSERT_EQ(0, queue.reserve_one_more());
    queue.push(&nodes[i], 5);
  }
  queue.update(&nodes[0], 5);  // now last among equals
  for (int i = 1; i < 100; ++i) ASSERT_EQ(i, queue.pop()->id);
  EXPECT_EQ(0, queue.pop()->id);
}

TEST(RegistrationPool, KeysGoStaleOnReleaseAndSlotsAreReused) {
  RegistrationPool pool;
  std::vector<Registration*> nodes;
  std::vector<Key> keys;
  std::set<Key> all_keys;
  for (int i = 0; i < 3000; ++i) {  // several chunks
    Registration* r = pool.allocate();
    ASSERT_NE(nullptr, r);
    r->kind = Registration::Kind::kTimer;
    nodes.push_back(r);
    keys.push_back(r->key());
    ASSERT_NE(0u, r->key());
    ASSERT_TRUE(all_keys.insert(r->key()).second);
    ASSERT_EQ(r, pool.find(r->key()));
  }
  EXPECT_EQ(3000u, pool.live());
  // Chunks never move: earlier pointers are still what find returns.
  for (size_t i = 0; i < nodes.size(); ++i) ASSERT_EQ(nodes[i], pool.find(keys[i]));
  for (size_t i = 0; i < nodes.size(); i += 2) pool.release(nodes[i]);
  EXPECT_EQ(1500u, pool.live());
  for (size_t i = 0; i < nodes.size(); ++i) {
    ASSERT_EQ(i % 2 == 0 ? nullptr : nodes[i], pool.find(keys[i])) << i;
  }
  // Reuse: the slots come back with new generations; old keys stay stale.
  for (int i = 0; i < 1500; ++i) {
    Registration* r = pool.allocate();
    r->kind = Registration::Kind::kFd;
    ASSERT_TRUE(all_keys.insert(r->key()).second) << "a key was handed out twice";
  }
  EXPECT_EQ(3000u, pool.live());
  EXPECT_EQ(3u * RegistrationPool::kChunkSize, pool.capacity());
  for (size_t i = 0; i < nodes.size(); i += 2) ASSERT_EQ(nullptr, pool.find(keys[i]));
  EXPECT_EQ(nullptr, pool.find(0));
  EXPECT_EQ(nullptr, pool.find(Key{1} << 32 | 0xfffffff));  // slot out of range
}

TEST(RegistrationPool, GenerationWrapsToOneNeverZero) {
  RegistrationPool pool;
  Registration* r = pool.allocate();
  ASSERT_NE(nullptr, r);
  r->generation = UINT32_MAX;
  r->kind = Registration::Kind::kTimer;
  const Key before = r->key();
  pool.release(r);
  EXPECT_EQ(1u, r->generation);
  EXPECT_EQ(nullptr, pool.find(before));
  Registration* again = pool.allocate();
  ASSERT_EQ(r, again);  // LIFO free list
  again->kind = Registration::Kind::kTimer;
  EXPECT_NE(0u, again->key());
  EXPECT_NE(before, again->key());
  EXPECT_EQ(again, pool.find(again->key()));
}

TEST(RegistrationPool, ReleasedNodeIsReset) {
  RegistrationPool pool;
  Registration* r = pool.allocate();
  r->kind = Registration::Kind::kFd;
  r->token = 99;
  r->persistent = true;
  r->interest = 3;
  r->fired = 1;
  pool.release(r);
  EXPECT_EQ(Registration::Kind::kFree, r->kind);
  EXPECT_EQ(0u, r->token);
  EXPECT_FALSE(r->persistent);
  EXPECT_EQ(0u, r->interest);
  EXPECT_EQ(0u, r->fired);
  EXPECT_EQ(0u, pool.live());
}

TEST(FdTable, GrowsGeometricallySoRegistrationIsAmortisedConstant) {
  // Registering fds 0, 2, 4, ... (pipe read ends) must not copy the table
  // on every new number: count how often its storage moves.
  evmgr::FdTable table;
  int moves = 0;
  const evmgr::FdSlot* storage = nullptr;
  for (int fd = 0; fd < 8000; fd += 2) {
    table.get(fd);
    const evmgr::FdSlot* now = &table[0];
    if (now != storage) ++moves;
    storage = now;
  }
  EXPECT_LE(moves, 20) << "the fd table reallocated " << moves
                       << " times for 4000 fds: growth is not geometric";
}

}  // namespace
