// launchers.cuh - host helpers that launch one step of a pass (shared by forward.cu and
// backward.cu): pick the kernel instance, fill its parameters, check the launch.
#pragma once

#include "backend.h"
#include "block_gemm_kernels.cuh"
#include "block_gemm_mma_kernels.cuh"
#include "common.cuh"
#include "mixing_kernels.cuh"
#include "plan.cuh"
#include "reduction_kernels.cuh"
#include "reduction_mma_kernels.cuh"

namespace bora {
namespace cuda {
namespace detail {

inline int check_launch(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return BORA_OK;
    set_last_error("CUDA error launching %s: %s (%s)", what, cudaGetErrorName(e), cudaGetErrorString(e));
    return BORA_ERR_CUDA;
}

// The instance of a kernel templated on the rank slab (8, 16 or 32) for slab rs.
template <class Kernel>
inline Kernel by_slab(int rs, Kernel k8, Kernel k16, Kernel k32) {
    return rs == 8 ? k8 : rs == 16 ? k16 : k32;
}

// Tensor-core kernels unless the caller asked for the FMA ones.
inline bool use_tensor_cores(const Problem& pb) { return (pb.flags & BORA_FLAG_NO_TENSOR_CORES) == 0; }

// Vector loads need 16-byte aligned rows and block starts as well as base pointer.
template <class T>
inline bool can_vectorise(const void* ptr, int64_t N, int64_t nbk) {
    constexpr int V = Vec<T>::kN;
    return aligned16(ptr) && N % V == 0 && nbk % V == 0;
}

// dest[t, j, :] = alpha * W_j X[t, j-block]; X is T x N with b blocks; the weight element
// (k, col) is W[k * w_sk + col * w_sc]. part: scratch for split partial sums (may be null
// when the plan has a single split).
template <class T>
int project_to(const Problem& pb, const void* X, int64_t N, const void* W, int64_t w_sk, int64_t w_sc, float alpha,
               float* part, float* dest, cudaStream_t stream) {
    const ProjectPlan pl = plan_project(pb.T, N, pb.b, pb.r);
    ProjectParams k;
    k.X = X;
    k.W = W;
    k.w_sk = w_sk;
    k.w_sc = w_sc;
    k.out = pl.nsplit > 1 ? part : dest;
    k.T = pb.T;
    k.N = N;
    k.b = pb.b;
    k.r = pb.r;
    k.nbk = N / pb.b;
    k.token_tiles = pl.token_tiles;
    k.nsplit = pl.nsplit;
    k.cols_per_split = pl.cols_per_split;
    k.rslabs = pl.rslabs;
    k.alpha = alpha;
    k.vec_ok = can_vectorise<T>(X, N, k.nbk) ? 1 : 0;
    if (pl.nsplit > 1 && part == nullptr) {
        set_last_error("internal: projection needs split scratch that was not reserved");
        return BORA_ERR_INTERNAL;
    }
    auto kernel = by_slab(pl.rs, project_kernel<T, 8>, project_kernel<T, 16>, project_kernel<T, 32>);
    if constexpr (HasMma<T>::value) {
        if (use_tensor_cores(pb))
            kernel = by_slab(pl.rs, project_mma_kernel<T, 8>, project_mma_kernel<T, 16>, project_mma_kernel<T, 32>);
    }
    int st = check_launch(launch(kernel, grid_for(pl.tiles() * pb.b, 1), stream, k), "project_kernel");
    if (st != BORA_OK || pl.nsplit == 1) return st;
    const int64_t count = pb.T * pb.b * pb.r;
    return check_launch(launch(reduce_splits_kernel, grid_for(count, kThreads), stream,
                               static_cast<const float*>(part), pl.nsplit, count, dest),
                        "reduce_splits_kernel");
}

// R[t, o, :] = sum_q S(o, q, :) * Q[t, q, :]; transpose = false: S(o, q) = S[o][q] (V from U);
// transpose = true: S(o, q) = S[q][o] (dU from dV).
template <class T>
int mix(const Problem& pb, const float* Q, const void* S, bool transpose, float* R, cudaStream_t stream) {
    const int64_t so = transpose ? 1 : pb.b, sq = transpose ? pb.b : 1;
    const int64_t items = ceil_div(pb.T, kMixTokens) * pb.b * pb.r;
    return check_launch(launch(mix_kernel<T>, grid_for(items, kThreads), stream, Q, S, so, sq, R, pb.T, pb.b, pb.r),
                        "mix_kernel");
}

// Y[t, j-block] += alpha * W_j P[t, j, :]; Y is T x N with b blocks; the weight element
// (col, k) is W[col * w_sc + k * w_sk].
template <class T>
int expand_into(const Problem& pb, const float* P, const void* W, int64_t w_sc, int64_t w_sk, void* Y, int64_t N,
                float alpha, cudaStream_t stream) {
    ExpandParams k;
    k.P = P;
    k.W = W;
    k.w_sc = w_sc;
    k.w_sk = w_sk;
    k.Y = Y;
    k.T = pb.T;
    k.N = N;
    k.b = pb.b;
    k.r = pb.r;
    k.nbk = N / pb.b;
    k.token_tiles = ceil_div(pb.T, kExpandTokens);
    k.col_tiles_per_block = ceil_div(k.nbk, kExpandCols);
    k.alpha = alpha;
    k.vec_ok = can_vectorise<T>(Y, N, k.nbk) ? 1 : 0;
    const int rs = rank_slab(pb.r);
    auto kernel = by_slab(rs, expand_kernel<T, 8>, expand_kernel<T, 16>, expand_kernel<T, 32>);
    if constexpr (MmaTakesFloatOperand<T>::value) {
        if (use_tensor_cores(pb)) kernel = by_slab(rs, expand_mma_kernel<8>, expand_mma_kernel<16>, expand_mma_kernel<32>);
    }
    return check_launch(launch(kernel, grid_for(k.token_tiles * pb.b * k.col_tiles_per_block, 1), stream, k),
                        "expand_kernel");
}

// part[s][col, k] = sum over the tokens of split s of X[t, col] P[t, block(col), k]: float
// partial sums (pl = plan_wgrad(T, N, b, r) says how the tokens are split) that wgrad_to adds up.
template <class T>
int wgrad_partials(const Problem& pb, const WgradPlan& pl, const void* X, int64_t N, const float* P, float* part,
                   cudaStream_t stream) {
    WgradParams k;
    k.X = X;
    k.P = P;
    k.part = part;
    k.T = pb.T;
    k.N = N;
    k.b = pb.b;
    k.r = pb.r;
    k.nbk = N / pb.b;
    k.col_tiles_per_block = pl.col_tiles_per_block;
    k.tsplit = pl.tsplit;
    k.tokens_per_split = pl.tokens_per_split;
    k.rslabs = pl.rslabs;
    k.vec_ok = can_vectorise<T>(X, N, k.nbk) ? 1 : 0;
    auto kernel = by_slab(pl.rs, wgrad_kernel<T, 8>, wgrad_kernel<T, 16>, wgrad_kernel<T, 32>);
    if constexpr (MmaTakesFloatOperand<T>::value) {
        if (use_tensor_cores(pb)) kernel = by_slab(pl.rs, wgrad_mma_kernel<8>, wgrad_mma_kernel<16>, wgrad_mma_kernel<32>);
    }
    const int64_t tiles = pb.b * pl.col_tiles_per_block * pl.tsplit * pl.rslabs;
    return check_launch(launch(kernel, grid_for(tiles, 1), stream, k), "wgrad_kernel");
}

// out(col, k) = [out +] alpha * sum_t X[t, col] P[t, block(col), k], out(col, k) at
// out[col * o_scol + k * o_sk]; part: scratch for the token-split partial sums.
template <class T>
int wgrad_to(const Problem& pb, const void* X, int64_t N, const float* P, float alpha, float* part, void* out,
             int64_t o_scol, int64_t o_sk, bool accumulate, cudaStream_t stream) {
    const WgradPlan pl = plan_wgrad(pb.T, N, pb.b, pb.r);
    const int st = wgrad_partials<T>(pb, pl, X, N, P, part, stream);
    if (st != BORA_OK) return st;
    return check_launch(launch(finalize_kernel<T>, grid_for(N * pb.r, kThreads), stream, static_cast<const float*>(part),
                               pl.tsplit, N, pb.r, alpha, out, o_scol, o_sk, accumulate ? 1 : 0),
                        "finalize_kernel");
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
