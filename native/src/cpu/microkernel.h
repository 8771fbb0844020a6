// microkernel.h - the one small-matrix product every optimised CPU pass is built from:
//   C[M x N] = (accumulate ? C : 0) + alpha * X[M x K] * P[K x N]
// with arbitrary row strides. Register blocking: MR rows of X times 2*VEC or VEC columns
// of P are kept in fixed-size local accumulators that gcc keeps in vector registers and
// vectorises (VEC = elements per SIMD register of the instruction set the caller is
// compiled for). Everything is always_inline so that it takes the instruction set of the
// function it is inlined into (see fast_kernels.h); internal linkage keeps copies built
// for different instruction sets apart.
#pragma once

#include <cstdint>

#include "cpu/half.h"

namespace bora {
namespace cpu {
namespace {

// One MR x W block; W == NR is the fixed width, w < NR the runtime width of a tail block.
template <class Ac, int MR, int NR, bool kFixedWidth>
BORA_ALWAYS_INLINE void mk_block(int64_t K, const Ac* __restrict X, int64_t ldx, const Ac* __restrict P,
                                 int64_t ldp, Ac* __restrict C, int64_t ldc, int w, Ac alpha, bool accumulate) {
    Ac acc[MR][NR];
    for (int i = 0; i < MR; ++i)
        for (int l = 0; l < NR; ++l) acc[i][l] = Ac(0);
    const int width = kFixedWidth ? NR : w;
    for (int64_t k = 0; k < K; ++k) {
        const Ac* __restrict p = P + k * ldp;
        for (int i = 0; i < MR; ++i) {
            const Ac xv = X[i * ldx + k];
            if (kFixedWidth) {
                for (int l = 0; l < NR; ++l) acc[i][l] += xv * p[l];
            } else {
                for (int l = 0; l < width; ++l) acc[i][l] += xv * p[l];
            }
        }
    }
    for (int i = 0; i < MR; ++i) {
        Ac* __restrict c = C + i * ldc;
        if (accumulate) {
            for (int l = 0; l < width; ++l) c[l] += alpha * acc[i][l];
        } else {
            for (int l = 0; l < width; ++l) c[l] = alpha * acc[i][l];
        }
    }
}

// All rows of one column panel [col, col + w).
template <class Ac, int NR, bool kFixedWidth>
BORA_ALWAYS_INLINE void mk_panel(int64_t M, int64_t K, const Ac* X, int64_t ldx, const Ac* P, int64_t ldp, Ac* C,
                                 int64_t ldc, int w, Ac alpha, bool accumulate) {
    constexpr int MR = 4;
    int64_t i = 0;
    for (; i + MR <= M; i += MR)
        mk_block<Ac, MR, NR, kFixedWidth>(K, X + i * ldx, ldx, P, ldp, C + i * ldc, ldc, w, alpha, accumulate);
    for (; i < M; ++i)
        mk_block<Ac, 1, NR, kFixedWidth>(K, X + i * ldx, ldx, P, ldp, C + i * ldc, ldc, w, alpha, accumulate);
}

template <class Ac, int VEC>
BORA_ALWAYS_INLINE void gemm(int64_t M, int64_t N, int64_t K, const Ac* X, int64_t ldx, const Ac* P, int64_t ldp,
                             Ac* C, int64_t ldc, Ac alpha, bool accumulate) {
    int64_t j = 0;
    for (; j + 2 * VEC <= N; j += 2 * VEC)
        mk_panel<Ac, 2 * VEC, true>(M, K, X, ldx, P + j, ldp, C + j, ldc, 2 * VEC, alpha, accumulate);
    for (; j + VEC <= N; j += VEC)
        mk_panel<Ac, VEC, true>(M, K, X, ldx, P + j, ldp, C + j, ldc, VEC, alpha, accumulate);
    if (j < N) mk_panel<Ac, VEC, false>(M, K, X, ldx, P + j, ldp, C + j, ldc, int(N - j), alpha, accumulate);
}

}  // namespace
}  // namespace cpu
}  // namespace bora
