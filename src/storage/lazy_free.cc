#include "storage/lazy_free.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "util/thread_name.h"

namespace edgekv::lazy_free {
namespace {

class Freer {
 public:
  ~Freer() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    for (Collection* c : queue_) delete c;  // none when the thread ran them
  }

  void Add(Collection* c) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
      queue_.push_back(c);
    }
    cv_.notify_one();
  }

  uint64_t pending() const { return pending_.load(std::memory_order_relaxed); }
  uint64_t freed() const { return freed_.load(std::memory_order_relaxed); }

 private:
  void Run() {
    SetThreadName("ekv-lazy-free");
    std::vector<Collection*> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        batch.swap(queue_);
      }
      for (Collection* c : batch) {
        delete c;
        pending_.fetch_sub(1, std::memory_order_relaxed);
        freed_.fetch_add(1, std::memory_order_relaxed);
      }
      batch.clear();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Collection*> queue_;  // guarded by mu_
  bool stop_ = false;               // guarded by mu_
  std::thread thread_;              // started under mu_
  std::atomic<uint64_t> pending_{0};
  std::atomic<uint64_t> freed_{0};
};

Freer& TheFreer() {
  static Freer freer;
  return freer;
}

bool Big(const Collection& c) {
  // One kept on disk holds only its changes in memory, whatever its size.
  if (c.on_disk()) return false;
  std::string_view enc = c.encoding();
  return c.size() > kThreshold && enc != "listpack" && enc != "intset";
}

}  // namespace

void Free(Collection* c) {
  if (c == nullptr) return;
  if (Big(*c)) {
    TheFreer().Add(c);
  } else {
    delete c;
  }
}

uint64_t Pending() { return TheFreer().pending(); }
uint64_t Freed() { return TheFreer().freed(); }

}  // namespace edgekv::lazy_free
