// reduction_mma_kernels.cuh - wgrad_kernel on tensor cores, for bfloat16 storage.
//
//   part[split][col, :] = sum over the split's tokens of X[t, col] * P[t, block(col), :]
//
// The same tiles, plan and output as wgrad_kernel (reduction_kernels.cuh), which stays the
// path for float and half storage and for BORA_FLAG_NO_TENSOR_CORES. P (dU or V) is float;
// a tensor core takes it as two bf16 terms (split_bf16, MmaTakesFloatOperand), so each
// product keeps about 16 significant bits of P (relative error <= 2^-16) instead of 8, at
// the cost of a second mma that the pass, bound by reading X, does not notice.
#pragma once

#include "block_gemm_mma_kernels.cuh"
#include "common.cuh"
#include "mma.cuh"
#include "plan.cuh"
#include "reduction_kernels.cuh"

namespace bora {
namespace cuda {
namespace detail {

__device__ __forceinline__ uint32_t pack_pair(uint16_t lo_index, uint16_t hi_index) {
    return uint32_t(lo_index) | (uint32_t(hi_index) << 16);
}

// One block: 128 columns of one column block x RS ranks x one token split, like wgrad_kernel.
// Warp w owns columns 16w..16w+15 of the tile (one m16 tile of D = X^T P) and every n8 tile
// of the rank slab, over all tokens of the split: no sums between warps are needed.
template <int RS>
__global__ void __launch_bounds__(kThreads, kMmaMinBlocksPerSM) wgrad_mma_kernel(WgradParams p) {
    using T = __nv_bfloat16;
    constexpr int TC = kWgradChunk, BN = kWgradCols;
    constexpr int LDX = BN + 8;  // 272-byte rows: a warp's 2-byte fragment loads hit 16 banks, pairs sharing a word
    constexpr int LDP = TC + 8;  // 80-byte rows: a warp's 4-byte fragment loads hit 32 banks
    constexpr int V = Vec<T>::kN;
    constexpr int NT = RS / 8;
    constexpr int KSTEPS = TC / 16;
    static_assert(BN == 16 * (kThreads / 32) && RS % 8 == 0 && TC % 16 == 0, "one m16 tile per warp");
    static_assert(TC * BN / V % kThreads == 0, "whole vectors per thread");
    __shared__ __align__(16) uint16_t x_s[TC * LDX];    // [token][column], as stored
    __shared__ __align__(16) uint16_t p_hi[RS * LDP];   // [rank][token]
    __shared__ __align__(16) uint16_t p_lo[RS * LDP];

    const uint16_t* __restrict__ X = static_cast<const uint16_t*>(p.X);
    const int tid = threadIdx.x;
    const int warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, q = lane % 4;
    const int m0 = warp * 16;
    const int64_t ntiles = p.b * p.col_tiles_per_block * p.tsplit * p.rslabs;

    for (int64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        const WgradTile w = wgrad_tile(p, tile, BN, RS);
        const int64_t k0 = w.k0, j = w.j, ts = w.ts, c_begin = w.c_begin, c_end = w.c_end;
        const int64_t t_begin = w.t_begin, t_end = w.t_end;

        float acc[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[nt][e] = 0.f;

        // Software pipelining as in wgrad_kernel: chunk tc0 + TC is loaded while tc0 is multiplied.
        constexpr int NV = TC * BN / V / kThreads;
        uint4 raw[NV];
        auto fetch = [&](int64_t tc0) { fetch_tile<BN>(raw, X, p.N, tc0, t_end, c_begin, c_end); };
        if (p.vec_ok) fetch(t_begin);

        for (int64_t tc0 = t_begin; tc0 < t_end; tc0 += TC) {
            __syncthreads();  // every warp is done with the previous chunk (or tile)
            if (p.vec_ok) {
#pragma unroll
                for (int i = 0; i < NV; ++i) {
                    const int v = tid + i * kThreads;
                    sts16(&x_s[(v / (BN / V)) * LDX + (v % (BN / V)) * V], raw[i]);
                }
            } else {
                for (int e = tid; e < TC * BN; e += kThreads) {
                    const int row = e / BN, cc = e % BN;
                    const int64_t t = tc0 + row, col = c_begin + cc;
                    x_s[row * LDX + cc] = (t < t_end && col < c_end) ? X[t * p.N + col] : uint16_t(0);
                }
            }
            for (int e = tid; e < TC * RS; e += kThreads) {
                const int row = e / RS, k = e % RS;
                const int64_t t = tc0 + row, kk = k0 + k;
                const float v = (t < t_end && kk < p.r) ? p.P[(t * p.b + j) * p.r + kk] : 0.f;
                uint32_t hi, lo;
                split_bf16(v, hi, lo);
                p_hi[k * LDP + row] = static_cast<uint16_t>(hi);
                p_lo[k * LDP + row] = static_cast<uint16_t>(lo);
            }
            __syncthreads();
            if (p.vec_ok && tc0 + TC < t_end) fetch(tc0 + TC);
#pragma unroll
            for (int ks = 0; ks < KSTEPS; ++ks) {
                // A = X^T (column x token): each register pairs two tokens of one column.
                const uint16_t* xa = &x_s[(ks * 16 + 2 * q) * LDX + m0 + g];
                const uint32_t a[4] = {pack_pair(xa[0], xa[LDX]), pack_pair(xa[8], xa[LDX + 8]),
                                       pack_pair(xa[8 * LDX], xa[9 * LDX]),
                                       pack_pair(xa[8 * LDX + 8], xa[9 * LDX + 8])};
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    const int o = (nt * 8 + g) * LDP + ks * 16 + 2 * q;  // B = P (token x rank), tokens paired
                    const uint32_t b_hi[2] = {lds32(&p_hi[o]), lds32(&p_hi[o + 8])};
                    const uint32_t b_lo[2] = {lds32(&p_lo[o]), lds32(&p_lo[o + 8])};
                    mma_16x8x16<T>(acc[nt], a, b_lo);
                    mma_16x8x16<T>(acc[nt], a, b_hi);
                }
            }
        }
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int64_t col = c_begin + m0 + g + (e >= 2 ? 8 : 0), kk = k0 + nt * 8 + 2 * q + (e % 2);
                if (col < c_end && kk < p.r) p.part[(ts * p.N + col) * p.r + kk] = acc[nt][e];
            }
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
