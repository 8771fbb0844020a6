// plan.cuh - how each pass is cut into thread blocks, and where its scratch buffers lie
// in the caller's workspace. Pure host functions of the problem sizes: the workspace
// size queries and the launches use the same numbers.
#pragma once

#include <cstdint>

#include "backend.h"
#include "common.cuh"

namespace bora {
namespace cuda {
namespace detail {

// Thread blocks we aim for per pass: several waves on a 132-SM GPU, so that the last
// wave's tail is short, without cutting the reductions into needless pieces.
#if defined(BORA_CUDA_EMULATE)
inline int64_t g_emu_target_blocks = 1024;  // tests lower it to get long chunk loops on small shapes
inline int64_t target_blocks() { return g_emu_target_blocks; }
#else
constexpr int64_t target_blocks() { return 1024; }
#endif

// Columns of r handled by one thread block: 8, 16 or 32 (the kernels are templated on it).
inline int rank_slab(int64_t r) { return r <= 8 ? 8 : (r <= 16 ? 16 : 32); }

// project: P[t, j, :] = alpha * W_j X[t, j-block], X T x N with b column blocks.
// Tiles: 64 tokens x (one split of one column block) x (one slab of r).
constexpr int kProjectTokens = 64;
constexpr int kProjectChunk = 64;  // columns staged in shared memory at a time

struct ProjectPlan {
    int64_t token_tiles = 0;
    int64_t nsplit = 1;          // splits of each column block (partial sums reduced later)
    int64_t cols_per_split = 0;  // a multiple of kProjectChunk
    int64_t rslabs = 1;
    int rs = 8;
    int64_t tiles() const { return token_tiles * nsplit * rslabs; }  // times b
};

inline ProjectPlan plan_project(int64_t T, int64_t N, int64_t b, int64_t r) {
    ProjectPlan pl;
    pl.rs = rank_slab(r);
    pl.rslabs = ceil_div(r, pl.rs);
    pl.token_tiles = ceil_div(T, kProjectTokens);
    const int64_t chunks = ceil_div(N / b, kProjectChunk);
    const int64_t base = pl.token_tiles * b * pl.rslabs;
    int64_t want = ceil_div(target_blocks(), base);
    want = max64(1, min64(want, chunks));
    const int64_t chunks_per_split = ceil_div(chunks, want);
    pl.nsplit = ceil_div(chunks, chunks_per_split);
    pl.cols_per_split = chunks_per_split * kProjectChunk;
    return pl;
}

// expand: Y[t, i-block] += alpha * W_i P[t, i, :]. Tiles: 64 tokens x 128 columns of one block.
constexpr int kExpandTokens = 64;
constexpr int kExpandCols = 128;

// wgrad: D[col, :] = sum_t X[t, col] P[t, block(col), :], split over tokens.
constexpr int kWgradCols = 128;
constexpr int kWgradChunk = 32;  // tokens staged in shared memory at a time

struct WgradPlan {
    int64_t col_tiles_per_block = 0;
    int64_t tsplit = 1;
    int64_t tokens_per_split = 0;  // a multiple of kWgradChunk
    int64_t rslabs = 1;
    int rs = 8;
};

inline WgradPlan plan_wgrad(int64_t T, int64_t N, int64_t b, int64_t r) {
    WgradPlan pl;
    pl.rs = rank_slab(r);
    pl.rslabs = ceil_div(r, pl.rs);
    pl.col_tiles_per_block = ceil_div(N / b, kWgradCols);
    const int64_t chunks = ceil_div(T, kWgradChunk);
    const int64_t base = b * pl.col_tiles_per_block * pl.rslabs;
    int64_t want = ceil_div(target_blocks(), base);
    want = max64(1, min64(min64(want, chunks), 32));
    const int64_t chunks_per_split = ceil_div(chunks, want);
    pl.tsplit = ceil_div(chunks, chunks_per_split);
    pl.tokens_per_split = chunks_per_split * kWgradChunk;
    return pl;
}

// dS partial sums: one thread per (i, j, k) and token split.
inline int64_t plan_ds_splits(int64_t T, int64_t b, int64_t r) {
    const int64_t outputs = b * b * r;
    const int64_t want = max64(1, 65536 / outputs);
    return max64(1, min64(want, ceil_div(T, 64)));
}

// Hands out 256-byte aligned float arrays from a workspace; with base == nullptr it
// only counts, which is how the size queries are answered.
class Carver {
public:
    explicit Carver(void* base) : base_(reinterpret_cast<uintptr_t>(base)) {
        if (base_ != 0) offset_ = ((base_ + 255u) & ~uintptr_t(255u)) - base_;
        else offset_ = 0;
    }
    float* floats(int64_t count) {
        float* p = base_ == 0 ? nullptr : reinterpret_cast<float*>(base_ + offset_);
        offset_ += static_cast<uintptr_t>(ceil_div(count * 4, 256) * 256);
        return p;
    }
    // Bytes used, plus the slack a 16-byte aligned base may need to reach 256-byte alignment.
    int64_t bytes_needed() const { return static_cast<int64_t>(offset_) + (base_ == 0 ? 256 : 0); }
    int64_t bytes_used() const { return static_cast<int64_t>(offset_); }

private:
    uintptr_t base_;
    uintptr_t offset_;
};

struct ForwardScratch {
    float* part = nullptr;  // [nsplit][T][b][r] partial sums of U (only when nsplit > 1)
    float* U = nullptr;     // T x b x r, when the caller did not ask for U
    float* V = nullptr;     // T x b x r
};

inline ForwardScratch carve_forward(const Problem& p, Carver& c) {
    const ProjectPlan pl = plan_project(p.T, p.n, p.b, p.r);
    const int64_t tbr = p.T * p.b * p.r;
    ForwardScratch s;
    if (pl.nsplit > 1) s.part = c.floats(pl.nsplit * tbr);
    s.U = c.floats(tbr);
    s.V = c.floats(tbr);
    return s;
}

struct BackwardScratch {
    float* part = nullptr;   // partial sums of U and then of dV (max of both)
    float* U = nullptr;      // recomputed U when u_saved is null
    float* V = nullptr;
    float* dV = nullptr;
    float* dU = nullptr;
    float* ds_part = nullptr;  // [splits][b][b][r]
    float* w_part = nullptr;   // [tsplit][N][r] of dB and then of dA (max of both)
};

inline BackwardScratch carve_backward(const Problem& p, Carver& c) {
    const ProjectPlan px = plan_project(p.T, p.n, p.b, p.r);
    const ProjectPlan pg = plan_project(p.T, p.m, p.b, p.r);
    const WgradPlan wa = plan_wgrad(p.T, p.n, p.b, p.r);
    const WgradPlan wb = plan_wgrad(p.T, p.m, p.b, p.r);
    const int64_t tbr = p.T * p.b * p.r;
    const int64_t nsplit = max64(px.nsplit, pg.nsplit);
    BackwardScratch s;
    if (nsplit > 1) s.part = c.floats(nsplit * tbr);
    s.U = c.floats(tbr);
    s.V = c.floats(tbr);
    s.dV = c.floats(tbr);
    s.dU = c.floats(tbr);
    s.ds_part = c.floats(plan_ds_splits(p.T, p.b, p.r) * p.b * p.b * p.r);
    s.w_part = c.floats(max64(wa.tsplit * p.n, wb.tsplit * p.m) * p.r);
    return s;
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
