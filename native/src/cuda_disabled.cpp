// cuda_disabled.cpp - the CUDA backend of a build without nvcc: it reports that CUDA is
// not built in, so that a CPU-only library still answers every CUDA request cleanly.
#include "backend.h"

namespace bora {
namespace cuda {
namespace {

int not_built() {
    set_last_error("this libbora was built without CUDA kernels (nvcc was not found or "
                   "BORA_ENABLE_CUDA was OFF at configure time); use BORA_DEVICE_CPU");
    return BORA_ERR_NO_CUDA;
}

}  // namespace

bool compiled() { return false; }
bool available() { return false; }
const char* unavailable_reason() { return "built without CUDA"; }
int64_t forward_workspace_bytes(const Problem&) { return 0; }
int64_t backward_workspace_bytes(const Problem&) { return 0; }
int forward(const Problem&, const ForwardArgs&) { return not_built(); }
int backward(const Problem&, const BackwardArgs&) { return not_built(); }
int delta(const Problem&, const DeltaArgs&) { return not_built(); }

}  // namespace cuda
}  // namespace bora
