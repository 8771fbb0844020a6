// test_half_conversion: the library's bf16/fp16 conversions (native/src/cpu/half.h)
// against independent oracles: exhaustive round trips, the compiler's own _Float16, and
// a nearest-value search in double for rounding (ties to even).
#include <cmath>
#include <cstdint>

#include "check.h"
#include "cpu/half.h"
#include "test_util.h"

namespace {

using namespace bora;

// The correctly rounded (nearest, ties to even) 16-bit code for d among the finite
// codes of a format, by exhaustive search over the codes ordered by value.
template <class ToDouble>
uint16_t nearest_code(double d, ToDouble to_double, uint16_t max_finite) {
    // Positive codes are ordered by value; pick the neighbours of |d|.
    const double a = std::fabs(d);
    uint16_t lo = 0, hi = max_finite;
    if (a >= to_double(max_finite)) {
        // Beyond the largest finite: rounds to infinity iff a >= max + half an ulp.
        const double ulp = to_double(max_finite) - to_double(uint16_t(max_finite - 1));
        const uint16_t inf = uint16_t(max_finite + 1);
        const uint16_t code = a >= to_double(max_finite) + ulp / 2 ? inf : max_finite;
        return uint16_t(code | (std::signbit(d) ? 0x8000 : 0));
    }
    while (hi - lo > 1) {
        const uint16_t mid = uint16_t((lo + hi) / 2);
        if (to_double(mid) <= a) lo = mid; else hi = mid;
    }
    const double dl = a - to_double(lo), dh = to_double(hi) - a;
    uint16_t code = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
    return uint16_t(code | (std::signbit(d) ? 0x8000 : 0));
}

void exhaustive_round_trips() {
    int bad_bf = 0, bad_h = 0, bad_ref = 0;
    for (uint32_t c = 0; c < 65536; ++c) {
        const uint16_t h = uint16_t(c);
        const float fb = bf16_to_float(h), fh = f16_to_float(h);
        if (std::isnan(fb) ? !std::isnan(bf16_to_float(float_to_bf16(fb))) : float_to_bf16(fb) != h) ++bad_bf;
        if (std::isnan(fh) ? !std::isnan(f16_to_float(float_to_f16(fh))) : float_to_f16(fh) != h) ++bad_h;
        // fp16 decode against the compiler's _Float16.
        _Float16 ref;
        std::memcpy(&ref, &h, 2);
        const float fr = float(ref);
        if (!(fr == fh || (std::isnan(fr) && std::isnan(fh)))) ++bad_ref;
    }
    CHECK_MSG(bad_bf == 0, "%d bf16 codes do not round-trip", bad_bf);
    CHECK_MSG(bad_h == 0, "%d fp16 codes do not round-trip", bad_h);
    CHECK_MSG(bad_ref == 0, "%d fp16 codes decode differently from _Float16", bad_ref);
}

void rounding_against_oracles() {
    tu::Rng rng(42);
    auto bf = [](uint16_t c) { return double(bf16_to_float(c)); };
    auto hf = [](uint16_t c) { return double(f16_to_float(c)); };
    int bad_f16_compiler = 0, bad_f16_search = 0, bad_bf16_search = 0, bad_d_bf16 = 0, bad_d_f16 = 0;
    const int kSamples = 400000;
    for (int i = 0; i < kSamples; ++i) {
        // Random floats over many binades, including fp16 subnormal and overflow ranges,
        // and exact ties (a half code plus half an ulp) every few samples.
        float f;
        if (i % 4 == 0) {
            const uint16_t c = uint16_t(rng.below(0x7bff));
            f = float((hf(c) + hf(uint16_t(c + 1))) / 2);  // an exact fp16 tie
        } else if (i % 4 == 1) {
            const uint16_t c = uint16_t(rng.below(0x7f7f));
            f = float((bf(c) + bf(uint16_t(c + 1))) / 2);  // an exact bf16 tie
        } else {
            f = float(rng.nonzero() * std::ldexp(1.0, int(rng.below(80)) - 40));
        }
        if (rng.next() & 1) f = -f;
        const uint16_t h = float_to_f16(f);
        const _Float16 hc = _Float16(f);
        uint16_t hc_bits;
        std::memcpy(&hc_bits, &hc, 2);
        if (h != hc_bits) ++bad_f16_compiler;
        if (h != nearest_code(f, hf, 0x7bff)) ++bad_f16_search;
        if (float_to_bf16(f) != nearest_code(f, bf, 0x7f7f)) ++bad_bf16_search;
        // double -> reduced type is one correct rounding (no double rounding through float).
        const double d = double(f) * (1.0 + rng.nonzero() * 1e-9);
        if (Storage<bf16_t>::from_double(d).bits != nearest_code(d, bf, 0x7f7f)) ++bad_d_bf16;
        if (Storage<f16_t>::from_double(d).bits != nearest_code(d, hf, 0x7bff)) ++bad_d_f16;
    }
    CHECK_MSG(bad_f16_compiler == 0, "%d/%d fp16 roundings differ from _Float16", bad_f16_compiler, kSamples);
    CHECK_MSG(bad_f16_search == 0, "%d/%d fp16 roundings not nearest-even", bad_f16_search, kSamples);
    CHECK_MSG(bad_bf16_search == 0, "%d/%d bf16 roundings not nearest-even", bad_bf16_search, kSamples);
    CHECK_MSG(bad_d_bf16 == 0, "%d/%d double->bf16 roundings not nearest-even", bad_d_bf16, kSamples);
    CHECK_MSG(bad_d_f16 == 0, "%d/%d double->fp16 roundings not nearest-even", bad_d_f16, kSamples);
    // Double rounding trap: a double just above a bf16 tie that rounds to the tie in float.
    const double above_tie = (bf(0x3f80) + bf(0x3f81)) / 2 * (1.0 + 1e-12);
    CHECK(Storage<bf16_t>::from_double(above_tie).bits == 0x3f81);
}

void special_values() {
    CHECK(float_to_f16(65504.0f) == 0x7bff);
    CHECK(float_to_f16(65519.0f) == 0x7bff);
    CHECK(float_to_f16(65520.0f) == 0x7c00);
    CHECK(float_to_f16(-INFINITY) == 0xfc00);
    CHECK(std::isnan(f16_to_float(float_to_f16(NAN))));
    CHECK(std::isnan(bf16_to_float(float_to_bf16(NAN))));
    CHECK(float_to_bf16(INFINITY) == 0x7f80);
    CHECK(float_to_f16(5.9604644775390625e-8f) == 0x0001);      // smallest fp16 subnormal
    CHECK(float_to_f16(2.98023223876953125e-8f) == 0x0000);     // exactly half of it: ties to even (0)
    CHECK(float_to_f16(-0.0f) == 0x8000);
    CHECK(float_to_bf16(bits_float(0x7f7f7fffu)) == 0x7f7f);  // just below the tie: largest finite
    CHECK(float_to_bf16(bits_float(0x7f7f8000u)) == 0x7f80);  // tie with an odd code: up, to infinity
}

}  // namespace

int main() {
    exhaustive_round_trips();
    rounding_against_oracles();
    special_values();
    return check::exit_code("test_half_conversion");
}
