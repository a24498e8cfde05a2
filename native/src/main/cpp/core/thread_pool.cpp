#include "core/thread_pool.h"

#include <algorithm>

namespace adjoint {

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::ThreadPool() {
  unsigned n = std::thread::hardware_concurrency();
  resize(n == 0 ? 1 : (int)n);
}

ThreadPool::~ThreadPool() {
  // Destructors must not throw (Note [Errors]); joining cannot, but be explicit.
  try {
    resize(1);
  } catch (...) {
  }
}

void ThreadPool::resize(int threads) {
  threads = std::max(1, threads);
  std::lock_guard<std::mutex> serial(resizeMu_);   // two resizes would join the same threads
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = false;
  }
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
  size_.store(threads, std::memory_order_relaxed);
}

ThreadPool::Job* ThreadPool::findWork() {
  for (Job* j : jobs_)
    if (j->hasWork()) return j;
  return nullptr;
}

void ThreadPool::workerLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    Job* job = nullptr;
    cv_.wait(lk, [&] { return stop_ || (job = findWork()) != nullptr; });
    if (stop_) return;
    ++job->active_;
    lk.unlock();
    job->work();
    lk.lock();
    --job->active_;
    doneCv_.notify_all();
  }
}

void ThreadPool::submit(Job* job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    jobs_.push_back(job);
  }
  cv_.notify_all();
}

void ThreadPool::notify() {
  { std::lock_guard<std::mutex> lk(mu_); }
  cv_.notify_all();
  doneCv_.notify_all();
}

void ThreadPool::retire(Job* job) {
  std::unique_lock<std::mutex> lk(mu_);
  jobs_.erase(std::find(jobs_.begin(), jobs_.end(), job));
  doneCv_.wait(lk, [&] { return job->active_ == 0; });
}

}  // namespace adjoint
