// SPDX-License-Identifier: BSD-3-Clause
// Event bits and keys shared by every unit of the core.
#pragma once

#include <cstdint>

namespace evmgr {

// A bit set of kRead, kWrite, kError, kClosed, kTimeout. The values are the
// C ABI's EVMGR_* constants (ffi/evmgr.cpp checks that they agree).
using Events = std::uint32_t;

inline constexpr Events kRead = 0x01;
inline constexpr Events kWrite = 0x02;
inline constexpr Events kError = 0x04;    // error or hang-up; kRead|kWrite too
inline constexpr Events kClosed = 0x08;   // fd closed while registered
inline constexpr Events kTimeout = 0x10;  // a timer expired
inline constexpr Events kInterestMask = kRead | kWrite;

// Names a registration: generation in the high 32 bits, pool slot in the low
// 32. Generations start at 1, so 0 is never a key.
using Key = std::uint64_t;

// One ready event as the manager hands it out; the same layout as the C
// ABI's evmgr_event.
struct ReadyEvent {
  std::uintptr_t token;
  Key key;
  std::int32_t fd;  // -1 for a timer
  Events events;
};

}  // namespace evmgr
