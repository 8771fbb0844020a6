// microkernel.h - the one small-matrix product every optimised CPU pass is built from:
//   C[M x N] = (accumulate ? C : 0) + alpha * X[M x K] * P[K x N]
// with arbitrary row strides, and a column stride xk for X (so that X can be a transposed
// view: X(i, k) = X[i * ldx + k * xk]). Register blocking: MR rows of X times one or two SIMD
// vectors of P columns accumulate in registers (VEC = elements per SIMD register of the
// instruction set the caller is compiled for). Everything is always_inline so that it takes the instruction set of the
// function it is inlined into (see fast_kernels.h); internal linkage keeps copies built
// for different instruction sets apart.
#pragma once

#include <cstdint>

#include "cpu/half.h"

// Vectors are passed only between always_inline functions, so the ABI note gcc gives for
// 32-byte vectors in functions without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace bora {
namespace cpu {
namespace {

// A SIMD vector of W elements of Ac (GCC vector extension: compiled to whatever the
// enclosing function's instruction set offers).
template <class Ac, int W>
struct Vec {
    typedef Ac type __attribute__((vector_size(W * sizeof(Ac))));
};

template <class V, class Ac>
BORA_ALWAYS_INLINE V load_vec(const Ac* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);  // unaligned load
    return v;
}

template <class V, class Ac>
BORA_ALWAYS_INLINE void store_vec(Ac* p, const V& v) {
    __builtin_memcpy(p, &v, sizeof v);
}

// One block of MR rows x NV vectors of W columns, accumulators in registers.
template <class Ac, int W, int MR, int NV>
BORA_ALWAYS_INLINE void mk_block(int64_t K, const Ac* __restrict X, int64_t ldx, int64_t xk, const Ac* __restrict P, int64_t ldp,
                                 Ac* __restrict C, int64_t ldc, Ac alpha, bool accumulate) {
    typedef typename Vec<Ac, W>::type V;
    V acc[MR][NV];
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) acc[i][v] = V{} ;
    for (int64_t k = 0; k < K; ++k) {
        V p[NV];
        for (int v = 0; v < NV; ++v) p[v] = load_vec<V>(P + k * ldp + v * W);
        for (int i = 0; i < MR; ++i) {
            const V xv = V{} + X[i * ldx + k * xk];
            for (int v = 0; v < NV; ++v) acc[i][v] += xv * p[v];
        }
    }
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) {
            Ac* c = C + i * ldc + v * W;
            const V r = alpha * acc[i][v];
            store_vec(c, accumulate ? load_vec<V>(c) + r : r);
        }
}

// Scalar block for the last w (< smallest vector) columns.
template <class Ac, int MR>
BORA_ALWAYS_INLINE void mk_block_tail(int64_t K, const Ac* __restrict X, int64_t ldx, int64_t xk, const Ac* __restrict P,
                                      int64_t ldp, Ac* __restrict C, int64_t ldc, int w, Ac alpha, bool accumulate) {
    for (int l = 0; l < w; ++l) {
        Ac acc[MR];
        for (int i = 0; i < MR; ++i) acc[i] = Ac(0);
        for (int64_t k = 0; k < K; ++k) {
            const Ac pv = P[k * ldp + l];
            for (int i = 0; i < MR; ++i) acc[i] += X[i * ldx + k * xk] * pv;
        }
        for (int i = 0; i < MR; ++i) {
            Ac* c = C + i * ldc + l;
            *c = accumulate ? *c + alpha * acc[i] : alpha * acc[i];
        }
    }
}

// All rows of one column panel of NV vectors of W columns.
template <class Ac, int W, int NV>
BORA_ALWAYS_INLINE void mk_panel(int64_t M, int64_t K, const Ac* X, int64_t ldx, int64_t xk, const Ac* P, int64_t ldp, Ac* C,
                                 int64_t ldc, Ac alpha, bool accumulate) {
    constexpr int MR = NV == 1 ? 8 : 4;  // keep about 8 accumulators in registers
    int64_t i = 0;
    for (; i + MR <= M; i += MR)
        mk_block<Ac, W, MR, NV>(K, X + i * ldx, ldx, xk, P, ldp, C + i * ldc, ldc, alpha, accumulate);
    for (; i < M; ++i) mk_block<Ac, W, 1, NV>(K, X + i * ldx, ldx, xk, P, ldp, C + i * ldc, ldc, alpha, accumulate);
}

template <class Ac>
BORA_ALWAYS_INLINE void mk_panel_tail(int64_t M, int64_t K, const Ac* X, int64_t ldx, int64_t xk, const Ac* P, int64_t ldp, Ac* C,
                                      int64_t ldc, int w, Ac alpha, bool accumulate) {
    int64_t i = 0;
    for (; i + 4 <= M; i += 4) mk_block_tail<Ac, 4>(K, X + i * ldx, ldx, xk, P, ldp, C + i * ldc, ldc, w, alpha, accumulate);
    for (; i < M; ++i) mk_block_tail<Ac, 1>(K, X + i * ldx, ldx, xk, P, ldp, C + i * ldc, ldc, w, alpha, accumulate);
}

// Column panels of 2 vectors, then 1 vector, then half a vector, then scalars.
template <class Ac, int VEC>
BORA_ALWAYS_INLINE void gemm(int64_t M, int64_t N, int64_t K, const Ac* X, int64_t ldx, int64_t xk, const Ac* P, int64_t ldp,
                             Ac* C, int64_t ldc, Ac alpha, bool accumulate) {
    int64_t j = 0;
    for (; j + 2 * VEC <= N; j += 2 * VEC)
        mk_panel<Ac, VEC, 2>(M, K, X, ldx, xk, P + j, ldp, C + j, ldc, alpha, accumulate);
    for (; j + VEC <= N; j += VEC) mk_panel<Ac, VEC, 1>(M, K, X, ldx, xk, P + j, ldp, C + j, ldc, alpha, accumulate);
    if constexpr (VEC >= 4) {
        if (j + VEC / 2 <= N) {
            mk_panel<Ac, VEC / 2, 1>(M, K, X, ldx, xk, P + j, ldp, C + j, ldc, alpha, accumulate);
            j += VEC / 2;
        }
    }
    if (j < N) mk_panel_tail<Ac>(M, K, X, ldx, xk, P + j, ldp, C + j, ldc, int(N - j), alpha, accumulate);
}

}  // namespace
}  // namespace cpu
}  // namespace bora
