// block_gemm_mma_kernels.cuh - project_kernel on tensor cores, for 16-bit storage types.
//
//   P[split][t, j, :] = alpha * W_j X[t, columns of split in block j]
//
// The same tiles, plan and output as project_kernel (block_gemm_kernels.cuh), which stays
// the path for float storage and for BORA_FLAG_NO_TENSOR_CORES. With float FMAs a 16-bit
// x at r = 16 is at the arithmetic limit of the SM (2r flops per 2-byte element); with
// mma.sync the pass is bound by reading X alone. X and W are staged in shared memory as
// they are stored (no conversion), the products are exact and summed in float, in an
// order fixed by the tile shape, so results are bitwise identical run to run.
#pragma once

#include "block_gemm_kernels.cuh"
#include "common.cuh"
#include "mma.cuh"
#include "plan.cuh"

namespace bora {
namespace cuda {
namespace detail {

// Blocks per SM it is compiled for: it keeps no float register tiles, and 3 x 256 threads at
// <= 80 registers keep more loads of X in flight than 2 (at 64, ptxas spills 24-108 bytes).
constexpr int kMmaMinBlocksPerSM = 3;

// One block: 64 tokens x RS ranks x (one split of one column block), like project_kernel.
// Warp w owns the 16 tokens of m-tile w % 4 and every n8 tile of the rank slab, and the
// k16 steps of each 64-column chunk with index = w / 4 (mod 2); the two halves are added
// in shared memory at the end.
template <class T, int RS>
__global__ void __launch_bounds__(kThreads, kMmaMinBlocksPerSM) project_mma_kernel(ProjectParams p) {
    static_assert(HasMma<T>::value, "tensor cores take 16-bit storage types");
    constexpr int BM = kProjectTokens, KC = kProjectChunk;
    constexpr int LD = KC + 8;                 // 16-bit elements per staged row: 144 bytes, so the 32 lanes'
                                               // 4-byte fragment loads fall in 32 different banks
    constexpr int V = Vec<T>::kN;              // 8 elements per 16-byte load
    constexpr int NT = RS / 8;                 // n8 tiles per rank slab
    constexpr int MT = BM / 16;                // m16 tiles per token tile
    constexpr int KG = kThreads / 32 / MT;     // warps sharing one m16 tile (k16 steps split between them)
    constexpr int KSTEPS = KC / 16;
    constexpr int STAGE_BYTES = (BM + RS) * LD * 2;
    constexpr int RED_BYTES = KG * BM * RS * 4;
    static_assert(RS % 8 == 0 && KSTEPS % KG == 0 && BM * KC / V % kThreads == 0, "tile shape");
    __shared__ __align__(16) float smem[(STAGE_BYTES > RED_BYTES ? STAGE_BYTES : RED_BYTES) / 4];
    uint16_t* x_s = reinterpret_cast<uint16_t*>(smem);  // [BM][LD]
    uint16_t* w_s = x_s + BM * LD;                      // [RS][LD]: rank-major, columns contiguous
    float* red = smem;                                  // [KG][BM][RS], reused after the chunk loop

    const uint16_t* __restrict__ X = static_cast<const uint16_t*>(p.X);
    const uint16_t* __restrict__ W = static_cast<const uint16_t*>(p.W);
    const int tid = threadIdx.x;
    const int warp = tid / 32, lane = tid % 32;
    const int mt = warp % MT, kg = warp / MT;
    const int g = lane / 4, q = lane % 4;
    const int64_t ntiles = p.token_tiles * p.b * p.nsplit * p.rslabs;

    for (int64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        const ProjectTile w = project_tile(p, tile, RS);
        const int64_t t0 = w.t0, k0 = w.k0, j = w.j, split = w.split, c_begin = w.c_begin, c_end = w.c_end;

        float acc[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[nt][e] = 0.f;

        // Software pipelining as in project_kernel: chunk c0 + KC is loaded while c0 is multiplied.
        constexpr int NV = BM * KC / V / kThreads;
        uint4 raw[NV];
        auto fetch = [&](int64_t c0) { fetch_tile<KC>(raw, X, p.N, t0, p.T, c0, c_end); };
        if (p.vec_ok) fetch(c_begin);

        for (int64_t c0 = c_begin; c0 < c_end; c0 += KC) {
            __syncthreads();  // every warp is done with the previous chunk (or tile)
            if (p.vec_ok) {
#pragma unroll
                for (int i = 0; i < NV; ++i) {
                    const int v = tid + i * kThreads;
                    sts16(&x_s[(v / (KC / V)) * LD + (v % (KC / V)) * V], raw[i]);
                }
            } else {
                for (int e = tid; e < BM * KC; e += kThreads) {
                    const int row = e / KC, cc = e % KC;
                    const int64_t t = t0 + row, col = c0 + cc;
                    x_s[row * LD + cc] = (t < p.T && col < c_end) ? X[t * p.N + col] : uint16_t(0);
                }
            }
            for (int e = tid; e < KC * RS; e += kThreads) {
                int cc, k;
                if (p.w_sc == 1) { cc = e % KC; k = e / KC; }  // coalesced along columns
                else { k = e % RS; cc = e / RS; }             // coalesced along ranks
                const int64_t col = c0 + cc, kk = k0 + k;
                w_s[k * LD + cc] = (col < c_end && kk < p.r) ? W[kk * p.w_sk + col * p.w_sc] : uint16_t(0);
            }
            __syncthreads();
            if (p.vec_ok && c0 + KC < c_end) fetch(c0 + KC);
#pragma unroll
            for (int s = 0; s < KSTEPS / KG; ++s) {
                const int ks = s * KG + kg;
                const uint16_t* xa = &x_s[(mt * 16 + g) * LD + ks * 16 + 2 * q];
                const uint32_t a[4] = {lds32(xa), lds32(xa + 8 * LD), lds32(xa + 8), lds32(xa + 8 * LD + 8)};
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    const uint16_t* wb = &w_s[(nt * 8 + g) * LD + ks * 16 + 2 * q];
                    const uint32_t bf[2] = {lds32(wb), lds32(wb + 8)};
                    mma_16x8x16<T>(acc[nt], a, bf);
                }
            }
        }
        __syncthreads();  // x_s / w_s are about to be overwritten by red
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int row = mt * 16 + g + (e >= 2 ? 8 : 0), k = nt * 8 + 2 * q + (e % 2);
                red[(kg * BM + row) * RS + k] = acc[nt][e];
            }
        __syncthreads();
        for (int e = tid; e < BM * RS; e += kThreads) {
            const int tl = e / RS, k = e % RS;
            float s = 0.f;
#pragma unroll
            for (int gg = 0; gg < KG; ++gg) s += red[(gg * BM + tl) * RS + k];
            const int64_t t = t0 + tl, kk = k0 + k;
            if (t < p.T && kk < p.r) p.out[((split * p.T + t) * p.b + j) * p.r + kk] = p.alpha * s;
        }
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
