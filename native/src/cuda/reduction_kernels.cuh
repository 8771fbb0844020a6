// reduction_kernels.cuh - the gradients that are sums over tokens:
//   wgrad:  D[col, :] = sum_t X[t, col] * P[t, block(col), :]
//           (dB_i = s G_i^T V_i with X = G, P = V; dA_j^T = x_j^T dU_j with X = x, P = dU)
//   dS:     dS[i,j,:] = sum_t dV[t,i,:] * U[t,j,:]
// Each is computed as per-token-split partial sums in the workspace and then added up
// by finalize_kernel in a fixed order: no atomics, so results are bitwise reproducible.
#pragma once

#include "common.cuh"

namespace bora {
namespace cuda {
namespace detail {

struct WgradParams {
    const void* X;     // T x N, storage type
    const float* P;    // T x b x r
    float* part;       // [tsplit][N][r]
    int64_t T, N, b, r, nbk;
    int64_t col_tiles_per_block, tsplit, tokens_per_split, rslabs;
    int vec_ok;        // X rows, block starts and X itself are 16-byte aligned
};

// Where tile number `tile` lies: ranks from k0, columns [c_begin, c_end) of column block j,
// tokens [t_begin, t_end) (token split ts).
struct WgradTile {
    int64_t k0, j, ts, c_begin, c_end, t_begin, t_end;
};

__device__ __forceinline__ WgradTile wgrad_tile(const WgradParams& p, int64_t tile, int cols, int rs) {
    const int64_t rsl = tile % p.rslabs;
    const int64_t rest = tile / p.rslabs;
    const int64_t ctg = rest / p.tsplit;
    const int64_t ct = ctg % p.col_tiles_per_block;
    WgradTile w;
    w.ts = rest % p.tsplit;
    w.j = ctg / p.col_tiles_per_block;
    w.k0 = rsl * rs;
    w.c_begin = w.j * p.nbk + ct * cols;
    w.c_end = min64(w.c_begin + cols, (w.j + 1) * p.nbk);
    w.t_begin = w.ts * p.tokens_per_split;
    w.t_end = min64(w.t_begin + p.tokens_per_split, p.T);
    return w;
}

// One block: 128 columns of one column block x RS ranks x one token split. 256 threads
// form TG token groups; in each 32-token chunk a group takes TC/TG tokens and each thread
// an 8 x 4 (column x rank) register tile; the groups' sums are added in shared memory.
template <class T, int RS>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSM) wgrad_kernel(WgradParams p) {
    constexpr int TC = 32, BN = 128, TN = 8, RK = 4;
    constexpr int KGR = RS / RK;            // rank groups
    constexpr int G = (BN / TN) * KGR;      // threads per token group
    constexpr int TG = kThreads / G;        // token groups
    constexpr int TPG = TC / TG;            // tokens per group per chunk
    constexpr int V = Vec<T>::kN;
    constexpr int SLOTS = TN / V;
    constexpr int LDX = BN + 4;
    constexpr int STAGE = TC * LDX + TC * RS;
    constexpr int RED = TG * BN * RS;
    static_assert(kThreads % G == 0 && TC % TG == 0 && TN % V == 0 && BN % V == 0, "tile shape");
    __shared__ __align__(16) float smem[STAGE > RED ? STAGE : RED];
    float* x_s = smem;              // [TC][LDX]
    float* p_s = smem + TC * LDX;   // [TC][RS]
    float* red = smem;              // [TG][BN][RS], reused after the token loop

    const T* __restrict__ X = static_cast<const T*>(p.X);
    const int tid = threadIdx.x;
    const int g = tid / G, lt = tid % G, cg = lt % 16, kg = lt / 16;
    const int64_t ntiles = p.b * p.col_tiles_per_block * p.tsplit * p.rslabs;

    for (int64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        const WgradTile w = wgrad_tile(p, tile, BN, RS);
        const int64_t k0 = w.k0, j = w.j, ts = w.ts, c_begin = w.c_begin, c_end = w.c_end;
        const int64_t t_begin = w.t_begin, t_end = w.t_end;

        float acc[TN][RK];
#pragma unroll
        for (int c = 0; c < TN; ++c)
#pragma unroll
            for (int k = 0; k < RK; ++k) acc[c][k] = 0.f;

        // Software pipelining: the 16-byte loads of chunk tc0 + TC are issued right after chunk
        // tc0 is staged, so they are in flight while chunk tc0 is multiplied.
        constexpr int NV = TC * BN / V / kThreads;
        static_assert(TC * BN / V % kThreads == 0, "whole vectors per thread");
        uint4 raw[NV];
        auto fetch = [&](int64_t tc0) { fetch_tile<BN>(raw, X, p.N, tc0, t_end, c_begin, c_end); };
        if (p.vec_ok) fetch(t_begin);

        for (int64_t tc0 = t_begin; tc0 < t_end; tc0 += TC) {
            __syncthreads();  // previous chunk (or tile) fully consumed
            if (p.vec_ok) {
#pragma unroll
                for (int i = 0; i < NV; ++i) {
                    const int v = tid + i * kThreads;
                    const int row = v / (BN / V), cv = (v % (BN / V)) * V;
                    float f[V];
                    unpack_vec<T>(raw[i], f);
#pragma unroll
                    for (int e = 0; e < V; e += 4)
                        sts4(&x_s[row * LDX + cv + e], f[e], f[e + 1], f[e + 2], f[e + 3]);
                }
            } else {
                for (int e = tid; e < TC * BN; e += kThreads) {
                    const int row = e / BN, cc = e % BN;
                    const int64_t t = tc0 + row, col = c_begin + cc;
                    x_s[row * LDX + cc] = (t < t_end && col < c_end) ? to_float(X[t * p.N + col]) : 0.f;
                }
            }
            for (int e = tid; e < TC * RS; e += kThreads) {
                const int row = e / RS, k = e % RS;
                const int64_t t = tc0 + row, kk = k0 + k;
                p_s[e] = (t < t_end && kk < p.r) ? p.P[(t * p.b + j) * p.r + kk] : 0.f;
            }
            __syncthreads();
            if (p.vec_ok && tc0 + TC < t_end) fetch(tc0 + TC);
#pragma unroll 4
            for (int u = 0; u < TPG; ++u) {
                const int row = g * TPG + u;
                const float4 pv = lds4(&p_s[row * RS + kg * RK]);
                float xv[TN];
#pragma unroll
                for (int s = 0; s < SLOTS; ++s)
#pragma unroll
                    for (int e = 0; e < V; e += 4) {
                        const float4 x4 = lds4(&x_s[row * LDX + (s * 16 + cg) * V + e]);
                        xv[s * V + e] = x4.x;
                        xv[s * V + e + 1] = x4.y;
                        xv[s * V + e + 2] = x4.z;
                        xv[s * V + e + 3] = x4.w;
                    }
#pragma unroll
                for (int c = 0; c < TN; ++c) {
                    acc[c][0] += xv[c] * pv.x;
                    acc[c][1] += xv[c] * pv.y;
                    acc[c][2] += xv[c] * pv.z;
                    acc[c][3] += xv[c] * pv.w;
                }
            }
        }
        __syncthreads();  // x_s / p_s are about to be overwritten by red
#pragma unroll
        for (int c = 0; c < TN; ++c) {
            const int cl = ((c / V) * 16 + cg) * V + c % V;
#pragma unroll
            for (int k = 0; k < RK; ++k) red[(g * BN + cl) * RS + kg * RK + k] = acc[c][k];
        }
        __syncthreads();
        for (int e = tid; e < BN * RS; e += kThreads) {
            const int cl = e / RS, k = e % RS;
            float s = 0.f;
#pragma unroll
            for (int gg = 0; gg < TG; ++gg) s += red[(gg * BN + cl) * RS + k];
            const int64_t col = c_begin + cl, kk = k0 + k;
            if (col < c_end && kk < p.r) p.part[(ts * p.N + col) * p.r + kk] = s;
        }
    }
}

// part[s][i][j][k] = sum over tokens of split s of dV[t,i,k] * U[t,j,k].
// Internal linkage (static): the header is part of several translation units.
[[maybe_unused]] static __global__ void __launch_bounds__(kThreads)
    ds_partial_kernel(const float* __restrict__ dV, const float* __restrict__ U, float* __restrict__ part, int64_t T_,
                      int64_t b, int64_t r, int64_t nsplit) {
    const int64_t outputs = b * b * r;
    const int64_t per_split = ceil_div(T_, nsplit);
    for (int64_t e = blockIdx.x * int64_t(kThreads) + threadIdx.x; e < outputs * nsplit;
         e += int64_t(gridDim.x) * kThreads) {
        const int64_t s = e / outputs, o = e % outputs;
        const int64_t k = o % r, jj = (o / r) % b, i = o / (r * b);
        const int64_t t_end = min64((s + 1) * per_split, T_);
        float acc = 0.f;
#pragma unroll 8
        for (int64_t t = s * per_split; t < t_end; ++t) acc += dV[(t * b + i) * r + k] * U[(t * b + jj) * r + k];
        part[e] = acc;
    }
}

// out(row, k) = [out(row, k) +] alpha * sum_s part[s][row][k], summed in split order;
// out(row, k) lives at out[row * o_srow + k * o_sk] in storage type.
template <class T>
__global__ void __launch_bounds__(kThreads) finalize_kernel(const float* __restrict__ part, int64_t nsplit,
                                                            int64_t rows, int64_t r, float alpha, void* out_,
                                                            int64_t o_srow, int64_t o_sk, int accumulate) {
    T* __restrict__ out = static_cast<T*>(out_);
    const int64_t count = rows * r;
    for (int64_t e = blockIdx.x * int64_t(kThreads) + threadIdx.x; e < count; e += int64_t(gridDim.x) * kThreads) {
        float s = 0.f;
#pragma unroll 8
        for (int64_t k = 0; k < nsplit; ++k) s += part[k * count + e];  // independent loads: unrolled, in flight together
        const int64_t idx = (e / r) * o_srow + (e % r) * o_sk;
        float v = alpha * s;
        if (accumulate) v = to_float(out[idx]) + v;
        out[idx] = from_float<T>(v);
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
