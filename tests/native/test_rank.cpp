// test_rank: the materialised dW = s * [B_i diag(S[i][j]) A_j] of random A, B, S has
// numerical rank exactly min(b*r, m, n): the upper bound is reached. Singular values come
// from a one-sided Jacobi SVD in double written here; the rank is the number of singular
// values above 1e-9 * the largest, and the gap around that cut must be wide (the last
// kept one above 1e-6, the first dropped one below 1e-12, relative to the largest).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "test_util.h"

namespace {

// Singular values of a rows x cols row-major matrix (one-sided Jacobi on the columns).
std::vector<double> singular_values(std::vector<double> a, int64_t rows, int64_t cols) {
    if (cols > rows) {  // work on the transpose: fewer columns to orthogonalise
        std::vector<double> t(a.size());
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j) t[size_t(j * rows + i)] = a[size_t(i * cols + j)];
        a.swap(t);
        std::swap(rows, cols);
    }
    auto at = [&](int64_t i, int64_t j) -> double& { return a[size_t(i * cols + j)]; };
    for (int sweep = 0; sweep < 100; ++sweep) {
        bool rotated = false;
        for (int64_t p = 0; p < cols; ++p)
            for (int64_t q = p + 1; q < cols; ++q) {
                double alpha = 0, beta = 0, gamma = 0;
                for (int64_t i = 0; i < rows; ++i) {
                    alpha += at(i, p) * at(i, p);
                    beta += at(i, q) * at(i, q);
                    gamma += at(i, p) * at(i, q);
                }
                if (std::fabs(gamma) <= 1e-15 * std::sqrt(alpha * beta) || gamma == 0.0) continue;
                rotated = true;
                const double zeta = (beta - alpha) / (2 * gamma);
                const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
                const double c = 1 / std::sqrt(1 + t * t), s = c * t;
                for (int64_t i = 0; i < rows; ++i) {
                    const double ap = at(i, p), aq = at(i, q);
                    at(i, p) = c * ap - s * aq;
                    at(i, q) = s * ap + c * aq;
                }
            }
        if (!rotated) break;
    }
    std::vector<double> sv(static_cast<size_t>(cols));
    for (int64_t j = 0; j < cols; ++j) {
        double s = 0;
        for (int64_t i = 0; i < rows; ++i) s += at(i, j) * at(i, j);
        sv[size_t(j)] = std::sqrt(s);
    }
    std::sort(sv.begin(), sv.end(), [](double x, double y) { return x > y; });
    return sv;
}

void check_rank(int64_t n, int64_t m, int64_t r, int64_t b, uint64_t seed) {
    tu::Rng rng(seed);
    tu::Tensors<double> t({1, n, m, r, b}, rng);
    std::vector<double> dW(size_t(m * n));
    tu::poison(dW);
    CHECK_OK(tu::delta(t, dW, 0.5f, 0));
    CHECK(tu::all_finite(dW));
    const auto sv = singular_values(dW, m, n);
    const int64_t expected = std::min({b * r, m, n});
    int64_t rank = 0;
    for (double s : sv)
        if (s > 1e-9 * sv[0]) ++rank;
    const double last_kept = sv[size_t(expected - 1)] / sv[0];
    const double first_dropped = size_t(expected) < sv.size() ? sv[size_t(expected)] / sv[0] : 0.0;
    std::printf("n=%3lld m=%3lld r=%2lld b=%2lld: rank %3lld (expected %3lld), sigma_k/sigma_1 = %.2e, "
                "sigma_k+1/sigma_1 = %.2e\n",
                (long long)n, (long long)m, (long long)r, (long long)b, (long long)rank, (long long)expected,
                last_kept, first_dropped);
    CHECK_MSG(rank == expected, "rank %lld != min(b*r, m, n) = %lld", (long long)rank, (long long)expected);
    CHECK_MSG(last_kept > 1e-6, "smallest kept singular value too small: %.3g", last_kept);
    CHECK_MSG(first_dropped < 1e-12, "first dropped singular value too large: %.3g", first_dropped);
}

void check_svd_itself() {
    // A known spectrum: diag(3, 2, 1e-3, 0) rotated by a permutation.
    std::vector<double> a = {0, 2, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1e-3, 0};
    const auto sv = singular_values(a, 4, 4);
    CHECK(std::fabs(sv[0] - 3) < 1e-14 && std::fabs(sv[1] - 2) < 1e-14 && std::fabs(sv[2] - 1e-3) < 1e-16 &&
          sv[3] == 0.0);
}

}  // namespace

int main() {
    check_svd_itself();
    struct Case {
        int64_t n, m, r, b;
    };
    const Case cases[] = {
        {24, 24, 2, 4},   // b*r < n, m
        {12, 16, 4, 4},   // b*r > n
        {12, 8, 3, 4},    // b*r > m
        {32, 48, 3, 8},   {20, 20, 5, 4},  // b*r == n == m
        {30, 18, 2, 3},   {40, 40, 16, 1},  // LoRA: rank r
        {16, 32, 8, 4},   {8, 8, 1, 8},     // b == n == m
        {60, 36, 5, 6},   {96, 64, 4, 8},
    };
    uint64_t seed = 300;
    for (const Case& c : cases) check_rank(c.n, c.m, c.r, c.b, seed++);
    return check::exit_code("test_rank");
}
