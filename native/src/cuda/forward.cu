// forward.cu - the BoRA forward pass on the GPU:
//   U = A_j x_j (project_kernel, x read once) -> u_saved or scratch
//   V = Sigma-mixing of U (mix_kernel, O(T b^2 r))
//   y += s B_i V_i (expand_kernel, y read and written once)
#include "internal.cuh"
#include "launchers.cuh"

namespace bora {
namespace cuda {
namespace detail {

int64_t forward_scratch_bytes(const Problem& p) {
    Carver c(nullptr);
    carve_forward(p, c);
    return c.bytes_needed();
}

namespace {

template <class T>
int forward_t(const Problem& p, const ForwardArgs& a, cudaStream_t stream) {
    Carver c(a.workspace);
    const ForwardScratch s = carve_forward(p, c);
    if (a.workspace == nullptr || c.bytes_used() > a.workspace_bytes) {
        set_last_error("forward: workspace of %lld bytes is smaller than the %lld bytes needed",
                       static_cast<long long>(a.workspace_bytes), static_cast<long long>(forward_scratch_bytes(p)));
        return BORA_ERR_WORKSPACE_TOO_SMALL;
    }
    float* U = a.u_saved != nullptr ? a.u_saved : s.U;
    int st = project_to<T>(p, a.x, p.n, a.A, /*w_sk=*/p.n, /*w_sc=*/1, 1.0f, s.part, U, stream);
    if (st == BORA_OK) st = mix<T>(p, U, a.S, /*transpose=*/false, s.V, stream);
    if (st == BORA_OK) st = expand_into<T>(p, s.V, a.B, /*w_sc=*/p.r, /*w_sk=*/1, a.y, p.m, p.scale, stream);
    return st;
}

}  // namespace

int run_forward(const Problem& p, const ForwardArgs& a, cudaStream_t stream) {
    switch (p.dtype) {
        case BORA_DTYPE_F32: return forward_t<float>(p, a, stream);
        case BORA_DTYPE_BF16: return forward_t<__nv_bfloat16>(p, a, stream);
        case BORA_DTYPE_F16: return forward_t<__half>(p, a, stream);
        default:
            set_last_error("CUDA forward: dtype %d is not supported on CUDA (use F32, BF16 or F16)", p.dtype);
            return BORA_ERR_BAD_DTYPE;
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
