// cpu/threads.hpp — the CPU backend's threads: a small pool of std::threads, started on first
// use. Work is cut into numbered tasks whose bounds depend on the problem only (never on the
// thread count), each task writes its own outputs, and any sum across tasks is added in task
// order afterwards: the results are the same bits on 1 thread or 64.
//
// A pool rather than OpenMP: actlayer is a static library installed as a CMake package, and an
// OpenMP backend would make every consumer link an OpenMP runtime (-fopenmp, libgomp or libomp,
// which clash when PyTorch brings its own) and compile with a matching compiler. std::thread
// needs nothing beyond what CMake's Threads package already names.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace actlayer::cpu_impl {

/// Elements per task of an elementwise pass: enough to amortise a hand-off (~1 us), few enough
/// that 2^24 elements make 256 tasks to balance.
constexpr std::size_t kTaskElements = std::size_t{1} << 16;

/// A non-owning view of a callable void(std::size_t).
class TaskRef {
 public:
  template <class Fn, class = std::enable_if_t<!std::is_same_v<std::decay_t<Fn>, TaskRef>>>
  TaskRef(Fn&& fn)  // NOLINT: implicit by design
      : object_(const_cast<void*>(static_cast<const void*>(&fn))),
        call_([](void* o, std::size_t k) { (*static_cast<std::remove_reference_t<Fn>*>(o))(k); }) {}
  void operator()(std::size_t k) const { call_(object_, k); }

 private:
  void* object_;
  void (*call_)(void*, std::size_t);
};

/// Threads the backend uses (the caller's included): set_threads(), else the hardware's.
unsigned thread_count() noexcept;
/// 0: the hardware's count.
void set_thread_count(unsigned threads) noexcept;

/// task(0) .. task(tasks - 1), each once, on up to thread_count() threads (the caller's one of
/// them); returns when all have run. Runs them in order on the calling thread when there is
/// one task, one thread, or the pool is busy with another caller's work (a call from inside a
/// task included).
void run_tasks(std::size_t tasks, TaskRef task);

/// body(begin, end) over [0, n) in tasks of `grain` elements (the last one shorter).
template <class Body>
void parallel_ranges(std::size_t n, std::size_t grain, Body&& body) {
  const std::size_t tasks = (n + grain - 1) / grain;
  run_tasks(tasks, [&](std::size_t k) {
    const std::size_t begin = k * grain;
    body(begin, begin + grain < n ? begin + grain : n);
  });
}

}  // namespace actlayer::cpu_impl
