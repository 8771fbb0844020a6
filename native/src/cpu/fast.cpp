// fast.cpp - the optimised CPU path (see fast.h): dispatches each pass to its storage type's
// instance (fast_dtypes.h; the passes themselves are in fast_passes.h).
#include "cpu/fast.h"

#include "cpu/fast_dtypes.h"

namespace bora {
namespace cpu {
namespace fast {
namespace {

template <class F32, class F64, class BF16, class F16>
int by_dtype(int dtype, F32 f32, F64 f64, BF16 bf16, F16 f16) {
    switch (dtype) {
        case BORA_DTYPE_F32: return f32();
        case BORA_DTYPE_F64: return f64();
        case BORA_DTYPE_BF16: return bf16();
        case BORA_DTYPE_F16: return f16();
        default: set_last_error("unknown dtype %d", dtype); return BORA_ERR_BAD_DTYPE;
    }
}

}  // namespace

int forward(const Problem& p, const ForwardArgs& a, int threads) {
    return by_dtype(
        p.dtype, [&] { return forward_f32(p, a, threads); }, [&] { return forward_f64(p, a, threads); },
        [&] { return forward_bf16(p, a, threads); }, [&] { return forward_f16(p, a, threads); });
}

int backward(const Problem& p, const BackwardArgs& a, int threads) {
    return by_dtype(
        p.dtype, [&] { return backward_f32(p, a, threads); }, [&] { return backward_f64(p, a, threads); },
        [&] { return backward_bf16(p, a, threads); }, [&] { return backward_f16(p, a, threads); });
}

int delta(const Problem& p, const DeltaArgs& a, int threads) {
    return by_dtype(
        p.dtype, [&] { return delta_f32(p, a, threads); }, [&] { return delta_f64(p, a, threads); },
        [&] { return delta_bf16(p, a, threads); }, [&] { return delta_f16(p, a, threads); });
}

}  // namespace fast
}  // namespace cpu
}  // namespace bora
