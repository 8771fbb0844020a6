// thread_pool.cpp - see thread_pool.h.
#include "cpu/thread_pool.h"

#include <pthread.h>

#include <atomic>

namespace bora {
namespace cpu {

namespace {

std::atomic<ThreadPool*> g_pool{nullptr};
// Bumped in every forked child (pthread_atfork): a pool made before the fork belongs to the
// parent, whose workers a child does not have; run() would wait for them forever.
std::atomic<uint64_t> g_forks{0};

void count_fork_in_child() { g_forks.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

ThreadPool& ThreadPool::instance() {
    static const bool registered = pthread_atfork(nullptr, nullptr, count_fork_in_child) == 0;
    (void)registered;
    for (;;) {
        const uint64_t forks = g_forks.load(std::memory_order_relaxed);
        ThreadPool* pool = g_pool.load(std::memory_order_acquire);
        if (pool != nullptr && pool->forks_ == forks) return *pool;
        // A new pool starts no thread until its first run(), so a racing caller's spare one
        // can simply be deleted; the replaced pool is leaked on purpose (see the header).
        ThreadPool* fresh = new ThreadPool(forks);
        if (g_pool.compare_exchange_strong(pool, fresh, std::memory_order_acq_rel)) return *fresh;
        delete fresh;
    }
}

void ThreadPool::run(int count, Fn fn, void* ctx) {
    auto run_inline = [&] {
        for (int w = 0; w < count; ++w) fn(ctx, w);
    };
    if (count <= 1) return run_inline();
    std::unique_lock<std::mutex> submit(submit_, std::try_to_lock);
    if (!submit.owns_lock()) return run_inline();
    try {
        // No job is published while submit_ is held, so generation_ is stable here and a
        // new worker starts out having "seen" it.
        while (int(workers_.size()) < count - 1) {
            const int index = int(workers_.size()) + 1;
            workers_.emplace_back(&ThreadPool::worker_loop, this, index, generation_);
        }
    } catch (...) {
        if (int(workers_.size()) < count - 1) return run_inline();
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        fn_ = fn;
        ctx_ = ctx;
        count_ = count;
        pending_ = count - 1;
        ++generation_;
    }
    work_cv_.notify_all();
    fn(ctx, 0);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::worker_loop(int index, uint64_t seen) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        work_cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index >= count_) continue;  // this job needs fewer workers
        Fn fn = fn_;
        void* ctx = ctx_;
        lock.unlock();
        fn(ctx, index);
        lock.lock();
        if (--pending_ == 0) done_cv_.notify_one();
    }
}

}  // namespace cpu
}  // namespace bora
