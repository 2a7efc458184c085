// Clang thread-safety annotations (no-ops elsewhere) and an annotated mutex,
// so locking rules are checked by the compiler, not only described.
#pragma once

#include <mutex>

#if defined(__clang__)
#define EKV_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define EKV_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) EKV_THREAD_ANNOTATION(capability(x))
#define GUARDED_BY(x) EKV_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) EKV_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) EKV_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) EKV_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) EKV_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) EKV_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) EKV_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define TRY_ACQUIRE(...) EKV_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define SCOPED_CAPABILITY EKV_THREAD_ANNOTATION(scoped_lockable)
#define ASSERT_CAPABILITY(x) EKV_THREAD_ANNOTATION(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS EKV_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace edgekv {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For std::condition_variable: lock native() with a std::unique_lock,
  // then AssertHeld() tells the analysis that this mutex is held.
  std::mutex& native() { return mu_; }
  void AssertHeld() ASSERT_CAPABILITY(this) {}

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  // Takes over a lock already held (after TryLock()).
  MutexLock(Mutex* mu, std::adopt_lock_t) REQUIRES(mu) : mu_(mu) {}
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace edgekv
