// backward.cu - the BoRA backward pass on the GPU, from G = dL/dy:
//   U   (recomputed by project_kernel when u_saved is null; needed for dB and dS)
//   V   = mixing of U                     (only for dB)
//   dV  = s B_i^T G_i                     (project_kernel over G)
//   dU  = transposed mixing of dV         (only for dA and dx)
//   dS  = sum_t dV (x) U                  (ds_partial_kernel + finalize_kernel)
//   dB  = s G^T V, dA = dU^T x            (wgrad_kernel + finalize_kernel)
//   dx += A_j^T dU_j                      (expand_kernel)
// All token reductions are split partial sums added in a fixed order, so the pass is
// deterministic whether or not BORA_FLAG_DETERMINISTIC is set.
#include "internal.cuh"
#include "launchers.cuh"

namespace bora {
namespace cuda {
namespace detail {

int64_t backward_scratch_bytes(const Problem& p) {
    Carver c(nullptr);
    carve_backward(p, c);
    return c.bytes_needed();
}

namespace {

template <class T>
int backward_t(const Problem& p, const BackwardArgs& a, cudaStream_t stream) {
    Carver c(a.workspace);
    const BackwardScratch s = carve_backward(p, c);
    if (a.workspace == nullptr || c.bytes_used() > a.workspace_bytes) {
        set_last_error("backward: workspace of %lld bytes is smaller than the %lld bytes needed",
                       static_cast<long long>(a.workspace_bytes), static_cast<long long>(backward_scratch_bytes(p)));
        return BORA_ERR_WORKSPACE_TOO_SMALL;
    }
    const bool accumulate = (p.flags & BORA_FLAG_ACCUMULATE) != 0;
    const bool need_u = a.dB != nullptr || a.dS != nullptr;
    const bool need_du = a.dA != nullptr || a.dx != nullptr;
    int st = BORA_OK;

    const float* U = a.u_saved;
    if (need_u && U == nullptr) {
        st = project_to<T>(p, a.x, p.n, a.A, /*w_sk=*/p.n, /*w_sc=*/1, 1.0f, s.part, s.U, stream);
        U = s.U;
    }
    if (st == BORA_OK && a.dB != nullptr) st = mix<T>(p, U, a.S, /*transpose=*/false, s.V, stream);
    if (st == BORA_OK && (need_du || a.dS != nullptr))
        st = project_to<T>(p, a.G, p.m, a.B, /*w_sk=*/1, /*w_sc=*/p.r, p.scale, s.part, s.dV, stream);
    if (st == BORA_OK && need_du) st = mix<T>(p, s.dV, a.S, /*transpose=*/true, s.dU, stream);

    if (st == BORA_OK && a.dS != nullptr) {
        const int64_t splits = plan_ds_splits(p.T, p.b, p.r);
        const int64_t outputs = p.b * p.b * p.r;
        st = check_launch(launch(ds_partial_kernel, grid_for(outputs * splits, kThreads), stream,
                                 static_cast<const float*>(s.dV), U, s.ds_part, p.T, p.b, p.r, splits),
                          "ds_partial_kernel");
        if (st == BORA_OK)
            st = check_launch(launch(finalize_kernel<T>, grid_for(outputs, kThreads), stream,
                                     static_cast<const float*>(s.ds_part), splits, p.b * p.b, p.r, 1.0f, a.dS,
                                     /*o_srow=*/p.r, /*o_sk=*/int64_t(1), accumulate ? 1 : 0),
                              "finalize_kernel");
    }
    // dB (m x r): element (col, k) at dB[col * r + k].
    if (st == BORA_OK && a.dB != nullptr)
        st = wgrad_to<T>(p, a.G, p.m, s.V, p.scale, s.w_part, a.dB, /*o_scol=*/p.r, /*o_sk=*/1, accumulate, stream);
    // dA (r x n): element (col, k) at dA[k * n + col].
    if (st == BORA_OK && a.dA != nullptr)
        st = wgrad_to<T>(p, a.x, p.n, s.dU, 1.0f, s.w_part, a.dA, /*o_scol=*/1, /*o_sk=*/p.n, accumulate, stream);
    // dx (T x n) += A_j^T dU_j: weight element (col, k) at A[k * n + col].
    if (st == BORA_OK && a.dx != nullptr)
        st = expand_into<T>(p, s.dU, a.A, /*w_sc=*/1, /*w_sk=*/p.n, a.dx, p.n, 1.0f, stream);
    return st;
}

}  // namespace

int run_backward(const Problem& p, const BackwardArgs& a, cudaStream_t stream) {
    switch (p.dtype) {
        case BORA_DTYPE_F32: return backward_t<float>(p, a, stream);
        case BORA_DTYPE_BF16: return backward_t<__nv_bfloat16>(p, a, stream);
        case BORA_DTYPE_F16: return backward_t<__half>(p, a, stream);
        default:
            set_last_error("CUDA backward: dtype %d is not supported on CUDA (use F32, BF16 or F16)", p.dtype);
            return BORA_ERR_BAD_DTYPE;
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
