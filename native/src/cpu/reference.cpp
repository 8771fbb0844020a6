// reference.cpp - see reference.h. Every stored element is loaded as double, every sum
// is a double, every result is rounded once (to nearest even) when it is stored.
#include "cpu/reference.h"

#include <vector>

#include "cpu/half.h"

namespace bora {
namespace cpu {
namespace reference {
namespace {

template <class St>
double ld(const void* base, int64_t i) {
    return Storage<St>::to_double(static_cast<const St*>(base)[i]);
}

template <class St>
void st(void* base, int64_t i, double v) {
    static_cast<St*>(base)[i] = Storage<St>::from_double(v);
}

// U[t,j,k] = A_j x[t, j-block] for one token t, into u (b*r).
template <class St>
void compute_u(const Problem& p, const void* x, const void* A, int64_t t, double* u) {
    const int64_t n = p.n, r = p.r, b = p.b, nb = p.nb();
    for (int64_t j = 0; j < b; ++j)
        for (int64_t k = 0; k < r; ++k) {
            double sum = 0.0;
            for (int64_t c = j * nb; c < (j + 1) * nb; ++c) sum += ld<St>(A, k * n + c) * ld<St>(x, t * n + c);
            u[j * r + k] = sum;
        }
}

// V[i,k] = sum_j S[i,j,k] U[j,k] for one token.
template <class St>
void mix(const Problem& p, const void* S, const double* u, double* v) {
    const int64_t r = p.r, b = p.b;
    for (int64_t i = 0; i < b; ++i)
        for (int64_t k = 0; k < r; ++k) {
            double sum = 0.0;
            for (int64_t j = 0; j < b; ++j) sum += ld<St>(S, (i * b + j) * r + k) * u[j * r + k];
            v[i * r + k] = sum;
        }
}

template <class St>
int forward_t(const Problem& p, const ForwardArgs& a) {
    const int64_t T = p.T, m = p.m, r = p.r, b = p.b, mb = p.mb();
    const double s = p.scale;
    std::vector<double> u(size_t(b * r)), v(size_t(b * r));
    for (int64_t t = 0; t < T; ++t) {
        compute_u<St>(p, a.x, a.A, t, u.data());
        if (a.u_saved)
            for (int64_t q = 0; q < b * r; ++q) a.u_saved[t * b * r + q] = float(u[size_t(q)]);
        mix<St>(p, a.S, u.data(), v.data());
        for (int64_t row = 0; row < m; ++row) {
            const int64_t i = row / mb;
            double sum = 0.0;
            for (int64_t k = 0; k < r; ++k) sum += ld<St>(a.B, row * r + k) * v[size_t(i * r + k)];
            st<St>(a.y, t * m + row, ld<St>(a.y, t * m + row) + s * sum);
        }
    }
    return BORA_OK;
}

template <class St>
int backward_t(const Problem& p, const BackwardArgs& a) {
    const int64_t T = p.T, n = p.n, m = p.m, r = p.r, b = p.b, nb = p.nb(), mb = p.mb();
    const int64_t br = b * r;
    const double s = p.scale;
    const bool acc = (p.flags & BORA_FLAG_ACCUMULATE) != 0;
    // Whole-problem intermediates in double: memory is not what the reference optimises.
    std::vector<double> U(size_t(T * br)), V(size_t(T * br)), dV(size_t(T * br)), dU(size_t(T * br));
    for (int64_t t = 0; t < T; ++t) {
        double* u = &U[size_t(t * br)];
        if (a.u_saved)
            for (int64_t q = 0; q < br; ++q) u[q] = a.u_saved[t * br + q];
        else
            compute_u<St>(p, a.x, a.A, t, u);
        mix<St>(p, a.S, u, &V[size_t(t * br)]);
        for (int64_t i = 0; i < b; ++i)
            for (int64_t k = 0; k < r; ++k) {
                double sum = 0.0;
                for (int64_t row = i * mb; row < (i + 1) * mb; ++row)
                    sum += ld<St>(a.B, row * r + k) * ld<St>(a.G, t * m + row);
                dV[size_t(t * br + i * r + k)] = s * sum;
            }
        for (int64_t j = 0; j < b; ++j)
            for (int64_t k = 0; k < r; ++k) {
                double sum = 0.0;
                for (int64_t i = 0; i < b; ++i)
                    sum += ld<St>(a.S, (i * b + j) * r + k) * dV[size_t(t * br + i * r + k)];
                dU[size_t(t * br + j * r + k)] = sum;
            }
    }
    if (a.dB)
        for (int64_t row = 0; row < m; ++row)
            for (int64_t k = 0; k < r; ++k) {
                const int64_t i = row / mb;
                double sum = 0.0;
                for (int64_t t = 0; t < T; ++t) sum += ld<St>(a.G, t * m + row) * V[size_t(t * br + i * r + k)];
                const int64_t o = row * r + k;
                st<St>(a.dB, o, (acc ? ld<St>(a.dB, o) : 0.0) + s * sum);
            }
    if (a.dS)
        for (int64_t i = 0; i < b; ++i)
            for (int64_t j = 0; j < b; ++j)
                for (int64_t k = 0; k < r; ++k) {
                    double sum = 0.0;
                    for (int64_t t = 0; t < T; ++t)
                        sum += dV[size_t(t * br + i * r + k)] * U[size_t(t * br + j * r + k)];
                    const int64_t o = (i * b + j) * r + k;
                    st<St>(a.dS, o, (acc ? ld<St>(a.dS, o) : 0.0) + sum);
                }
    if (a.dA)
        for (int64_t k = 0; k < r; ++k)
            for (int64_t c = 0; c < n; ++c) {
                const int64_t j = c / nb;
                double sum = 0.0;
                for (int64_t t = 0; t < T; ++t) sum += dU[size_t(t * br + j * r + k)] * ld<St>(a.x, t * n + c);
                const int64_t o = k * n + c;
                st<St>(a.dA, o, (acc ? ld<St>(a.dA, o) : 0.0) + sum);
            }
    if (a.dx)
        for (int64_t t = 0; t < T; ++t)
            for (int64_t c = 0; c < n; ++c) {
                const int64_t j = c / nb;
                double sum = 0.0;
                for (int64_t k = 0; k < r; ++k) sum += ld<St>(a.A, k * n + c) * dU[size_t(t * br + j * r + k)];
                st<St>(a.dx, t * n + c, ld<St>(a.dx, t * n + c) + sum);
            }
    return BORA_OK;
}

template <class St>
int delta_t(const Problem& p, const DeltaArgs& a) {
    const int64_t n = p.n, m = p.m, r = p.r, b = p.b, nb = p.nb(), mb = p.mb();
    const double s = double(a.sign) * double(p.scale);
    for (int64_t row = 0; row < m; ++row)
        for (int64_t c = 0; c < n; ++c) {
            const int64_t i = row / mb, j = c / nb;
            double sum = 0.0;
            for (int64_t k = 0; k < r; ++k)
                sum += ld<St>(a.B, row * r + k) * ld<St>(a.S, (i * b + j) * r + k) * ld<St>(a.A, k * n + c);
            const int64_t o = row * n + c;
            st<St>(a.W, o, (a.overwrite ? 0.0 : ld<St>(a.W, o)) + s * sum);
        }
    return BORA_OK;
}

template <template <class> class Fn, class Args>
int by_dtype(const Problem& p, const Args& a) {
    switch (p.dtype) {
        case BORA_DTYPE_F32: return Fn<float>::run(p, a);
        case BORA_DTYPE_F64: return Fn<double>::run(p, a);
        case BORA_DTYPE_BF16: return Fn<bf16_t>::run(p, a);
        case BORA_DTYPE_F16: return Fn<f16_t>::run(p, a);
        default: set_last_error("unknown dtype %d", p.dtype); return BORA_ERR_BAD_DTYPE;
    }
}

template <class St>
struct Forward {
    static int run(const Problem& p, const ForwardArgs& a) { return forward_t<St>(p, a); }
};
template <class St>
struct Backward {
    static int run(const Problem& p, const BackwardArgs& a) { return backward_t<St>(p, a); }
};
template <class St>
struct Delta {
    static int run(const Problem& p, const DeltaArgs& a) { return delta_t<St>(p, a); }
};

}  // namespace

int forward(const Problem& p, const ForwardArgs& a) { return by_dtype<Forward>(p, a); }
int backward(const Problem& p, const BackwardArgs& a) { return by_dtype<Backward>(p, a); }
int delta(const Problem& p, const DeltaArgs& a) { return by_dtype<Delta>(p, a); }

}  // namespace reference
}  // namespace cpu
}  // namespace bora
