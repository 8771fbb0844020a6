// cuda_emu.h - runs the library's CUDA kernels on the CPU for machines without a GPU.
//
// Included by native/src/cuda/common.cuh when BORA_CUDA_EMULATE is defined and the .cu
// files are compiled as C++. Every CUDA thread is a ucontext fiber; __syncthreads()
// parks a fiber until all threads of its block arrive, and the fibers of a block are
// resumed in a different pseudo-random order after every barrier, so a missing barrier
// shows up as wrong results. Blocks run one after another, so `__shared__` can be a
// function-local static. Only what the kernels use is emulated: 1-D grids and blocks,
// static shared memory, __syncthreads. Test-only; never part of the library.
#pragma once

#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include <cuda_runtime.h>

#undef __shared__
#define __shared__ static
#undef __launch_bounds__
#define __launch_bounds__(...)

namespace emu {

inline uint3 g_thread_idx;
inline uint3 g_block_idx;
inline dim3 g_block_dim;
inline dim3 g_grid_dim;

struct Fiber {
    ucontext_t ctx;
    std::vector<char> stack;
    bool done = false;
    bool at_barrier = false;
};

inline ucontext_t g_scheduler;
inline std::vector<Fiber> g_fibers;
inline int g_current = 0;
inline std::function<void()>* g_body = nullptr;
inline unsigned long long g_rng = 0x9e3779b97f4a7c15ull;
inline unsigned g_max_grid = 0;  // 0: no cap; else at most this many blocks (exercises grid-stride loops)
inline long long g_barriers = 0;

inline void trampoline() {
    (*g_body)();
    g_fibers[g_current].done = true;
    swapcontext(&g_fibers[g_current].ctx, &g_scheduler);
}

inline void syncthreads() {
    ++g_barriers;
    g_fibers[g_current].at_barrier = true;
    swapcontext(&g_fibers[g_current].ctx, &g_scheduler);
}

inline unsigned next_random() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return static_cast<unsigned>(g_rng >> 11);
}

template <class F>
void launch(unsigned grid, unsigned block, F&& f) {
    std::function<void()> body = f;
    g_body = &body;
    if (g_max_grid != 0 && grid > g_max_grid) grid = g_max_grid;
    constexpr size_t kStack = 256 * 1024;
    if (g_fibers.size() < block) g_fibers.resize(block);
    for (auto& fb : g_fibers)
        if (fb.stack.size() < kStack) fb.stack.resize(kStack);
    std::vector<unsigned> order(block);
    for (unsigned bx = 0; bx < grid; ++bx) {
        g_block_idx = make_uint3(bx, 0, 0);
        g_grid_dim = dim3(grid, 1, 1);
        g_block_dim = dim3(block, 1, 1);
        for (unsigned i = 0; i < block; ++i) {
            Fiber& fb = g_fibers[i];
            fb.done = false;
            fb.at_barrier = false;
            getcontext(&fb.ctx);
            fb.ctx.uc_stack.ss_sp = fb.stack.data();
            fb.ctx.uc_stack.ss_size = fb.stack.size();
            fb.ctx.uc_link = &g_scheduler;
            makecontext(&fb.ctx, trampoline, 0);
        }
        for (;;) {
            for (unsigned i = 0; i < block; ++i) order[i] = i;
            for (unsigned i = block - 1; i > 0; --i) std::swap(order[i], order[next_random() % (i + 1)]);
            for (unsigned i : order) {
                Fiber& fb = g_fibers[i];
                if (fb.done || fb.at_barrier) continue;
                g_current = static_cast<int>(i);
                g_thread_idx = make_uint3(i, 0, 0);
                swapcontext(&g_scheduler, &fb.ctx);
            }
            unsigned done = 0, waiting = 0;
            for (unsigned i = 0; i < block; ++i) {
                done += g_fibers[i].done;
                waiting += g_fibers[i].at_barrier;
            }
            if (done == block) break;
            if (done != 0) {
                std::fprintf(stderr, "emu: block %u: %u threads finished while %u wait at __syncthreads\n", bx, done,
                             waiting);
                std::abort();
            }
            for (unsigned i = 0; i < block; ++i) g_fibers[i].at_barrier = false;
        }
    }
    g_body = nullptr;
}

}  // namespace emu

#define threadIdx (::emu::g_thread_idx)
#define blockIdx (::emu::g_block_idx)
#define blockDim (::emu::g_block_dim)
#define gridDim (::emu::g_grid_dim)
#define __syncthreads() ::emu::syncthreads()
