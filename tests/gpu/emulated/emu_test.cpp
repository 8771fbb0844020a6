// emu_test.cpp - checks the CUDA kernels' logic on the CPU (see cuda_emu.h): every pass
// of native/src/cuda against a plain double-precision implementation of the formulas in
// bora.h, on odd and ordinary shapes, every storage type, aligned and misaligned
// pointers, NaN-poisoned outputs, guard zones around every buffer (out-of-bounds
// writes), accumulate vs overwrite, partial output sets, and capped grids (grid-stride
// loops). Build and run: tests/gpu/emulated/run.sh
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "internal.cuh"  // also pulls in cuda_emu.h through common.cuh
#include "common.cuh"
#include "launchers.cuh"
#include "plan.cuh"

namespace bora {
void set_last_error(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fprintf(stderr, "\n");
}
}  // namespace bora

namespace {

int g_pass = 0, g_fail = 0;
int g_extra_flags = 0;  // OR-ed into every call's flags (BORA_FLAG_NO_TENSOR_CORES: the float-FMA path)

void expect(bool ok, const std::string& what) {
    if (ok) {
        ++g_pass;
    } else {
        ++g_fail;
        std::printf("FAIL %s\n", what.c_str());
    }
}

float to_f(float v) { return v; }
float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
float to_f(__half v) { return __half2float(v); }
template <class T>
T from_f(float v);
template <>
float from_f<float>(float v) { return v; }
template <>
__nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__half from_f<__half>(float v) { return __float2half_rn(v); }

template <class T>
int dtype_of();
template <>
int dtype_of<float>() { return BORA_DTYPE_F32; }
template <>
int dtype_of<__nv_bfloat16>() { return BORA_DTYPE_BF16; }
template <>
int dtype_of<__half>() { return BORA_DTYPE_F16; }

template <class T>
double tolerance() { return sizeof(T) == 4 ? 1e-5 : (dtype_of<T>() == BORA_DTYPE_BF16 ? 8e-3 : 1e-3); }

// A buffer with guard zones on both sides; `shift` elements moves the data off 16-byte
// alignment. With EMU_TIGHT=1 set there are no guard zones and the data ends exactly at the
// end of its allocation, so that AddressSanitizer also sees out-of-bounds reads.
constexpr int64_t kGuard = 64;
inline bool tight() { return std::getenv("EMU_TIGHT") != nullptr; }
template <class E>
struct Buf {
    std::vector<unsigned char> raw;
    E* data = nullptr;
    int64_t count = 0;
    int64_t guard = 0;
    Buf(int64_t n, int shift) : count(n), guard(tight() ? 0 : kGuard) {
        if (guard == 0) {
            raw.assign((n + shift) * sizeof(E), 0xA5);  // operator new: 16-byte aligned
            data = reinterpret_cast<E*>(raw.data()) + shift;
            return;
        }
        raw.assign((n + 2 * guard + 16) * sizeof(E) + 64, 0xA5);
        uintptr_t base = (reinterpret_cast<uintptr_t>(raw.data()) + 63) & ~uintptr_t(63);
        data = reinterpret_cast<E*>(base) + guard + shift;
    }
    bool guards_intact() const {
        const unsigned char* lo = reinterpret_cast<const unsigned char*>(data - guard);
        const unsigned char* hi = reinterpret_cast<const unsigned char*>(data + count);
        for (size_t i = 0; i < guard * sizeof(E); ++i)
            if (lo[i] != 0xA5 || hi[i] != 0xA5) return false;
        return true;
    }
};

std::mt19937_64 g_rng(12345);

// Fills a storage buffer with random values and returns them (as rounded) in double.
template <class T>
std::vector<double> fill(Buf<T>& b, double lo, double hi) {
    std::uniform_real_distribution<double> d(lo, hi);
    std::vector<double> v(b.count);
    for (int64_t i = 0; i < b.count; ++i) {
        b.data[i] = from_f<T>(static_cast<float>(d(g_rng)));
        v[i] = to_f(b.data[i]);
    }
    return v;
}

template <class T>
void poison(Buf<T>& b) {
    for (int64_t i = 0; i < b.count; ++i) b.data[i] = from_f<T>(NAN);
}

template <class T>
double rel_err(const Buf<T>& got, const std::vector<double>& want) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < got.count; ++i) {
        const double g = to_f(got.data[i]);
        if (!std::isfinite(g)) return INFINITY;
        num += (g - want[i]) * (g - want[i]);
        den += want[i] * want[i];
    }
    return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

struct Shape {
    int64_t T, n, m, r, b;
};

struct Ref {
    std::vector<double> U, V, y, dV, dU, dA, dB, dS, dx;
};

// The formulas of bora.h, in double.
Ref reference(const Shape& s, double scale, const std::vector<double>& x, const std::vector<double>& A,
              const std::vector<double>& B, const std::vector<double>& S, const std::vector<double>& y0,
              const std::vector<double>& G, const std::vector<double>& dx0) {
    const int64_t T = s.T, n = s.n, m = s.m, r = s.r, b = s.b, nb = n / b, mb = m / b;
    Ref R;
    R.U.assign(T * b * r, 0);
    R.V.assign(T * b * r, 0);
    R.dV.assign(T * b * r, 0);
    R.dU.assign(T * b * r, 0);
    R.y = y0;
    R.dx = dx0;
    R.dA.assign(r * n, 0);
    R.dB.assign(m * r, 0);
    R.dS.assign(b * b * r, 0);
    for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < b; ++j)
            for (int64_t k = 0; k < r; ++k) {
                double a = 0;
                for (int64_t c = 0; c < nb; ++c) a += A[k * n + j * nb + c] * x[t * n + j * nb + c];
                R.U[(t * b + j) * r + k] = a;
            }
        for (int64_t i = 0; i < b; ++i)
            for (int64_t k = 0; k < r; ++k) {
                double v = 0, dv = 0;
                for (int64_t j = 0; j < b; ++j) v += S[(i * b + j) * r + k] * R.U[(t * b + j) * r + k];
                for (int64_t c = 0; c < mb; ++c) dv += B[(i * mb + c) * r + k] * G[t * m + i * mb + c];
                R.V[(t * b + i) * r + k] = v;
                R.dV[(t * b + i) * r + k] = scale * dv;
            }
        for (int64_t j = 0; j < b; ++j)
            for (int64_t k = 0; k < r; ++k) {
                double du = 0;
                for (int64_t i = 0; i < b; ++i) du += S[(i * b + j) * r + k] * R.dV[(t * b + i) * r + k];
                R.dU[(t * b + j) * r + k] = du;
            }
        for (int64_t i = 0; i < b; ++i)
            for (int64_t c = 0; c < mb; ++c) {
                double acc = 0;
                for (int64_t k = 0; k < r; ++k) acc += B[(i * mb + c) * r + k] * R.V[(t * b + i) * r + k];
                R.y[t * m + i * mb + c] += scale * acc;
            }
        for (int64_t j = 0; j < b; ++j)
            for (int64_t c = 0; c < nb; ++c) {
                double acc = 0;
                for (int64_t k = 0; k < r; ++k) acc += A[k * n + j * nb + c] * R.dU[(t * b + j) * r + k];
                R.dx[t * n + j * nb + c] += acc;
            }
        for (int64_t i = 0; i < b; ++i)
            for (int64_t j = 0; j < b; ++j)
                for (int64_t k = 0; k < r; ++k)
                    R.dS[(i * b + j) * r + k] += R.dV[(t * b + i) * r + k] * R.U[(t * b + j) * r + k];
        for (int64_t i = 0; i < b; ++i)
            for (int64_t c = 0; c < mb; ++c)
                for (int64_t k = 0; k < r; ++k)
                    R.dB[(i * mb + c) * r + k] += scale * G[t * m + i * mb + c] * R.V[(t * b + i) * r + k];
        for (int64_t j = 0; j < b; ++j)
            for (int64_t c = 0; c < nb; ++c)
                for (int64_t k = 0; k < r; ++k)
                    R.dA[k * n + j * nb + c] += R.dU[(t * b + j) * r + k] * x[t * n + j * nb + c];
    }
    return R;
}

template <class T>
std::string label(const char* what, const Shape& s, int shift, int variant) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s dtype=%d T=%lld n=%lld m=%lld r=%lld b=%lld shift=%d variant=%d flags=%d",
                  what, dtype_of<T>(), (long long)s.T, (long long)s.n, (long long)s.m, (long long)s.r,
                  (long long)s.b, shift, variant, g_extra_flags);
    return buf;
}

template <class T>
bora::Problem problem_of(const Shape& s, double scale) {
    bora::Problem p;
    p.T = s.T;
    p.n = s.n;
    p.m = s.m;
    p.r = s.r;
    p.b = s.b;
    p.dtype = dtype_of<T>();
    p.scale = static_cast<float>(scale);
    p.flags = g_extra_flags;
    return p;
}

// variant 0: all gradients, overwrite, u_saved given; 1: accumulate, U recomputed;
// 2: only dx and dS, U recomputed; 3: only dB, u_saved given.
template <class T>
void check_case(const Shape& s, int shift, int variant) {
    using namespace bora;
    const double tol = tolerance<T>();
    const double scale = 0.75;
    Problem p = problem_of<T>(s, scale);

    Buf<T> x(s.T * s.n, shift), A(s.r * s.n, shift), B(s.m * s.r, shift), S(s.b * s.b * s.r, shift);
    Buf<T> y(s.T * s.m, shift), G(s.T * s.m, shift), dx(s.T * s.n, shift);
    Buf<T> dA(s.r * s.n, shift), dB(s.m * s.r, shift), dS(s.b * s.b * s.r, shift);
    Buf<float> U(s.T * s.b * s.r, 0);
    auto xv = fill(x, -1, 1), Av = fill(A, -0.5, 0.5), Bv = fill(B, -0.5, 0.5), Sv = fill(S, 0.5, 1.5);
    auto y0 = fill(y, -1, 1), Gv = fill(G, -1, 1), dx0 = fill(dx, -1, 1);
    const Ref R = reference(s, scale, xv, Av, Bv, Sv, y0, Gv, dx0);

    const int64_t fws = cuda::detail::forward_scratch_bytes(p);
    Buf<unsigned char> wsf(fws, 0);
    poison(U);
    ForwardArgs fa;
    fa.x = x.data;
    fa.A = A.data;
    fa.B = B.data;
    fa.S = S.data;
    fa.y = y.data;
    fa.u_saved = (variant == 2) ? nullptr : U.data;
    fa.workspace = wsf.data;
    fa.workspace_bytes = fws;
    int st = cuda::detail::run_forward(p, fa, nullptr);
    expect(st == BORA_OK, label<T>("forward status", s, shift, variant));
    const double ey = rel_err(y, R.y);
    expect(ey < tol, label<T>("forward y", s, shift, variant) + " err=" + std::to_string(ey));
    if (variant != 2) {
        const double eu = rel_err(U, R.U);
        expect(eu < (sizeof(T) == 4 ? 1e-5 : 1e-5), label<T>("forward U", s, shift, variant) + " err=" + std::to_string(eu));
    }
    expect(x.guards_intact() && y.guards_intact() && U.guards_intact() && wsf.guards_intact(),
           label<T>("forward guards", s, shift, variant));

    // Backward. U from the forward pass is exact up to float rounding.
    const bool acc = variant == 1;
    p.flags = (acc ? BORA_FLAG_ACCUMULATE : BORA_FLAG_NONE) | g_extra_flags;
    std::vector<double> dA0, dB0, dS0;
    if (acc) {
        dA0 = fill(dA, -1, 1);
        dB0 = fill(dB, -1, 1);
        dS0 = fill(dS, -1, 1);
    } else {
        poison(dA);
        poison(dB);
        poison(dS);
    }
    const bool want_dA = variant <= 1, want_dB = variant <= 1 || variant == 3, want_dS = variant <= 2;
    const bool want_dx = variant <= 2;
    const int64_t bws = cuda::detail::backward_scratch_bytes(p);
    Buf<unsigned char> wsb(bws, 0);
    BackwardArgs ba;
    ba.G = G.data;
    ba.x = x.data;
    ba.A = A.data;
    ba.B = B.data;
    ba.S = S.data;
    ba.u_saved = (variant == 0 || variant == 3) ? U.data : nullptr;
    ba.dA = want_dA ? dA.data : nullptr;
    ba.dB = want_dB ? dB.data : nullptr;
    ba.dS = want_dS ? dS.data : nullptr;
    ba.dx = want_dx ? dx.data : nullptr;
    ba.workspace = wsb.data;
    ba.workspace_bytes = bws;
    st = cuda::detail::run_backward(p, ba, nullptr);
    expect(st == BORA_OK, label<T>("backward status", s, shift, variant));
    auto plus = [](const std::vector<double>& a, const std::vector<double>& b) {
        std::vector<double> c(a.size());
        for (size_t i = 0; i < a.size(); ++i) c[i] = a[i] + b[i];
        return c;
    };
    if (want_dA) {
        const double e = rel_err(dA, acc ? plus(dA0, R.dA) : R.dA);
        expect(e < tol, label<T>("backward dA", s, shift, variant) + " err=" + std::to_string(e));
    } else {
        bool untouched = true;
        for (int64_t i = 0; i < dA.count; ++i) untouched &= std::isnan(to_f(dA.data[i]));
        expect(untouched, label<T>("backward dA untouched", s, shift, variant));
    }
    if (want_dB) {
        const double e = rel_err(dB, acc ? plus(dB0, R.dB) : R.dB);
        expect(e < tol, label<T>("backward dB", s, shift, variant) + " err=" + std::to_string(e));
    }
    if (want_dS) {
        const double e = rel_err(dS, acc ? plus(dS0, R.dS) : R.dS);
        expect(e < tol, label<T>("backward dS", s, shift, variant) + " err=" + std::to_string(e));
    }
    if (want_dx) {
        const double e = rel_err(dx, R.dx);
        expect(e < tol, label<T>("backward dx", s, shift, variant) + " err=" + std::to_string(e));
    } else {
        const double e = rel_err(dx, dx0);
        expect(e == 0, label<T>("backward dx untouched", s, shift, variant));
    }
    expect(G.guards_intact() && dA.guards_intact() && dB.guards_intact() && dS.guards_intact() &&
               dx.guards_intact() && wsb.guards_intact(),
           label<T>("backward guards", s, shift, variant));
}

template <class T>
void check_delta(const Shape& s, int shift) {
    using namespace bora;
    const double tol = tolerance<T>();
    const double scale = 1.25;
    const Problem p = problem_of<T>(s, scale);
    Buf<T> A(s.r * s.n, shift), B(s.m * s.r, shift), S(s.b * s.b * s.r, shift), W(s.m * s.n, shift);
    auto Av = fill(A, -1, 1), Bv = fill(B, -1, 1), Sv = fill(S, -1, 1);
    const int64_t nb = s.n / s.b, mb = s.m / s.b;
    std::vector<double> dW(s.m * s.n, 0);
    for (int64_t row = 0; row < s.m; ++row)
        for (int64_t col = 0; col < s.n; ++col) {
            const int64_t i = row / mb, j = col / nb;
            double a = 0;
            for (int64_t k = 0; k < s.r; ++k) a += Bv[row * s.r + k] * Sv[(i * s.b + j) * s.r + k] * Av[k * s.n + col];
            dW[row * s.n + col] = scale * a;
        }
    for (int mode = 0; mode < 3; ++mode) {  // delta_weight, merge, unmerge
        std::vector<double> want(s.m * s.n);
        if (mode == 0) {
            poison(W);
            want = dW;
        } else {
            auto W0 = fill(W, -1, 1);
            for (size_t e = 0; e < want.size(); ++e) want[e] = W0[e] + (mode == 1 ? dW[e] : -dW[e]);
        }
        DeltaArgs da;
        da.A = A.data;
        da.B = B.data;
        da.S = S.data;
        da.W = W.data;
        da.overwrite = mode == 0;
        da.sign = mode == 2 ? -1.0f : 1.0f;
        const int st = cuda::detail::run_delta(p, da, nullptr);
        expect(st == BORA_OK, label<T>("delta status", s, shift, mode));
        const double e = rel_err(W, want);
        expect(e < tol, label<T>("delta W", s, shift, mode) + " err=" + std::to_string(e));
        expect(W.guards_intact(), label<T>("delta guards", s, shift, mode));
    }
}

// The float partial sums of the token reduction (wgrad) before they are rounded to T: on
// tensor cores P enters as bf16 hi + lo, which must keep the sums within 2^-15 (P rounded
// to bf16 alone would be off by ~2^-9).
template <class T>
void check_wgrad_partials(const Shape& s, int shift) {
    using namespace bora;
    const Problem p = problem_of<T>(s, 1.0);
    const cuda::detail::WgradPlan pl = cuda::detail::plan_wgrad(s.T, s.n, s.b, s.r);
    const int64_t tsplit = pl.tsplit;
    Buf<T> X(s.T * s.n, shift);
    Buf<float> P(s.T * s.b * s.r, 0), part(tsplit * s.n * s.r, 0);
    const auto xv = fill(X, -1, 1), pv = fill(P, -1, 1);
    poison(part);
    const int st = cuda::detail::wgrad_partials<T>(p, pl, X.data, s.n, P.data, part.data, nullptr);
    expect(st == BORA_OK, label<T>("wgrad partials status", s, shift, 0));
    const int64_t nb = s.n / s.b;
    std::vector<double> want(s.n * s.r, 0.0), got(s.n * s.r, 0.0);
    for (int64_t t = 0; t < s.T; ++t)
        for (int64_t col = 0; col < s.n; ++col)
            for (int64_t k = 0; k < s.r; ++k) want[col * s.r + k] += xv[t * s.n + col] * pv[(t * s.b + col / nb) * s.r + k];
    for (int64_t sp = 0; sp < tsplit; ++sp)
        for (int64_t e = 0; e < s.n * s.r; ++e) got[e] += part.data[sp * s.n * s.r + e];
    double num = 0, den = 0;
    for (size_t e = 0; e < want.size(); ++e) {
        num += (got[e] - want[e]) * (got[e] - want[e]);
        den += want[e] * want[e];
    }
    const double err = std::sqrt(num / den);  // NaN (an element not written) fails
    // hi + lo is within 2^-16 of P; with one token a product is not averaged with others
    expect(err < std::ldexp(1.0, -15), label<T>("wgrad partials", s, shift, 0) + " err=" + std::to_string(err));
    expect(X.guards_intact() && part.guards_intact(), label<T>("wgrad partials guards", s, shift, 0));
}

// The tensor-core and FMA paths on the same inputs: both form the products to float accuracy
// (the float operands of bf16 mmas as hi + lo), so after the one rounding to T they agree
// exactly but for values within ~2^-16 (relative to the products) of a rounding boundary:
// about 1% of them. A float operand rounded to bf16 alone would move about half of them,
// which the accuracy checks against double, at bf16's tolerance, would not notice.
template <class T>
void check_paths_agree(const Shape& s) {
    using namespace bora;
    Buf<T> x(s.T * s.n, 0), A(s.r * s.n, 0), B(s.m * s.r, 0), S(s.b * s.b * s.r, 0), G(s.T * s.m, 0);
    fill(x, -1, 1), fill(A, -0.5, 0.5), fill(B, -0.5, 0.5), fill(S, 0.5, 1.5), fill(G, -1, 1);
    Buf<T> y0(s.T * s.m, 0), dx0(s.T * s.n, 0);
    fill(y0, -1, 1), fill(dx0, -1, 1);
    struct Out {
        std::vector<T> y, dx, dA, dB, dS;
    };
    auto run = [&](int flags) {
        Problem p = problem_of<T>(s, 0.75);
        p.flags = flags;
        Out o{std::vector<T>(y0.data, y0.data + y0.count), std::vector<T>(dx0.data, dx0.data + dx0.count),
              std::vector<T>(A.count), std::vector<T>(B.count), std::vector<T>(S.count)};
        std::vector<float> U(s.T * s.b * s.r);
        std::vector<unsigned char> ws(std::max(cuda::detail::forward_scratch_bytes(p),
                                               cuda::detail::backward_scratch_bytes(p)));
        ForwardArgs fa;
        fa.x = x.data, fa.A = A.data, fa.B = B.data, fa.S = S.data, fa.y = o.y.data(), fa.u_saved = U.data();
        fa.workspace = ws.data(), fa.workspace_bytes = static_cast<int64_t>(ws.size());
        BackwardArgs ba;
        ba.G = G.data, ba.x = x.data, ba.A = A.data, ba.B = B.data, ba.S = S.data, ba.u_saved = U.data();
        ba.dA = o.dA.data(), ba.dB = o.dB.data(), ba.dS = o.dS.data(), ba.dx = o.dx.data();
        ba.workspace = ws.data(), ba.workspace_bytes = static_cast<int64_t>(ws.size());
        const bool ok = cuda::detail::run_forward(p, fa, nullptr) == BORA_OK &&
                        cuda::detail::run_backward(p, ba, nullptr) == BORA_OK;
        expect(ok, label<T>("paths agree: status", s, 0, flags));
        return o;
    };
    const Out mma = run(0), fma = run(BORA_FLAG_NO_TENSOR_CORES);
    auto agree = [&](const char* what, const std::vector<T>& a, const std::vector<T>& b) {
        int64_t differ = 0;
        for (size_t i = 0; i < a.size(); ++i) differ += to_f(a[i]) != to_f(b[i]);
        const double frac = static_cast<double>(differ) / static_cast<double>(a.size());
        if (std::getenv("EMU_SHOW_AGREEMENT")) std::printf("agree %s %s %g\n", label<T>("", s, 0, 0).c_str(), what, frac);
        expect(frac <= 0.05, label<T>("paths agree", s, 0, 0) + " " + what + ": " + std::to_string(differ) + " of " +
                                 std::to_string(a.size()) + " differ");
    };
    agree("y", mma.y, fma.y);
    agree("dx", mma.dx, fma.dx);
    agree("dA", mma.dA, fma.dA);
    agree("dB", mma.dB, fma.dB);
    agree("dS", mma.dS, fma.dS);
}

// wgrad's float -> bf16 hi + lo split: within 2^-16 for every finite float (the largest
// included, which bf16 rounding would turn into Inf), Inf and NaN kept.
void check_bf16_split() {
    using bora::cuda::detail::split_bf16;
    auto bf = [](uint32_t bits) { return bora::cuda::detail::bf16_bits_to_float(bits); };
    std::vector<float> values = {0.f, 1.f, -1.f, 3.14159265f, 1.0f / 3, 3.4028235e38f, -3.4028235e38f, 1.17549435e-38f,
                                 -7.3e-12f, 6.5e4f, 1e-45f};
    std::uniform_real_distribution<double> d(-40, 40);
    for (int i = 0; i < 1000; ++i) values.push_back(static_cast<float>(std::exp(d(g_rng)) * (i % 2 ? 1 : -1)));
    bool ok = true;
    for (float v : values) {
        uint32_t hi, lo;
        split_bf16(v, hi, lo);
        const double sum = double(bf(hi)) + double(bf(lo));
        // plus half the smallest bf16 subnormal (2^-134), the resolution of lo near zero
        ok = ok && std::fabs(sum - double(v)) <= std::ldexp(std::fabs(double(v)), -16) + std::ldexp(1.0, -134);
    }
    uint32_t hi, lo;
    split_bf16(INFINITY, hi, lo);
    ok = ok && bf(hi) == INFINITY && lo == 0;
    split_bf16(-INFINITY, hi, lo);
    ok = ok && bf(hi) == -INFINITY && lo == 0;
    uint32_t nan_low_payload = 0x7f800001u;
    float nan_v;
    std::memcpy(&nan_v, &nan_low_payload, sizeof nan_v);
    split_bf16(nan_v, hi, lo);
    ok = ok && std::isnan(bf(hi)) && lo == 0;
    expect(ok, "bf16 hi + lo split of floats");
}

template <class T>
void run_all(const std::vector<Shape>& shapes) {
    int variant = 0;
    for (const Shape& s : shapes) {
        for (int shift = 0; shift < 2; ++shift) {
            check_case<T>(s, shift, variant);
            variant = (variant + 1) % 4;
        }
        check_delta<T>(s, (variant & 1));
        check_wgrad_partials<T>(s, (variant & 1));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    check_bf16_split();
    std::vector<Shape> shapes = {
        {1, 8, 8, 1, 1},       {1, 16, 24, 3, 2},    {5, 12, 12, 4, 12},  {70, 96, 64, 8, 4},
        {33, 40, 56, 16, 8},   {65, 130, 70, 5, 5},  {100, 64, 128, 17, 2}, {40, 48, 32, 33, 4},
        {130, 256, 192, 16, 1}, {20, 30, 45, 2, 15}, {64, 1024, 64, 4, 1},  {9, 8, 8, 64, 8},
    };
    if (quick) shapes.resize(6);
    run_all<float>(shapes);
    run_all<__nv_bfloat16>(shapes);  // tensor cores (mma.sync) for the block products
    run_all<__half>(shapes);
    for (const Shape& s : {Shape{130, 256, 192, 16, 4}, Shape{70, 96, 64, 8, 4}, Shape{40, 48, 32, 33, 4}}) {
        check_paths_agree<__nv_bfloat16>(s);
        check_paths_agree<__half>(s);
    }
    // The 16-bit types on float FMAs, as without tensor cores (--quick: every other shape).
    std::vector<Shape> fma_shapes;
    for (size_t i = 0; i < shapes.size(); i += quick ? 2 : 1) fma_shapes.push_back(shapes[i]);
    g_extra_flags = BORA_FLAG_NO_TENSOR_CORES;
    run_all<__nv_bfloat16>(fma_shapes);
    run_all<__half>(fma_shapes);
    g_extra_flags = 0;
    // A grid capped at 3 blocks: every tiled kernel must walk its tiles in grid-stride loops.
    emu::g_max_grid = 3;
    run_all<float>({{70, 96, 64, 8, 4}, {130, 256, 192, 16, 1}, {40, 48, 32, 33, 4}});
    run_all<__nv_bfloat16>({{70, 96, 64, 8, 4}, {130, 256, 192, 16, 1}});
    emu::g_max_grid = 0;
    // One split per column block and per token range: long chunk loops (software pipelining).
    bora::cuda::detail::g_emu_target_blocks = 1;
    run_all<float>({{70, 96, 64, 8, 4}, {130, 256, 192, 16, 1}, {100, 64, 128, 17, 2}});
    run_all<__nv_bfloat16>({{130, 256, 192, 16, 1}, {200, 320, 96, 33, 2}});
    run_all<__half>({{130, 256, 192, 8, 1}, {200, 320, 96, 32, 2}});
    bora::cuda::detail::g_emu_target_blocks = 1024;
    std::printf("emulated CUDA kernels: %d passed, %d failed (%lld barriers)\n", g_pass, g_fail, emu::g_barriers);
    return g_fail == 0 ? 0 : 1;
}
