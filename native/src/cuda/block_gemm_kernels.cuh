// block_gemm_kernels.cuh - the two skinny block-diagonal GEMMs every pass is made of.
//
//   project: P[split][t, j, :] = alpha * W_j X[t, columns of split in block j]
//            (U = A_j x in the forward pass, dV = s B_i^T G in the backward pass)
//   expand:  Y[t, i-block] += alpha * W_i P[t, i, :]
//            (y += s B_i V in the forward pass, dx += A_j^T dU in the backward pass)
//
// X and Y are T x N in storage type T; P is float32 T x b x r; the weight is given as a
// pointer plus two strides, so that A (r x n) and B (m x r) serve in both orientations.
// X is read once and Y is read and written once (for r <= 32); everything is staged in
// shared memory as float and accumulated in float registers in a fixed order, so the
// results do not depend on scheduling.
#pragma once

#include "common.cuh"
#include "plan.cuh"

namespace bora {
namespace cuda {
namespace detail {

struct ProjectParams {
    const void* X;      // T x N, storage type
    const void* W;      // element (k, col) at W[k * w_sk + col * w_sc], storage type
    int64_t w_sk, w_sc;
    float* out;         // [nsplit][T][b][r]
    int64_t T, N, b, r, nbk;  // nbk = N / b
    int64_t token_tiles, nsplit, cols_per_split, rslabs;
    float alpha;
    int vec_ok;         // X rows, block starts and X itself are 16-byte aligned
};

// Where tile number `tile` lies: kProjectTokens tokens from t0, ranks from k0, columns [c_begin, c_end)
// of column block j (split `split` of it).
struct ProjectTile {
    int64_t t0, k0, j, split, c_begin, c_end;
};

__device__ __forceinline__ ProjectTile project_tile(const ProjectParams& p, int64_t tile, int rs) {
    const int64_t rsl = tile % p.rslabs;
    const int64_t rest = tile / p.rslabs;
    const int64_t tt = rest % p.token_tiles;
    const int64_t js = rest / p.token_tiles;
    ProjectTile w;
    w.j = js / p.nsplit;
    w.split = js % p.nsplit;
    w.t0 = tt * kProjectTokens;
    w.k0 = rsl * rs;
    w.c_begin = w.j * p.nbk + w.split * p.cols_per_split;
    w.c_end = min64(w.c_begin + p.cols_per_split, (w.j + 1) * p.nbk);
    return w;
}

// One block: 64 tokens x RS ranks x (one split of one column block). 256 threads form
// KG groups; each group owns a slice of every 64-column chunk and each thread a 4 x 4
// (token x rank) register tile; the groups' sums are added in shared memory at the end.
template <class T, int RS>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSM) project_kernel(ProjectParams p) {
    constexpr int BM = kProjectTokens, KC = kProjectChunk, TM = 4, RN = 4;
    constexpr int RG = RS / RN;            // rank groups
    constexpr int G = (BM / TM) * RG;      // threads per column group
    constexpr int KG = kThreads / G;       // column groups
    constexpr int CPG = KC / KG;           // columns per group per chunk
    constexpr int LDX = KC + 4;            // padded row: conflict-free float4 reads
    constexpr int LDW = RS + 4;            // padded row: 4-way instead of 16-way conflicts storing A
    constexpr int V = Vec<T>::kN;
    constexpr int STAGE = BM * LDX + KC * LDW;
    constexpr int RED = KG * BM * RS;
    static_assert(RS % RN == 0 && kThreads % G == 0 && CPG % 4 == 0, "tile shape");
    static_assert(KC % V == 0, "chunk must hold whole vectors");
    __shared__ __align__(16) float smem[STAGE > RED ? STAGE : RED];
    float* x_s = smem;                // [BM][LDX]
    float* w_s = smem + BM * LDX;     // [KC][LDW]
    float* red = smem;                // [KG][BM][RS], reused after the chunk loop

    const T* __restrict__ X = static_cast<const T*>(p.X);
    const T* __restrict__ W = static_cast<const T*>(p.W);
    const int tid = threadIdx.x;
    const int g = tid / G, lt = tid % G, rg = lt % RG, tg = lt / RG;
    const int64_t ntiles = p.token_tiles * p.b * p.nsplit * p.rslabs;

    for (int64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        const ProjectTile w = project_tile(p, tile, RS);
        const int64_t t0 = w.t0, k0 = w.k0, j = w.j, split = w.split, c_begin = w.c_begin, c_end = w.c_end;

        float acc[TM][RN];
#pragma unroll
        for (int a = 0; a < TM; ++a)
#pragma unroll
            for (int c = 0; c < RN; ++c) acc[a][c] = 0.f;

        // Software pipelining: the 16-byte loads of chunk c0 + KC are issued right after chunk
        // c0 is staged, so they are in flight while chunk c0 is multiplied.
        constexpr int NV = BM * KC / V / kThreads;
        static_assert(BM * KC / V % kThreads == 0, "whole vectors per thread");
        uint4 raw[NV];
        auto fetch = [&](int64_t c0) { fetch_tile<KC>(raw, X, p.N, t0, p.T, c0, c_end); };
        if (p.vec_ok) fetch(c_begin);

        for (int64_t c0 = c_begin; c0 < c_end; c0 += KC) {
            __syncthreads();  // every thread is done with the previous chunk (or tile)
            if (p.vec_ok) {
#pragma unroll
                for (int i = 0; i < NV; ++i) {
                    const int v = tid + i * kThreads;
                    const int row = v / (KC / V), cv = (v % (KC / V)) * V;
                    float f[V];
                    unpack_vec<T>(raw[i], f);
#pragma unroll
                    for (int e = 0; e < V; e += 4)
                        sts4(&x_s[row * LDX + cv + e], f[e], f[e + 1], f[e + 2], f[e + 3]);
                }
            } else {
                for (int e = tid; e < BM * KC; e += kThreads) {
                    const int row = e / KC, cc = e % KC;
                    const int64_t t = t0 + row, col = c0 + cc;
                    x_s[row * LDX + cc] = (t < p.T && col < c_end) ? to_float(X[t * p.N + col]) : 0.f;
                }
            }
            for (int e = tid; e < KC * RS; e += kThreads) {
                int cc, k;
                if (p.w_sc == 1) { cc = e % KC; k = e / KC; }  // coalesced along columns
                else { k = e % RS; cc = e / RS; }             // coalesced along ranks
                const int64_t col = c0 + cc, kk = k0 + k;
                w_s[cc * LDW + k] = (col < c_end && kk < p.r) ? to_float(W[kk * p.w_sk + col * p.w_sc]) : 0.f;
            }
            __syncthreads();
            if (p.vec_ok && c0 + KC < c_end) fetch(c0 + KC);
#pragma unroll
            for (int q = 0; q < CPG; q += 4) {
                const int c = g * CPG + q;
                float4 xv[TM], wv[4];
#pragma unroll
                for (int a = 0; a < TM; ++a) xv[a] = lds4(&x_s[(tg + 16 * a) * LDX + c]);
#pragma unroll
                for (int cc = 0; cc < 4; ++cc) wv[cc] = lds4(&w_s[(c + cc) * LDW + rg * RN]);
#pragma unroll
                for (int a = 0; a < TM; ++a) {
                    const float xs[4] = {xv[a].x, xv[a].y, xv[a].z, xv[a].w};
#pragma unroll
                    for (int cc = 0; cc < 4; ++cc) {
                        acc[a][0] += xs[cc] * wv[cc].x;
                        acc[a][1] += xs[cc] * wv[cc].y;
                        acc[a][2] += xs[cc] * wv[cc].z;
                        acc[a][3] += xs[cc] * wv[cc].w;
                    }
                }
            }
        }
        __syncthreads();  // x_s / w_s are about to be overwritten by red
#pragma unroll
        for (int a = 0; a < TM; ++a)
#pragma unroll
            for (int c = 0; c < RN; ++c) red[(g * BM + tg + 16 * a) * RS + rg * RN + c] = acc[a][c];
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

struct ExpandParams {
    const float* P;     // T x b x r
    const void* W;      // element (col, k) at W[col * w_sc + k * w_sk], storage type
    int64_t w_sc, w_sk;
    void* Y;            // T x N, storage type, added into
    int64_t T, N, b, r, nbk;
    int64_t token_tiles, col_tiles_per_block;
    float alpha;
    int vec_ok;         // Y rows, block starts and Y itself are 16-byte aligned
};

// Where tile number `tile` lies: kExpandTokens tokens from t0, columns [c_begin, c_end) of
// column block j.
struct ExpandTile {
    int64_t t0, j, c_begin, c_end;
};

__device__ __forceinline__ ExpandTile expand_tile(const ExpandParams& p, int64_t tile) {
    const int64_t ctg = tile / p.token_tiles;
    const int64_t ct = ctg % p.col_tiles_per_block;
    ExpandTile w;
    w.j = ctg / p.col_tiles_per_block;
    w.t0 = (tile % p.token_tiles) * kExpandTokens;
    w.c_begin = w.j * p.nbk + ct * kExpandCols;
    w.c_end = min64(w.c_begin + kExpandCols, (w.j + 1) * p.nbk);
    return w;
}

// One block: 64 tokens x 128 columns of one column block, all of r in slabs of RS.
// Thread (tg, cg) owns tokens tg + 16a and 8 columns as 16-byte vectors (cg*8 for 16-bit
// types; cg*4 and 64 + cg*4 for float), so each warp reads and writes 256 contiguous bytes
// of two rows of Y. Y is read, updated in float and written back once.
template <class T, int RS>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSM) expand_kernel(ExpandParams p) {
    constexpr int BM = kExpandTokens, BN = kExpandCols, TM = 4, TN = 8;
    constexpr int V = Vec<T>::kN;
    constexpr int SLOTS = TN / V;           // 16-byte vectors per thread and token
    constexpr int LDW = BN + 4;
    static_assert(RS % 4 == 0 && TN % V == 0, "tile shape");
    __shared__ __align__(16) float p_s[BM * RS];    // [token][rank]
    __shared__ __align__(16) float w_s[RS * LDW];   // [rank][column]

    const T* __restrict__ W = static_cast<const T*>(p.W);
    T* __restrict__ Y = static_cast<T*>(p.Y);
    const int tid = threadIdx.x;
    const int cg = tid % 16, tg = tid / 16;
    const int64_t ntiles = p.token_tiles * p.b * p.col_tiles_per_block;

    for (int64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        const ExpandTile w = expand_tile(p, tile);
        const int64_t t0 = w.t0, j = w.j, c_begin = w.c_begin, c_end = w.c_end;

        float acc[TM][TN];
#pragma unroll
        for (int a = 0; a < TM; ++a)
#pragma unroll
            for (int c = 0; c < TN; ++c) acc[a][c] = 0.f;

        for (int64_t k0 = 0; k0 < p.r; k0 += RS) {
            __syncthreads();  // previous slab (or tile) fully consumed
            for (int e = tid; e < BM * RS; e += kThreads) {
                const int tl = e / RS, k = e % RS;
                const int64_t t = t0 + tl, kk = k0 + k;
                p_s[e] = (t < p.T && kk < p.r) ? p.P[(t * p.b + j) * p.r + kk] : 0.f;
            }
            for (int e = tid; e < BN * RS; e += kThreads) {
                int cc, k;
                if (p.w_sc == 1) { cc = e % BN; k = e / BN; }
                else { k = e % RS; cc = e / RS; }
                const int64_t col = c_begin + cc, kk = k0 + k;
                w_s[k * LDW + cc] = (col < c_end && kk < p.r) ? to_float(W[col * p.w_sc + kk * p.w_sk]) : 0.f;
            }
            __syncthreads();
#pragma unroll
            for (int k = 0; k < RS; k += 4) {
                float4 pv[TM];
#pragma unroll
                for (int a = 0; a < TM; ++a) pv[a] = lds4(&p_s[(tg + 16 * a) * RS + k]);
#pragma unroll
                for (int kk = 0; kk < 4; ++kk) {
                    float wv[TN];
#pragma unroll
                    for (int s = 0; s < SLOTS; ++s)
#pragma unroll
                        for (int e = 0; e < V; e += 4) {
                            const float4 w4 = lds4(&w_s[(k + kk) * LDW + (s * 16 + cg) * V + e]);
                            wv[s * V + e] = w4.x;
                            wv[s * V + e + 1] = w4.y;
                            wv[s * V + e + 2] = w4.z;
                            wv[s * V + e + 3] = w4.w;
                        }
#pragma unroll
                    for (int a = 0; a < TM; ++a) {
                        const float pk = kk == 0 ? pv[a].x : kk == 1 ? pv[a].y : kk == 2 ? pv[a].z : pv[a].w;
#pragma unroll
                        for (int c = 0; c < TN; ++c) acc[a][c] += pk * wv[c];
                    }
                }
            }
        }
        if (p.vec_ok) {
            // Issue every load of this thread's part of Y before the first store, so that the
            // loads overlap (the compiler cannot prove that the stores do not alias them).
            uint4 raw[TM][SLOTS];
#pragma unroll
            for (int a = 0; a < TM; ++a)
#pragma unroll
                for (int s = 0; s < SLOTS; ++s) {
                    const int64_t t = t0 + tg + 16 * a, col = c_begin + (s * 16 + cg) * V;
                    raw[a][s] = (t < p.T && col < c_end)  // whole vector valid: c_end % V == 0
                                    ? *reinterpret_cast<const uint4*>(Y + t * p.N + col)
                                    : make_uint4(0u, 0u, 0u, 0u);
                }
#pragma unroll
            for (int a = 0; a < TM; ++a)
#pragma unroll
                for (int s = 0; s < SLOTS; ++s) {
                    const int64_t t = t0 + tg + 16 * a, col = c_begin + (s * 16 + cg) * V;
                    if (t >= p.T || col >= c_end) continue;
                    float f[V];
                    unpack_vec<T>(raw[a][s], f);
#pragma unroll
                    for (int e = 0; e < V; ++e) f[e] += p.alpha * acc[a][s * V + e];
                    stg16(Y + t * p.N + col, pack_vec<T>(f));
                }
        } else {
#pragma unroll
            for (int a = 0; a < TM; ++a) {
                const int64_t t = t0 + tg + 16 * a;
                if (t >= p.T) continue;
#pragma unroll
                for (int s = 0; s < SLOTS; ++s) {
                    const int64_t col = c_begin + (s * 16 + cg) * V;
                    T* y = Y + t * p.N + col;
#pragma unroll
                    for (int e = 0; e < V; ++e)
                        if (col + e < c_end) y[e] = from_float<T>(to_float(y[e]) + p.alpha * acc[a][s * V + e]);
                }
            }
        }
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
