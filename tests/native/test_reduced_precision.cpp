// test_reduced_precision: bf16 and fp16 storage against DESIGN.md's tolerance rule.
//
// Rule: for every output, the error of our result against a float64 reference must be at
// most 2x the error of a plain implementation that takes the same inputs rounded to the
// reduced type, computes in fp32 (fp32 accumulation, plain loops written here) and rounds
// its outputs to the reduced type. Error = max |out - ref64| / max |ref64|.
// The float64 reference is the library's F64 path on the same (exactly representable)
// inputs. Both the optimised path and the reduced-precision reference are held to it.
#include <functional>
#include <vector>

#include "cpu/half.h"
#include "test_util.h"

namespace {

using tu::Shape;
using Vec = std::vector<float>;

struct Format {
    int dtype;
    const char* name;
    uint16_t (*encode)(float);
    float (*decode)(uint16_t);
};

const Format kFormats[] = {{BORA_DTYPE_BF16, "bf16", bora::float_to_bf16, bora::bf16_to_float},
                           {BORA_DTYPE_F16, "fp16", bora::float_to_f16, bora::f16_to_float}};

std::vector<uint16_t> encode(const Format& f, const Vec& v) {
    std::vector<uint16_t> c(v.size());
    for (size_t i = 0; i < v.size(); ++i) c[i] = f.encode(v[i]);
    return c;
}

Vec decode(const Format& f, const std::vector<uint16_t>& c) {
    Vec v(c.size());
    for (size_t i = 0; i < c.size(); ++i) v[i] = f.decode(c[i]);
    return v;
}

Vec round_to(const Format& f, const Vec& v) { return decode(f, encode(f, v)); }

std::vector<double> widen(const Vec& v) { return std::vector<double>(v.begin(), v.end()); }

// All outputs of one problem, as float values.
struct Outputs {
    Vec y, dA, dB, dS, dx, dW;
};

// The plain fp32 implementation: the formulas of bora.h as loops with float accumulation.
Outputs plain_fp32(const Shape& z, float s, const Vec& x, const Vec& A, const Vec& B, const Vec& S, const Vec& y0,
                   const Vec& G, const Vec& dx0) {
    const int64_t T = z.T, n = z.n, m = z.m, r = z.r, b = z.b, nb = n / b, mb = m / b, br = b * r;
    Vec U(size_t(T * br)), V(size_t(T * br)), dV(size_t(T * br)), dU(size_t(T * br));
    Outputs o{y0, Vec(A.size(), 0.f), Vec(B.size(), 0.f), Vec(S.size(), 0.f), dx0, Vec(size_t(m * n), 0.f)};
    for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < b; ++j)
            for (int64_t k = 0; k < r; ++k) {
                float a = 0;
                for (int64_t c = j * nb; c < (j + 1) * nb; ++c) a += A[size_t(k * n + c)] * x[size_t(t * n + c)];
                U[size_t(t * br + j * r + k)] = a;
            }
        for (int64_t i = 0; i < b; ++i)
            for (int64_t k = 0; k < r; ++k) {
                float a = 0, d = 0;
                for (int64_t j = 0; j < b; ++j) a += S[size_t((i * b + j) * r + k)] * U[size_t(t * br + j * r + k)];
                for (int64_t row = i * mb; row < (i + 1) * mb; ++row) d += B[size_t(row * r + k)] * G[size_t(t * m + row)];
                V[size_t(t * br + i * r + k)] = a;
                dV[size_t(t * br + i * r + k)] = s * d;
            }
        for (int64_t j = 0; j < b; ++j)
            for (int64_t k = 0; k < r; ++k) {
                float a = 0;
                for (int64_t i = 0; i < b; ++i) a += S[size_t((i * b + j) * r + k)] * dV[size_t(t * br + i * r + k)];
                dU[size_t(t * br + j * r + k)] = a;
            }
        for (int64_t row = 0; row < m; ++row) {
            float a = 0;
            for (int64_t k = 0; k < r; ++k) a += B[size_t(row * r + k)] * V[size_t(t * br + (row / mb) * r + k)];
            o.y[size_t(t * m + row)] += s * a;
        }
        for (int64_t c = 0; c < n; ++c) {
            float a = 0;
            for (int64_t k = 0; k < r; ++k) a += A[size_t(k * n + c)] * dU[size_t(t * br + (c / nb) * r + k)];
            o.dx[size_t(t * n + c)] += a;
        }
        for (int64_t row = 0; row < m; ++row)
            for (int64_t k = 0; k < r; ++k)
                o.dB[size_t(row * r + k)] += s * G[size_t(t * m + row)] * V[size_t(t * br + (row / mb) * r + k)];
        for (int64_t q = 0; q < b * b * r; ++q) {
            const int64_t i = q / (b * r), j = (q / r) % b, k = q % r;
            o.dS[size_t(q)] += dV[size_t(t * br + i * r + k)] * U[size_t(t * br + j * r + k)];
        }
        for (int64_t k = 0; k < r; ++k)
            for (int64_t c = 0; c < n; ++c)
                o.dA[size_t(k * n + c)] += dU[size_t(t * br + (c / nb) * r + k)] * x[size_t(t * n + c)];
    }
    for (int64_t row = 0; row < m; ++row)
        for (int64_t c = 0; c < n; ++c) {
            float a = 0;
            for (int64_t k = 0; k < r; ++k)
                a += B[size_t(row * r + k)] * S[size_t(((row / mb) * b + c / nb) * r + k)] * A[size_t(k * n + c)];
            o.dW[size_t(row * n + c)] = s * a;
        }
    return o;
}

// Runs the library on 16-bit codes (dtype d) or on doubles (F64), returning decoded outputs.
template <class E>
void run_library(int dtype, const Shape& z, float s, int flags, const std::vector<E>& x, const std::vector<E>& A,
                 const std::vector<E>& B, const std::vector<E>& S, std::vector<E>& y, const std::vector<E>& G,
                 std::vector<E>& dA, std::vector<E>& dB, std::vector<E>& dS, std::vector<E>& dx, std::vector<E>& dW) {
    CHECK_OK(bora_forward(BORA_DEVICE_CPU, dtype, z.T, z.n, z.m, z.r, z.b, s, x.data(), A.data(), B.data(), S.data(),
                          y.data(), nullptr, nullptr, 0, nullptr, flags));
    CHECK_OK(bora_backward(BORA_DEVICE_CPU, dtype, z.T, z.n, z.m, z.r, z.b, s, G.data(), x.data(), A.data(), B.data(),
                           S.data(), nullptr, dA.data(), dB.data(), dS.data(), dx.data(), nullptr, 0, nullptr, flags));
    CHECK_OK(bora_delta_weight(BORA_DEVICE_CPU, dtype, z.n, z.m, z.r, z.b, s, A.data(), B.data(), S.data(), dW.data(),
                               nullptr, flags));
}

void check_shape(const Format& f, const Shape& z, uint64_t seed) {
    tu::Rng rng(seed);
    const float s = 0.5f;
    auto rnd = [&](size_t count, double scale) {
        Vec v(count);
        tu::fill(v, rng, scale);
        return round_to(f, v);  // inputs exactly representable in the reduced type
    };
    const Vec x = rnd(size_t(z.T * z.n), 1.0), A = rnd(size_t(z.r * z.n), 0.5), B = rnd(size_t(z.m * z.r), 0.5),
              S = rnd(size_t(z.b * z.b * z.r), 1.0), y0 = rnd(size_t(z.T * z.m), 1.0),
              G = rnd(size_t(z.T * z.m), 0.5), dx0 = rnd(size_t(z.T * z.n), 1.0);

    // float64 reference on the same values.
    std::vector<double> y64 = widen(y0), dA64(A.size()), dB64(B.size()), dS64(S.size()), dx64 = widen(dx0),
                        dW64(size_t(z.m * z.n));
    run_library<double>(BORA_DTYPE_F64, z, s, BORA_FLAG_REFERENCE, widen(x), widen(A), widen(B), widen(S), y64,
                        widen(G), dA64, dB64, dS64, dx64, dW64);

    // The plain fp32 implementation, outputs rounded to the reduced type.
    const Outputs plain = plain_fp32(z, s, x, A, B, S, y0, G, dx0);
    const Outputs pr{round_to(f, plain.y),  round_to(f, plain.dA), round_to(f, plain.dB),
                     round_to(f, plain.dS), round_to(f, plain.dx), round_to(f, plain.dW)};

    for (int flags : {0, int(BORA_FLAG_REFERENCE)}) {
        std::vector<uint16_t> y = encode(f, y0), dA(A.size(), 0x7fff), dB(B.size(), 0x7fff), dS(S.size(), 0x7fff),
                              dx = encode(f, dx0), dW(size_t(z.m * z.n), 0x7fff);  // 0x7fff: NaN in both formats
        run_library<uint16_t>(f.dtype, z, s, flags, encode(f, x), encode(f, A), encode(f, B), encode(f, S), y,
                              encode(f, G), dA, dB, dS, dx, dW);
        struct Item {
            const char* name;
            Vec ours;
            const Vec& plain;
            const std::vector<double>& ref;
        };
        const Item items[] = {{"y", decode(f, y), pr.y, y64},     {"dA", decode(f, dA), pr.dA, dA64},
                              {"dB", decode(f, dB), pr.dB, dB64}, {"dS", decode(f, dS), pr.dS, dS64},
                              {"dx", decode(f, dx), pr.dx, dx64}, {"dW", decode(f, dW), pr.dW, dW64}};
        for (const Item& it : items) {
            const double e_ours = tu::rel_err(it.ours, it.ref), e_plain = tu::rel_err(it.plain, it.ref);
            CHECK_MSG(tu::all_finite(it.ours), "%s %s not fully written", f.name, it.name);
            CHECK_MSG(e_plain > 0.0, "%s %s: the plain implementation is exact, the rule says nothing", f.name,
                      it.name);
            CHECK_MSG(e_ours <= 2.0 * e_plain,
                      "%s %s (flags=%d, T=%lld n=%lld m=%lld r=%lld b=%lld): error %.3g > 2 x plain fp32 error %.3g",
                      f.name, it.name, flags, (long long)z.T, (long long)z.n, (long long)z.m, (long long)z.r,
                      (long long)z.b, e_ours, e_plain);
        }
    }
}

}  // namespace

int main() {
    const Shape shapes[] = {{64, 96, 64, 8, 4}, {1, 40, 40, 4, 2}, {173, 130, 70, 5, 5}, {300, 384, 384, 8, 4},
                            {33, 48, 48, 3, 48}, {20, 64, 32, 16, 1}};
    uint64_t seed = 7000;
    for (const Format& f : kFormats)
        for (const Shape& z : shapes) check_shape(f, z, seed++);
    return check::exit_code("test_reduced_precision");
}
