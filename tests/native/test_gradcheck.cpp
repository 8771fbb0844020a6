// test_gradcheck: float64 central finite differences of the loss L = sum(G .* y), with
// y = y0 + s * BoRA(x), against the backward pass's dx, dA, dB and dS (F64 dtype through
// the public API, optimised path and reference). Every element of x, A, B and S is
// perturbed. y is linear in each single parameter, so central differences are exact up
// to rounding: the tolerance (1e-8 relative) is tight.
#include <vector>

#include "test_util.h"

namespace {

using tu::Shape;

double loss(const tu::Tensors<double>& t, float scale) {
    std::vector<double> y = t.y;
    CHECK_OK(tu::forward(t, y, nullptr, scale, 0));
    double L = 0;
    for (size_t i = 0; i < y.size(); ++i) L += t.G[i] * y[i];
    return L;
}

// Finite-difference gradient of the loss with respect to every element of v (a member of t).
std::vector<double> numeric_grad(tu::Tensors<double>& t, std::vector<double>& v, float scale) {
    const double h = 1e-3;
    std::vector<double> g(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const double keep = v[i];
        v[i] = keep + h;
        const double lp = loss(t, scale);
        v[i] = keep - h;
        const double lm = loss(t, scale);
        v[i] = keep;
        g[i] = (lp - lm) / (2 * h);
    }
    return g;
}

void check_shape(const Shape& z, uint64_t seed) {
    tu::Rng rng(seed);
    tu::Tensors<double> t(z, rng);
    const float scale = 0.625f;
    const auto gx = numeric_grad(t, t.x, scale);
    const auto gA = numeric_grad(t, t.A, scale);
    const auto gB = numeric_grad(t, t.B, scale);
    const auto gS = numeric_grad(t, t.S, scale);
    std::vector<float> U(t.U.size());
    {
        std::vector<double> y = t.y;
        CHECK_OK(tu::forward(t, y, U.data(), scale, 0));
    }
    for (int flags : {0, int(BORA_FLAG_REFERENCE)}) {
        std::vector<double> dA(t.dA.size()), dB(t.dB.size()), dS(t.dS.size()), dx(t.dx.size(), 0.0);
        tu::poison(dA);
        tu::poison(dB);
        tu::poison(dS);
        CHECK_OK(tu::backward(t, nullptr, dA.data(), dB.data(), dS.data(), dx.data(), scale, flags));
        const double tol = 1e-8;
        const double ex = tu::rel_err(dx, gx), eA = tu::rel_err(dA, gA), eB = tu::rel_err(dB, gB),
                     eS = tu::rel_err(dS, gS);
        CHECK_MSG(ex < tol, "dx rel err %.3g (T=%lld n=%lld m=%lld r=%lld b=%lld flags=%d)", ex, (long long)z.T,
                  (long long)z.n, (long long)z.m, (long long)z.r, (long long)z.b, flags);
        CHECK_MSG(eA < tol, "dA rel err %.3g (b=%lld flags=%d)", eA, (long long)z.b, flags);
        CHECK_MSG(eB < tol, "dB rel err %.3g (b=%lld flags=%d)", eB, (long long)z.b, flags);
        CHECK_MSG(eS < tol, "dS rel err %.3g (b=%lld flags=%d)", eS, (long long)z.b, flags);
        // With U saved by the forward pass (float32 storage): dS and dB carry float32 rounding.
        std::vector<double> dS2(dS.size()), dB2(dB.size());
        CHECK_OK(tu::backward(t, U.data(), nullptr, dB2.data(), dS2.data(), nullptr, scale, flags));
        CHECK_MSG(tu::rel_err(dS2, gS) < 1e-6, "dS from saved U: rel err %.3g", tu::rel_err(dS2, gS));
        CHECK_MSG(tu::rel_err(dB2, gB) < 1e-6, "dB from saved U: rel err %.3g", tu::rel_err(dB2, gB));
    }
}

}  // namespace

int main() {
    const Shape shapes[] = {{3, 6, 4, 2, 2}, {5, 9, 6, 3, 3}, {1, 4, 8, 1, 4}, {4, 10, 5, 2, 1}, {7, 8, 12, 3, 4}};
    uint64_t seed = 77;
    for (const Shape& z : shapes) check_shape(z, seed++);
    return check::exit_code("test_gradcheck");
}
