// The CPU backend's thread pool (threads.hpp).
#include "threads.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace actlayer::cpu_impl {

namespace {

std::atomic<unsigned> requested{0};

/// The pool of the process that started it: a child made by fork() has none of its threads
/// (Python's multiprocessing, data-loader workers), so it runs its tasks on the calling thread
/// and leaves the copies of the parent's thread handles alone.
class Pool {
 public:
  ~Pool() {
    if (getpid() != owner_) {
      for (std::thread& t : workers_) t.detach();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  void run(std::size_t tasks, TaskRef task, unsigned threads) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock() || threads <= 1 || tasks <= 1 || getpid() != owner_) {
      for (std::size_t k = 0; k < tasks; ++k) task(k);
      return;
    }
    const unsigned helpers = static_cast<unsigned>(
        std::min<std::size_t>(threads - 1, tasks - 1));  // the caller is one more
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (workers_.size() < helpers) workers_.emplace_back([this] { work(); });
      task_ = &task;
      tasks_ = tasks;
      next_.store(0);
      active_ = helpers;
      wanted_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    drain(task, tasks);
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return active_ == 0; });
    task_ = nullptr;
  }

 private:
  void drain(const TaskRef& task, std::size_t tasks) {
    for (std::size_t k = next_.fetch_add(1); k < tasks; k = next_.fetch_add(1)) task(k);
  }

  void work() {
    std::size_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || (generation_ != seen && wanted_ > 0); });
      if (stopping_) return;
      seen = generation_;
      --wanted_;
      const TaskRef task = *task_;
      const std::size_t tasks = tasks_;
      lock.unlock();
      drain(task, tasks);
      lock.lock();
      if (--active_ == 0) finished_.notify_one();
    }
  }

  std::mutex busy_;   // one caller's work at a time
  std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_, finished_;
  std::vector<std::thread> workers_;
  const TaskRef* task_ = nullptr;
  std::size_t tasks_ = 0;
  std::atomic<std::size_t> next_{0};
  unsigned active_ = 0;  // helpers of this generation still running
  unsigned wanted_ = 0;  // helpers of this generation not yet started
  std::size_t generation_ = 0;
  bool stopping_ = false;
  const pid_t owner_ = getpid();
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

unsigned thread_count() noexcept {
  const unsigned n = requested.load(std::memory_order_relaxed);
  if (n != 0) return n;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

void set_thread_count(unsigned threads) noexcept {
  requested.store(threads, std::memory_order_relaxed);
}

void run_tasks(std::size_t tasks, TaskRef task) { pool().run(tasks, task, thread_count()); }

}  // namespace actlayer::cpu_impl
