// mma.cuh - one warp-wide tensor-core product, D = A B + C, for 16-bit storage types:
// mma.sync m16n8k16 with float accumulators (sm_80 and later), A 16 x 16 row-major,
// B 16 x 8 column-major, products of the 16-bit inputs exact, sums in float.
//
// Fragments (PTX ISA, "matrix fragments for mma.m16n8k16"), lane = 4 * g + q:
//   a[0] = A[g][2q, 2q+1]   a[1] = A[g+8][2q, 2q+1]   a[2] = A[g][2q+8, +9]   a[3] = A[g+8][2q+8, +9]
//   b[0] = B[2q, 2q+1][g]   b[1] = B[2q+8, 2q+9][g]
//   c[0], c[1] = C[g][2q, 2q+1]                       c[2], c[3] = C[g+8][2q, 2q+1]
// Each 32-bit register holds two elements, the lower index in the low half.
#pragma once

#include "common.cuh"

namespace bora {
namespace cuda {
namespace detail {

// Whether tensor cores compute the products of storage type T (only the 16-bit types).
template <class T>
struct HasMma {
    static constexpr bool value = sizeof(T) == 2;
};

template <class T>
__device__ __forceinline__ void mma_16x8x16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "the CUDA kernels need compute capability 8.0 or newer (mma.sync with bf16): set CMAKE_CUDA_ARCHITECTURES to 80 or above"
#endif

#if defined(BORA_CUDA_EMULATE)
template <>
__device__ __forceinline__ void mma_16x8x16<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4],
                                                           const uint32_t (&b)[2]) {
    ::emu::mma_16x8x16(d, a, b, bf16_bits_to_float);
}
template <>
__device__ __forceinline__ void mma_16x8x16<__half>(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    ::emu::mma_16x8x16(d, a, b, half_bits_to_float);
}
#else
template <>
__device__ __forceinline__ void mma_16x8x16<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4],
                                                           const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
template <>
__device__ __forceinline__ void mma_16x8x16<__half>(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
#endif

// 32-bit (two 16-bit elements) and 16-byte shared-memory accesses, which a GPU faults on
// unless 4- and 16-byte aligned: the emulator checks that, as x86 would not.
__device__ __forceinline__ uint32_t lds32(const uint16_t* p) {
#if defined(BORA_CUDA_EMULATE)
    ::emu::require_aligned(p, 4, "lds32");
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
#else
    return *reinterpret_cast<const uint32_t*>(p);
#endif
}
__device__ __forceinline__ void sts16(uint16_t* p, uint4 v) {
#if defined(__CUDA_ARCH__)
    const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
    asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};" ::"r"(addr), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
                 : "memory");
#else
#if defined(BORA_CUDA_EMULATE)
    ::emu::require_aligned(p, 16, "sts16");
#endif
    std::memcpy(p, &v, sizeof v);
#endif
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
