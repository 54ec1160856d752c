// SPDX-License-Identifier: BSD-3-Clause
//
// kqueue/kevent emulated over epoll, for tests; see sys/event.h for the
// semantics and the known gaps.
//
// Design: one epoll instance per kqueue (its fd is the kqueue fd). Each fd
// with enabled knotes is in the epoll set once, with the union of its
// knotes' interest, armed EPOLLONESHOT: after a report the emulation decides
// in user space which knotes fire (EV_ONESHOT, EV_DISPATCH, capacity) and
// re-arms the fd, so level-triggered knotes are reported again by the next
// epoll_wait and a knote that did not fit is not lost. An fd whose enabled
// knotes all have EV_CLEAR is armed EPOLLET instead (edge-triggered, never
// re-armed). epoll data carries (generation << 32 | fd) so a report for a
// replaced file is ignored. EVFILT_USER knotes and regular files (which
// epoll refuses with EPERM) live only in user space; an eventfd in the epoll
// set makes the kqueue fd readable while any of them is pending.
#include "sys/event.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr std::uint64_t kUserMark = UINT64_MAX;  // epoll data of the eventfd
constexpr unsigned short kStateFlags = EV_ONESHOT | EV_CLEAR | EV_DISPATCH;

struct Knote {
  struct kevent kev;      // ident, filter, state flags, fflags, data, udata
  bool enabled = true;
  bool triggered = false;  // EVFILT_USER
};

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId& o) const { return dev == o.dev && ino == o.ino; }
};

struct FdState {
  std::uint32_t gen = 0;
  FileId id;
  bool vnode = false;     // a regular file: always ready, not in epoll
  bool in_epoll = false;  // epoll holds a watch (possibly disarmed)
};

struct Kq {
  int epfd = -1;
  int evfd = -1;
  std::uint32_t next_gen = 1;
  std::map<std::pair<std::uintptr_t, short>, Knote> knotes;
  std::unordered_map<int, FdState> fds;
};

std::mutex g_mu;
std::unordered_map<int, std::shared_ptr<Kq>> g_kqs;

bool is_fd_filter(short filter) { return filter == EVFILT_READ || filter == EVFILT_WRITE; }

bool file_id(int fd, FileId* out, bool* regular) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  *regular = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
  return true;
}

Knote* find_knote(Kq& kq, std::uintptr_t ident, short filter) {
  auto it = kq.knotes.find({ident, filter});
  return it == kq.knotes.end() ? nullptr : &it->second;
}

// Forgets every knote of fd: what FreeBSD's knote_fdclose does at close().
void purge_fd(Kq& kq, int fd) {
  kq.knotes.erase({static_cast<std::uintptr_t>(fd), EVFILT_READ});
  kq.knotes.erase({static_cast<std::uintptr_t>(fd), EVFILT_WRITE});
  auto it = kq.fds.find(fd);
  if (it != kq.fds.end()) {
    if (it->second.in_epoll) {
      epoll_event ev{};
      (void)epoll_ctl(kq.epfd, EPOLL_CTL_DEL, fd, &ev);  // ENOENT if dropped already
    }
    kq.fds.erase(it);
  }
}

// Drops the knotes of fd if they belong to a file that was closed: fd is not
// open any more (returns false), or now names another file.
bool validate_fd(Kq& kq, int fd) {
  FileId id;
  bool regular = false;
  if (!file_id(fd, &id, &regular)) {
    purge_fd(kq, fd);
    return false;
  }
  auto it = kq.fds.find(fd);
  if (it != kq.fds.end() && !(it->second.id == id)) purge_fd(kq, fd);
  return true;
}

// The epoll interest of fd from its enabled knotes, and whether they all
// want EV_CLEAR.
std::uint32_t wanted_mask(Kq& kq, int fd) {
  std::uint32_t mask = 0;
  bool all_clear = true;
  for (short filter : {short(EVFILT_READ), short(EVFILT_WRITE)}) {
    const Knote* kn = find_knote(kq, static_cast<std::uintptr_t>(fd), filter);
    if (kn == nullptr || !kn->enabled) continue;
    mask |= filter == EVFILT_READ ? (EPOLLIN | EPOLLRDHUP) : EPOLLOUT;
    all_clear = all_clear && (kn->kev.flags & EV_CLEAR) != 0;
  }
  if (mask == 0) return 0;
  return mask | (all_clear ? EPOLLET : EPOLLONESHOT);
}

// Brings epoll in line with fd's knotes. Returns 0 or an errno; ENOENT means
// epoll had dropped the watch (the file was closed), and the knotes are gone.
int sync_fd(Kq& kq, int fd) {
  auto it = kq.fds.find(fd);
  if (it == kq.fds.end()) return 0;
  FdState& st = it->second;
  if (st.vnode) return 0;
  const std::uint32_t mask = wanted_mask(kq, fd);
  epoll_event ev{};
  ev.events = mask;
  ev.data.u64 = (static_cast<std::uint64_t>(st.gen) << 32) | static_cast<std::uint32_t>(fd);
  if (mask == 0) {
    // Nothing enabled: keep the watch so that a closed file is noticed, but
    // disarmed (EPOLLONESHOT with no events still reports a hang-up once).
    if (!st.in_epoll) return 0;
    ev.events = EPOLLONESHOT;
  }
  const int op = st.in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(kq.epfd, op, fd, &ev) == 0) {
    st.in_epoll = true;
    return 0;
  }
  const int err = errno;
  if (op == EPOLL_CTL_MOD && err == ENOENT) {
    purge_fd(kq, fd);
    return ENOENT;
  }
  return err;
}

int register_user(Kq& kq, const struct kevent& change) {
  Knote* kn = find_knote(kq, change.ident, EVFILT_USER);
  if (kn == nullptr) {
    if (!(change.flags & EV_ADD)) return ENOENT;
    Knote fresh;
    fresh.kev = change;
    fresh.kev.flags = static_cast<unsigned short>(change.flags & kStateFlags);
    fresh.kev.fflags = change.fflags & NOTE_FFLAGSMASK;
    fresh.kev.data = 0;
    fresh.enabled = !(change.flags & EV_DISABLE);
    kn = &kq.knotes.emplace(std::make_pair(change.ident, short(EVFILT_USER)), fresh).first->second;
  } else if (change.flags & EV_DELETE) {
    kq.knotes.erase({change.ident, EVFILT_USER});
    return 0;
  } else {
    kn->kev.udata = change.udata;
  }
  if (change.flags & EV_ENABLE) kn->enabled = true;
  if (change.flags & EV_DISABLE) kn->enabled = false;
  const unsigned int ffctrl = change.fflags & NOTE_FFCTRLMASK;
  const unsigned int ff = change.fflags & NOTE_FFLAGSMASK;
  if (ffctrl == NOTE_FFAND) kn->kev.fflags &= ff;
  if (ffctrl == NOTE_FFOR) kn->kev.fflags |= ff;
  if (ffctrl == NOTE_FFCOPY) kn->kev.fflags = ff;
  if (change.fflags & NOTE_TRIGGER) {
    kn->triggered = true;
    const std::uint64_t one = 1;
    (void)!write(kq.evfd, &one, sizeof one);
  }
  return 0;
}

int register_fd_filter(Kq& kq, const struct kevent& change) {
  if (change.ident > static_cast<std::uintptr_t>(INT_MAX)) return EBADF;
  const int fd = static_cast<int>(change.ident);
  if (!validate_fd(kq, fd)) return EBADF;
  Knote* kn = find_knote(kq, change.ident, change.filter);
  if (kn != nullptr && !kq.fds.count(fd)) kn = nullptr;  // cannot happen; be safe
  if (kn == nullptr && !(change.flags & EV_ADD)) return ENOENT;
  if (kn != nullptr && (change.flags & EV_DELETE) && !(change.flags & EV_ADD)) {
    kq.knotes.erase({change.ident, change.filter});
    // The kernel forgets a knote at once; ENOENT from epoll means the file
    // was closed meanwhile, which leaves the state we want.
    const int err = sync_fd(kq, fd);
    if (find_knote(kq, change.ident, EVFILT_READ) == nullptr &&
        find_knote(kq, change.ident, EVFILT_WRITE) == nullptr) {
      purge_fd(kq, fd);
    }
    return err == ENOENT ? 0 : err;
  }
  bool created = false;
  if (kn == nullptr) {
    FdState& st = kq.fds[fd];
    if (st.gen == 0) {
      st.gen = kq.next_gen++;
      bool regular = false;
      (void)file_id(fd, &st.id, &regular);
      st.vnode = regular;
    }
    Knote fresh;
    fresh.kev = change;
    fresh.kev.flags = static_cast<unsigned short>(change.flags & kStateFlags);
    fresh.kev.data = 0;
    fresh.enabled = !(change.flags & EV_DISABLE);
    kn = &kq.knotes.emplace(std::make_pair(change.ident, change.filter), fresh).first->second;
    created = true;
  } else {
    // FreeBSD: only udata, fflags and data change; EV_ONESHOT, EV_CLEAR and
    // EV_DISPATCH keep the values the knote was created with.
    kn->kev.udata = change.udata;
    kn->kev.fflags = change.fflags;
  }
  if (change.flags & EV_ENABLE) kn->enabled = true;
  if (change.flags & EV_DISABLE) kn->enabled = false;
  int err = sync_fd(kq, fd);
  if (err == ENOENT) {
    // The watch belonged to a closed file that had this number: its knotes
    // are gone (purged by sync_fd); start afresh on the new file.
    return register_fd_filter(kq, change);
  }
  if (err == EPERM && !kq.fds[fd].in_epoll) {
    kq.fds[fd].vnode = true;  // epoll cannot watch it: always ready
    err = 0;
  }
  if (err != 0 && created) {
    kq.knotes.erase({change.ident, change.filter});
    if (find_knote(kq, change.ident, EVFILT_READ) == nullptr &&
        find_knote(kq, change.ident, EVFILT_WRITE) == nullptr) {
      purge_fd(kq, fd);
    }
  }
  return err;
}

int register_change(Kq& kq, const struct kevent& change) {
  if (change.filter == EVFILT_USER) return register_user(kq, change);
  if (is_fd_filter(change.filter)) return register_fd_filter(kq, change);
  return EINVAL;
}

// Applies a delivered knote's EV_ONESHOT / EV_DISPATCH / EV_CLEAR. The knote
// may be erased.
void after_delivery(Kq& kq, Knote& kn) {
  const auto key = std::make_pair(kn.kev.ident, kn.kev.filter);
  if (kn.kev.filter == EVFILT_USER && (kn.kev.flags & EV_CLEAR)) {
    kn.triggered = false;
    kn.kev.fflags = 0;
  }
  if (kn.kev.flags & EV_ONESHOT) {
    kq.knotes.erase(key);
  } else if (kn.kev.flags & EV_DISPATCH) {
    kn.enabled = false;
  }
}

void emit(struct kevent* out, const Knote& kn, unsigned short extra_flags, intptr_t data) {
  *out = kn.kev;
  out->flags = static_cast<unsigned short>(kn.kev.flags | extra_flags);
  out->data = data;
}

// Collects what epoll reported plus the user-space-only knotes.
int collect(Kq& kq, const epoll_event* reported, int nreported, struct kevent* out, int capacity) {
  int count = 0;
  std::vector<int> rearm;
  for (int i = 0; i < nreported; ++i) {
    const std::uint64_t data = reported[i].data.u64;
    if (data == kUserMark) {
      std::uint64_t value;
      (void)!read(kq.evfd, &value, sizeof value);
      continue;
    }
    const int fd = static_cast<int>(static_cast<std::uint32_t>(data));
    auto it = kq.fds.find(fd);
    if (it == kq.fds.end() || it->second.gen != static_cast<std::uint32_t>(data >> 32)) continue;
    const std::uint32_t bits = reported[i].events;
    for (short filter : {short(EVFILT_READ), short(EVFILT_WRITE)}) {
      Knote* kn = find_knote(kq, static_cast<std::uintptr_t>(fd), filter);
      if (kn == nullptr || !kn->enabled) continue;
      const bool read = filter == EVFILT_READ;
      const std::uint32_t fire_bits =
          read ? (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) : (EPOLLOUT | EPOLLHUP | EPOLLERR);
      if (!(bits & fire_bits)) continue;
      if (count == capacity) break;  // stays ready: reported after re-arming
      const bool eof = read ? (bits & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) != 0
                            : (bits & (EPOLLHUP | EPOLLERR)) != 0;
      intptr_t amount = 0;
      if (read) {
        int pending = 0;
        if (ioctl(fd, FIONREAD, &pending) == 0) amount = pending;
      }
      emit(&out[count++], *kn, eof ? EV_EOF : 0, amount);
      after_delivery(kq, *kn);
    }
    rearm.push_back(fd);
  }
  for (int fd : rearm) {
    auto it = kq.fds.find(fd);
    if (it == kq.fds.end()) continue;
    const std::uint32_t mask = wanted_mask(kq, fd);
    // Edge-triggered: stays armed. Nothing enabled: stays disarmed (re-arming
    // would report a hang-up again and again).
    if (mask == 0 || (mask & EPOLLET)) continue;
    (void)sync_fd(kq, fd);                        // ENOENT: closed, purged
  }
  // Regular files and user events.
  bool still_pending = false;
  std::vector<int> vnode_fds;
  for (auto& entry : kq.fds) {
    if (entry.second.vnode) vnode_fds.push_back(entry.first);
  }
  for (int fd : vnode_fds) {
    if (!validate_fd(kq, fd)) continue;
    for (short filter : {short(EVFILT_READ), short(EVFILT_WRITE)}) {
      Knote* kn = find_knote(kq, static_cast<std::uintptr_t>(fd), filter);
      if (kn == nullptr || !kn->enabled) continue;
      if (count == capacity) {
        still_pending = true;
        break;
      }
      intptr_t amount = 0;
      if (filter == EVFILT_READ) {
        struct stat st;
        const off_t pos = lseek(fd, 0, SEEK_CUR);
        if (fstat(fd, &st) == 0 && pos >= 0 && st.st_size > pos) {
          amount = static_cast<intptr_t>(st.st_size - pos);
        }
      }
      emit(&out[count++], *kn, 0, amount);
      after_delivery(kq, *kn);
      if (find_knote(kq, static_cast<std::uintptr_t>(fd), filter) != nullptr &&
          find_knote(kq, static_cast<std::uintptr_t>(fd), filter)->enabled) {
        still_pending = true;
      }
    }
  }
  std::vector<std::uintptr_t> user_ids;
  for (auto& entry : kq.knotes) {
    if (entry.first.second == EVFILT_USER) user_ids.push_back(entry.first.first);
  }
  for (std::uintptr_t id : user_ids) {
    Knote* kn = find_knote(kq, id, EVFILT_USER);
    if (kn == nullptr || !kn->enabled || !kn->triggered) continue;
    if (count == capacity) {
      still_pending = true;
      break;
    }
    emit(&out[count++], *kn, 0, 0);
    after_delivery(kq, *kn);
    kn = find_knote(kq, id, EVFILT_USER);
    if (kn != nullptr && kn->enabled && kn->triggered) still_pending = true;
  }
  if (still_pending) {
    const std::uint64_t one = 1;
    (void)!write(kq.evfd, &one, sizeof one);
  }
  return count;
}

bool immediate_pending(Kq& kq) {
  for (auto& entry : kq.knotes) {
    const Knote& kn = entry.second;
    if (!kn.enabled) continue;
    if (kn.kev.filter == EVFILT_USER && kn.triggered) return true;
    if (is_fd_filter(kn.kev.filter)) {
      auto it = kq.fds.find(static_cast<int>(kn.kev.ident));
      if (it != kq.fds.end() && it->second.vnode) return true;
    }
  }
  return false;
}

std::int64_t now_ns() {
  timespec ts;
  (void)clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// BSD: "The kqueue() system call creates a new kernel event queue ... The
// queue is not inherited by a child created with fork(2)". The child's copy
// of every kqueue fd is closed as soon as it exists, so the number is free
// for the child's next open() (and kevent() on it says EBADF). Runs in the
// single-threaded child: the lock may have been held by a thread that does
// not exist there, so it is re-created rather than taken.
void close_kqueues_in_child() {
  new (&g_mu) std::mutex();
  std::set<int> evfds;
  for (auto& entry : g_kqs) {
    (void)close(entry.first);  // every number the kqueue goes by
    evfds.insert(entry.second->evfd);
  }
  for (int evfd : evfds) (void)close(evfd);
  g_kqs.clear();
}

// Whether another number than `except` still names kq.
bool named_elsewhere(const std::shared_ptr<Kq>& kq, int except) {
  for (const auto& entry : g_kqs) {
    if (entry.first != except && entry.second == kq) return true;
  }
  return false;
}

// The eventfd of the kqueue whose epoll instance `fd` names, or -1 if fd is
// not one of our epoll instances (closed, or its number reused by another
// file): /proc/self/fdinfo lists an epoll instance's watches, and the one
// carrying kUserMark is that kqueue's eventfd.
int user_fd_of(int fd) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  std::FILE* info = std::fopen(path, "re");
  if (info == nullptr) return -1;
  int user_fd = -1;
  char line[256];
  while (std::fgets(line, sizeof line, info) != nullptr) {
    int tfd;
    unsigned events;
    unsigned long long data;
    if (std::sscanf(line, "tfd: %d events: %x data: %llx", &tfd, &events, &data) == 3 &&
        data == kUserMark) {
      user_fd = tfd;
    }
  }
  std::fclose(info);
  return user_fd;
}

// A kqueue fd is a file like any other: dup() or fcntl(F_DUPFD) give it
// another number, under which kevent() must work (the core moves its fds
// above the standard streams that way). An unknown number that names one
// of our epoll instances is found by its eventfd (user_fd_of). The numbers
// it went by that are closed now are forgotten.
std::shared_ptr<Kq> adopt_copy(int kqfd) {
  const int user_fd = user_fd_of(kqfd);
  if (user_fd < 0) return nullptr;
  std::shared_ptr<Kq> kq;
  for (const auto& entry : g_kqs) {
    if (entry.second->evfd == user_fd) kq = entry.second;
  }
  if (!kq) return nullptr;
  for (auto it = g_kqs.begin(); it != g_kqs.end();) {
    it = it->second == kq && fcntl(it->first, F_GETFD) < 0 ? g_kqs.erase(it) : std::next(it);
  }
  kq->epfd = kqfd;  // the epoll instance, under a number known to be open
  g_kqs[kqfd] = kq;
  return kq;
}

// close() is not intercepted: an entry whose number no longer names its
// kqueue's epoll instance (closed, reused by any other file, or by a new
// kqueue, `new_epfd`) is stale, and its eventfd is closed once no number
// names that kqueue any more, unless the number is the new kqueue's
// (`new_evfd`: the old one was closed behind our back). (Checking only that
// the number was open leaked an eventfd per kqueue whose number a pipe took
// next.) g_mu held.
void collect_stale(int new_epfd, int new_evfd) {
  for (auto it = g_kqs.begin(); it != g_kqs.end();) {
    if (it->first == new_epfd || user_fd_of(it->first) != it->second->evfd) {
      const std::shared_ptr<Kq> stale = it->second;
      it = g_kqs.erase(it);
      if (stale->evfd != new_evfd && !named_elsewhere(stale, -1)) (void)close(stale->evfd);
    } else {
      ++it;
    }
  }
}

}  // namespace

extern "C" int kqueue(void) {
  static const int atfork_registered = pthread_atfork(nullptr, nullptr, close_kqueues_in_child);
  (void)atfork_registered;
  const int epfd = epoll_create1(0);
  if (epfd < 0) return -1;
  // The eventfd stands for state a real kqueue keeps in the kernel: it must
  // not take a number the program expects, e.g. a closed stdin's 0.
  const int low_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  const int evfd = low_evfd < 0 ? -1 : fcntl(low_evfd, F_DUPFD_CLOEXEC, 3);
  if (low_evfd >= 0) (void)close(low_evfd);
  if (evfd < 0) {
    const int err = errno;
    (void)close(epfd);
    errno = err;
    return -1;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kUserMark;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) != 0) {
    const int err = errno;
    (void)close(evfd);
    (void)close(epfd);
    errno = err;
    return -1;
  }
  auto kq = std::make_shared<Kq>();
  kq->epfd = epfd;
  kq->evfd = evfd;
  std::lock_guard<std::mutex> lock(g_mu);
  collect_stale(epfd, evfd);
  g_kqs[epfd] = std::move(kq);
  return epfd;
}

extern "C" void kqueue_emu_collect(void) {
  std::lock_guard<std::mutex> lock(g_mu);
  collect_stale(-1, -1);
}

extern "C" int kevent(int kqfd, const struct kevent* changelist, int nchanges,
                      struct kevent* eventlist, int nevents, const struct timespec* timeout) {
  if (nchanges < 0 || nevents < 0 || (nchanges > 0 && changelist == nullptr) ||
      (nevents > 0 && eventlist == nullptr)) {
    errno = EINVAL;
    return -1;
  }
  if (timeout != nullptr && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
                             timeout->tv_nsec >= 1000000000)) {
    errno = EINVAL;
    return -1;
  }
  std::shared_ptr<Kq> kq;
  int returned = 0;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (fcntl(kqfd, F_GETFD) < 0) {
      errno = EBADF;
      return -1;
    }
    auto it = g_kqs.find(kqfd);
    kq = it != g_kqs.end() ? it->second : adopt_copy(kqfd);
    if (!kq) {
      errno = EBADF;
      return -1;
    }
    for (int i = 0; i < nchanges; ++i) {
      const struct kevent& change = changelist[i];
      const int err = register_change(*kq, change);
      if (err != 0 || (change.flags & EV_RECEIPT)) {
        if (returned == nevents) {
          if (err != 0) {
            errno = err;
            return -1;
          }
          continue;
        }
        struct kevent& receipt = eventlist[returned++];
        receipt = change;
        receipt.flags = EV_ERROR;
        receipt.data = err;
      }
    }
  }
  if (returned > 0 || nevents == 0) return returned;

  const std::int64_t deadline =
      timeout == nullptr ? -1
                         : now_ns() + static_cast<std::int64_t>(timeout->tv_sec) * 1000000000 +
                               timeout->tv_nsec;
  std::vector<epoll_event> reported(static_cast<std::size_t>(nevents));
  for (;;) {
    bool immediate;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      immediate = immediate_pending(*kq);
    }
    int wait_ms = -1;
    if (immediate) {
      wait_ms = 0;
    } else if (deadline >= 0) {
      const std::int64_t left = deadline - now_ns();
      // Round up so that the caller's timeout is never cut short.
      wait_ms = left <= 0 ? 0 : static_cast<int>(std::min<std::int64_t>((left + 999999) / 1000000, INT_MAX));
    }
    const int n = epoll_wait(kq->epfd, reported.data(), nevents, wait_ms);
    if (n < 0) return -1;  // EINTR and friends, errno set
    std::lock_guard<std::mutex> lock(g_mu);
    const int count = collect(*kq, reported.data(), n, eventlist, nevents);
    if (count > 0) return count;
    if (deadline >= 0 && now_ns() >= deadline) return 0;
  }
}
