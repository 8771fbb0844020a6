// block_gemm_mma_kernels.cuh - the block GEMMs on tensor cores:
//
//   project (bf16, fp16): P[split][t, j, :] = alpha * W_j X[t, columns of split in block j]
//   expand (bf16):        Y[t, i-block] += alpha * W_i P[t, i, :]
//
// Each has the same tiles, plan and output as its FMA twin in block_gemm_kernels.cuh, which
// stays the path for the other storage types and for BORA_FLAG_NO_TENSOR_CORES. With float
// FMAs a 16-bit x at r = 16 is at the arithmetic limit of the SM (2r flops per 2-byte
// element); with mma.sync the pass is bound by reading X alone. X and W are staged in shared memory as
// they are stored (no conversion), the products are exact and summed in float, in an
// order fixed by the tile shape, so results are bitwise identical run to run.
#pragma once

#include <type_traits>

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

// Whether the kernels that multiply a float operand (P in expand and wgrad) run on tensor
// cores for storage type T: bf16 only, where the float splits into two bf16 terms of
// float's exponent range; half's range would flush a small gradient's terms to subnormals.
template <class T>
struct MmaTakesFloatOperand {
    static constexpr bool value = std::is_same<T, __nv_bfloat16>::value;
};

// v = hi + lo + O(2^-16 |v|) as bf16 bits, for float operands of a bf16 mma. Truncation for
// hi: round-to-nearest would overflow the largest floats to Inf, and truncation keeps v - hi
// exact. NaN stays NaN (its payload may sit in the low bits that truncation drops); Inf and
// NaN get lo = 0. An Inf in the other operand meets that zero (or any exact P's lo = 0) in
// the lo mma and gives NaN where FMAs give +-Inf: non-finite either way, and what the
// training step's NaN/Inf guard refuses alike.
__device__ __forceinline__ void split_bf16(float v, uint32_t& hi, uint32_t& lo) {
    const uint32_t bits = float_to_bits(v);
    if ((bits & 0x7f800000u) == 0x7f800000u) {  // Inf or NaN
        hi = (bits & 0x007fffffu) != 0 ? 0x7fc0u : (bits >> 16);
        lo = 0;
        return;
    }
    hi = bits >> 16;
    lo = float_to_bf16_bits(v - bits_to_float(bits & 0xffff0000u));
}

// expand_kernel on tensor cores for bf16: the same tiles (64 tokens x 128 columns of one
// block, all of r in slabs of RS) and result. The float P enters as bf16 hi + lo (two mmas,
// products within 2^-16 of P's), W as stored. Warp w owns tokens 16 (w % 4) .. + 15 and
// columns 64 (w / 4) .. + 63 of the tile: 8 n8 tiles of float accumulators. Each lane
// updates Y where its accumulators lie, two adjacent columns at a time, and loads those
// pairs of Y when the tile starts, so the loads are in flight during the products.
template <int RS>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSM) expand_mma_kernel(ExpandParams p) {
    using T = __nv_bfloat16;
    constexpr int BM = kExpandTokens, BN = kExpandCols;
    constexpr int KP = RS < 16 ? 16 : RS;  // ranks padded to whole k16 steps (with zeros)
    constexpr int LDK = KP + 8;            // 48- or 80-byte rows: a warp's fragment loads hit 32 banks
    constexpr int MT = BM / 16, WN = BN / (kThreads / 32 / MT), NT = WN / 8;
    static_assert(kThreads / 32 % MT == 0 && WN % 8 == 0 && RS % 8 == 0, "tile shape");
    __shared__ __align__(16) uint16_t p_hi[BM * LDK];  // [token][rank]
    __shared__ __align__(16) uint16_t p_lo[BM * LDK];
    __shared__ __align__(16) uint16_t w_s[BN * LDK];   // [column][rank]

    const uint16_t* __restrict__ W = static_cast<const uint16_t*>(p.W);
    uint16_t* __restrict__ Y = static_cast<uint16_t*>(p.Y);
    const int tid = threadIdx.x;
    const int warp = tid / 32, lane = tid % 32;
    const int g = lane / 4, q = lane % 4;
    const int m0 = (warp % MT) * 16, n0 = (warp / MT) * WN;
    const int64_t ntiles = p.token_tiles * p.b * p.col_tiles_per_block;

    for (int64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        const ExpandTile w = expand_tile(p, tile);
        const int64_t t0 = w.t0, j = w.j, c_begin = w.c_begin, c_end = w.c_end;

        // This lane's elements of Y: tokens t0 + m0 + g + 8h (h = 0, 1), columns
        // c_begin + n0 + 2q + 8nt + e (e = 0, 1); a row pointer is used only if its token exists.
        const int64_t t_lane = t0 + m0 + g;
        const int64_t c_lane = c_begin + n0 + 2 * q;
        const bool row_in[2] = {t_lane < p.T, t_lane + 8 < p.T};
        uint16_t* const y_row[2] = {Y + t_lane * p.N + c_lane, Y + (t_lane + 8) * p.N + c_lane};
        auto col_in = [&](int nt, int e) { return c_lane + 8 * nt + e < c_end; };
        uint32_t y_raw[NT][2];  // pairs of Y as loaded (zero where outside)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const bool in0 = row_in[h] && col_in(nt, 0), in1 = row_in[h] && col_in(nt, 1);
                const uint16_t* y = y_row[h] + 8 * nt;
                if (p.vec_ok && in1) {  // in1 implies in0
                    y_raw[nt][h] = *reinterpret_cast<const uint32_t*>(y);
                } else {
                    y_raw[nt][h] = (in0 ? uint32_t(y[0]) : 0u) | (in1 ? uint32_t(y[1]) << 16 : 0u);
                }
            }

        float acc[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[nt][e] = 0.f;

        for (int64_t k0 = 0; k0 < p.r; k0 += RS) {
            __syncthreads();  // every warp is done with the previous slab (or tile)
            for (int e = tid; e < BM * KP; e += kThreads) {
                const int tl = e / KP, k = e % KP;
                const int64_t t = t0 + tl, kk = k0 + k;
                const float v = (t < p.T && k < RS && kk < p.r) ? p.P[(t * p.b + j) * p.r + kk] : 0.f;
                uint32_t hi, lo;
                split_bf16(v, hi, lo);
                p_hi[tl * LDK + k] = static_cast<uint16_t>(hi);
                p_lo[tl * LDK + k] = static_cast<uint16_t>(lo);
            }
            for (int e = tid; e < BN * KP; e += kThreads) {
                int cc, k;
                // Rows of 4 ranks x 8 columns per warp when columns are contiguous in W: the
                // stores into [column][rank] rows of LDK/2 = 12 or 20 words then hit distinct
                // words (32 columns of one rank would fall 4 to a bank).
                if (p.w_sc == 1) { k = e % 4 + 4 * (e / (4 * BN)); cc = (e / 4) % BN; }
                else { k = e % KP; cc = e / KP; }  // coalesced along ranks
                const int64_t col = c_begin + cc, kk = k0 + k;
                w_s[cc * LDK + k] = (col < c_end && k < RS && kk < p.r) ? W[col * p.w_sc + kk * p.w_sk] : uint16_t(0);
            }
            __syncthreads();
#pragma unroll
            for (int ks = 0; ks < KP / 16; ++ks) {
                const int o = (m0 + g) * LDK + ks * 16 + 2 * q;  // A = P (token x rank)
                const uint32_t a_hi[4] = {lds32(&p_hi[o]), lds32(&p_hi[o + 8 * LDK]), lds32(&p_hi[o + 8]),
                                          lds32(&p_hi[o + 8 * LDK + 8])};
                const uint32_t a_lo[4] = {lds32(&p_lo[o]), lds32(&p_lo[o + 8 * LDK]), lds32(&p_lo[o + 8]),
                                          lds32(&p_lo[o + 8 * LDK + 8])};
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) {
                    const uint16_t* wb = &w_s[(n0 + 8 * nt + g) * LDK + ks * 16 + 2 * q];  // B = W^T (rank x column)
                    const uint32_t bf[2] = {lds32(wb), lds32(wb + 8)};
                    mma_16x8x16<T>(acc[nt], a_lo, bf);
                    mma_16x8x16<T>(acc[nt], a_hi, bf);
                }
            }
        }
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const bool in0 = row_in[h] && col_in(nt, 0), in1 = row_in[h] && col_in(nt, 1);
                uint16_t* y = y_row[h] + 8 * nt;
                const uint32_t w = y_raw[nt][h];
                const uint32_t v0 = float_to_bf16_bits(bf16_bits_to_float(w & 0xffffu) + p.alpha * acc[nt][2 * h]);
                const uint32_t v1 = float_to_bf16_bits(bits_to_float(w & 0xffff0000u) + p.alpha * acc[nt][2 * h + 1]);
                if (p.vec_ok && in1) {
                    *reinterpret_cast<uint32_t*>(y) = v0 | (v1 << 16);
                } else {
                    if (in0) y[0] = static_cast<uint16_t>(v0);
                    if (in1) y[1] = static_cast<uint16_t>(v1);
                }
            }
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
