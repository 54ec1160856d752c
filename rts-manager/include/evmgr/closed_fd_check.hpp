// SPDX-License-Identifier: BSD-3-Clause
//
// The closed-fd check: how waiters on an fd that was closed behind the
// manager's back, or whose number now names another file, hear about it
// (Note [Closed fds] in src/closed_fd_check.cpp). Four parts:
//   - when the periodic sweep is due (ClosedFdCheck's schedule), if the
//     manager runs it at all (the caller may drive it instead);
//   - the sweep: one zero-timeout poll(2) per batch of waited-on fds, for
//     fds that are not open any more;
//   - the file probes: each sweep asks, for a slice of the waited-on fds,
//     whether the number still names the file its waiters registered on
//     (the probe itself is the manager's: it depends on the back-end);
//   - the identity check: the (device, inode) an fd named when its waiters
//     registered, compared when another registration arrives or a probe
//     asks.
// All of it runs with the manager's lock held.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace evmgr {

class FdTable;

// Which open file an fd number named, as fstat says.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity& o) const noexcept {
    return device == o.device && inode == o.inode;
  }
};

// Reads the identity of the file fd names (Note [Reading a file's
// identity]). 0 or an errno (EBADF: not open).
int read_file_identity(int fd, FileIdentity* out) noexcept;

// Per fd (in its FdSlot): the file its current waiters registered on, when
// the back-end cannot tell a replaced file itself.
struct RecordedFile {
  FileIdentity identity;  // valid when recorded
  bool recorded = false;

  // Records the file fd names now; leaves it unrecorded if fstat fails.
  void record(int fd) noexcept;
  void forget() noexcept { recorded = false; }
};

// What the identity check says about a recorded fd.
enum class FileCheck {
  kSameFile,   // still the file the waiters registered on (or none recorded)
  kReplaced,   // the number now names another file: the old one was closed
  kNotOpen,    // the fd is not open at all
};
FileCheck check_file(int fd, const RecordedFile& file) noexcept;

class ClosedFdCheck {
 public:
  static constexpr std::int64_t kDefaultIntervalNs = 250'000'000;
  // Most fds one sweep probes for a replaced file (next_probes): every fd
  // up to this many waited-on fds, a rotating slice beyond, so that a sweep
  // costs a bounded number of syscalls (docs/design.md has the numbers).
  static constexpr std::size_t kProbesPerSweep = 1024;

  // Sets the period (<= 0 turns the check off) and schedules the next check
  // one period after now.
  void set_interval(std::int64_t interval_ns, std::int64_t now) noexcept;

  // When the next sweep is due, or nothing when none will run (the check
  // is off, or no fd has waiters).
  std::optional<std::int64_t> next_due(bool fd_waiters) const noexcept {
    if (interval_ns_ <= 0 || !fd_waiters) return std::nullopt;
    return next_;
  }

  // Whether a sweep is due at now; if so, the next one is scheduled one
  // period later (whether or not the caller sweeps).
  bool take_due(std::int64_t now) noexcept;

  // Checks every fd that has waiters; calls on_closed(ctx, fd) for each
  // that is not open any more. At most one poll(2) per 256 fds. 0, or the
  // errno of a poll(2) that failed (ENOMEM): that batch went unchecked.
  static int sweep(FdTable& fds, void (*on_closed)(void* ctx, int fd), void* ctx) noexcept;

  // Calls probe(fd, slot) for the next kProbesPerSweep fds that have
  // waiters, in fd order, starting where the last call stopped and
  // wrapping around once: every waited-on fd is probed within
  // ceil(waited / kProbesPerSweep) calls. `Table` is FdTable (declared
  // after this header).
  template <class Table, class Probe>
  void next_probes(Table& fds, Probe&& probe) noexcept {
    const std::size_t size = fds.size();
    if (probe_from_ >= size) probe_from_ = 0;
    std::size_t probed = 0;
    std::size_t fd = probe_from_;
    for (std::size_t seen = 0; seen < size && probed < kProbesPerSweep; ++seen) {
      if (!fds[fd].waiters.empty()) {
        probe(static_cast<int>(fd), fds[fd]);
        ++probed;
      }
      if (++fd == size) fd = 0;
    }
    probe_from_ = fd;
  }

 private:
  std::int64_t interval_ns_ = kDefaultIntervalNs;
  std::int64_t next_ = 0;
  std::size_t probe_from_ = 0;  // where next_probes() goes on
};

}  // namespace evmgr
