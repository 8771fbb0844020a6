// delta_kernels.cuh - the dense weight update of the adapter:
//   W[i-block, j-block] = [W +] coef * B_i diag(S[i,j,:]) A_j,   W m x n, coef = sign * scale.
// Used for delta_weight (overwrite), merge (+) and unmerge (-). Not on the training path.
#pragma once

#include "common.cuh"

namespace bora {
namespace cuda {
namespace detail {

struct DeltaParams {
    const void* A;   // r x n
    const void* B;   // m x r
    const void* S;   // b x b x r
    void* W;         // m x n
    int64_t n, m, r, b, nb, mb;
    int64_t row_tiles_per_block, col_tiles_per_block;
    float coef;
    int overwrite;
};

// One block: 64 rows x 64 columns inside one (i, j) block pair, r in slabs of 16.
// Thread (ty, tx) owns rows ty + 16a and columns tx + 16c, so stores are coalesced.
template <class T>
__global__ void __launch_bounds__(kThreads) delta_kernel(DeltaParams p) {
    constexpr int BT = 64, RSD = 16, LD = BT + 4;
    __shared__ float b_s[RSD * LD];  // [rank][row], scaled by coef * S[i, j, rank]
    __shared__ float a_s[RSD * LD];  // [rank][column]
    const T* __restrict__ A = static_cast<const T*>(p.A);
    const T* __restrict__ B = static_cast<const T*>(p.B);
    const T* __restrict__ S = static_cast<const T*>(p.S);
    T* __restrict__ W = static_cast<T*>(p.W);
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int64_t ntiles = p.b * p.row_tiles_per_block * p.b * p.col_tiles_per_block;

    for (int64_t tile = blockIdx.x; tile < ntiles; tile += gridDim.x) {
        const int64_t ctg = tile % (p.b * p.col_tiles_per_block);
        const int64_t rtg = tile / (p.b * p.col_tiles_per_block);
        const int64_t i = rtg / p.row_tiles_per_block, rt = rtg % p.row_tiles_per_block;
        const int64_t j = ctg / p.col_tiles_per_block, ct = ctg % p.col_tiles_per_block;
        const int64_t r_begin = i * p.mb + rt * BT, r_end = min64(r_begin + BT, (i + 1) * p.mb);
        const int64_t c_begin = j * p.nb + ct * BT, c_end = min64(c_begin + BT, (j + 1) * p.nb);
        const T* s_ij = S + (i * p.b + j) * p.r;

        float acc[4][4];
#pragma unroll
        for (int a = 0; a < 4; ++a)
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[a][c] = 0.f;

        for (int64_t k0 = 0; k0 < p.r; k0 += RSD) {
            __syncthreads();
            for (int e = tid; e < BT * RSD; e += kThreads) {
                const int k = e % RSD, rl = e / RSD;  // B rows are contiguous in rank
                const int64_t row = r_begin + rl, kk = k0 + k;
                b_s[k * LD + rl] =
                    (row < r_end && kk < p.r) ? p.coef * to_float(s_ij[kk]) * to_float(B[row * p.r + kk]) : 0.f;
            }
            for (int e = tid; e < BT * RSD; e += kThreads) {
                const int cl = e % BT, k = e / BT;  // A rows are contiguous in columns
                const int64_t col = c_begin + cl, kk = k0 + k;
                a_s[k * LD + cl] = (col < c_end && kk < p.r) ? to_float(A[kk * p.n + col]) : 0.f;
            }
            __syncthreads();
#pragma unroll
            for (int k = 0; k < RSD; ++k) {
                float bv[4], av[4];
#pragma unroll
                for (int a = 0; a < 4; ++a) bv[a] = b_s[k * LD + ty + 16 * a];
#pragma unroll
                for (int c = 0; c < 4; ++c) av[c] = a_s[k * LD + tx + 16 * c];
#pragma unroll
                for (int a = 0; a < 4; ++a)
#pragma unroll
                    for (int c = 0; c < 4; ++c) acc[a][c] += bv[a] * av[c];
            }
        }
#pragma unroll
        for (int a = 0; a < 4; ++a) {
            const int64_t row = r_begin + ty + 16 * a;
            if (row >= r_end) continue;
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int64_t col = c_begin + tx + 16 * c;
                if (col >= c_end) continue;
                T* w = W + row * p.n + col;
                *w = from_float<T>(p.overwrite ? acc[a][c] : to_float(*w) + acc[a][c]);
            }
        }
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
