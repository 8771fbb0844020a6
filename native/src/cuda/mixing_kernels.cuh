// mixing_kernels.cuh - the small float32 passes over T x b x r arrays: summing the
// column-split partial sums of a projection, and the b x b Sigma mixing
//   forward:  V[t,i,:] = sum_j S[i,j,:] * U[t,j,:]
//   backward: dU[t,j,:] = sum_i S[i,j,:] * dV[t,i,:]   (the same with S transposed)
// Their traffic is O(T b r) floats, small next to x, y and G; every sum runs in a
// fixed order.
#pragma once

#include "common.cuh"

namespace bora {
namespace cuda {
namespace detail {

// out[e] = sum_s part[s * count + e], s = 0 .. nsplit-1 in order.
// Internal linkage (static): the header is part of several translation units.
[[maybe_unused]] static __global__ void __launch_bounds__(kThreads)
    reduce_splits_kernel(const float* __restrict__ part, int64_t nsplit, int64_t count, float* __restrict__ out) {
    for (int64_t e = blockIdx.x * int64_t(kThreads) + threadIdx.x; e < count; e += int64_t(gridDim.x) * kThreads) {
        float s = 0.f;
#pragma unroll 8
        for (int64_t k = 0; k < nsplit; ++k) s += part[k * count + e];  // independent loads: unrolled, in flight together
        out[e] = s;
    }
}

constexpr int kMixTokens = 8;  // tokens per thread: each S element loaded once serves 8 tokens

// R[t, o, k] = sum_q S(o, q, k) * Q[t, q, k], S(o, q, k) = S[(o * so + q * sq) * r + k].
// One thread per (token group, o, k), k fastest so that a warp reads contiguous ranks.
template <class T>
__global__ void __launch_bounds__(kThreads) mix_kernel(const float* __restrict__ Q, const void* S_, int64_t so,
                                                       int64_t sq, float* __restrict__ R, int64_t T_, int64_t b,
                                                       int64_t r) {
    const T* __restrict__ S = static_cast<const T*>(S_);
    const int64_t groups = ceil_div(T_, kMixTokens);
    const int64_t items = groups * b * r;
    for (int64_t e = blockIdx.x * int64_t(kThreads) + threadIdx.x; e < items; e += int64_t(gridDim.x) * kThreads) {
        const int64_t k = e % r;
        const int64_t o = (e / r) % b;
        const int64_t tg = e / (r * b);
        const int64_t t0 = tg * kMixTokens;
        const int nt = static_cast<int>(min64(kMixTokens, T_ - t0));
        float acc[kMixTokens];
#pragma unroll
        for (int u = 0; u < kMixTokens; ++u) acc[u] = 0.f;
        for (int64_t q = 0; q < b; ++q) {
            const float s = to_float(S[(o * so + q * sq) * r + k]);
            const float* qp = Q + (t0 * b + q) * r + k;
#pragma unroll
            for (int u = 0; u < kMixTokens; ++u)
                if (u < nt) acc[u] += s * qp[u * b * r];
        }
#pragma unroll
        for (int u = 0; u < kMixTokens; ++u)
            if (u < nt) R[((t0 + u) * b + o) * r + k] = acc[u];
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
