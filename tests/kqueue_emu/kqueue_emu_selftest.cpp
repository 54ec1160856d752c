// SPDX-License-Identifier: BSD-3-Clause
//
// Self-test of the kqueue/kevent emulation (sys/event.h here): it must
// behave like FreeBSD's kevent(2) wherever kqueue_backend.cpp can tell.
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <thread>
#include <vector>

#include "sys/event.h"

namespace {

const struct timespec kNoWait = {0, 0};
const struct timespec kShort = {0, 50 * 1000 * 1000};

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(0, pipe2(fds, O_NONBLOCK | O_CLOEXEC));
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
  }
};

class KqueueEmu : public ::testing::Test {
 protected:
  void SetUp() override {
    kq_ = kqueue();
    ASSERT_GE(kq_, 0);
  }
  void TearDown() override { close(kq_); }

  // One change with EV_RECEIPT; returns the errno it reports.
  int change(uintptr_t ident, short filter, unsigned flags, unsigned fflags = 0) {
    struct kevent ch, receipt;
    EV_SET(&ch, ident, filter, flags | EV_RECEIPT, fflags, 0, nullptr);
    const int n = kevent(kq_, &ch, 1, &receipt, 1, &kNoWait);
    EXPECT_EQ(1, n);
    EXPECT_EQ(EV_ERROR, receipt.flags);
    EXPECT_EQ(ident, receipt.ident);
    EXPECT_EQ(filter, receipt.filter);
    return static_cast<int>(receipt.data);
  }

  int collect(struct kevent* out, int n, const struct timespec* timeout = &kNoWait) {
    return kevent(kq_, nullptr, 0, out, n, timeout);
  }

  int kq_;
};

TEST_F(KqueueEmu, ReceiptReportsZeroForSuccessfulChanges) {
  Pipe p;
  EXPECT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  EXPECT_EQ(0, change(p.w, EVFILT_WRITE, EV_ADD));
  EXPECT_EQ(0, change(p.r, EVFILT_READ, EV_DELETE));
}

TEST_F(KqueueEmu, DeleteOfMissingKnoteIsEnoent) {
  Pipe p;
  EXPECT_EQ(ENOENT, change(p.r, EVFILT_READ, EV_DELETE));
  EXPECT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  EXPECT_EQ(ENOENT, change(p.r, EVFILT_WRITE, EV_DELETE));
  // Without room for a receipt, the error comes back through errno.
  struct kevent ch;
  EV_SET(&ch, p.r, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  errno = 0;
  EXPECT_EQ(-1, kevent(kq_, &ch, 1, nullptr, 0, nullptr));
  EXPECT_EQ(ENOENT, errno);
}

TEST_F(KqueueEmu, ErrorWithRoomIsReportedInTheEventList) {
  struct kevent ch, out;
  EV_SET(&ch, 12345, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
  ASSERT_EQ(1, kevent(kq_, &ch, 1, &out, 1, nullptr));
  EXPECT_EQ(EV_ERROR, out.flags);
  EXPECT_EQ(EBADF, out.data);
}

TEST_F(KqueueEmu, AddOnClosedFdIsEbadf) {
  int fd;
  {
    Pipe p;
    fd = p.r;
  }
  ASSERT_LT(fcntl(fd, F_GETFD), 0);
  EXPECT_EQ(EBADF, change(fd, EVFILT_READ, EV_ADD));
  EXPECT_EQ(EBADF, change(static_cast<uintptr_t>(-1), EVFILT_READ, EV_ADD));
}

TEST_F(KqueueEmu, UnknownFilterIsEinval) { EXPECT_EQ(EINVAL, change(0, -42, EV_ADD)); }

TEST_F(KqueueEmu, ReadIsLevelTriggeredByDefault) {
  Pipe p;
  struct kevent ch, out[4];
  int x = 7;
  EV_SET(&ch, p.r, EVFILT_READ, EV_ADD, 0, 0, &x);
  ASSERT_EQ(0, kevent(kq_, &ch, 1, nullptr, 0, nullptr));
  EXPECT_EQ(0, collect(out, 4));
  ASSERT_EQ(3, write(p.w, "abc", 3));
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(1, collect(out, 4, &kShort)) << "round " << round;
    EXPECT_EQ(static_cast<uintptr_t>(p.r), out[0].ident);
    EXPECT_EQ(EVFILT_READ, out[0].filter);
    EXPECT_EQ(&x, out[0].udata);
    EXPECT_EQ(3, out[0].data);
    EXPECT_FALSE(out[0].flags & EV_EOF);
  }
}

TEST_F(KqueueEmu, OneshotIsDeletedAfterDelivery) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD | EV_ONESHOT));
  ASSERT_EQ(1, write(p.w, "x", 1));
  struct kevent out[4];
  ASSERT_EQ(1, collect(out, 4, &kShort));
  EXPECT_EQ(0, collect(out, 4, &kShort));
  EXPECT_EQ(ENOENT, change(p.r, EVFILT_READ, EV_DELETE));
}

TEST_F(KqueueEmu, DispatchDisablesAfterDeliveryUntilEnabled) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD | EV_DISPATCH));
  ASSERT_EQ(1, write(p.w, "x", 1));
  struct kevent out[4];
  ASSERT_EQ(1, collect(out, 4, &kShort));
  EXPECT_TRUE(out[0].flags & EV_DISPATCH);
  EXPECT_EQ(0, collect(out, 4, &kShort));
  EXPECT_EQ(0, change(p.r, EVFILT_READ, EV_ENABLE));
  EXPECT_EQ(1, collect(out, 4, &kShort));
  EXPECT_EQ(0, change(p.r, EVFILT_READ, EV_DELETE));  // still there, disabled
}

TEST_F(KqueueEmu, ReAddDoesNotChangeOneshotLikeFreeBSD) {
  // FreeBSD's kqueue_register only updates fflags/data/udata (and
  // enable/disable) of an existing knote: EV_ONESHOT sticks.
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD | EV_ONESHOT));
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  ASSERT_EQ(1, write(p.w, "x", 1));
  struct kevent out[4];
  ASSERT_EQ(1, collect(out, 4, &kShort));
  EXPECT_TRUE(out[0].flags & EV_ONESHOT);
  EXPECT_EQ(0, collect(out, 4, &kShort));
}

TEST_F(KqueueEmu, ClearReportsOnlyNewData) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD | EV_CLEAR));
  ASSERT_EQ(1, write(p.w, "x", 1));
  struct kevent out[4];
  ASSERT_EQ(1, collect(out, 4, &kShort));
  EXPECT_EQ(0, collect(out, 4, &kShort));
  ASSERT_EQ(1, write(p.w, "y", 1));
  EXPECT_EQ(1, collect(out, 4, &kShort));
}

TEST_F(KqueueEmu, WriterCloseGivesEofToReader) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  close(p.w);
  p.w = -1;
  struct kevent out[4];
  ASSERT_EQ(1, collect(out, 4, &kShort));
  EXPECT_TRUE(out[0].flags & EV_EOF);
}

TEST_F(KqueueEmu, PeerCloseGivesEofOnSocket) {
  int sv[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
  ASSERT_EQ(0, change(sv[0], EVFILT_READ, EV_ADD));
  struct kevent out[4];
  EXPECT_EQ(0, collect(out, 4));
  close(sv[1]);
  ASSERT_EQ(1, collect(out, 4, &kShort));
  EXPECT_TRUE(out[0].flags & EV_EOF);
  close(sv[0]);
}

TEST_F(KqueueEmu, ReadAndWriteFiltersAreSeparateKnotes) {
  int sv[2];
  ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
  ASSERT_EQ(0, change(sv[0], EVFILT_READ, EV_ADD | EV_ONESHOT));
  ASSERT_EQ(0, change(sv[0], EVFILT_WRITE, EV_ADD | EV_ONESHOT));
  ASSERT_EQ(1, write(sv[1], "x", 1));
  struct kevent out[4];
  ASSERT_EQ(2, collect(out, 4, &kShort));
  EXPECT_NE(out[0].filter, out[1].filter);
  EXPECT_EQ(0, collect(out, 4));
  close(sv[0]);
  close(sv[1]);
}

TEST_F(KqueueEmu, CapacityOneLosesNothing) {
  Pipe a, b;
  ASSERT_EQ(0, change(a.r, EVFILT_READ, EV_ADD | EV_ONESHOT));
  ASSERT_EQ(0, change(b.r, EVFILT_READ, EV_ADD | EV_ONESHOT));
  ASSERT_EQ(1, write(a.w, "x", 1));
  ASSERT_EQ(1, write(b.w, "x", 1));
  struct kevent out[1];
  ASSERT_EQ(1, collect(out, 1, &kShort));
  const uintptr_t first = out[0].ident;
  ASSERT_EQ(1, collect(out, 1, &kShort));
  EXPECT_NE(first, out[0].ident);
  EXPECT_EQ(0, collect(out, 1));
}

TEST_F(KqueueEmu, UserTriggerWakesWaiterInAnotherThread) {
  ASSERT_EQ(0, change(0, EVFILT_USER, EV_ADD | EV_CLEAR));
  struct kevent out[2];
  EXPECT_EQ(0, collect(out, 2));
  std::thread trigger([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    struct kevent t;
    EV_SET(&t, 0, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
    EXPECT_EQ(0, kevent(kq_, &t, 1, nullptr, 0, nullptr));
  });
  ASSERT_EQ(1, collect(out, 2, nullptr));  // blocks until triggered
  EXPECT_EQ(EVFILT_USER, out[0].filter);
  trigger.join();
  EXPECT_EQ(0, collect(out, 2));  // EV_CLEAR reset it
}

TEST_F(KqueueEmu, UserEventWithoutClearStaysTriggered) {
  ASSERT_EQ(0, change(5, EVFILT_USER, EV_ADD));
  ASSERT_EQ(0, change(5, EVFILT_USER, 0, NOTE_TRIGGER));
  struct kevent out[2];
  EXPECT_EQ(1, collect(out, 2));
  EXPECT_EQ(1, collect(out, 2));
}

TEST_F(KqueueEmu, KnotesOfClosedFdDisappear) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  const int number = p.r;
  close(p.r);
  p.r = -1;
  EXPECT_EQ(EBADF, change(number, EVFILT_READ, EV_DELETE));
  // The number reused by another file has no knote.
  Pipe q;
  ASSERT_EQ(number, dup2(q.r, number));
  EXPECT_EQ(ENOENT, change(number, EVFILT_READ, EV_DELETE));
  close(number);
}

TEST_F(KqueueEmu, ReusedNumberDoesNotInheritOldKnotes) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  const int number = p.r;
  close(p.r);
  p.r = -1;
  Pipe q;
  ASSERT_EQ(number, dup2(q.r, number));
  ASSERT_EQ(1, write(q.w, "x", 1));
  struct kevent out[2];
  EXPECT_EQ(0, collect(out, 2, &kShort));
  ASSERT_EQ(0, change(number, EVFILT_READ, EV_ADD));
  EXPECT_EQ(1, collect(out, 2, &kShort));
  close(number);
}

TEST_F(KqueueEmu, RegularFileIsAlwaysReady) {
  FILE* f = tmpfile();
  ASSERT_NE(nullptr, f);
  const int fd = fileno(f);
  ASSERT_EQ(4, write(fd, "data", 4));
  ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
  ASSERT_EQ(0, change(fd, EVFILT_READ, EV_ADD));
  ASSERT_EQ(0, change(fd, EVFILT_WRITE, EV_ADD | EV_ONESHOT));
  struct kevent out[4];
  ASSERT_EQ(2, collect(out, 4));
  ASSERT_EQ(1, collect(out, 4));  // the level-triggered read again
  EXPECT_EQ(EVFILT_READ, out[0].filter);
  EXPECT_EQ(4, out[0].data);
  fclose(f);
  EXPECT_EQ(0, collect(out, 4));  // the knotes went with the file
}

TEST_F(KqueueEmu, KqueueFdPollsReadableWhenEventsWait) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  struct pollfd pfd = {kq_, POLLIN, 0};
  EXPECT_EQ(0, ::poll(&pfd, 1, 0));
  ASSERT_EQ(1, write(p.w, "x", 1));
  EXPECT_EQ(1, ::poll(&pfd, 1, 1000));
  EXPECT_TRUE(pfd.revents & POLLIN);
}

TEST_F(KqueueEmu, TimeoutIsHonoured) {
  struct kevent out[1];
  const struct timespec t = {0, 30 * 1000 * 1000};
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  EXPECT_EQ(0, collect(out, 1, &t));
  clock_gettime(CLOCK_MONOTONIC, &b);
  const long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  EXPECT_GE(ns, 30 * 1000 * 1000);
}

TEST_F(KqueueEmu, ClosedKqueueIsEbadf) {
  const int fd = kqueue();
  ASSERT_GE(fd, 0);
  close(fd);
  struct kevent out[1];
  errno = 0;
  EXPECT_EQ(-1, kevent(fd, nullptr, 0, out, 1, &kNoWait));
  EXPECT_EQ(EBADF, errno);
}

// The emulation keeps an eventfd per kqueue and cannot see close(): a
// kqueue whose number another file took must still give its eventfd back.
TEST_F(KqueueEmu, ClosedKqueueWhoseNumberIsReusedLeaksNoFd) {
  const auto open_fds = [] {
    int n = 0;
    for (int fd = 0; fd < 4096; ++fd) n += fcntl(fd, F_GETFD) >= 0;
    return n;
  };
  const int before = open_fds();
  std::vector<std::unique_ptr<Pipe>> pipes;  // kept open: the numbers stay taken
  for (int i = 0; i < 100; ++i) {
    const int fd = kqueue();
    ASSERT_GE(fd, 0);
    close(fd);
    pipes.push_back(std::make_unique<Pipe>());  // takes the number the kqueue had
    ASSERT_EQ(fd, pipes.back()->r);
    const int next = kqueue();  // notices the old kqueue is gone
    ASSERT_GE(next, 0);
    close(next);
  }
  // The pipes, and at most the last kqueue's eventfd, which waits for the
  // next kqueue() call to be noticed.
  EXPECT_LE(open_fds(), before + 2 * 100 + 1);
}

TEST_F(KqueueEmu, KqueueIsNotInheritedByAForkChild) {
  Pipe p;
  ASSERT_EQ(0, change(p.r, EVFILT_READ, EV_ADD));
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct kevent out[1];
    if (fcntl(kq_, F_GETFD) >= 0) _exit(1);  // the number must be free
    if (kevent(kq_, nullptr, 0, out, 1, &kNoWait) != -1 || errno != EBADF) _exit(2);
    const int fresh = kqueue();  // and a new kqueue works
    if (fresh < 0) _exit(3);
    struct kevent ch;
    EV_SET(&ch, p.r, EVFILT_READ, EV_ADD, 0, 0, nullptr);
    if (kevent(fresh, &ch, 1, nullptr, 0, nullptr) != 0) _exit(4);
    if (write(p.w, "x", 1) != 1) _exit(5);
    if (kevent(fresh, nullptr, 0, out, 1, &kShort) != 1) _exit(6);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(pid, waitpid(pid, &status, 0));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(0, WEXITSTATUS(status)) << "child failed at step " << WEXITSTATUS(status);
  // The parent's kqueue is untouched.
  struct kevent out[1];
  EXPECT_EQ(1, collect(out, 1, &kShort));
}

}  // namespace
