// SPDX-License-Identifier: BSD-3-Clause
//
// The manager's lock: a pthread mutex with the lock()/unlock()/try_lock()
// of a standard Lockable (std::lock_guard and std::unique_lock work on it;
// the core uses its own LockGuard, which needs no <mutex>). Not std::mutex,
// whose lock() calls into libstdc++.so to throw on failure (Note [No C++
// runtime] in evmgr/memory.hpp). ThreadSanitizer sees pthread mutexes as
// it sees std::mutex.
#pragma once

#include <pthread.h>

namespace evmgr {

class Mutex {
 public:
  Mutex() noexcept = default;
  ~Mutex() { (void)pthread_mutex_destroy(&mutex_); }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // A default (non-error-checking) mutex fails only when misused, which
  // std::mutex leaves undefined too.
  void lock() noexcept { (void)pthread_mutex_lock(&mutex_); }
  void unlock() noexcept { (void)pthread_mutex_unlock(&mutex_); }
  bool try_lock() noexcept { return pthread_mutex_trylock(&mutex_) == 0; }

  // In a forked child: an unlocked mutex again, whoever held it in the
  // parent (that thread does not exist in the child). See Note [Fork].
  void reset_after_fork() noexcept { (void)pthread_mutex_init(&mutex_, nullptr); }

 private:
  pthread_mutex_t mutex_ = PTHREAD_MUTEX_INITIALIZER;
};

// Holds a lock (a Mutex, or the manager's ManagerLock) for its scope, like
// std::lock_guard; `LockGuard lock(mu_);` deduces the type.
template <class Lockable>
class LockGuard {
 public:
  explicit LockGuard(Lockable& mutex) noexcept : mutex_(mutex) { mutex_.lock(); }
  ~LockGuard() { mutex_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Lockable& mutex_;
};

}  // namespace evmgr
