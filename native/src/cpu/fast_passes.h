// fast_passes.h - the optimised CPU path's passes (see fast.h) as templates over the storage
// type: plans the tiles, packs the parameters, allocates all scratch memory before anything is
// written, runs the workers of fast_kernels.h on the thread pool with the best instruction
// set, and reduces the per-worker partial gradients in worker order. Included by one
// translation unit per dtype (fast_f32.cpp, ...), which compile in parallel; everything here
// has internal linkage, as in fast_kernels.h.
#pragma once

#include <algorithm>
#include <vector>

#include "cpu/fast_dtypes.h"
#include "cpu/fast_kernels.h"
#include "cpu/isa.h"
#include "cpu/thread_pool.h"

namespace bora {
namespace cpu {
namespace fast {
namespace {

// The workers of fast_kernels.h, instantiated for AVX2+FMA (32-byte vectors) and for
// baseline x86-64 (16-byte vectors). The target attribute also applies to everything
// always_inline'd into these functions.
#define BORA_TARGET_AVX2 __attribute__((target("avx2,fma")))

template <class St>
constexpr int vec_generic() {
    return int(16 / sizeof(AcOf<St>));
}
template <class St>
constexpr int vec_avx2() {
    return int(32 / sizeof(AcOf<St>));
}

template <class St>
void forward_generic(void* job, int w) {
    forward_worker<St, vec_generic<St>()>(*static_cast<const Job<St>*>(job), w);
}
template <class St>
BORA_TARGET_AVX2 void forward_avx2(void* job, int w) {
    forward_worker<St, vec_avx2<St>()>(*static_cast<const Job<St>*>(job), w);
}
template <class St>
void backward_generic(void* job, int w) {
    backward_worker<St, vec_generic<St>()>(*static_cast<const Job<St>*>(job), w);
}
template <class St>
BORA_TARGET_AVX2 void backward_avx2(void* job, int w) {
    backward_worker<St, vec_avx2<St>()>(*static_cast<const Job<St>*>(job), w);
}
template <class St>
void delta_generic(void* job, int w) {
    delta_worker<St, vec_generic<St>()>(*static_cast<const Job<St>*>(job), w);
}
template <class St>
BORA_TARGET_AVX2 void delta_avx2(void* job, int w) {
    delta_worker<St, vec_avx2<St>()>(*static_cast<const Job<St>*>(job), w);
}

// Tokens per tile: the x and G tiles of one worker together take about 512 KiB, which
// stays in L2 across the passes over the tile.
int64_t token_tile(const Problem& p, size_t elem) {
    const int64_t per_token = (p.n + p.m) * int64_t(elem);
    return std::clamp<int64_t>((512 * 1024) / per_token, 8, 256);
}

int worker_count(int64_t units, int64_t tile, int threads) {
    const int64_t tiles = (units + tile - 1) / tile;
    return int(std::max<int64_t>(1, std::min<int64_t>(threads, tiles)));
}

// The parameters of one call in the compute type, in the layouts the workers read.
template <class St>
struct Params {
    using Ac = AcOf<St>;
    std::vector<Ac> Ap, At, Bp, Bt, S;
    const Ac *ap = nullptr, *bp = nullptr, *s = nullptr;

    // Points to the caller's arrays when they are already in the compute type.
    static const Ac* as_compute(const void* src, int64_t count, std::vector<Ac>& copy) {
        const St* in = static_cast<const St*>(src);
        if constexpr (!kConverts<St>) {
            return in;
        } else {
            copy.resize(size_t(count));
            for (int64_t i = 0; i < count; ++i) copy[size_t(i)] = Storage<St>::to_compute(in[i]);
            return copy.data();
        }
    }

    Params(const Problem& p, const void* A, const void* B, const void* Sg, bool need_At, bool need_Bt) {
        const int64_t n = p.n, m = p.m, r = p.r;
        ap = as_compute(A, r * n, Ap);
        bp = as_compute(B, m * r, Bp);
        s = as_compute(Sg, p.b * p.b * r, S);
        if (need_At) {
            At.resize(size_t(n * r));
            for (int64_t k = 0; k < r; ++k)
                for (int64_t c = 0; c < n; ++c) At[size_t(c * r + k)] = ap[k * n + c];
        }
        if (need_Bt) {
            Bt.resize(size_t(r * m));
            for (int64_t o = 0; o < m; ++o)
                for (int64_t k = 0; k < r; ++k) Bt[size_t(k * m + o)] = bp[o * r + k];
        }
    }
};

// Element counts of one worker's scratch buffers (0: not needed).
struct ScratchSizes {
    int64_t xbuf = 0, gbuf = 0, obuf = 0, U = 0, V = 0, dV = 0, dU = 0, dA = 0, dBt = 0, dS = 0;
    int64_t total() const { return xbuf + gbuf + obuf + U + V + dV + dU + dA + dBt + dS; }
};

// One zero-initialised arena carved into per-worker buffers (zero: the partial sums start there).
template <class Ac>
struct Arena {
    std::vector<Ac> memory;
    std::vector<Scratch<Ac>> scratch;
    Arena(const ScratchSizes& z, int workers) : memory(size_t(z.total() * workers)), scratch(size_t(workers)) {
        Ac* next = memory.data();
        auto take = [&](int64_t count) {
            Ac* p = count ? next : nullptr;
            next += count;
            return p;
        };
        for (auto& s : scratch) {
            s.xbuf = take(z.xbuf);
            s.gbuf = take(z.gbuf);
            s.obuf = take(z.obuf);
            s.U = take(z.U);
            s.V = take(z.V);
            s.dV = take(z.dV);
            s.dU = take(z.dU);
            s.dA = take(z.dA);
            s.dBt = take(z.dBt);
            s.dS = take(z.dS);
        }
    }
};

template <class St>
void fill_job_sizes(Job<St>& J, const Problem& p) {
    J.p = p;
    J.nb = p.nb();
    J.mb = p.mb();
    J.br = p.b * p.r;
}

template <class St>
int forward_t(const Problem& p, const ForwardArgs& a, int threads) {
    using Ac = AcOf<St>;
    Params<St> P(p, a.A, a.B, a.S, true, true);
    Job<St> J;
    fill_job_sizes(J, p);
    J.At = P.At.data();
    J.Bt = P.Bt.data();
    J.S = P.s;
    J.x = static_cast<const St*>(a.x);
    J.y = static_cast<St*>(a.y);
    J.u_out = a.u_saved;
    J.units = p.T;
    J.tile = token_tile(p, sizeof(Ac));
    J.workers = worker_count(p.T, J.tile, threads);
    ScratchSizes z;
    z.xbuf = kConverts<St> ? J.tile * p.n : 0;
    z.obuf = kConverts<St> ? J.tile * p.m : 0;
    z.U = z.V = J.tile * J.br;
    Arena<Ac> arena(z, J.workers);
    J.scratch = arena.scratch.data();
    ThreadPool::instance().run(J.workers, use_avx2_fma() ? forward_avx2<St> : forward_generic<St>, &J);
    return BORA_OK;
}

// out[i] = round((accumulate ? out[i] : 0) + scale * sum_w part_w[index(i)]) over workers in order.
template <class St, class Index>
void reduce_into(void* out, int64_t count, bool accumulate, double scale, const std::vector<const AcOf<St>*>& parts,
                 Index index) {
    using Ac = AcOf<St>;
    St* o = static_cast<St*>(out);
    for (int64_t i = 0; i < count; ++i) {
        const int64_t src = index(i);
        Ac sum = parts[0][src];
        for (size_t w = 1; w < parts.size(); ++w) sum += parts[w][src];
        Ac v = Ac(scale) * sum;
        if (accumulate) v += Storage<St>::to_compute(o[i]);
        o[i] = Storage<St>::from_compute(v);
    }
}

template <class St>
int backward_t(const Problem& p, const BackwardArgs& a, int threads) {
    using Ac = AcOf<St>;
    const bool recompute_u = a.u_saved == nullptr;
    Params<St> P(p, a.A, a.B, a.S, recompute_u, false);
    Job<St> J;
    fill_job_sizes(J, p);
    J.Ap = P.ap;
    J.At = P.At.data();
    J.Bp = P.bp;
    J.S = P.s;
    J.x = static_cast<const St*>(a.x);
    J.G = static_cast<const St*>(a.G);
    J.dx = static_cast<St*>(a.dx);
    J.u_in = a.u_saved;
    J.want_dA = a.dA != nullptr;
    J.want_dB = a.dB != nullptr;
    J.want_dS = a.dS != nullptr;
    J.want_dx = a.dx != nullptr;
    J.units = p.T;
    J.tile = token_tile(p, sizeof(Ac));
    J.workers = worker_count(p.T, J.tile, threads);
    ScratchSizes z;
    const int64_t tb = J.tile * J.br;
    z.xbuf = kConverts<St> ? J.tile * p.n : 0;
    z.gbuf = kConverts<St> ? J.tile * p.m : 0;
    z.obuf = kConverts<St> && J.want_dx ? J.tile * p.n : 0;
    z.U = tb;
    z.V = J.want_dB ? tb : 0;
    z.dV = tb;
    z.dU = J.want_dA || J.want_dx ? tb : 0;
    z.dA = J.want_dA ? p.r * p.n : 0;
    z.dBt = J.want_dB ? p.r * p.m : 0;
    z.dS = J.want_dS ? p.b * p.b * p.r : 0;
    Arena<Ac> arena(z, J.workers);
    J.scratch = arena.scratch.data();
    std::vector<const Ac*> parts(size_t(J.workers));  // allocated before dx is written
    ThreadPool::instance().run(J.workers, use_avx2_fma() ? backward_avx2<St> : backward_generic<St>, &J);

    const bool acc = (p.flags & BORA_FLAG_ACCUMULATE) != 0;
    if (a.dA) {
        for (int w = 0; w < J.workers; ++w) parts[size_t(w)] = arena.scratch[size_t(w)].dA;
        reduce_into<St>(a.dA, p.r * p.n, acc, 1.0, parts, [](int64_t i) { return i; });
    }
    if (a.dB) {
        for (int w = 0; w < J.workers; ++w) parts[size_t(w)] = arena.scratch[size_t(w)].dBt;
        const int64_t r = p.r, m = p.m;
        reduce_into<St>(a.dB, m * r, acc, p.scale, parts, [r, m](int64_t i) { return (i % r) * m + i / r; });
    }
    if (a.dS) {
        for (int w = 0; w < J.workers; ++w) parts[size_t(w)] = arena.scratch[size_t(w)].dS;
        reduce_into<St>(a.dS, p.b * p.b * p.r, acc, 1.0, parts, [](int64_t i) { return i; });
    }
    return BORA_OK;
}

template <class St>
int delta_t(const Problem& p, const DeltaArgs& a, int threads) {
    using Ac = AcOf<St>;
    Params<St> P(p, a.A, a.B, a.S, false, false);
    Job<St> J;
    fill_job_sizes(J, p);
    J.Ap = P.ap;
    J.Bp = P.bp;
    J.S = P.s;
    J.W = static_cast<St*>(a.W);
    J.overwrite = a.overwrite;
    J.alpha = Ac(double(a.sign) * double(p.scale));
    J.units = p.m;
    J.tile = 32;  // rows of W per step
    J.workers = worker_count(p.m, J.tile, threads);
    ScratchSizes z;
    z.U = J.tile * p.r;
    z.obuf = kConverts<St> ? J.tile * p.n : 0;
    Arena<Ac> arena(z, J.workers);
    J.scratch = arena.scratch.data();
    ThreadPool::instance().run(J.workers, use_avx2_fma() ? delta_avx2<St> : delta_generic<St>, &J);
    return BORA_OK;
}

}  // namespace
}  // namespace fast
}  // namespace cpu
}  // namespace bora

// Defines forward_<suffix>, backward_<suffix> and delta_<suffix> (fast_dtypes.h) for storage St:
// the whole of a fast_<dtype>.cpp.
#define BORA_FAST_PASSES_FOR(suffix, St)                                                         \
    namespace bora {                                                                             \
    namespace cpu {                                                                              \
    namespace fast {                                                                             \
    int forward_##suffix(const Problem& p, const ForwardArgs& a, int threads) {                 \
        return forward_t<St>(p, a, threads);                                                     \
    }                                                                                            \
    int backward_##suffix(const Problem& p, const BackwardArgs& a, int threads) {               \
        return backward_t<St>(p, a, threads);                                                    \
    }                                                                                            \
    int delta_##suffix(const Problem& p, const DeltaArgs& a, int threads) { return delta_t<St>(p, a, threads); } \
    }                                                                                            \
    }                                                                                            \
    }
