// delta.cu - delta_weight / merge / unmerge on the GPU: W = [W +] sign * scale * dW.
#include "delta_kernels.cuh"
#include "internal.cuh"
#include "launchers.cuh"

namespace bora {
namespace cuda {
namespace detail {

namespace {

template <class T>
int delta_t(const Problem& p, const DeltaArgs& a, cudaStream_t stream) {
    constexpr int64_t kTile = 64;
    DeltaParams k;
    k.A = a.A;
    k.B = a.B;
    k.S = a.S;
    k.W = a.W;
    k.n = p.n;
    k.m = p.m;
    k.r = p.r;
    k.b = p.b;
    k.nb = p.nb();
    k.mb = p.mb();
    k.row_tiles_per_block = ceil_div(k.mb, kTile);
    k.col_tiles_per_block = ceil_div(k.nb, kTile);
    k.coef = a.sign * p.scale;
    k.overwrite = a.overwrite ? 1 : 0;
    const int64_t tiles = p.b * k.row_tiles_per_block * p.b * k.col_tiles_per_block;
    return check_launch(launch(delta_kernel<T>, grid_for(tiles, 1), stream, k), "delta_kernel");
}

}  // namespace

int run_delta(const Problem& p, const DeltaArgs& a, cudaStream_t stream) {
    switch (p.dtype) {
        case BORA_DTYPE_F32: return delta_t<float>(p, a, stream);
        case BORA_DTYPE_BF16: return delta_t<__nv_bfloat16>(p, a, stream);
        case BORA_DTYPE_F16: return delta_t<__half>(p, a, stream);
        default:
            set_last_error("CUDA delta: dtype %d is not supported on CUDA (use F32, BF16 or F16)", p.dtype);
            return BORA_ERR_BAD_DTYPE;
    }
}

}  // namespace detail
}  // namespace cuda
}  // namespace bora
