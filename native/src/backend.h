// backend.h - the internal contract between the C API layer (api.cpp: argument
// validation, error messages, dispatch) and the CPU and CUDA backends.
// Backends receive arguments that api.cpp has already validated: non-null required
// pointers, positive sizes, b | n and b | m, no int64 overflow of any element count,
// a workspace at least as large as the backend asked for.
#pragma once

#include <cstdint>

#include "bora/bora.h"

namespace bora {

// Sizes and scalars of one call.
struct Problem {
    int64_t T = 0;   // tokens (rows of x and y); unused by delta/merge
    int64_t n = 0;   // in-features
    int64_t m = 0;   // out-features
    int64_t r = 0;   // rank
    int64_t b = 0;   // blocks
    int dtype = BORA_DTYPE_F32;
    float scale = 1.0f;
    int flags = BORA_FLAG_NONE;
    int64_t nb() const { return n / b; }
    int64_t mb() const { return m / b; }
};

struct ForwardArgs {
    const void* x = nullptr;
    const void* A = nullptr;
    const void* B = nullptr;
    const void* S = nullptr;
    void* y = nullptr;
    float* u_saved = nullptr;  // optional, T x b x r
    void* workspace = nullptr;
    int64_t workspace_bytes = 0;
    void* stream = nullptr;    // cudaStream_t on CUDA
};

struct BackwardArgs {
    const void* G = nullptr;
    const void* x = nullptr;
    const void* A = nullptr;
    const void* B = nullptr;
    const void* S = nullptr;
    const float* u_saved = nullptr;  // optional: recompute U when null
    void* dA = nullptr;              // optional
    void* dB = nullptr;              // optional
    void* dS = nullptr;              // optional
    void* dx = nullptr;              // optional, added into
    void* workspace = nullptr;
    int64_t workspace_bytes = 0;
    void* stream = nullptr;
};

// W (m x n) := beta * W + sign * scale * dW, where beta = 0 (delta_weight) or 1 (merge/unmerge).
struct DeltaArgs {
    const void* A = nullptr;
    const void* B = nullptr;
    const void* S = nullptr;
    void* W = nullptr;
    bool overwrite = true;  // true: W = sign*scale*dW; false: W += sign*scale*dW
    float sign = 1.0f;
    void* stream = nullptr;
};

// Every backend function returns a bora_status; on error it calls set_last_error()
// with a detailed message (defined in api.cpp, thread-local storage).
void set_last_error(const char* fmt, ...);

namespace cpu {
int64_t forward_workspace_bytes(const Problem& p);
int64_t backward_workspace_bytes(const Problem& p);
int forward(const Problem& p, const ForwardArgs& a);
int backward(const Problem& p, const BackwardArgs& a);
int delta(const Problem& p, const DeltaArgs& a);
void set_num_threads(int n);
int num_threads();
}  // namespace cpu

namespace cuda {
bool compiled();   // false in a build without nvcc
bool available();  // compiled() and a usable device; never throws, never aborts
const char* unavailable_reason();  // why available() is false ("" when it is true)
int64_t forward_workspace_bytes(const Problem& p);
int64_t backward_workspace_bytes(const Problem& p);
int forward(const Problem& p, const ForwardArgs& a);
int backward(const Problem& p, const BackwardArgs& a);
int delta(const Problem& p, const DeltaArgs& a);
}  // namespace cuda

}  // namespace bora
