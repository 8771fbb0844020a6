// test_merge_accumulate: merge then unmerge restores W0 (fp32: 1e-6 relative), merge adds
// exactly the materialised dW, and the overwrite / accumulate semantics of the backward
// pass (dA, dB, dS overwritten or added into; dx always added into; y always added into).
#include <vector>

#include "test_util.h"

namespace {

using tu::Shape;

void merge_unmerge(const Shape& z, uint64_t seed, int flags) {
    tu::Rng rng(seed);
    tu::Tensors<float> t(z, rng);
    std::vector<float> W0(size_t(z.m * z.n)), dW(W0.size());
    tu::fill(W0, rng);
    tu::poison(dW);
    const float s = 0.125f;
    CHECK_OK(tu::delta(t, dW, s, flags));
    std::vector<float> W = W0;
    CHECK_OK(bora_merge(BORA_DEVICE_CPU, BORA_DTYPE_F32, z.n, z.m, z.r, z.b, s, t.A.data(), t.B.data(), t.S.data(),
                        W.data(), nullptr, flags));
    std::vector<double> inc(W.size()), merged_ref(W.size());
    for (size_t i = 0; i < W.size(); ++i) {
        inc[i] = double(W[i]) - double(W0[i]);
        merged_ref[i] = double(W0[i]) + double(dW[i]);
    }
    CHECK_MSG(tu::rel_err(W, merged_ref) < 1e-6, "merge != W0 + dW: %.3g", tu::rel_err(W, merged_ref));
    CHECK_MSG(tu::rel_err(inc, dW) < 1e-5, "merge increment != dW: %.3g", tu::rel_err(inc, dW));
    CHECK_OK(bora_unmerge(BORA_DEVICE_CPU, BORA_DTYPE_F32, z.n, z.m, z.r, z.b, s, t.A.data(), t.B.data(),
                          t.S.data(), W.data(), nullptr, flags));
    const double e = tu::rel_err(W, W0);
    CHECK_MSG(e < 1e-6, "merge+unmerge does not restore W0: rel err %.3g (n=%lld m=%lld flags=%d)", e,
              (long long)z.n, (long long)z.m, flags);
}

void accumulate_semantics(const Shape& z, uint64_t seed, int flags) {
    tu::Rng rng(seed);
    tu::Tensors<float> t(z, rng);
    const float s = 0.5f;
    // Overwrite: results independent of the initial contents (NaN poison vs random).
    std::vector<float> A1(t.dA.size()), B1(t.dB.size()), S1(t.dS.size());
    tu::poison(A1);
    tu::poison(B1);
    tu::poison(S1);
    CHECK_OK(tu::backward(t, nullptr, A1.data(), B1.data(), S1.data(), nullptr, s, flags));
    std::vector<float> A2 = t.dA, B2 = t.dB, S2 = t.dS;  // random initial values
    CHECK_OK(tu::backward(t, nullptr, A2.data(), B2.data(), S2.data(), nullptr, s, flags));
    CHECK(A1 == A2 && B1 == B2 && S1 == S2);
    CHECK(tu::all_finite(A1) && tu::all_finite(B1) && tu::all_finite(S1));
    // Accumulate: initial + gradient.
    std::vector<float> A3 = t.dA, B3 = t.dB, S3 = t.dS;
    CHECK_OK(tu::backward(t, nullptr, A3.data(), B3.data(), S3.data(), nullptr, s, flags | BORA_FLAG_ACCUMULATE));
    auto sum = [](const std::vector<float>& a, const std::vector<float>& b) {
        std::vector<double> r(a.size());
        for (size_t i = 0; i < a.size(); ++i) r[i] = double(a[i]) + double(b[i]);
        return r;
    };
    CHECK_MSG(tu::rel_err(A3, sum(t.dA, A1)) < 1e-6, "dA accumulate: %.3g", tu::rel_err(A3, sum(t.dA, A1)));
    CHECK_MSG(tu::rel_err(B3, sum(t.dB, B1)) < 1e-6, "dB accumulate: %.3g", tu::rel_err(B3, sum(t.dB, B1)));
    CHECK_MSG(tu::rel_err(S3, sum(t.dS, S1)) < 1e-6, "dS accumulate: %.3g", tu::rel_err(S3, sum(t.dS, S1)));
    // Accumulating twice from zero gives twice the gradient.
    std::vector<float> A4(A1.size(), 0.0f), B4(B1.size(), 0.0f), S4(S1.size(), 0.0f);
    for (int k = 0; k < 2; ++k)
        CHECK_OK(tu::backward(t, nullptr, A4.data(), B4.data(), S4.data(), nullptr, s, flags | BORA_FLAG_ACCUMULATE));
    CHECK(tu::rel_err(A4, sum(A1, A1)) < 1e-6 && tu::rel_err(B4, sum(B1, B1)) < 1e-6 &&
          tu::rel_err(S4, sum(S1, S1)) < 1e-6);
    // dx is always added into, with or without the flag; equal to the increment from zero.
    std::vector<float> dx0(t.dx.size(), 0.0f);
    CHECK_OK(tu::backward(t, nullptr, nullptr, nullptr, nullptr, dx0.data(), s, flags));
    for (int f : {flags, flags | int(BORA_FLAG_ACCUMULATE)}) {
        std::vector<float> dx = t.dx;
        CHECK_OK(tu::backward(t, nullptr, nullptr, nullptr, nullptr, dx.data(), s, f));
        CHECK_MSG(tu::rel_err(dx, sum(t.dx, dx0)) < 1e-6, "dx not added into (flags=%d)", f);
    }
    // y is added into: forward from y0 == y0 + forward from zero.
    std::vector<float> y0z(t.y.size(), 0.0f), y = t.y;
    CHECK_OK(tu::forward(t, y0z, nullptr, s, flags));
    CHECK_OK(tu::forward(t, y, nullptr, s, flags));
    CHECK(tu::rel_err(y, sum(t.y, y0z)) < 1e-6);
}

}  // namespace

int main() {
    const Shape shapes[] = {{1, 64, 48, 4, 4}, {1, 384, 384, 8, 4}, {1, 33, 99, 5, 3}, {1, 10, 10, 2, 10},
                            {1, 1024, 256, 16, 8}};
    uint64_t seed = 900;
    for (const Shape& z : shapes)
        for (int flags : {0, int(BORA_FLAG_REFERENCE)}) merge_unmerge(z, seed++, flags);
    const Shape grads[] = {{50, 64, 48, 4, 4}, {300, 96, 96, 8, 2}, {7, 12, 6, 3, 3}};
    for (const Shape& z : grads)
        for (int flags : {0, int(BORA_FLAG_REFERENCE)}) accumulate_semantics(z, seed++, flags);
    return check::exit_code("test_merge_accumulate");
}
