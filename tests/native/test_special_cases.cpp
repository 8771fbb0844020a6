// test_special_cases: BoRA reduces to known adapters, checked against plain
// implementations written here in double (not the library's formulas):
//  - LoRA: b = 1 with S = 1, and any b with every S = 1, is y += s * x A^T B^T;
//  - b = 1 with a random S is LoRA with a diagonal: y += s * x A^T diag(S) B^T;
//  - MELoRA: S[i][i] = 1, S[i][j] = 0 (i != j) is a block-diagonal set of b mini-LoRAs.
// Both the optimised path and the reference are checked: forward, all gradients, dW.
// fp32 results must match within 1e-5 relative (max |err| / max |ref| per output).
#include <vector>

#include "test_util.h"

namespace {

using tu::Shape;
using Mat = std::vector<double>;

// C (rows x cols) = X (rows x K) * Y (K x cols), row-major, with optional transposes given
// by accessor lambdas: plain triple loops.
template <class XA, class YA>
Mat matmul(int64_t rows, int64_t cols, int64_t K, XA xa, YA ya) {
    Mat C(size_t(rows * cols), 0.0);
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += xa(i, k) * ya(k, j);
            C[size_t(i * cols + j)] = s;
        }
    return C;
}

// Expected results of one problem: y increment, dA, dB, dS, dx increment, dW.
struct Expected {
    Mat dy, dA, dB, dS, dx, dW;
};

// The adapter as the sum over blocks (i, j) of s * B_i diag(c_ij) A_j with c_ij given by
// coef(i, j, k): for LoRA c = 1 everywhere, for MELoRA c = [i == j]. Written directly as
// block products of plain matrices.
template <class Coef>
Expected plain_adapter(const tu::Tensors<float>& t, double s, Coef coef) {
    const Shape& z = t.s;
    const int64_t nb = z.n / z.b, mb = z.m / z.b;
    Expected e;
    e.dy.assign(size_t(z.T * z.m), 0.0);
    e.dA.assign(size_t(z.r * z.n), 0.0);
    e.dB.assign(size_t(z.m * z.r), 0.0);
    e.dS.assign(size_t(z.b * z.b * z.r), 0.0);
    e.dx.assign(size_t(z.T * z.n), 0.0);
    e.dW.assign(size_t(z.m * z.n), 0.0);
    for (int64_t i = 0; i < z.b; ++i)
        for (int64_t j = 0; j < z.b; ++j) {
            auto Aj = [&](int64_t k, int64_t c) { return double(t.A[size_t(k * z.n + j * nb + c)]); };
            auto Bi = [&](int64_t o, int64_t k) { return double(t.B[size_t((i * mb + o) * z.r + k)]); };
            auto xj = [&](int64_t tt, int64_t c) { return double(t.x[size_t(tt * z.n + j * nb + c)]); };
            auto Gi = [&](int64_t tt, int64_t o) { return double(t.G[size_t(tt * z.m + i * mb + o)]); };
            // H = x_j A_j^T (T x r), Hc = H diag(c_ij), y_i += s Hc B_i^T
            Mat H = matmul(z.T, z.r, nb, xj, [&](int64_t c, int64_t k) { return Aj(k, c); });
            Mat Hc = H;
            for (int64_t tt = 0; tt < z.T; ++tt)
                for (int64_t k = 0; k < z.r; ++k) Hc[size_t(tt * z.r + k)] *= coef(i, j, k);
            Mat Y = matmul(z.T, mb, z.r, [&](int64_t tt, int64_t k) { return Hc[size_t(tt * z.r + k)]; },
                           [&](int64_t k, int64_t o) { return Bi(o, k); });
            for (int64_t tt = 0; tt < z.T; ++tt)
                for (int64_t o = 0; o < mb; ++o) e.dy[size_t(tt * z.m + i * mb + o)] += s * Y[size_t(tt * mb + o)];
            // dHc = s G_i B_i; dB_i += s G_i^T Hc; dS_ij = sum_t dHc * H; dH = dHc diag(c)
            Mat dHc = matmul(z.T, z.r, mb, Gi, Bi);
            for (auto& v : dHc) v *= s;
            Mat dBi = matmul(mb, z.r, z.T, [&](int64_t o, int64_t tt) { return Gi(tt, o); },
                             [&](int64_t tt, int64_t k) { return Hc[size_t(tt * z.r + k)]; });
            for (int64_t o = 0; o < mb; ++o)
                for (int64_t k = 0; k < z.r; ++k) e.dB[size_t((i * mb + o) * z.r + k)] += s * dBi[size_t(o * z.r + k)];
            Mat dH = dHc;
            for (int64_t tt = 0; tt < z.T; ++tt)
                for (int64_t k = 0; k < z.r; ++k) {
                    e.dS[size_t((i * z.b + j) * z.r + k)] += dHc[size_t(tt * z.r + k)] * H[size_t(tt * z.r + k)];
                    dH[size_t(tt * z.r + k)] *= coef(i, j, k);
                }
            // dA_j += dH^T x_j; dx_j += dH A_j
            Mat dAj = matmul(z.r, nb, z.T, [&](int64_t k, int64_t tt) { return dH[size_t(tt * z.r + k)]; }, xj);
            for (int64_t k = 0; k < z.r; ++k)
                for (int64_t c = 0; c < nb; ++c) e.dA[size_t(k * z.n + j * nb + c)] += dAj[size_t(k * nb + c)];
            Mat dxj = matmul(z.T, nb, z.r, [&](int64_t tt, int64_t k) { return dH[size_t(tt * z.r + k)]; }, Aj);
            for (int64_t tt = 0; tt < z.T; ++tt)
                for (int64_t c = 0; c < nb; ++c) e.dx[size_t(tt * z.n + j * nb + c)] += dxj[size_t(tt * nb + c)];
            // dW block (i, j) = s B_i diag(c) A_j
            Mat W = matmul(mb, nb, z.r, [&](int64_t o, int64_t k) { return Bi(o, k) * coef(i, j, k); }, Aj);
            for (int64_t o = 0; o < mb; ++o)
                for (int64_t c = 0; c < nb; ++c) e.dW[size_t((i * mb + o) * z.n + j * nb + c)] = s * W[size_t(o * nb + c)];
        }
    return e;
}

void check_against(const tu::Tensors<float>& t, const Expected& e, float s, int flags, const char* name) {
    const double tol = 1e-5;
    std::vector<float> y = t.y, U(t.U.size());
    tu::poison(U);
    CHECK_OK(tu::forward(t, y, U.data(), s, flags));
    std::vector<double> dy(y.size());
    for (size_t i = 0; i < y.size(); ++i) dy[i] = double(y[i]) - double(t.y[i]);
    auto report = [&](const char* what, double err) {
        CHECK_MSG(err < tol, "%s %s: rel err %.3g (T=%lld n=%lld m=%lld r=%lld b=%lld, flags=%d)", name, what, err,
                  (long long)t.s.T, (long long)t.s.n, (long long)t.s.m, (long long)t.s.r, (long long)t.s.b, flags);
    };
    report("y", tu::rel_err(dy, e.dy));
    std::vector<float> dA(t.dA.size()), dB(t.dB.size()), dS(t.dS.size()), dx = t.dx;
    tu::poison(dA);
    tu::poison(dB);
    tu::poison(dS);
    CHECK_OK(tu::backward(t, U.data(), dA.data(), dB.data(), dS.data(), dx.data(), s, flags));
    report("dA", tu::rel_err(dA, e.dA));
    report("dB", tu::rel_err(dB, e.dB));
    report("dS", tu::rel_err(dS, e.dS));
    std::vector<double> ddx(dx.size());
    for (size_t i = 0; i < dx.size(); ++i) ddx[i] = double(dx[i]) - double(t.dx[i]);
    report("dx", tu::rel_err(ddx, e.dx));
    std::vector<float> dW(size_t(t.s.m * t.s.n));
    tu::poison(dW);
    CHECK_OK(tu::delta(t, dW, s, flags));
    report("dW", tu::rel_err(dW, e.dW));
}

void lora_cases() {
    const Shape shapes[] = {{37, 48, 40, 4, 1}, {64, 96, 64, 8, 4}, {9, 30, 45, 3, 3}, {128, 384, 384, 8, 4}};
    uint64_t seed = 11;
    for (const Shape& z : shapes) {
        tu::Rng rng(seed++);
        tu::Tensors<float> t(z, rng);
        for (auto& v : t.S) v = 1.0f;
        const Expected e = plain_adapter(t, 0.75, [](int64_t, int64_t, int64_t) { return 1.0; });
        for (int flags : {0, int(BORA_FLAG_REFERENCE)}) check_against(t, e, 0.75f, flags, "LoRA (S = 1)");
    }
    // b = 1 with a random S: LoRA with a diagonal between B and A.
    for (const Shape& z : {Shape{50, 40, 24, 6, 1}, Shape{1, 17, 9, 1, 1}}) {
        tu::Rng rng(seed++);
        tu::Tensors<float> t(z, rng);
        const auto S = t.S;
        const Expected e = plain_adapter(t, 1.5, [&](int64_t, int64_t, int64_t k) { return double(S[size_t(k)]); });
        for (int flags : {0, int(BORA_FLAG_REFERENCE)}) check_against(t, e, 1.5f, flags, "LoRA b=1 diag(S)");
    }
}

void melora_cases() {
    const Shape shapes[] = {{33, 64, 32, 4, 4}, {70, 96, 96, 8, 8}, {5, 12, 18, 2, 6}, {200, 384, 384, 8, 4}};
    uint64_t seed = 101;
    for (const Shape& z : shapes) {
        tu::Rng rng(seed++);
        tu::Tensors<float> t(z, rng);
        for (int64_t i = 0; i < z.b; ++i)
            for (int64_t j = 0; j < z.b; ++j)
                for (int64_t k = 0; k < z.r; ++k) t.S[size_t((i * z.b + j) * z.r + k)] = i == j ? 1.0f : 0.0f;
        const Expected e = plain_adapter(t, 0.5, [](int64_t i, int64_t j, int64_t) { return i == j ? 1.0 : 0.0; });
        // Block-diagonal: the off-diagonal blocks of dW are exactly zero.
        for (int64_t i = 0; i < z.b; ++i)
            for (int64_t j = 0; j < z.b; ++j)
                if (i != j) CHECK(e.dW[size_t(i * (z.m / z.b) * z.n + j * (z.n / z.b))] == 0.0);
        for (int flags : {0, int(BORA_FLAG_REFERENCE)}) {
            check_against(t, e, 0.5f, flags, "MELoRA");
            std::vector<float> dW(size_t(z.m * z.n));
            CHECK_OK(tu::delta(t, dW, 0.5f, flags));
            bool off_zero = true;
            for (int64_t o = 0; o < z.m; ++o)
                for (int64_t c = 0; c < z.n; ++c)
                    if (o / (z.m / z.b) != c / (z.n / z.b) && dW[size_t(o * z.n + c)] != 0.0f) off_zero = false;
            CHECK_MSG(off_zero, "MELoRA dW has nonzero off-diagonal blocks (flags=%d)", flags);
        }
    }
}

}  // namespace

int main() {
    lora_cases();
    melora_cases();
    return check::exit_code("test_special_cases");
}
