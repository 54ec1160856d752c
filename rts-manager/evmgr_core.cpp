// SPDX-License-Identifier: BSD-3-Clause
//
// The whole core as one translation unit: the one file every build of evmgr
// compiles (CMake's libevmgr, the Haskell package, GHC's rts/ghc.mk and
// scripts/ghc-build.sh). A new source file of the core is added here and
// nowhere else. Back-ends the platform lacks compile to nothing
// (evmgr/config.hpp decides which exist), so no build passes a switch.
//
// One translation unit means one namespace for every file's helpers: a
// back-end's helpers live in a namespace named after it (epoll_detail, ...),
// never in an anonymous namespace another file could clash with.
//
// Order: the back-ends' sources come before the manager's, since their
// operations are explicit specializations of Backend<State> (backend.hpp)
// that must be seen before the manager calls them.
//
// Include paths every build gives: ffi/ and rts-manager/include/.
#include "evmgr/config.hpp"

#include "src/private_fd.cpp"
#include "src/registration.cpp"
#include "src/fd_table.cpp"
#include "src/wake_channel.cpp"
#include "src/closed_fd_check.cpp"
#include "src/fd_watch.cpp"
#include "src/poll_backend.cpp"
#include "src/epoll_backend.cpp"
#include "src/kqueue_backend.cpp"
#include "src/io_uring_backend.cpp"
#include "src/manager.cpp"
#include "../ffi/evmgr.cpp"
