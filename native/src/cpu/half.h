// half.h - bf16 / fp16 storage types and their conversions (round to nearest even).
//
// Everything here has internal linkage (anonymous namespace): this header is also
// compiled into translation units built for other instruction sets, and inline
// functions with external linkage would let the linker mix those copies.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace bora {
namespace {

struct bf16_t {
    uint16_t bits;
};
struct f16_t {
    uint16_t bits;
};

#define BORA_ALWAYS_INLINE inline __attribute__((always_inline))

BORA_ALWAYS_INLINE uint32_t float_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

BORA_ALWAYS_INLINE float bits_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// bf16 is the upper half of a float32.
BORA_ALWAYS_INLINE float bf16_to_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }

BORA_ALWAYS_INLINE uint16_t float_to_bf16(float f) {
    uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x0040u);  // quiet NaN
    // Adding 0x7fff plus the lowest kept bit rounds to nearest, ties to even;
    // a carry into the exponent is exactly the right result (up to infinity).
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

BORA_ALWAYS_INLINE float f16_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t man = h & 0x3ffu;
    if (exp == 0) {  // zero or subnormal: man * 2^-24, exact in float
        const float v = float(man) * 5.9604644775390625e-8f;
        return bits_float(float_bits(v) | sign);
    }
    if (exp == 31) return bits_float(sign | 0x7f800000u | (man << 13) | (man ? 0x00400000u : 0u));
    return bits_float(sign | ((exp + 112u) << 23) | (man << 13));
}

BORA_ALWAYS_INLINE uint16_t float_to_f16(float f) {
    uint32_t x = float_bits(f);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) return uint16_t(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (x >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // >= 65520 rounds to infinity
    if (x >= 0x38800000u) {                                  // normal half (>= 2^-14)
        x -= 112u << 23;                                      // rebias the exponent
        x += 0xfffu + ((x >> 13) & 1u);                       // round to nearest even
        return uint16_t(sign | (x >> 13));
    }
    if (x <= 0x33000000u) return sign;  // <= 2^-25 rounds to (signed) zero, ties to even
    // Subnormal half: the value in units of 2^-24, rounded to nearest even.
    const uint32_t man = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - (x >> 23);  // 14..24 for this range
    const uint32_t q = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    return uint16_t(sign | (q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u)));
}

// double -> float rounded to odd (truncate, then set the last bit if inexact). Rounding
// that to a format with at least two bits fewer is then a single correct rounding of
// the double, which avoids double rounding in the float64 reference.
BORA_ALWAYS_INLINE float double_to_float_round_odd(double d) {
    float f = float(d);
    if (std::isnan(d) || double(f) == d) return f;
    if (std::fabs(double(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
    return bits_float(float_bits(f) | 1u);
}

// Per storage type: the compute type of the optimised path, loads to it and to double,
// stores (rounded to nearest even) from it and from double.
template <class St>
struct Storage;

template <>
struct Storage<float> {
    using Compute = float;
    static BORA_ALWAYS_INLINE float to_compute(float v) { return v; }
    static BORA_ALWAYS_INLINE double to_double(float v) { return v; }
    static BORA_ALWAYS_INLINE float from_compute(float v) { return v; }
    static BORA_ALWAYS_INLINE float from_double(double v) { return float(v); }
};

template <>
struct Storage<double> {
    using Compute = double;  // F64 exists for gradient checks: keep it double throughout
    static BORA_ALWAYS_INLINE double to_compute(double v) { return v; }
    static BORA_ALWAYS_INLINE double to_double(double v) { return v; }
    static BORA_ALWAYS_INLINE double from_compute(double v) { return v; }
    static BORA_ALWAYS_INLINE double from_double(double v) { return v; }
};

template <>
struct Storage<bf16_t> {
    using Compute = float;
    static BORA_ALWAYS_INLINE float to_compute(bf16_t v) { return bf16_to_float(v.bits); }
    static BORA_ALWAYS_INLINE double to_double(bf16_t v) { return bf16_to_float(v.bits); }
    static BORA_ALWAYS_INLINE bf16_t from_compute(float v) { return bf16_t{float_to_bf16(v)}; }
    static BORA_ALWAYS_INLINE bf16_t from_double(double v) {
        return bf16_t{float_to_bf16(double_to_float_round_odd(v))};
    }
};

template <>
struct Storage<f16_t> {
    using Compute = float;
    static BORA_ALWAYS_INLINE float to_compute(f16_t v) { return f16_to_float(v.bits); }
    static BORA_ALWAYS_INLINE double to_double(f16_t v) { return f16_to_float(v.bits); }
    static BORA_ALWAYS_INLINE f16_t from_compute(float v) { return f16_t{float_to_f16(v)}; }
    static BORA_ALWAYS_INLINE f16_t from_double(double v) {
        return f16_t{float_to_f16(double_to_float_round_odd(v))};
    }
};

}  // namespace
}  // namespace bora
