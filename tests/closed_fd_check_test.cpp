// SPDX-License-Identifier: BSD-3-Clause
//
// The closed-fd check (Note [Closed fds] in src/closed_fd_check.cpp): when
// the sweep is due, what the sweep reports, and the identity check.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "evmgr/closed_fd_check.hpp"
#include "evmgr/fd_table.hpp"
#include "evmgr/registration.hpp"
#include "test_util.hpp"

namespace {

using evmgr::ClosedFdCheck;
using evmgr::FileCheck;

TEST(ClosedFdCheckSchedule, DueOnePeriodAfterItWasSetAndOnlyWithFdWaiters) {
  ClosedFdCheck check;
  check.set_interval(100, 1000);
  EXPECT_FALSE(check.next_due(false).has_value()) << "no fd waiters: nothing to sweep";
  ASSERT_TRUE(check.next_due(true).has_value());
  EXPECT_EQ(1100, *check.next_due(true));
  EXPECT_FALSE(check.take_due(1099));
  EXPECT_TRUE(check.take_due(1100));
  EXPECT_EQ(1200, *check.next_due(true)) << "the next sweep is one period after this one";
  EXPECT_FALSE(check.take_due(1150));
}

TEST(ClosedFdCheckSchedule, ALateSweepSchedulesTheNextFromNowNotFromWhenItWasDue) {
  ClosedFdCheck check;
  check.set_interval(100, 0);
  EXPECT_TRUE(check.take_due(5000));
  EXPECT_EQ(5100, *check.next_due(true));
}

TEST(ClosedFdCheckSchedule, ZeroOrNegativeIntervalTurnsItOff) {
  for (std::int64_t interval : {std::int64_t{0}, std::int64_t{-5}}) {
    ClosedFdCheck check;
    check.set_interval(interval, 1000);
    EXPECT_FALSE(check.next_due(true).has_value()) << interval;
    EXPECT_FALSE(check.take_due(INT64_MAX)) << interval;
  }
}

TEST(ClosedFdCheckSchedule, AHugeIntervalSaturatesInsteadOfWrapping) {
  ClosedFdCheck check;
  check.set_interval(INT64_MAX, 1000);
  EXPECT_EQ(INT64_MAX, *check.next_due(true));
}

TEST(ClosedFdCheckSchedule, DefaultPeriodIsAQuarterSecond) {
  // The manager's default (and the C ABI's documented one).
  EXPECT_EQ(250'000'000, ClosedFdCheck::kDefaultIntervalNs);
}

// A table whose given fds each have one waiter; unlinks them on exit.
struct WaitedTable {
  evmgr::RegistrationPool pool;
  evmgr::FdTable fds;
  explicit WaitedTable(const std::vector<int>& waited) {
    for (int fd : waited) {
      evmgr::Registration* node = pool.allocate();
      node->kind = evmgr::Registration::Kind::kFd;
      node->fd = fd;
      fds.get(fd)->waiters.push_back(*node);
    }
  }
  ~WaitedTable() {
    for (std::size_t fd = 0; fd < fds.size(); ++fd) fds[fd].waiters.clear();
  }
  std::set<int> sweep() {
    std::set<int> closed;
    ClosedFdCheck::sweep(
        fds, [](void* ctx, int fd) { static_cast<std::set<int>*>(ctx)->insert(fd); }, &closed);
    return closed;
  }
};

TEST(ClosedFdSweep, ReportsExactlyTheWaitedOnFdsThatAreNotOpen) {
  evmgr_test::Pipe open_pipe, closed_pipe, unwatched;
  const int gone = closed_pipe.r;
  WaitedTable table({open_pipe.r, gone});
  closed_pipe.close_read();
  unwatched.close_read();  // closed, but nobody waits on it: not reported
  EXPECT_EQ(std::set<int>{gone}, table.sweep());
}

TEST(ClosedFdSweep, CoversMoreFdsThanOneBatch) {
  // 600 numbers nobody opened (above every fd this process has), beyond the
  // 256 one poll(2) takes: all must be reported.
  std::vector<int> waited;
  for (int fd = 4000; fd < 4600; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) waited.push_back(fd);
  }
  WaitedTable table(waited);
  EXPECT_EQ(std::set<int>(waited.begin(), waited.end()), table.sweep());
}

TEST(ClosedFdSweep, NothingToReportWhenNothingIsWaitedOn) {
  WaitedTable table({});
  EXPECT_TRUE(table.sweep().empty());
}

TEST(FileIdentityCheck, SameFileReplacedFileAndClosedFd) {
  evmgr_test::Pipe first, second;
  evmgr::RecordedFile file;
  EXPECT_EQ(FileCheck::kSameFile, evmgr::check_file(first.r, file)) << "nothing recorded";
  file.record(first.r);
  ASSERT_TRUE(file.recorded);
  EXPECT_EQ(FileCheck::kSameFile, evmgr::check_file(first.r, file));
  // The number now names another file, as after close() and a reuse.
  ASSERT_EQ(first.r, dup2(second.r, first.r));
  EXPECT_EQ(FileCheck::kReplaced, evmgr::check_file(first.r, file));
  const int number = first.r;
  first.close_read();
  EXPECT_EQ(FileCheck::kNotOpen, evmgr::check_file(number, file));
  file.forget();
  EXPECT_EQ(FileCheck::kSameFile, evmgr::check_file(number, file)) << "nothing recorded any more";
}

TEST(FileIdentityCheck, RecordingAClosedFdRecordsNothing) {
  evmgr::RecordedFile file;
  file.record(-1);
  EXPECT_FALSE(file.recorded);
}

TEST(ClosedFdProbes, EveryWaitedFdIsProbedWithinCeilNOverTheSliceCalls) {
  // Fd numbers only: next_probes makes no syscall, the manager's probe
  // does. 3000 waited fds (every other number) and the slice of 1024.
  std::vector<int> waited;
  for (int fd = 0; fd < 6000; fd += 2) waited.push_back(fd);
  WaitedTable table(waited);
  ClosedFdCheck check;
  std::map<int, int> probes;  // fd -> times probed
  const std::size_t calls =
      (waited.size() + ClosedFdCheck::kProbesPerSweep - 1) / ClosedFdCheck::kProbesPerSweep;
  for (std::size_t call = 0; call < calls; ++call) {
    std::size_t this_call = 0;
    check.next_probes(table.fds, [&](int fd, evmgr::FdSlot& slot) {
      EXPECT_FALSE(slot.waiters.empty());
      ++probes[fd];
      ++this_call;
    });
    EXPECT_EQ(ClosedFdCheck::kProbesPerSweep, this_call) << "call " << call;
  }
  EXPECT_EQ(waited.size(), probes.size()) << "a waited fd was not probed";
  for (const auto& [fd, times] : probes) EXPECT_LE(times, 2) << fd;
}

TEST(ClosedFdProbes, FewWaitedFdsAreAllProbedEveryCall) {
  WaitedTable table({3, 7, 9});
  ClosedFdCheck check;
  for (int call = 0; call < 3; ++call) {
    std::set<int> probed;
    check.next_probes(table.fds, [&](int fd, evmgr::FdSlot&) { probed.insert(fd); });
    EXPECT_EQ((std::set<int>{3, 7, 9}), probed);
  }
}

}  // namespace
