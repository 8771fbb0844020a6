// fast_dtypes.h - the optimised CPU path's passes for one storage type each, defined in one
// translation unit per dtype (fast_f32.cpp, fast_f64.cpp, fast_bf16.cpp, fast_f16.cpp) so
// that they compile in parallel; fast.cpp dispatches on the dtype.
#pragma once

#include "backend.h"

namespace bora {
namespace cpu {
namespace fast {

#define BORA_FAST_PASSES(suffix)                                                  \
    int forward_##suffix(const Problem& p, const ForwardArgs& a, int threads);    \
    int backward_##suffix(const Problem& p, const BackwardArgs& a, int threads);  \
    int delta_##suffix(const Problem& p, const DeltaArgs& a, int threads);
BORA_FAST_PASSES(f32)
BORA_FAST_PASSES(f64)
BORA_FAST_PASSES(bf16)
BORA_FAST_PASSES(f16)
#undef BORA_FAST_PASSES

}  // namespace fast
}  // namespace cpu
}  // namespace bora
