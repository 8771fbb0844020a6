// internal.cuh - what dispatch.cu (pointer checks, device selection) calls in the pass
// files. Arguments arrive validated by api.cpp and checked to be device memory.
#pragma once

#include <cuda_runtime.h>

#include "backend.h"

namespace bora {
namespace cuda {
namespace detail {

int64_t forward_scratch_bytes(const Problem& p);
int64_t backward_scratch_bytes(const Problem& p);
int run_forward(const Problem& p, const ForwardArgs& a, cudaStream_t stream);
int run_backward(const Problem& p, const BackwardArgs& a, cudaStream_t stream);
int run_delta(const Problem& p, const DeltaArgs& a, cudaStream_t stream);

}  // namespace detail
}  // namespace cuda
}  // namespace bora
