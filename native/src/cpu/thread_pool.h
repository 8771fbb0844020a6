// thread_pool.h - a small persistent pool of std::threads for the optimised CPU path.
// Workers sleep on a condition variable between jobs (no spinning: the caller's process
// usually runs libtorch's own threads on the same cores).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace bora {
namespace cpu {

class ThreadPool {
public:
    using Fn = void (*)(void* ctx, int worker);

    // The process-wide pool (created on first use, never destroyed: its threads must not
    // be joined from a static destructor while the process exits). In a child forked after
    // the pool started threads, those threads do not exist: the child gets a pool of its own
    // (the copy it inherited is left alone; destroying its std::threads would terminate).
    static ThreadPool& instance();

    // Calls fn(ctx, w) once for every w in [0, count) and returns when all have finished;
    // w = 0 runs on the calling thread. If another job is in flight (concurrent callers)
    // or threads cannot be started, the calls run one after another on the calling thread:
    // the partition into w is the same, so the results are too. fn must not throw.
    void run(int count, Fn fn, void* ctx);

private:
    explicit ThreadPool(uint64_t forks) : forks_(forks) {}
    void worker_loop(int index, uint64_t seen_generation);

    std::mutex submit_;  // one job at a time
    std::mutex mu_;
    std::condition_variable work_cv_;
    std::condition_variable done_cv_;
    std::vector<std::thread> workers_;  // worker i has index i + 1
    uint64_t generation_ = 0;
    Fn fn_ = nullptr;
    void* ctx_ = nullptr;
    int count_ = 0;
    int pending_ = 0;
    const uint64_t forks_;  // how many forks deep in the process tree this pool was made
};

}  // namespace cpu
}  // namespace bora
