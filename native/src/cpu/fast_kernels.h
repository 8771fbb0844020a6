// fast_kernels.h - the per-worker bodies of the optimised CPU path, as always_inline
// templates over the storage type St and the SIMD width VEC. fast_passes.h wraps each of
// them twice, in a function compiled for AVX2+FMA and in a portable one.
//
// Tokens are processed in tiles so that x, G, y and dx are streamed once per pass:
//   forward:  U = A_j x_tile, V = mix(S, U), y_tile += s * B_i V
//   backward: dV = s * B_i^T G_tile, dB += G^T V, dS += dV * U, dU = mix^T(S, dV),
//             dA += dU^T x_tile, dx_tile += A_j^T dU
// Reductions over tokens (dA, dB, dS) go to per-worker partial sums that fast.cpp adds
// up in worker order, so the result depends only on the worker count.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend.h"
#include "cpu/half.h"
#include "cpu/microkernel.h"

namespace bora {
namespace cpu {
namespace {

template <class St>
using AcOf = typename Storage<St>::Compute;

// Scratch memory of one worker (sizes in elements: see fast.cpp, plan_scratch).
template <class Ac>
struct Scratch {
    Ac* xbuf;   // tile x converted to Ac (reduced storage only)
    Ac* gbuf;   // tile G converted to Ac (reduced storage only)
    Ac* obuf;   // tile y or dx (or W rows) in Ac (reduced storage only)
    Ac* U;      // tile U (tile x b*r); delta: the coefficients B_i diag(S_ij)
    Ac* V;      // tile V
    Ac* dV;     // tile dV
    Ac* dU;     // tile dU
    Ac* dA;     // partial dA (r x n)
    Ac* dBt;    // partial dB, transposed (r x m)
    Ac* dS;     // partial dS (b x b x r)
};

// Everything a worker needs, shared read-only by all workers (except scratch[w]).
template <class St>
struct Job {
    using Ac = AcOf<St>;
    Problem p;
    int64_t nb = 0, mb = 0, br = 0;
    // Parameters in Ac: Ap = A (r x n), At = A^T (n x r), Bp = B (m x r), Bt = B^T (r x m).
    const Ac *Ap = nullptr, *At = nullptr, *Bp = nullptr, *Bt = nullptr, *S = nullptr;
    const St *x = nullptr, *G = nullptr;
    St *y = nullptr, *dx = nullptr, *W = nullptr;
    float* u_out = nullptr;
    const float* u_in = nullptr;
    bool want_dA = false, want_dB = false, want_dS = false, want_dx = false;
    bool overwrite = false;  // delta
    Ac alpha = 0;            // delta: sign * scale
    int64_t tile = 0;        // tokens (forward/backward) or rows of W (delta) per tile
    int64_t units = 0;       // T or m
    int workers = 1;
    Scratch<Ac>* scratch = nullptr;
};

template <class St>
constexpr bool kConverts = !std::is_same<St, AcOf<St>>::value;

// Rows [r0, r0 + rows) of a rows x cols St array as Ac: a pointer into it, or a converted copy.
template <class St>
BORA_ALWAYS_INLINE const AcOf<St>* load_rows(const St* src, int64_t r0, int64_t rows, int64_t cols, AcOf<St>* buf) {
    if constexpr (!kConverts<St>) {
        (void)rows;
        (void)buf;
        return src + r0 * cols;
    } else {
        const St* s = src + r0 * cols;
        for (int64_t i = 0; i < rows * cols; ++i) buf[i] = Storage<St>::to_compute(s[i]);
        return buf;
    }
}

template <class St>
BORA_ALWAYS_INLINE void store_rows(St* dst, int64_t r0, int64_t rows, int64_t cols, const AcOf<St>* buf) {
    if constexpr (kConverts<St>) {
        St* d = dst + r0 * cols;
        for (int64_t i = 0; i < rows * cols; ++i) d[i] = Storage<St>::from_compute(buf[i]);
    } else {
        (void)dst, (void)r0, (void)rows, (void)cols, (void)buf;
    }
}

// Contiguous range of units for worker w: [first, last).
BORA_ALWAYS_INLINE void tile_range(int64_t units, int64_t tile, int workers, int w, int64_t* first, int64_t* last) {
    const int64_t tiles = (units + tile - 1) / tile;
    const int64_t t0 = tiles * w / workers, t1 = tiles * (w + 1) / workers;
    *first = t0 * tile;
    *last = t1 * tile < units ? t1 * tile : units;
}

// U[t, j, :] = A_j x[t, j-block] for the rows of one tile.
template <class Ac, int VEC>
BORA_ALWAYS_INLINE void tile_u(const Problem& p, int64_t rows, const Ac* xs, const Ac* At, Ac* U) {
    const int64_t n = p.n, r = p.r, b = p.b, nb = p.nb(), br = b * r;
    // Chunks of rows across all blocks: x rows are read contiguously, not once per block.
    constexpr int64_t kRowChunk = 32;
    for (int64_t i0 = 0; i0 < rows; i0 += kRowChunk) {
        const int64_t mr = rows - i0 < kRowChunk ? rows - i0 : kRowChunk;
        for (int64_t j = 0; j < b; ++j)
            gemm<Ac, VEC>(mr, r, nb, xs + i0 * n + j * nb, n, 1, At + j * nb * r, r, U + i0 * br + j * r, br, Ac(1),
                          false);
    }
}

// The b x b mixing, vectorised over the rank: chunks of VEC (then VEC/2) lanes, then scalars.
// The body gets the lane offset k0 and a tag naming the vector type it handles the chunk with.
template <class V>
struct VecTag {
    typedef V type;
};

template <class Ac, int VEC, class Body>
BORA_ALWAYS_INLINE void for_rank_chunks(int64_t r, Body body) {
    typedef typename Vec<Ac, VEC>::type V;
    int64_t k0 = 0;
    for (; k0 + VEC <= r; k0 += VEC) body(k0, VecTag<V>{});
    if constexpr (VEC >= 4) {
        typedef typename Vec<Ac, VEC / 2>::type H;
        if (k0 + VEC / 2 <= r) {
            body(k0, VecTag<H>{});
            k0 += VEC / 2;
        }
    }
    typedef typename Vec<Ac, 1>::type S1;
    for (; k0 < r; ++k0) body(k0, VecTag<S1>{});
}

// out[t, o, :] = sum_k S[o * s_out + k * s_in + :] * in[t, k, :]: the b x b Sigma mixing, with
// Sigma's strides choosing the mixing (tile_mix) or its transpose (tile_mix_t).
template <class Ac, int VEC>
BORA_ALWAYS_INLINE void tile_mix_strided(const Problem& p, int64_t rows, const Ac* S, int64_t s_out, int64_t s_in,
                                         const Ac* in, Ac* out) {
    const int64_t r = p.r, b = p.b, br = b * r;
    for_rank_chunks<Ac, VEC>(r, [&](int64_t k0, auto tag) __attribute__((always_inline)) {
        typedef typename decltype(tag)::type W;
        for (int64_t t = 0; t < rows; ++t)
            for (int64_t o = 0; o < b; ++o) {
                const Ac* s = S + o * s_out + k0;
                const Ac* x = in + t * br + k0;
                W acc = load_vec<W>(s) * load_vec<W>(x);
                for (int64_t k = 1; k < b; ++k) acc += load_vec<W>(s + k * s_in) * load_vec<W>(x + k * r);
                store_vec(out + t * br + o * r + k0, acc);
            }
    });
}

// V[t, i, :] = sum_j S[i, j, :] * U[t, j, :].
template <class Ac, int VEC>
BORA_ALWAYS_INLINE void tile_mix(const Problem& p, int64_t rows, const Ac* S, const Ac* U, Ac* V) {
    tile_mix_strided<Ac, VEC>(p, rows, S, p.b * p.r, p.r, U, V);
}

// dU[t, j, :] = sum_i S[i, j, :] * dV[t, i, :] (the transpose of tile_mix).
template <class Ac, int VEC>
BORA_ALWAYS_INLINE void tile_mix_t(const Problem& p, int64_t rows, const Ac* S, const Ac* dV, Ac* dU) {
    tile_mix_strided<Ac, VEC>(p, rows, S, p.r, p.b * p.r, dV, dU);
}

// dS[i, j, :] += sum_t dV[t, i, :] * U[t, j, :], the token sum kept in a register.
template <class Ac, int VEC>
BORA_ALWAYS_INLINE void tile_ds(const Problem& p, int64_t rows, const Ac* dV, const Ac* U, Ac* dS) {
    const int64_t r = p.r, b = p.b, br = b * r;
    for_rank_chunks<Ac, VEC>(r, [&](int64_t k0, auto tag) __attribute__((always_inline)) {
        typedef typename decltype(tag)::type W;
        for (int64_t i = 0; i < b; ++i)
            for (int64_t j = 0; j < b; ++j) {
                W acc = W{};
                const Ac* dv = dV + i * r + k0;
                const Ac* u = U + j * r + k0;
                for (int64_t t = 0; t < rows; ++t) acc += load_vec<W>(dv + t * br) * load_vec<W>(u + t * br);
                Ac* d = dS + (i * b + j) * r + k0;
                store_vec(d, load_vec<W>(d) + acc);
            }
    });
}

template <class St, int VEC>
BORA_ALWAYS_INLINE void forward_worker(const Job<St>& J, int w) {
    using Ac = AcOf<St>;
    const Problem& p = J.p;
    const int64_t n = p.n, m = p.m, r = p.r, b = p.b, mb = J.mb, br = J.br;
    Scratch<Ac>& s = J.scratch[w];
    int64_t first, last;
    tile_range(p.T, J.tile, J.workers, w, &first, &last);
    for (int64_t t0 = first; t0 < last; t0 += J.tile) {
        const int64_t rows = (last - t0) < J.tile ? (last - t0) : J.tile;
        const Ac* xs = load_rows<St>(J.x, t0, rows, n, s.xbuf);
        tile_u<Ac, VEC>(p, rows, xs, J.At, s.U);
        if (J.u_out)
            for (int64_t q = 0; q < rows * br; ++q) J.u_out[t0 * br + q] = float(s.U[q]);
        tile_mix<Ac, VEC>(p, rows, J.S, s.U, s.V);
        Ac* ys;
        if constexpr (kConverts<St>)
            ys = const_cast<Ac*>(load_rows<St>(J.y, t0, rows, m, s.obuf));
        else
            ys = J.y + t0 * m;
        for (int64_t i = 0; i < b; ++i)
            gemm<Ac, VEC>(rows, mb, r, s.V + i * r, br, 1, J.Bt + i * mb, m, ys + i * mb, m, Ac(p.scale), true);
        store_rows<St>(J.y, t0, rows, m, ys);
    }
}

template <class St, int VEC>
BORA_ALWAYS_INLINE void backward_worker(const Job<St>& J, int w) {
    using Ac = AcOf<St>;
    const Problem& p = J.p;
    const int64_t n = p.n, m = p.m, r = p.r, b = p.b, nb = J.nb, mb = J.mb, br = J.br;
    Scratch<Ac>& s = J.scratch[w];
    int64_t first, last;
    tile_range(p.T, J.tile, J.workers, w, &first, &last);
    for (int64_t t0 = first; t0 < last; t0 += J.tile) {
        const int64_t rows = (last - t0) < J.tile ? (last - t0) : J.tile;
        const Ac* xs = load_rows<St>(J.x, t0, rows, n, s.xbuf);
        const Ac* gs = load_rows<St>(J.G, t0, rows, m, s.gbuf);
        // U: saved by the forward pass (float32), or recomputed.
        const Ac* U;
        if (J.u_in) {
            if constexpr (std::is_same<Ac, float>::value) {
                U = J.u_in + t0 * br;
            } else {
                for (int64_t q = 0; q < rows * br; ++q) s.U[q] = Ac(J.u_in[t0 * br + q]);
                U = s.U;
            }
        } else {
            tile_u<Ac, VEC>(p, rows, xs, J.At, s.U);
            U = s.U;
        }
        // dV[t, i, :] = s * B_i^T G[t, i-block]
        for (int64_t i = 0; i < b; ++i)
            gemm<Ac, VEC>(rows, r, mb, gs + i * mb, m, 1, J.Bp + i * mb * r, r, s.dV + i * r, br, Ac(p.scale), false);
        if (J.want_dB) {  // dB_i^T += V_i^T G_i (the scale is applied once, in the reduction)
            tile_mix<Ac, VEC>(p, rows, J.S, U, s.V);
            for (int64_t i = 0; i < b; ++i)  // X = V_i^T: a transposed view of the tile's V
                gemm<Ac, VEC>(r, mb, rows, s.V + i * r, 1, br, gs + i * mb, m, s.dBt + i * mb, m, Ac(1), true);
        }
        if (J.want_dS) tile_ds<Ac, VEC>(p, rows, s.dV, U, s.dS);
        if (!J.want_dA && !J.want_dx) continue;
        tile_mix_t<Ac, VEC>(p, rows, J.S, s.dV, s.dU);
        if (J.want_dA) {  // dA_j += dU_j^T x_j
            for (int64_t j = 0; j < b; ++j)  // X = dU_j^T: a transposed view of the tile's dU
                gemm<Ac, VEC>(r, nb, rows, s.dU + j * r, 1, br, xs + j * nb, n, s.dA + j * nb, n, Ac(1), true);
        }
        if (J.want_dx) {  // dx[t, j-block] += A_j^T dU[t, j, :]
            Ac* dxs;
            if constexpr (kConverts<St>)
                dxs = const_cast<Ac*>(load_rows<St>(J.dx, t0, rows, n, s.obuf));
            else
                dxs = J.dx + t0 * n;
            for (int64_t j = 0; j < b; ++j)
                gemm<Ac, VEC>(rows, nb, r, s.dU + j * r, br, 1, J.Ap + j * nb, n, dxs + j * nb, n, Ac(1), true);
            store_rows<St>(J.dx, t0, rows, n, dxs);
        }
    }
}

// W[rows of this worker] (+)= alpha * [B_i diag(S[i][j]) A_j], one run of rows inside one
// row block i at a time.
template <class St, int VEC>
BORA_ALWAYS_INLINE void delta_worker(const Job<St>& J, int w) {
    using Ac = AcOf<St>;
    const Problem& p = J.p;
    const int64_t n = p.n, r = p.r, b = p.b, nb = J.nb, mb = J.mb;
    Scratch<Ac>& s = J.scratch[w];
    int64_t first, last;
    tile_range(p.m, J.tile, J.workers, w, &first, &last);
    for (int64_t o = first; o < last;) {
        const int64_t i = o / mb;
        int64_t end = (i + 1) * mb;
        if (end > last) end = last;
        if (end > o + J.tile) end = o + J.tile;
        const int64_t rows = end - o;
        Ac* ws;
        if constexpr (kConverts<St>) {
            ws = s.obuf;
            if (!J.overwrite) load_rows<St>(J.W, o, rows, n, s.obuf);
        } else {
            ws = J.W + o * n;
        }
        for (int64_t j = 0; j < b; ++j) {
            const Ac* __restrict sij = J.S + (i * b + j) * r;
            for (int64_t q = 0; q < rows; ++q)
                for (int64_t k = 0; k < r; ++k) s.U[q * r + k] = J.Bp[(o + q) * r + k] * sij[k];
            gemm<Ac, VEC>(rows, nb, r, s.U, r, 1, J.Ap + j * nb, n, ws + j * nb, n, J.alpha, !J.overwrite);
        }
        store_rows<St>(J.W, o, rows, n, ws);
        o = end;
    }
}

}  // namespace
}  // namespace cpu
}  // namespace bora
