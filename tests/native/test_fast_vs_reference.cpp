// test_fast_vs_reference: the optimised CPU path against the plain reference
// (BORA_FLAG_REFERENCE) on many shapes, odd ones included, with fresh random data.
// Overwritten outputs are poisoned with NaN first and must come back finite everywhere;
// outputs that are added into (y, dx) start random and their increments are compared.
// Error measure: max |fast - ref| / max |ref| per output; fp32 < 1e-5, fp64 < 1e-12.
#include <cstdio>
#include <vector>

#include "test_util.h"

namespace {

using tu::Shape;

template <class E>
double tolerance();
template <>
double tolerance<float>() {
    return 1e-5;
}
template <>
double tolerance<double>() {
    return 1e-12;
}

template <class E>
std::vector<double> increments(const std::vector<E>& after, const std::vector<E>& before) {
    std::vector<double> d(after.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = double(after[i]) - double(before[i]);
    return d;
}

template <class V, class R>
void compare(const V& got, const R& ref, double tol, const Shape& s, const char* what) {
    const double e = tu::rel_err(got, ref);
    CHECK_MSG(tu::all_finite(got), "%s not fully written (T=%lld n=%lld m=%lld r=%lld b=%lld)", what,
              (long long)s.T, (long long)s.n, (long long)s.m, (long long)s.r, (long long)s.b);
    CHECK_MSG(e < tol, "%s rel err %.3g >= %.3g (T=%lld n=%lld m=%lld r=%lld b=%lld)", what, e, tol,
              (long long)s.T, (long long)s.n, (long long)s.m, (long long)s.r, (long long)s.b);
}

template <class E>
void forward_case(const tu::Tensors<E>& t, float scale, std::vector<float>& u_fast) {
    const double tol = tolerance<E>();
    std::vector<E> y_ref = t.y, y_fast = t.y;
    std::vector<float> u_ref(t.U.size());
    tu::poison(u_ref);
    tu::poison(u_fast);
    CHECK_OK(tu::forward(t, y_ref, u_ref.data(), scale, BORA_FLAG_REFERENCE));
    CHECK_OK(tu::forward(t, y_fast, u_fast.data(), scale, 0));
    compare(increments(y_fast, t.y), increments(y_ref, t.y), tol, t.s, "forward y");
    compare(u_fast, u_ref, 1e-5, t.s, "forward U");
    // Without saving U.
    std::vector<E> y2 = t.y;
    CHECK_OK(tu::forward(t, y2, nullptr, scale, 0));
    compare(increments(y2, t.y), increments(y_ref, t.y), tol, t.s, "forward y (no U)");
    // BORA_FLAG_NO_TENSOR_CORES is about the CUDA path: the CPU path gives the same bits.
    std::vector<E> y3 = t.y;
    CHECK_OK(tu::forward(t, y3, nullptr, scale, BORA_FLAG_NO_TENSOR_CORES));
    CHECK(y3 == y2);
}

// Backward with the outputs selected by mask (bit 0 dA, 1 dB, 2 dS, 3 dx).
template <class E>
void backward_case(const tu::Tensors<E>& t, const float* u_saved, float scale, int mask, int extra_flags) {
    const double tol = tolerance<E>();
    struct Out {
        std::vector<E> dA, dB, dS, dx;
    };
    Out ref, fast;
    for (Out* o : {&ref, &fast}) {
        o->dA = t.dA;
        o->dB = t.dB;
        o->dS = t.dS;
        if (!(extra_flags & BORA_FLAG_ACCUMULATE)) {  // overwritten: poison; accumulated: random
            tu::poison(o->dA);
            tu::poison(o->dB);
            tu::poison(o->dS);
        }
        o->dx = t.dx;  // added into: starts random
    }
    auto ptr = [&](std::vector<E>& v, int bit) { return (mask >> bit) & 1 ? v.data() : nullptr; };
    CHECK_OK(tu::backward(t, u_saved, ptr(ref.dA, 0), ptr(ref.dB, 1), ptr(ref.dS, 2), ptr(ref.dx, 3), scale,
                          BORA_FLAG_REFERENCE | extra_flags));
    CHECK_OK(tu::backward(t, u_saved, ptr(fast.dA, 0), ptr(fast.dB, 1), ptr(fast.dS, 2), ptr(fast.dx, 3), scale,
                          extra_flags));
    if (extra_flags & BORA_FLAG_ACCUMULATE) {
        if (mask & 1) compare(increments(fast.dA, t.dA), increments(ref.dA, t.dA), tol, t.s, "dA accumulated");
        if (mask & 2) compare(increments(fast.dB, t.dB), increments(ref.dB, t.dB), tol, t.s, "dB accumulated");
        if (mask & 4) compare(increments(fast.dS, t.dS), increments(ref.dS, t.dS), tol, t.s, "dS accumulated");
    } else {
        if (mask & 1) compare(fast.dA, ref.dA, tol, t.s, u_saved ? "dA (saved U)" : "dA");
        if (mask & 2) compare(fast.dB, ref.dB, tol, t.s, u_saved ? "dB (saved U)" : "dB");
        if (mask & 4) compare(fast.dS, ref.dS, tol, t.s, u_saved ? "dS (saved U)" : "dS");
    }
    if (mask & 8) compare(increments(fast.dx, t.dx), increments(ref.dx, t.dx), tol, t.s, "dx increment");
    // Outputs not asked for stay untouched (still NaN, or the initial dx).
    if (!(mask & 1)) CHECK(extra_flags ? fast.dA == t.dA : !tu::all_finite(fast.dA));
    if (!(mask & 8)) CHECK(fast.dx == t.dx);
}

template <class E>
void delta_case(const tu::Tensors<E>& t, float scale) {
    const double tol = tolerance<E>();
    std::vector<E> ref(size_t(t.s.m * t.s.n)), fast(ref.size());
    tu::poison(ref);
    tu::poison(fast);
    CHECK_OK(tu::delta(t, ref, scale, BORA_FLAG_REFERENCE));
    CHECK_OK(tu::delta(t, fast, scale, 0));
    compare(fast, ref, tol, t.s, "delta dW");
    // merge: W0 random, the increment must equal dW.
    std::vector<E> W0(ref.size());
    tu::Rng rng(uint64_t(t.s.n * 31 + t.s.m));
    tu::fill(W0, rng);
    std::vector<E> W = W0;
    CHECK_OK(bora_merge(BORA_DEVICE_CPU, tu::dtype_of<E>(), t.s.n, t.s.m, t.s.r, t.s.b, scale, t.A.data(),
                        t.B.data(), t.S.data(), W.data(), nullptr, 0));
    compare(increments(W, W0), ref, 10 * tol, t.s, "merge increment");
}

template <class E>
void run_shape(const Shape& s, uint64_t seed, int case_index) {
    tu::Rng rng(seed);
    tu::Tensors<E> t(s, rng);
    const float scale = float(0.25 + rng.uniform());
    std::vector<float> u(t.U.size());
    forward_case(t, scale, u);
    backward_case(t, nullptr, scale, 15, 0);
    backward_case(t, u.data(), scale, 15, 0);
    backward_case(t, nullptr, scale, 1 + case_index % 15, 0);  // a subset of the gradients
    backward_case(t, u.data(), scale, 15, BORA_FLAG_ACCUMULATE);
    delta_case(t, scale);
}

}  // namespace

int main() {
    // Odd shapes first: T = 1, r = 1, b = 1, b = n = m, non-powers of two, T not a
    // multiple of any tile, n != m; then random shapes.
    std::vector<Shape> shapes = {
        {1, 8, 8, 1, 1},       {1, 384, 384, 8, 4},  {7, 5, 5, 3, 5},      {13, 12, 18, 1, 6},
        {3, 1, 1, 1, 1},       {257, 96, 60, 8, 4},  {500, 384, 384, 8, 4}, {333, 130, 70, 5, 2},
        {171, 64, 128, 16, 8}, {65, 7, 21, 9, 7},    {300, 255, 85, 17, 5}, {1000, 48, 48, 2, 48},
        {129, 1024, 32, 4, 8}, {2, 640, 960, 24, 16}, {85, 200, 100, 33, 1},
    };
    tu::Rng shape_rng(2024);
    while (shapes.size() < 26) {
        const int64_t b = 1 + shape_rng.below(8);
        shapes.push_back({1 + shape_rng.below(400), b * (1 + shape_rng.below(60)), b * (1 + shape_rng.below(60)),
                          1 + shape_rng.below(20), b});
    }
    int idx = 0;
    for (const Shape& s : shapes) run_shape<float>(s, 1000 + uint64_t(idx), idx), ++idx;
    // float64 through the same paths (a few shapes; the reference is slow).
    for (int i = 0; i < 6; ++i) run_shape<double>(shapes[size_t(i * 3)], 5000 + uint64_t(i), i);
    std::printf("%zu fp32 shapes, 6 fp64 shapes\n", shapes.size());
    return check::exit_code("test_fast_vs_reference");
}
