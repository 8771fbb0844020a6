// test_util.h - shared pieces of the native tests: a seeded random source that never
// yields zeros, NaN poisoning, coverage and error measures, and a problem holder that
// runs the C API on one set of tensors.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "bora/bora.h"
#include "check.h"

namespace tu {

struct Rng {
    uint64_t state;
    explicit Rng(uint64_t seed) : state(seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull) {}
    uint64_t next() {  // splitmix64
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
    int64_t below(int64_t n) { return int64_t(next() % uint64_t(n)); }
    // Uniform in [-1, -0.05] U [0.05, 1]: random sign and magnitude, never (near) zero.
    double nonzero() {
        const double v = 0.05 + 0.95 * uniform();
        return (next() & 1) ? v : -v;
    }
};

template <class V>
void fill(V& v, Rng& rng, double scale = 1.0) {
    for (auto& e : v) e = typename V::value_type(scale * rng.nonzero());
}

template <class V>
void poison(V& v) {
    for (auto& e : v) e = std::numeric_limits<typename V::value_type>::quiet_NaN();
}

template <class V>
bool all_finite(const V& v) {
    for (auto e : v)
        if (!std::isfinite(double(e))) return false;
    return true;
}

// max |a - ref| / max |ref|: the error relative to the magnitude of the result.
template <class A, class B>
double rel_err(const A& a, const B& ref) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double d = std::fabs(double(a[i]) - double(ref[i]));
        num = std::isnan(d) ? INFINITY : std::fmax(num, d);
        den = std::fmax(den, std::fabs(double(ref[i])));
    }
    return den > 0.0 ? num / den : num;
}

struct Shape {
    int64_t T, n, m, r, b;
};

// The tensors of one problem in storage type E (float or double).
template <class E>
struct Tensors {
    Shape s;
    std::vector<E> x, A, B, S, y, G, dA, dB, dS, dx;
    std::vector<float> U;
    Tensors(const Shape& sh, Rng& rng) : s(sh) {
        x.resize(size_t(s.T * s.n));
        A.resize(size_t(s.r * s.n));
        B.resize(size_t(s.m * s.r));
        S.resize(size_t(s.b * s.b * s.r));
        y.resize(size_t(s.T * s.m));
        G.resize(size_t(s.T * s.m));
        dA.resize(A.size());
        dB.resize(B.size());
        dS.resize(S.size());
        dx.resize(x.size());
        U.resize(size_t(s.T * s.b * s.r));
        fill(x, rng);
        fill(A, rng);
        fill(B, rng);
        fill(S, rng);
        fill(y, rng);
        fill(G, rng);
        fill(dx, rng);
        fill(dA, rng);  // initial values for the accumulate cases
        fill(dB, rng);
        fill(dS, rng);
    }
};

template <class E>
constexpr int dtype_of();
template <>
constexpr int dtype_of<float>() {
    return BORA_DTYPE_F32;
}
template <>
constexpr int dtype_of<double>() {
    return BORA_DTYPE_F64;
}

template <class E>
int forward(const Tensors<E>& t, std::vector<E>& y, float* u_saved, float scale, int flags) {
    return bora_forward(BORA_DEVICE_CPU, dtype_of<E>(), t.s.T, t.s.n, t.s.m, t.s.r, t.s.b, scale, t.x.data(),
                        t.A.data(), t.B.data(), t.S.data(), y.data(), u_saved, nullptr, 0, nullptr, flags);
}

template <class E>
struct Same {
    using type = E;
};

// E is deduced from t only, so that nullptr can be passed for any gradient.
template <class E>
int backward(const Tensors<E>& t, const float* u_saved, typename Same<E>::type* dA, typename Same<E>::type* dB,
             typename Same<E>::type* dS, typename Same<E>::type* dx, float scale, int flags) {
    return bora_backward(BORA_DEVICE_CPU, dtype_of<E>(), t.s.T, t.s.n, t.s.m, t.s.r, t.s.b, scale, t.G.data(),
                         t.x.data(), t.A.data(), t.B.data(), t.S.data(), u_saved, dA, dB, dS, dx, nullptr, 0,
                         nullptr, flags);
}

template <class E>
int delta(const Tensors<E>& t, std::vector<E>& dW, float scale, int flags) {
    return bora_delta_weight(BORA_DEVICE_CPU, dtype_of<E>(), t.s.n, t.s.m, t.s.r, t.s.b, scale, t.A.data(),
                             t.B.data(), t.S.data(), dW.data(), nullptr, flags);
}

}  // namespace tu

#define CHECK_OK(call)                                                                                  \
    do {                                                                                                \
        const int st_ = (call);                                                                         \
        CHECK_MSG(st_ == BORA_OK, "%s: status %d (%s): %s", #call, st_, bora_status_string(st_), \
                  bora_last_error());                                                                   \
    } while (0)
