/*
 * bora.h - the C API of the bora4j kernel library.
 *
 * BoRA (Block Diversified Low-Rank Adaptation): the adapter update of a frozen
 * Linear layer W0 (m x n) is the b x b grid of blocks B_i diag(S[i][j]) A_j with
 *   A: r x n, split into b column blocks A_j (r x n/b)
 *   B: m x r, split into b row blocks    B_i (m/b x r)
 *   S: b x b x r, one diagonal per block product.
 *
 * Every array is dense, row-major and contiguous. Sizes are int64. Every call
 * validates its arguments and returns a status; on an invalid argument nothing is
 * written. (A CUDA pass is a few kernels in a row: should the runtime refuse a later
 * launch, BORA_ERR_CUDA is returned with the outputs of the earlier ones, u_saved or dS,
 * already written; the CPU path allocates everything before it writes.)
 * No call aborts the process. Pointers point to memory on the device the call
 * names (host memory for BORA_DEVICE_CPU, CUDA device memory for
 * BORA_DEVICE_CUDA). All tensors of one call share one dtype, except the saved
 * activations U, which are always float32.
 *
 * Shapes (T tokens, n in-features, m out-features, r rank, b blocks):
 *   x  T x n      y, G  T x m      A  r x n     B  m x r     S  b x b x r
 *   U  T x b x r  (float32, saved by the forward pass for the backward pass)
 *
 * Forward:   U[t,j,:] = A_j x[t, j-block]
 *            V[t,i,:] = sum_j S[i,j,:] * U[t,j,:]
 *            y[t, i-block] += scale * B_i V[t,i,:]
 * Backward:  dV[t,i,:] = scale * B_i^T G[t, i-block]
 *            dB_i      = scale * G[:, i-block]^T V[:, i, :]
 *            dS[i,j,:] = sum_t dV[t,i,:] * U[t,j,:]
 *            dU[t,j,:] = sum_i S[i,j,:] * dV[t,i,:]
 *            dA_j      = dU[:, j, :]^T x[:, j-block]
 *            dx[t, j-block] += A_j^T dU[t,j,:]
 *
 * CUDA calls only enqueue kernels on the caller's stream, so a fault inside a
 * kernel surfaces at the host's next synchronisation. With the environment
 * variable BORA_CUDA_SYNC=1 every CUDA call waits for its kernels and returns
 * such a fault as BORA_ERR_CUDA itself (for debugging: it costs a sync).
 *
 * Thread safety: every call is reentrant. The only process-wide state is the
 * CPU thread count (bora_set_num_threads); the last error message is kept per
 * thread.
 */
#ifndef BORA_BORA_H
#define BORA_BORA_H

#include <stdint.h>

#if defined(_WIN32)
#define BORA_API __declspec(dllexport)
#else
#define BORA_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define BORA_VERSION_MAJOR 0
#define BORA_VERSION_MINOR 1
#define BORA_VERSION_PATCH 0

/* Status codes. 0 is success; everything else is an error (see above for what was written). */
enum bora_status {
    BORA_OK = 0,
    BORA_ERR_NULL_POINTER = 1,        /* a required pointer is null */
    BORA_ERR_BAD_SIZE = 2,            /* a size is <= 0 */
    BORA_ERR_BLOCKS_DO_NOT_DIVIDE = 3,/* b does not divide n or m */
    BORA_ERR_OVERFLOW = 4,            /* an element or byte count overflows int64 */
    BORA_ERR_WORKSPACE_TOO_SMALL = 5, /* workspace_bytes is below the queried size */
    BORA_ERR_BAD_DTYPE = 6,           /* unknown dtype, or not supported on this device */
    BORA_ERR_BAD_DEVICE = 7,          /* unknown device */
    BORA_ERR_NO_CUDA = 8,             /* CUDA requested but not built in, or no usable GPU/driver */
    BORA_ERR_CUDA = 9,                /* a CUDA runtime call or kernel launch failed */
    BORA_ERR_OUT_OF_MEMORY = 10,      /* a host allocation failed */
    BORA_ERR_BAD_ARGUMENT = 11,       /* any other invalid argument (flags, thread count, aliasing) */
    BORA_ERR_INTERNAL = 12            /* a bug: please report it */
};

/* Element types. Reduced precisions are storage formats: arithmetic is float32. */
enum bora_dtype {
    BORA_DTYPE_F32 = 0,
    BORA_DTYPE_BF16 = 1,
    BORA_DTYPE_F16 = 2,
    BORA_DTYPE_F64 = 3  /* CPU only: for gradient checks in double precision */
};

enum bora_device {
    BORA_DEVICE_CPU = 0,
    BORA_DEVICE_CUDA = 1
};

/* Flags, OR-ed together. */
enum bora_flags {
    BORA_FLAG_NONE = 0,
    /* backward: add into dA, dB, dS instead of overwriting them (dx is always added into) */
    BORA_FLAG_ACCUMULATE = 1,
    /* CUDA: bitwise-identical results run to run (fixed-order reductions, no atomics) */
    BORA_FLAG_DETERMINISTIC = 2,
    /* use the plain reference implementation (CPU only; the oracle for tests and benchmarks) */
    BORA_FLAG_REFERENCE = 4,
    /* forward/backward on CUDA with bf16 or fp16: compute the block products with float FMAs
     * instead of tensor cores (for comparison: both multiply exactly and sum in float).
     * Ignored by the CPU path. */
    BORA_FLAG_NO_TENSOR_CORES = 8
};

/* A static, human-readable message for a status code (never null). */
BORA_API const char* bora_status_string(int status);

/* The detailed message of the last error on the calling thread ("" if none). */
BORA_API const char* bora_last_error(void);

/* Library version as MAJOR*10000 + MINOR*100 + PATCH. */
BORA_API int bora_version(void);

/* 1 if the library was built with CUDA kernels, else 0. */
BORA_API int bora_cuda_compiled(void);

/* 1 if CUDA kernels are built in and at least one GPU is usable, else 0. Never fails. */
BORA_API int bora_cuda_available(void);

/* Threads used by the CPU path (default 1: the caller decides, so that the library
 * does not fight libtorch's own pool for the same cores). n must be in [1, 256]. */
BORA_API int bora_set_num_threads(int n);
BORA_API int bora_get_num_threads(void);

/* Bytes of workspace the forward / backward pass needs for these sizes on this device
 * and dtype (may be 0). Written to *bytes. The workspace is scratch memory on the same
 * device, any alignment >= 16 bytes is fine; its content on entry does not matter.
 * Sizes beyond a backend's arithmetic (CUDA: any extent above 2^40) give BORA_ERR_OVERFLOW,
 * here and from the passes. */
BORA_API int bora_forward_workspace_bytes(int device, int dtype, int64_t T, int64_t n, int64_t m,
                                          int64_t r, int64_t b, int64_t* bytes);
BORA_API int bora_backward_workspace_bytes(int device, int dtype, int64_t T, int64_t n, int64_t m,
                                           int64_t r, int64_t b, int flags, int64_t* bytes);

/* Forward pass: y += scale * BoRA(x). y must already hold x W0^T (+ bias).
 * u_saved: null, or T*b*r float32 that receive U for the backward pass.
 * stream: a cudaStream_t for BORA_DEVICE_CUDA (null = the legacy default stream);
 * ignored on the CPU. */
BORA_API int bora_forward(int device, int dtype, int64_t T, int64_t n, int64_t m, int64_t r, int64_t b,
                          float scale, const void* x, const void* A, const void* B, const void* S,
                          void* y, void* u_saved, void* workspace, int64_t workspace_bytes,
                          void* stream, int flags);

/* Backward pass from G = dL/dy.
 * u_saved: U from the forward pass, or null to recompute it from x and A.
 * dA, dB, dS: each null (not needed) or written (overwritten, or added into with
 * BORA_FLAG_ACCUMULATE). dx: null (not needed) or the input gradient is ADDED into it. */
BORA_API int bora_backward(int device, int dtype, int64_t T, int64_t n, int64_t m, int64_t r, int64_t b,
                           float scale, const void* G, const void* x, const void* A, const void* B,
                           const void* S, const void* u_saved, void* dA, void* dB, void* dS, void* dx,
                           void* workspace, int64_t workspace_bytes, void* stream, int flags);

/* dW = scale * [B_i diag(S[i][j]) A_j]  (m x n), overwritten. */
BORA_API int bora_delta_weight(int device, int dtype, int64_t n, int64_t m, int64_t r, int64_t b,
                               float scale, const void* A, const void* B, const void* S, void* dW,
                               void* stream, int flags);

/* W += scale * dW (merge) and W -= scale * dW (unmerge), in place, W m x n. */
BORA_API int bora_merge(int device, int dtype, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
                        const void* A, const void* B, const void* S, void* W, void* stream, int flags);
BORA_API int bora_unmerge(int device, int dtype, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
                          const void* A, const void* B, const void* S, void* W, void* stream, int flags);

#ifdef __cplusplus
}
#endif

#endif /* BORA_BORA_H */
