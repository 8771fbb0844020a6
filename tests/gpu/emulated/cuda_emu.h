// cuda_emu.h - runs the library's CUDA kernels on the CPU for machines without a GPU.
//
// Included by native/src/cuda/common.cuh when BORA_CUDA_EMULATE is defined and the .cu
// files are compiled as C++. Every CUDA thread is a ucontext fiber; __syncthreads()
// parks a fiber until all threads of its block arrive, and the fibers of a block are
// resumed in a different pseudo-random order after every barrier, so a missing barrier
// shows up as wrong results. Blocks run one after another, so `__shared__` can be a
// function-local static. Only what the kernels use is emulated: 1-D grids and blocks,
// static shared memory, __syncthreads, and the warp-wide tensor-core product (mma.cuh):
// its lanes park at a warp barrier, exchange their fragments and each computes its part of
// D from the documented fragment layout, so a kernel that loads a fragment wrongly gets
// wrong results here too. Test-only; never part of the library.
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
    bool at_warp_barrier = false;
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

// Shared-memory accesses wider than 2 bytes fault on a GPU unless aligned to their size.
inline void require_aligned(const void* p, unsigned bytes, const char* what) {
    if (reinterpret_cast<uintptr_t>(p) % bytes == 0) return;
    std::fprintf(stderr, "emu: %s at %p is not %u-byte aligned (a misaligned address fault on a GPU)\n", what, p, bytes);
    std::abort();
}

// Parks the calling lane until every lane of its warp has arrived.
inline void syncwarp() {
    g_fibers[g_current].at_warp_barrier = true;
    swapcontext(&g_fibers[g_current].ctx, &g_scheduler);
}

// mma.sync m16n8k16 (row.col, float accumulators) over the calling warp; to_f widens one
// 16-bit element. Fragment layout as in native/src/cuda/mma.cuh (lane = 4 g + q).
struct WarpFragments {
    uint32_t a[32][4];
    uint32_t b[32][2];
};
inline WarpFragments g_warp_fragments[32];

inline void mma_16x8x16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], float (*to_f)(uint32_t)) {
    const int lane = g_current % 32;
    WarpFragments& w = g_warp_fragments[g_current / 32];
    for (int i = 0; i < 4; ++i) w.a[lane][i] = a[i];
    for (int i = 0; i < 2; ++i) w.b[lane][i] = b[i];
    syncwarp();
    auto half_of = [&](uint32_t reg, int k) { return to_f(k % 2 == 0 ? (reg & 0xffffu) : (reg >> 16)); };
    auto A = [&](int row, int k) {  // A[row][k]: lane 4 (row % 8) + (k % 8) / 2, register (row >= 8) + 2 (k >= 8)
        return half_of(w.a[(row % 8) * 4 + (k % 8) / 2][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)], k);
    };
    auto B = [&](int k, int col) {  // B[k][col]: lane 4 col + (k % 8) / 2, register (k >= 8)
        return half_of(w.b[col * 4 + (k % 8) / 2][k >= 8 ? 1 : 0], k);
    };
    const int g = lane / 4, q = lane % 4;
    float out[4];
    for (int i = 0; i < 4; ++i) {
        const int row = g + (i >= 2 ? 8 : 0), col = 2 * q + (i % 2);
        float acc = d[i];
        for (int k = 0; k < 16; ++k) acc += A(row, k) * B(k, col);
        out[i] = acc;
    }
    syncwarp();  // every lane has read the fragments before any lane writes new ones
    for (int i = 0; i < 4; ++i) d[i] = out[i];
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
            fb.at_warp_barrier = false;
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
                if (fb.done || fb.at_barrier || fb.at_warp_barrier) continue;
                g_current = static_cast<int>(i);
                g_thread_idx = make_uint3(i, 0, 0);
                swapcontext(&g_scheduler, &fb.ctx);
            }
            unsigned done = 0, waiting = 0, warp_waiting = 0;
            for (unsigned i = 0; i < block; ++i) {
                done += g_fibers[i].done;
                waiting += g_fibers[i].at_barrier;
                warp_waiting += g_fibers[i].at_warp_barrier;
            }
            if (done == block) break;
            if (warp_waiting != 0) {
                // Release one warp whose lanes have all arrived, chosen at random, so that warps
                // drift apart as on a GPU and a missing __syncthreads between them shows up.
                std::vector<unsigned> ready;
                for (unsigned w0 = 0; w0 < block; w0 += 32) {
                    const unsigned w1 = w0 + 32 < block ? w0 + 32 : block;
                    bool all = true;
                    for (unsigned i = w0; i < w1; ++i) all = all && g_fibers[i].at_warp_barrier;
                    if (all) ready.push_back(w0);
                }
                if (!ready.empty()) {
                    const unsigned w0 = ready[next_random() % ready.size()];
                    for (unsigned i = w0; i < w0 + 32 && i < block; ++i) g_fibers[i].at_warp_barrier = false;
                    continue;
                }
                std::fprintf(stderr, "emu: block %u: %u lanes wait at a warp-wide operation that the rest of their warp "
                             "never reaches\n", bx, warp_waiting);
                std::abort();
            }
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
