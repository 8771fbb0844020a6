// api.cpp - the C API of bora.h: argument validation with precise messages, the
// thread-local last error, and dispatch to the CPU or CUDA backend. Every check runs
// before anything is written; no exception leaves this file.
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <new>

#include "backend.h"

namespace bora {
namespace {

thread_local char g_last_error[512];

void clear_last_error() { g_last_error[0] = '\0'; }

int fail(int status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
int fail(int status, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
    va_end(ap);
    return status;
}

using ll = long long;

// Runs a backend call behind the C boundary: exceptions become statuses.
template <class Fn>
int guarded(Fn&& fn) {
    clear_last_error();
    try {
        return fn();
    } catch (const std::bad_alloc&) {
        return fail(BORA_ERR_OUT_OF_MEMORY, "out of host memory");
    } catch (const std::exception& e) {
        return fail(BORA_ERR_INTERNAL, "internal error: %s", e.what());
    } catch (...) {
        return fail(BORA_ERR_INTERNAL, "internal error: unknown exception");
    }
}

int64_t dtype_size(int dtype) {
    switch (dtype) {
        case BORA_DTYPE_F32: return 4;
        case BORA_DTYPE_F64: return 8;
        case BORA_DTYPE_BF16:
        case BORA_DTYPE_F16: return 2;
        default: return 0;
    }
}

int check_device(int device) {
    if (device == BORA_DEVICE_CPU) return BORA_OK;
    if (device != BORA_DEVICE_CUDA)
        return fail(BORA_ERR_BAD_DEVICE, "unknown device %d (expected BORA_DEVICE_CPU=0 or BORA_DEVICE_CUDA=1)",
                    device);
    if (!cuda::compiled())
        return fail(BORA_ERR_NO_CUDA,
                    "BORA_DEVICE_CUDA requested, but this libbora was built without CUDA kernels; "
                    "use BORA_DEVICE_CPU or rebuild with nvcc on the PATH");
    if (!cuda::available())
        return fail(BORA_ERR_NO_CUDA,
                    "BORA_DEVICE_CUDA requested, but no usable CUDA device was found (no GPU, or the "
                    "driver is missing or too old: %s); use BORA_DEVICE_CPU",
                    cuda::unavailable_reason());
    return BORA_OK;
}

int check_dtype(int device, int dtype) {
    if (dtype_size(dtype) == 0)
        return fail(BORA_ERR_BAD_DTYPE, "unknown dtype %d (expected F32=0, BF16=1, F16=2 or F64=3)", dtype);
    if (device == BORA_DEVICE_CUDA && dtype == BORA_DTYPE_F64)
        return fail(BORA_ERR_BAD_DTYPE, "dtype F64 is supported on BORA_DEVICE_CPU only");
    return BORA_OK;
}

// allowed: the flag bits this call understands.
int check_flags(int device, int flags, int allowed, const char* call) {
    if (flags & ~allowed)
        return fail(BORA_ERR_BAD_ARGUMENT, "%s: unsupported flag bits 0x%x (allowed: 0x%x)", call,
                    unsigned(flags & ~allowed), unsigned(allowed));
    if (device == BORA_DEVICE_CUDA && (flags & BORA_FLAG_REFERENCE))
        return fail(BORA_ERR_BAD_ARGUMENT, "%s: BORA_FLAG_REFERENCE selects the CPU reference; it is not "
                    "valid with BORA_DEVICE_CUDA", call);
    return BORA_OK;
}

int check_positive(int64_t v, const char* name) {
    if (v <= 0) return fail(BORA_ERR_BAD_SIZE, "%s=%lld must be > 0", name, ll(v));
    return BORA_OK;
}

int check_sizes(const Problem& p, bool has_T) {
    int s;
    if (has_T && (s = check_positive(p.T, "T"))) return s;
    if ((s = check_positive(p.n, "n")) || (s = check_positive(p.m, "m")) || (s = check_positive(p.r, "r")) ||
        (s = check_positive(p.b, "b")))
        return s;
    if (p.n % p.b)
        return fail(BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "b=%lld does not divide n=%lld", ll(p.b), ll(p.n));
    if (p.m % p.b)
        return fail(BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "b=%lld does not divide m=%lld", ll(p.b), ll(p.m));
    if (!std::isfinite(p.scale)) return fail(BORA_ERR_BAD_ARGUMENT, "scale=%g must be finite", double(p.scale));
    return BORA_OK;
}

// out = a * b * c (c defaults to 1), failing on int64 overflow with the expression in the message.
bool mul3(int64_t a, int64_t b, int64_t c, int64_t* out) {
    int64_t ab;
    return !__builtin_mul_overflow(a, b, &ab) && !__builtin_mul_overflow(ab, c, out);
}

int check_count(const char* what, int64_t a, int64_t b, int64_t c, int64_t elem_bytes, int64_t* bytes) {
    int64_t count;
    if (!mul3(a, b, c, &count))
        return fail(BORA_ERR_OVERFLOW, "%s = %lld * %lld * %lld elements overflows int64", what, ll(a), ll(b), ll(c));
    if (__builtin_mul_overflow(count, elem_bytes, bytes))
        return fail(BORA_ERR_OVERFLOW, "%s: %lld elements * %lld bytes overflows int64", what, ll(count),
                    ll(elem_bytes));
    return BORA_OK;
}

// Byte sizes of every array of one call, checked for int64 overflow.
struct Extents {
    int64_t x = 0, y = 0, A = 0, B = 0, S = 0, U = 0, W = 0;
};

int check_extents(const Problem& p, bool has_T, Extents* e) {
    const int64_t es = dtype_size(p.dtype);
    int s;
    if ((s = check_count("A (r*n)", p.r, p.n, 1, es, &e->A)) || (s = check_count("B (m*r)", p.m, p.r, 1, es, &e->B)) ||
        (s = check_count("S (b*b*r)", p.b, p.b, p.r, es, &e->S)))
        return s;
    if (has_T) {
        if ((s = check_count("x (T*n)", p.T, p.n, 1, es, &e->x)) || (s = check_count("y (T*m)", p.T, p.m, 1, es, &e->y)) ||
            (s = check_count("U (T*b*r)", p.T, p.b, p.r, 4, &e->U)))
            return s;
    } else if ((s = check_count("W (m*n)", p.m, p.n, 1, es, &e->W))) {
        return s;
    }
    return BORA_OK;
}

int check_not_null(const void* ptr, const char* name) {
    if (!ptr) return fail(BORA_ERR_NULL_POINTER, "%s is null", name);
    return BORA_OK;
}

struct Range {
    const void* ptr;
    int64_t bytes;
    const char* name;
};

bool overlap(const Range& a, const Range& b) {
    if (!a.ptr || !b.ptr || a.bytes <= 0 || b.bytes <= 0) return false;
    const uintptr_t a0 = uintptr_t(a.ptr), b0 = uintptr_t(b.ptr);
    return a0 < b0 + uint64_t(b.bytes) && b0 < a0 + uint64_t(a.bytes);
}

// Each output must overlap no input and no other output.
int check_no_alias(const Range* outs, int n_out, const Range* ins, int n_in) {
    for (int o = 0; o < n_out; ++o) {
        for (int i = 0; i < n_in; ++i)
            if (overlap(outs[o], ins[i]))
                return fail(BORA_ERR_BAD_ARGUMENT, "output %s overlaps input %s", outs[o].name, ins[i].name);
        for (int q = o + 1; q < n_out; ++q)
            if (overlap(outs[o], outs[q]))
                return fail(BORA_ERR_BAD_ARGUMENT, "output %s overlaps output %s", outs[o].name, outs[q].name);
    }
    return BORA_OK;
}

int check_workspace(const void* workspace, int64_t workspace_bytes, int64_t needed, const char* query) {
    // A negative size is below every queried size (including 0).
    if (workspace_bytes < needed || workspace_bytes < 0)
        return fail(BORA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes=%lld is below the %lld bytes that %s asks for",
                    ll(workspace_bytes), ll(needed), query);
    if (needed > 0 && !workspace)
        return fail(BORA_ERR_NULL_POINTER, "workspace is null but %lld bytes are needed", ll(needed));
    return BORA_OK;
}

Problem make_problem(int dtype, int64_t T, int64_t n, int64_t m, int64_t r, int64_t b, float scale, int flags) {
    Problem p;
    p.T = T;
    p.n = n;
    p.m = m;
    p.r = r;
    p.b = b;
    p.dtype = dtype;
    p.scale = scale;
    p.flags = flags;
    return p;
}

// The checks shared by every call: device, dtype, flags, sizes, overflow.
int check_common(int device, const Problem& p, bool has_T, int allowed_flags, const char* call, Extents* e) {
    int s;
    if ((s = check_device(device)) || (s = check_dtype(device, p.dtype)) ||
        (s = check_flags(device, p.flags, allowed_flags, call)) || (s = check_sizes(p, has_T)) ||
        (s = check_extents(p, has_T, e)))
        return s;
    return BORA_OK;
}

constexpr int kForwardFlags = BORA_FLAG_DETERMINISTIC | BORA_FLAG_REFERENCE | BORA_FLAG_NO_TENSOR_CORES;
constexpr int kBackwardFlags =
    BORA_FLAG_ACCUMULATE | BORA_FLAG_DETERMINISTIC | BORA_FLAG_REFERENCE | BORA_FLAG_NO_TENSOR_CORES;
constexpr int kDeltaFlags = BORA_FLAG_DETERMINISTIC | BORA_FLAG_REFERENCE;

// The workspace a pass needs; a backend answers INT64_MAX for sizes beyond its own
// arithmetic (the CUDA backend caps every extent at 2^40), which is an overflow, not a size.
int workspace_needed(int device, const Problem& p, bool backward, const char* call, int64_t* bytes) {
    const bool cuda_device = device == BORA_DEVICE_CUDA;
    *bytes = backward ? (cuda_device ? cuda::backward_workspace_bytes(p) : cpu::backward_workspace_bytes(p))
                      : (cuda_device ? cuda::forward_workspace_bytes(p) : cpu::forward_workspace_bytes(p));
    if (*bytes == INT64_MAX)
        return fail(BORA_ERR_OVERFLOW, "%s: T=%lld n=%lld m=%lld r=%lld b=%lld are too large for the %s backend", call,
                    ll(p.T), ll(p.n), ll(p.m), ll(p.r), ll(p.b), cuda_device ? "CUDA" : "CPU");
    return BORA_OK;
}

int delta_call(const char* call, int device, int dtype, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
               const void* A, const void* B, const void* S, void* W, void* stream, int flags, bool overwrite,
               float sign) {
    const Problem p = make_problem(dtype, 0, n, m, r, b, scale, flags);
    Extents e;
    int s;
    if ((s = check_common(device, p, false, kDeltaFlags, call, &e))) return s;
    if ((s = check_not_null(A, "A")) || (s = check_not_null(B, "B")) || (s = check_not_null(S, "S")) ||
        (s = check_not_null(W, overwrite ? "dW" : "W")))
        return s;
    const Range outs[] = {{W, e.W, overwrite ? "dW" : "W"}};
    const Range ins[] = {{A, e.A, "A"}, {B, e.B, "B"}, {S, e.S, "S"}};
    if ((s = check_no_alias(outs, 1, ins, 3))) return s;
    DeltaArgs a;
    a.A = A;
    a.B = B;
    a.S = S;
    a.W = W;
    a.overwrite = overwrite;
    a.sign = sign;
    a.stream = stream;
    return device == BORA_DEVICE_CUDA ? cuda::delta(p, a) : cpu::delta(p, a);
}

}  // namespace

void set_last_error(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
    va_end(ap);
}

}  // namespace bora

using namespace bora;

extern "C" {

BORA_API const char* bora_status_string(int status) {
    switch (status) {
        case BORA_OK: return "success";
        case BORA_ERR_NULL_POINTER: return "a required pointer is null";
        case BORA_ERR_BAD_SIZE: return "a size is not positive";
        case BORA_ERR_BLOCKS_DO_NOT_DIVIDE: return "the block count b does not divide n or m";
        case BORA_ERR_OVERFLOW: return "an element or byte count overflows int64";
        case BORA_ERR_WORKSPACE_TOO_SMALL: return "the workspace is smaller than the queried size";
        case BORA_ERR_BAD_DTYPE: return "unknown dtype, or dtype not supported on this device";
        case BORA_ERR_BAD_DEVICE: return "unknown device";
        case BORA_ERR_NO_CUDA: return "CUDA is not built in, or no usable GPU or driver was found";
        case BORA_ERR_CUDA: return "a CUDA runtime call or kernel launch failed";
        case BORA_ERR_OUT_OF_MEMORY: return "a host memory allocation failed";
        case BORA_ERR_BAD_ARGUMENT: return "invalid argument";
        case BORA_ERR_INTERNAL: return "internal error in libbora";
        default: return "unknown status code";
    }
}

BORA_API const char* bora_last_error(void) { return g_last_error; }

BORA_API int bora_version(void) {
    return BORA_VERSION_MAJOR * 10000 + BORA_VERSION_MINOR * 100 + BORA_VERSION_PATCH;
}

BORA_API int bora_cuda_compiled(void) { return cuda::compiled() ? 1 : 0; }

BORA_API int bora_cuda_available(void) {
    try {
        return cuda::compiled() && cuda::available() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

BORA_API int bora_set_num_threads(int n) {
    clear_last_error();
    constexpr int kMaxThreads = 256;
    if (n < 1 || n > kMaxThreads)
        return fail(BORA_ERR_BAD_ARGUMENT, "thread count %d must be between 1 and %d", n, kMaxThreads);
    cpu::set_num_threads(n);
    return BORA_OK;
}

BORA_API int bora_get_num_threads(void) { return cpu::num_threads(); }

BORA_API int bora_forward_workspace_bytes(int device, int dtype, int64_t T, int64_t n, int64_t m, int64_t r,
                                          int64_t b, int64_t* bytes) {
    return guarded([&] {
        const Problem p = make_problem(dtype, T, n, m, r, b, 1.0f, BORA_FLAG_NONE);
        Extents e;
        int s;
        if ((s = check_common(device, p, true, kForwardFlags, "bora_forward_workspace_bytes", &e))) return s;
        if ((s = check_not_null(bytes, "bytes"))) return s;
        return workspace_needed(device, p, false, "bora_forward_workspace_bytes", bytes);
    });
}

BORA_API int bora_backward_workspace_bytes(int device, int dtype, int64_t T, int64_t n, int64_t m, int64_t r,
                                           int64_t b, int flags, int64_t* bytes) {
    return guarded([&] {
        const Problem p = make_problem(dtype, T, n, m, r, b, 1.0f, flags);
        Extents e;
        int s;
        if ((s = check_common(device, p, true, kBackwardFlags, "bora_backward_workspace_bytes", &e))) return s;
        if ((s = check_not_null(bytes, "bytes"))) return s;
        return workspace_needed(device, p, true, "bora_backward_workspace_bytes", bytes);
    });
}

BORA_API int bora_forward(int device, int dtype, int64_t T, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
                          const void* x, const void* A, const void* B, const void* S, void* y, void* u_saved,
                          void* workspace, int64_t workspace_bytes, void* stream, int flags) {
    return guarded([&] {
        const Problem p = make_problem(dtype, T, n, m, r, b, scale, flags);
        Extents e;
        int s;
        if ((s = check_common(device, p, true, kForwardFlags, "bora_forward", &e))) return s;
        if ((s = check_not_null(x, "x")) || (s = check_not_null(A, "A")) || (s = check_not_null(B, "B")) ||
            (s = check_not_null(S, "S")) || (s = check_not_null(y, "y")))
            return s;
        int64_t needed = 0;
        if ((s = workspace_needed(device, p, false, "bora_forward", &needed)) ||
            (s = check_workspace(workspace, workspace_bytes, needed, "bora_forward_workspace_bytes")))
            return s;
        const Range outs[] = {{y, e.y, "y"}, {u_saved, e.U, "u_saved"}, {workspace, workspace_bytes, "workspace"}};
        const Range ins[] = {{x, e.x, "x"}, {A, e.A, "A"}, {B, e.B, "B"}, {S, e.S, "S"}};
        if ((s = check_no_alias(outs, 3, ins, 4))) return s;
        ForwardArgs a;
        a.x = x;
        a.A = A;
        a.B = B;
        a.S = S;
        a.y = y;
        a.u_saved = static_cast<float*>(u_saved);
        a.workspace = workspace;
        a.workspace_bytes = workspace_bytes;
        a.stream = stream;
        return device == BORA_DEVICE_CUDA ? cuda::forward(p, a) : cpu::forward(p, a);
    });
}

BORA_API int bora_backward(int device, int dtype, int64_t T, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
                           const void* G, const void* x, const void* A, const void* B, const void* S,
                           const void* u_saved, void* dA, void* dB, void* dS, void* dx, void* workspace,
                           int64_t workspace_bytes, void* stream, int flags) {
    return guarded([&] {
        const Problem p = make_problem(dtype, T, n, m, r, b, scale, flags);
        Extents e;
        int s;
        if ((s = check_common(device, p, true, kBackwardFlags, "bora_backward", &e))) return s;
        if ((s = check_not_null(G, "G")) || (s = check_not_null(x, "x")) || (s = check_not_null(A, "A")) ||
            (s = check_not_null(B, "B")) || (s = check_not_null(S, "S")))
            return s;
        int64_t needed = 0;
        if ((s = workspace_needed(device, p, true, "bora_backward", &needed)) ||
            (s = check_workspace(workspace, workspace_bytes, needed, "bora_backward_workspace_bytes")))
            return s;
        const Range outs[] = {{dA, e.A, "dA"}, {dB, e.B, "dB"}, {dS, e.S, "dS"}, {dx, e.x, "dx"},
                              {workspace, workspace_bytes, "workspace"}};
        const Range ins[] = {{G, e.y, "G"}, {x, e.x, "x"},      {A, e.A, "A"},
                             {B, e.B, "B"}, {S, e.S, "S"}, {u_saved, e.U, "u_saved"}};
        if ((s = check_no_alias(outs, 5, ins, 6))) return s;
        if (!dA && !dB && !dS && !dx) return int(BORA_OK);  // no gradient requested: nothing to do
        BackwardArgs a;
        a.G = G;
        a.x = x;
        a.A = A;
        a.B = B;
        a.S = S;
        a.u_saved = static_cast<const float*>(u_saved);
        a.dA = dA;
        a.dB = dB;
        a.dS = dS;
        a.dx = dx;
        a.workspace = workspace;
        a.workspace_bytes = workspace_bytes;
        a.stream = stream;
        return device == BORA_DEVICE_CUDA ? cuda::backward(p, a) : cpu::backward(p, a);
    });
}

BORA_API int bora_delta_weight(int device, int dtype, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
                               const void* A, const void* B, const void* S, void* dW, void* stream, int flags) {
    return guarded([&] {
        return delta_call("bora_delta_weight", device, dtype, n, m, r, b, scale, A, B, S, dW, stream, flags, true,
                          1.0f);
    });
}

BORA_API int bora_merge(int device, int dtype, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
                        const void* A, const void* B, const void* S, void* W, void* stream, int flags) {
    return guarded([&] {
        return delta_call("bora_merge", device, dtype, n, m, r, b, scale, A, B, S, W, stream, flags, false, 1.0f);
    });
}

BORA_API int bora_unmerge(int device, int dtype, int64_t n, int64_t m, int64_t r, int64_t b, float scale,
                          const void* A, const void* B, const void* S, void* W, void* stream, int flags) {
    return guarded([&] {
        return delta_call("bora_unmerge", device, dtype, n, m, r, b, scale, A, B, S, W, stream, flags, false, -1.0f);
    });
}

}  // extern "C"
