// SPDX-License-Identifier: BSD-3-Clause
//
// Fd watches (src/fd_watch.cpp): when the kernel is asked to change an fd's
// watch and what is recorded, against a back-end double that keeps the
// contract in backend.hpp and records each call; and always-ready fds.
#include <gtest/gtest.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <type_traits>
#include <vector>

#include "evmgr/backend.hpp"
#include "evmgr/backends.hpp"
#include "evmgr/fd_watch.hpp"

namespace {

using evmgr::ArmMode;
using evmgr::ArmResult;
using evmgr::FdWatch;
using evmgr::FdWatches;
using evmgr::Resync;
using evmgr::SyncPlan;
using evmgr::WantedWatch;

// Records arm/disarm calls; arm answers with `next_result`.
class RecordingBackend {
 public:
  static constexpr bool kWaitSeesChangesLive = true;
  static constexpr bool kDetectsReplacedFiles = true;

  struct Arm {
    int fd;
    evmgr::Events interest;
    ArmMode mode;
    evmgr::WatchTag tag;
  };

  RecordingBackend() noexcept = default;
  RecordingBackend(const RecordingBackend&) = delete;
  RecordingBackend& operator=(const RecordingBackend&) = delete;

  int error() const noexcept { return 0; }
  ArmResult arm(int fd, evmgr::Events interest, ArmMode mode, evmgr::WatchTag tag) noexcept {
    arms.push_back(Arm{fd, interest, mode, tag});
    return next_result;
  }
  void disarm(int fd) noexcept { disarms.push_back(fd); }
  int wait(std::int64_t, evmgr::ManagerLock&) noexcept { return 0; }
  bool dispatch(evmgr::ReadyCallback) noexcept { return false; }
  int wakeup() noexcept { return 0; }
  int pollable_fd() const noexcept { return -1; }
  int after_fork() noexcept { return 0; }

  std::vector<Arm> arms;
  std::vector<int> disarms;
  ArmResult next_result;
};

// The contract check accepts a class written from scratch, and rejects
// near misses.
static_assert(evmgr::is_backend<RecordingBackend>);

// A back-end written from scratch, with one thing that can be got wrong.
template <class ArmReturn = ArmResult, bool kWakeupNoexcept = true, bool kMovable = false>
struct Candidate {
  static constexpr bool kWaitSeesChangesLive = true;
  static constexpr bool kDetectsReplacedFiles = true;
  int error() const noexcept { return 0; }
  ArmReturn arm(int, evmgr::Events, ArmMode, evmgr::WatchTag) noexcept { return {}; }
  void disarm(int) noexcept {}
  int wait(std::int64_t, evmgr::ManagerLock&) noexcept { return 0; }
  bool dispatch(evmgr::ReadyCallback) noexcept { return false; }
  int wakeup() noexcept(kWakeupNoexcept) { return 0; }
  int pollable_fd() const noexcept { return -1; }
  int after_fork() noexcept { return 0; }
  std::conditional_t<kMovable, int, std::mutex> pinned;  // a mutex pins it in place
};
static_assert(evmgr::is_backend<Candidate<>>);
static_assert(!evmgr::is_backend<Candidate<int>>, "arm must return ArmResult");
static_assert(!evmgr::is_backend<Candidate<ArmResult, false>>, "every operation is noexcept");
static_assert(!evmgr::is_backend<Candidate<ArmResult, true, true>>,
              "a back-end lives in place: not movable");

struct OnlyArm {
  static constexpr bool kWaitSeesChangesLive = true;
  static constexpr bool kDetectsReplacedFiles = true;
  OnlyArm() noexcept = default;
  OnlyArm(const OnlyArm&) = delete;
  ArmResult arm(int, evmgr::Events, ArmMode, evmgr::WatchTag) noexcept { return {}; }
};
static_assert(!evmgr::is_backend<OnlyArm>, "every operation is required");

// Every back-end this build has keeps it too (also asserted in backends.hpp).
static_assert(evmgr::is_backend<evmgr::PollBackend>);

WantedWatch wanted(evmgr::Events events, ArmMode mode) {
  WantedWatch w;
  w.events = events;
  w.mode = mode;
  return w;
}

// ---- plan_sync: the decision alone ------------------------------------------

TEST(FdWatchPlan, NothingWantedDisarmsALevelTriggeredWatchOnly) {
  FdWatch level;
  level.armed = evmgr::kRead;
  EXPECT_EQ(SyncPlan::Op::kDisarm, evmgr::plan_sync(level, WantedWatch{}, Resync::kIfChanged).op);
  FdWatch one_shot = level;
  one_shot.one_shot = true;
  EXPECT_EQ(SyncPlan::Op::kNothing, evmgr::plan_sync(one_shot, WantedWatch{}, Resync::kAlways).op)
      << "a one-shot watch fires at most once more: no syscall to drop it";
  EXPECT_EQ(SyncPlan::Op::kNothing, evmgr::plan_sync(FdWatch{}, WantedWatch{}, Resync::kAlways).op);
}

TEST(FdWatchPlan, UnchangedWatchCostsNoKernelCallUnlessAsked) {
  FdWatch watch;
  watch.armed = evmgr::kRead | evmgr::kWrite;
  const WantedWatch same = wanted(evmgr::kRead | evmgr::kWrite, ArmMode::kLevel);
  EXPECT_EQ(SyncPlan::Op::kNothing, evmgr::plan_sync(watch, same, Resync::kIfChanged).op);
  const SyncPlan forced = evmgr::plan_sync(watch, same, Resync::kAlways);
  EXPECT_EQ(SyncPlan::Op::kArm, forced.op);
  EXPECT_EQ(evmgr::kRead | evmgr::kWrite, forced.events);
}

TEST(FdWatchPlan, ANewInterestOrModeIsArmed) {
  FdWatch watch;
  watch.armed = evmgr::kRead;
  const SyncPlan wider = evmgr::plan_sync(watch, wanted(evmgr::kRead | evmgr::kWrite, ArmMode::kLevel),
                                          Resync::kIfChanged);
  EXPECT_EQ(SyncPlan::Op::kArm, wider.op);
  const SyncPlan once = evmgr::plan_sync(watch, wanted(evmgr::kRead, ArmMode::kOneShot),
                                         Resync::kIfChanged);
  EXPECT_EQ(SyncPlan::Op::kArm, once.op);
  EXPECT_EQ(ArmMode::kOneShot, once.mode);
}

TEST(FdWatchPlan, WantedWatchIsOneShotIfAnyWaiterIs) {
  WantedWatch w;
  w.add(evmgr::kRead, /*persistent=*/true);
  EXPECT_EQ(ArmMode::kLevel, w.mode);
  w.add(evmgr::kWrite, /*persistent=*/false);
  w.add(evmgr::kRead, /*persistent=*/true);
  EXPECT_EQ(ArmMode::kOneShot, w.mode);
  EXPECT_EQ(evmgr::kRead | evmgr::kWrite, w.events);
}

// ---- FdWatches::sync against the recording back-end -------------------------

TEST(FdWatchSync, EveryArmCarriesAFreshNonZeroTagAndIsRecorded) {
  RecordingBackend backend;
  FdWatches watches;
  FdWatch watch;
  auto r = watches.sync(backend, 7, watch, wanted(evmgr::kRead, ArmMode::kOneShot), Resync::kAlways);
  EXPECT_EQ(0, r.error);
  EXPECT_TRUE(r.changed);
  r = watches.sync(backend, 7, watch, wanted(evmgr::kRead, ArmMode::kOneShot), Resync::kAlways);
  ASSERT_EQ(2u, backend.arms.size());
  EXPECT_NE(0u, backend.arms[0].tag);
  EXPECT_NE(backend.arms[0].tag, backend.arms[1].tag);
  EXPECT_EQ(backend.arms[1].tag, watch.tag) << "the slot keeps the latest tag";
  EXPECT_EQ(evmgr::kRead, watch.armed);
  EXPECT_TRUE(watch.one_shot);
}

TEST(FdWatchSync, AFailedArmLeavesTheWatchAsItWasAndSaysWhy) {
  RecordingBackend backend;
  FdWatches watches;
  FdWatch watch;
  (void)watches.sync(backend, 3, watch, wanted(evmgr::kRead, ArmMode::kLevel), Resync::kAlways);
  const FdWatch before = watch;
  backend.next_result = ArmResult{ENOMEM, false};
  const auto r =
      watches.sync(backend, 3, watch, wanted(evmgr::kWrite, ArmMode::kOneShot), Resync::kAlways);
  EXPECT_EQ(ENOMEM, r.error);
  EXPECT_FALSE(r.replaced);
  EXPECT_FALSE(r.changed);
  // The old watch still serves the fd's other waiters.
  EXPECT_EQ(before.tag, watch.tag);
  EXPECT_EQ(before.armed, watch.armed);
  EXPECT_EQ(before.one_shot, watch.one_shot);
}

// Note [Late events of a dropped watch]: a watch of a replaced file is not
// ours any more, whether or not the arm on the new file worked.
TEST(FdWatchSync, AFailedArmOnAReplacedFileForgetsTheOldWatch) {
  RecordingBackend backend;
  FdWatches watches;
  FdWatch watch;
  (void)watches.sync(backend, 3, watch, wanted(evmgr::kRead, ArmMode::kLevel), Resync::kAlways);
  ASSERT_NE(0u, watch.tag);
  backend.next_result = ArmResult{EPERM, true};
  const auto r =
      watches.sync(backend, 3, watch, wanted(evmgr::kRead, ArmMode::kOneShot), Resync::kAlways);
  EXPECT_EQ(EPERM, r.error);
  EXPECT_TRUE(r.replaced) << "replaced is reported even with an error";
  EXPECT_EQ(0u, watch.tag) << "a late event of the old file's watch must match nothing";
  EXPECT_EQ(0u, watch.armed);
}

TEST(FdWatchSync, NobodyLeftDisarmsALevelWatchOnce) {
  RecordingBackend backend;
  FdWatches watches;
  FdWatch watch;
  (void)watches.sync(backend, 5, watch, wanted(evmgr::kRead, ArmMode::kLevel), Resync::kAlways);
  auto r = watches.sync(backend, 5, watch, WantedWatch{}, Resync::kIfChanged);
  EXPECT_TRUE(r.changed);
  r = watches.sync(backend, 5, watch, WantedWatch{}, Resync::kIfChanged);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(std::vector<int>{5}, backend.disarms);
  EXPECT_EQ(0u, watch.armed);
}

TEST(FdWatchSync, ADeliveredOneShotWatchIsReArmedWhenWantedAgain) {
  RecordingBackend backend;
  FdWatches watches;
  FdWatch watch;
  const WantedWatch once = wanted(evmgr::kRead, ArmMode::kOneShot);
  (void)watches.sync(backend, 4, watch, once, Resync::kAlways);
  watch.delivered();  // the kernel disarmed it
  EXPECT_EQ(0u, watch.armed);
  EXPECT_TRUE(watches.sync(backend, 4, watch, once, Resync::kIfChanged).changed);
  EXPECT_EQ(2u, backend.arms.size());
}

TEST(FdWatchSync, ADeliveredLevelWatchStaysArmed) {
  FdWatch watch;
  watch.armed = evmgr::kRead;
  watch.delivered();
  EXPECT_EQ(evmgr::kRead, watch.armed);
}

TEST(FdWatchSync, DropForgetsTheWatchAndItsTag) {
  RecordingBackend backend;
  FdWatches watches;
  FdWatch watch;
  (void)watches.sync(backend, 9, watch, wanted(evmgr::kRead, ArmMode::kOneShot), Resync::kAlways);
  watch.always_ready = true;
  ASSERT_NE(0u, watch.tag);
  watches.drop(backend, 9, watch);
  EXPECT_EQ(std::vector<int>{9}, backend.disarms);
  EXPECT_EQ(0u, watch.armed);
  EXPECT_FALSE(watch.one_shot);
  EXPECT_FALSE(watch.always_ready);
  // Note [Late events of a dropped watch]
  EXPECT_EQ(0u, watch.tag) << "a late event of the old watch must match nothing";
}

// ---- always-ready fds (Note [Always-ready fds]) -----------------------------

TEST(AlwaysReadyFds, MarkedOnceServedEachPollAndDroppedWhenServeSaysSo) {
  FdWatches watches;
  FdWatch a, b;
  EXPECT_FALSE(watches.any_always_ready());
  ASSERT_EQ(0, watches.reserve_always_ready());
  watches.mark_always_ready(10, a);
  ASSERT_EQ(0, watches.reserve_always_ready());
  watches.mark_always_ready(10, a);  // already marked: not listed twice
  ASSERT_EQ(0, watches.reserve_always_ready());
  watches.mark_always_ready(11, b);
  EXPECT_TRUE(a.always_ready);
  EXPECT_TRUE(watches.any_always_ready());

  std::multiset<int> served;
  watches.serve_always_ready([&](int fd) {
    served.insert(fd);
    return true;
  });
  EXPECT_EQ((std::multiset<int>{10, 11}), served);

  served.clear();
  watches.serve_always_ready([&](int fd) {
    served.insert(fd);
    return fd != 10;  // 10 lost its last waiter
  });
  EXPECT_EQ((std::multiset<int>{10, 11}), served);
  served.clear();
  watches.serve_always_ready([&](int fd) {
    served.insert(fd);
    return false;
  });
  EXPECT_EQ(std::multiset<int>{11}, served);
  EXPECT_FALSE(watches.any_always_ready());
}

TEST(AlwaysReadyFds, ReservingGrowsGeometricallySoMarkingNeverAllocates) {
  FdWatches watches;
  std::vector<FdWatch> slots(1000);
  for (int fd = 0; fd < 1000; ++fd) {
    ASSERT_EQ(0, watches.reserve_always_ready());
    watches.mark_always_ready(fd, slots[static_cast<std::size_t>(fd)]);
  }
  int count = 0;
  watches.serve_always_ready([&](int) {
    ++count;
    return true;
  });
  EXPECT_EQ(1000, count);
}

}  // namespace
