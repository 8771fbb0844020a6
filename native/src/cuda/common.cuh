// common.cuh - shared pieces of the CUDA backend: storage <-> float converters,
// 16-byte vector loads/stores, the launch helper and small integer helpers.
//
// Every kernel stores tensors in T (float, __nv_bfloat16 or __half) and computes in
// float. The same sources also compile as plain C++ with BORA_CUDA_EMULATE defined
// (tests/gpu/emulated): kernels then run on the CPU, one fiber per thread, which lets
// machines without a GPU check their indexing and synchronisation.
#pragma once

#include <cstdint>
#include <cstring>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#if defined(BORA_CUDA_EMULATE)
#include "cuda_emu.h"
#endif

namespace bora {
namespace cuda {
namespace detail {

// Threads per block of every tiled kernel.
constexpr int kThreads = 256;

// Blocks per SM the tiled kernels are compiled for (__launch_bounds__): 2 x 256 threads at
// <= 128 registers fill the 64K-register file, 16 warps to hide memory latency. Without it
// ptxas gave wgrad_kernel<float, 8> 141 registers on sm_90, which fits one block per SM.
constexpr int kMinBlocksPerSM = 2;

__host__ __device__ inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
__host__ __device__ inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

__device__ __forceinline__ float bits_to_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
#endif
}

__device__ __forceinline__ uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
#endif
}

// bf16 is the upper half of a float: widening is exact and needs no conversion call.
__device__ __forceinline__ float bf16_bits_to_float(uint32_t bits16) { return bits_to_float(bits16 << 16); }

__device__ __forceinline__ float half_bits_to_float(uint32_t bits16) {
    __half_raw raw;
    raw.x = static_cast<unsigned short>(bits16);
    return __half2float(__half(raw));
}

__device__ __forceinline__ uint32_t float_to_bf16_bits(float f) {
    __nv_bfloat16_raw raw = __float2bfloat16_rn(f);  // round to nearest even, NaN stays NaN
    return raw.x;
}

__device__ __forceinline__ uint32_t float_to_half_bits(float f) {
    __half_raw raw = __float2half_rn(f);
    return raw.x;
}

// Scalar converters.
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }

template <class T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }

// Elements of T in one 16-byte vector.
template <class T>
struct Vec {
    static constexpr int kN = 16 / static_cast<int>(sizeof(T));
};

// Unpacks 16 bytes holding Vec<T>::kN elements of T into floats.
template <class T>
__device__ __forceinline__ void unpack_vec(const uint4& v, float* out);

template <>
__device__ __forceinline__ void unpack_vec<float>(const uint4& v, float* out) {
    out[0] = bits_to_float(v.x);
    out[1] = bits_to_float(v.y);
    out[2] = bits_to_float(v.z);
    out[3] = bits_to_float(v.w);
}

template <>
__device__ __forceinline__ void unpack_vec<__nv_bfloat16>(const uint4& v, float* out) {
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // little endian: element 2i is the low half
        out[2 * i] = bf16_bits_to_float(w[i] & 0xffffu);
        out[2 * i + 1] = bits_to_float(w[i] & 0xffff0000u);
    }
}

template <>
__device__ __forceinline__ void unpack_vec<__half>(const uint4& v, float* out) {
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        out[2 * i] = half_bits_to_float(w[i] & 0xffffu);
        out[2 * i + 1] = half_bits_to_float(w[i] >> 16);
    }
}

// Packs Vec<T>::kN floats, rounded to T, into 16 bytes.
template <class T>
__device__ __forceinline__ uint4 pack_vec(const float* in);

template <>
__device__ __forceinline__ uint4 pack_vec<float>(const float* in) {
    return make_uint4(float_to_bits(in[0]), float_to_bits(in[1]), float_to_bits(in[2]), float_to_bits(in[3]));
}

template <>
__device__ __forceinline__ uint4 pack_vec<__nv_bfloat16>(const float* in) {
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) w[i] = float_to_bf16_bits(in[2 * i]) | (float_to_bf16_bits(in[2 * i + 1]) << 16);
    return make_uint4(w[0], w[1], w[2], w[3]);
}

template <>
__device__ __forceinline__ uint4 pack_vec<__half>(const float* in) {
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) w[i] = float_to_half_bits(in[2 * i]) | (float_to_half_bits(in[2 * i + 1]) << 16);
    return make_uint4(w[0], w[1], w[2], w[3]);
}

// Loads / stores the 16 bytes at p (16-byte aligned) as Vec<T>::kN floats.
template <class T>
__device__ __forceinline__ void load_vec(const T* p, float* out) {
    unpack_vec<T>(*reinterpret_cast<const uint4*>(p), out);
}

// One 16-byte store to global memory (p 16-byte aligned). A plain uint4 assignment of a
// value built from scalars is split by the compiler into four 4-byte stores; the explicit
// vector store keeps it one transaction per thread.
__device__ __forceinline__ void stg16(void* p, uint4 v) {
#if defined(__CUDA_ARCH__)
    __stwb(reinterpret_cast<uint4*>(p), v);
#else
    *reinterpret_cast<uint4*>(p) = v;
#endif
}

template <class T>
__device__ __forceinline__ void store_vec(T* p, const float* in) {
    stg16(p, pack_vec<T>(in));
}

// 16-byte float loads/stores from shared memory (the address must be 16-byte aligned).
// The store is written as one st.shared.v4 for the same reason as stg16.
__device__ __forceinline__ float4 lds4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void sts4(float* p, float a, float b, float c, float d) {
#if defined(__CUDA_ARCH__)
    const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
    asm volatile("st.shared.v4.f32 [%0], {%1, %2, %3, %4};" ::"r"(addr), "f"(a), "f"(b), "f"(c), "f"(d)
                 : "memory");
#else
    *reinterpret_cast<float4*>(p) = make_float4(a, b, c, d);
#endif
}

// The 16-byte vectors of a ROWS x COLS tile of the row-major matrix X (ld elements per row)
// at (row0, col0) that thread threadIdx.x loads: vectors threadIdx.x + i * kThreads, i < NV,
// row-major over the tile. Vectors outside rows < row_end, columns < col_end read as zero;
// col0 and col_end are multiples of the vector width, so a vector is all in or all out.
template <int COLS, int NV, class E>
__device__ __forceinline__ void fetch_tile(uint4 (&raw)[NV], const E* __restrict__ X, int64_t ld, int64_t row0,
                                           int64_t row_end, int64_t col0, int64_t col_end) {
    constexpr int V = Vec<E>::kN;
#pragma unroll
    for (int i = 0; i < NV; ++i) {
        const int v = threadIdx.x + i * kThreads;
        const int64_t t = row0 + v / (COLS / V), col = col0 + (v % (COLS / V)) * V;
        raw[i] = (t < row_end && col < col_end) ? *reinterpret_cast<const uint4*>(X + t * ld + col)
                                                : make_uint4(0u, 0u, 0u, 0u);
    }
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Grid size for a grid-stride loop over `work` items of `per_block` each.
inline unsigned grid_for(int64_t work_items, int64_t per_block) {
    const int64_t blocks = ceil_div(work_items, per_block);
    const int64_t cap = int64_t(1) << 30;  // below the 2^31-1 limit of gridDim.x
    return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

// Launches a kernel on a stream and returns the launch status (cudaSuccess or the error).
template <class... KernelArgs, class... Args>
inline cudaError_t launch(void (*kernel)(KernelArgs...), unsigned grid, cudaStream_t stream, Args... args) {
#if defined(BORA_CUDA_EMULATE)
    (void)stream;
    ::emu::launch(grid, kThreads, [&] { kernel(args...); });
    return cudaSuccess;
#else
    kernel<<<grid, kThreads, 0, stream>>>(args...);
    return cudaGetLastError();
#endif
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
