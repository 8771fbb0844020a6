// dispatch.cu - the bora::cuda entry points of backend.h: device probing, checks that
// every pointer is CUDA memory on one device, selecting that device for the call, and
// turning every CUDA failure into BORA_ERR_CUDA with the runtime's message.
//
// The library links the CUDA runtime statically. A host process (libtorch, the JVM with
// the GPU presets, Python + torch) usually has its own runtime: both drive the same
// primary context through the driver, so device pointers and streams created there are
// valid here. Nothing here synchronises: kernels run in order on the caller's stream
// (unless BORA_CUDA_SYNC is set, see finish()).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "internal.cuh"
#include "plan.cuh"

namespace bora {
namespace cuda {

bool compiled() { return true; }

namespace {

// The one probe of the machine: without a driver, or with one older than this runtime,
// cudaGetDeviceCount fails (cudaErrorNoDevice, cudaErrorInsufficientDriver); that error is
// cleared so it does not leak into later calls, and kept as the reason for messages.
struct Probe {
    bool usable = false;
    char reason[192] = "";
};

const Probe& probe() {
    static const Probe result = [] {
        Probe p;
        int count = 0;
        const cudaError_t e = cudaGetDeviceCount(&count);
        if (e != cudaSuccess) {
            cudaGetLastError();
            std::snprintf(p.reason, sizeof p.reason, "cudaGetDeviceCount: %s (%s)", cudaGetErrorName(e),
                          cudaGetErrorString(e));
        } else if (count == 0) {
            std::snprintf(p.reason, sizeof p.reason, "cudaGetDeviceCount found no device");
        } else {
            p.usable = true;
        }
        return p;
    }();
    return result;
}

}  // namespace

bool available() { return probe().usable; }

const char* unavailable_reason() { return probe().reason; }

namespace {

// Absurd sizes (beyond any device memory) are reported as too big to allocate instead of
// risking an int64 overflow in the size arithmetic.
bool product_fits(int64_t a, int64_t b, int64_t lim) { return a <= lim / b; }  // a, b >= 1

bool sizes_fit(const Problem& p) {
    const int64_t lim = int64_t(1) << 40;
    if (p.T > lim || p.n > lim || p.m > lim || p.r > lim || p.b > lim) return false;
    return product_fits(p.T, p.b, lim) && product_fits(p.T * p.b, p.r, lim) && product_fits(p.b, p.b, lim) &&
           product_fits(p.b * p.b, p.r, lim) && product_fits(p.n, p.r, lim) && product_fits(p.m, p.r, lim);
}

int element_size(int dtype) {
    switch (dtype) {
        case BORA_DTYPE_F32: return 4;
        case BORA_DTYPE_BF16:
        case BORA_DTYPE_F16: return 2;
        default: return 0;
    }
}

const char* memory_type_name(cudaMemoryType t) {
    switch (t) {
        case cudaMemoryTypeUnregistered: return "ordinary host";
        case cudaMemoryTypeHost: return "pinned host";
        case cudaMemoryTypeDevice: return "device";
        case cudaMemoryTypeManaged: return "managed";
        default: return "unknown";
    }
}

// Checks that pointers are CUDA device (or managed) memory on one device, aligned to
// their elements.
class PointerCheck {
public:
    int device = -1;

    int check(const void* p, const char* name, int elem_bytes) {
        if (p == nullptr) return BORA_OK;  // optional pointers; api.cpp rejects missing required ones
        if (reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(elem_bytes) != 0) {
            set_last_error("%s (%p) is not aligned to its %d-byte elements", name, p, elem_bytes);
            return BORA_ERR_BAD_ARGUMENT;
        }
        cudaPointerAttributes attr;
        const cudaError_t e = cudaPointerGetAttributes(&attr, p);
        if (e != cudaSuccess) {
            cudaGetLastError();
            set_last_error("%s (%p): cudaPointerGetAttributes failed: %s (%s)", name, p, cudaGetErrorName(e),
                           cudaGetErrorString(e));
            return BORA_ERR_CUDA;
        }
        if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged) {
            set_last_error("%s (%p) is %s memory; a BORA_DEVICE_CUDA call needs CUDA device memory", name, p,
                           memory_type_name(attr.type));
            return BORA_ERR_CUDA;
        }
        if (device < 0) {
            device = attr.device;
        } else if (attr.device != device) {
            set_last_error("%s is on CUDA device %d but the other arguments are on device %d", name, attr.device,
                           device);
            return BORA_ERR_CUDA;
        }
        return BORA_OK;
    }
};

// Makes `device` current for the call and restores the caller's device afterwards.
class DeviceScope {
public:
    int enter(int device) {
        int current = -1;
        cudaError_t e = cudaGetDevice(&current);
        if (e == cudaSuccess && current != device) {
            e = cudaSetDevice(device);
            if (e == cudaSuccess) previous_ = current;
        }
        if (e != cudaSuccess) {
            cudaGetLastError();
            set_last_error("cannot select CUDA device %d: %s (%s)", device, cudaGetErrorName(e), cudaGetErrorString(e));
            return BORA_ERR_CUDA;
        }
        return BORA_OK;
    }
    ~DeviceScope() {
        // A failed restore must not be reported as the error of a later call.
        if (previous_ >= 0 && cudaSetDevice(previous_) != cudaSuccess) cudaGetLastError();
    }

private:
    int previous_ = -1;
};

int preflight(const Problem& p, const char* what) {
    if (!available()) {
        set_last_error("%s: no usable CUDA device or driver: %s", what, unavailable_reason());
        return BORA_ERR_NO_CUDA;
    }
    if (element_size(p.dtype) == 0) {
        set_last_error("%s: dtype %d is not supported on CUDA (use F32, BF16 or F16)", what, p.dtype);
        return BORA_ERR_BAD_DTYPE;
    }
    if (!sizes_fit(p)) {
        set_last_error("%s: sizes too large for the CUDA backend", what);
        return BORA_ERR_OVERFLOW;
    }
    cudaGetLastError();  // a stale error of an earlier call must not be reported as ours
    return BORA_OK;
}

// BORA_CUDA_SYNC set (and not "0"): every pass waits for its kernels, so that a fault inside
// them (an illegal address, say) is returned by the call that launched them instead of
// surfacing in the host's next synchronising call. For debugging: it costs a stream sync.
bool sync_after_each_pass() {
    static const bool on = [] {
        const char* v = std::getenv("BORA_CUDA_SYNC");
        return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
    }();
    return on;
}

int finish(int st, cudaStream_t stream, const char* pass) {
    if (st != BORA_OK || !sync_after_each_pass()) return st;
    const cudaError_t e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) {
        cudaGetLastError();
        set_last_error("kernel fault in %s (BORA_CUDA_SYNC; the stream may also carry an earlier fault): %s (%s)",
                       pass, cudaGetErrorName(e), cudaGetErrorString(e));
        return BORA_ERR_CUDA;
    }
    return BORA_OK;
}

}  // namespace

int64_t forward_workspace_bytes(const Problem& p) {
    if (!sizes_fit(p)) return INT64_MAX;
    return detail::forward_scratch_bytes(p);
}

int64_t backward_workspace_bytes(const Problem& p) {
    if (!sizes_fit(p)) return INT64_MAX;
    return detail::backward_scratch_bytes(p);
}

int forward(const Problem& p, const ForwardArgs& a) {
    int st = preflight(p, "forward");
    if (st != BORA_OK) return st;
    const int es = element_size(p.dtype);
    PointerCheck pc;
    if ((st = pc.check(a.x, "x", es)) != BORA_OK || (st = pc.check(a.A, "A", es)) != BORA_OK ||
        (st = pc.check(a.B, "B", es)) != BORA_OK || (st = pc.check(a.S, "S", es)) != BORA_OK ||
        (st = pc.check(a.y, "y", es)) != BORA_OK || (st = pc.check(a.u_saved, "u_saved", 4)) != BORA_OK ||
        (st = pc.check(a.workspace, "workspace", 16)) != BORA_OK)
        return st;
    DeviceScope scope;
    if ((st = scope.enter(pc.device)) != BORA_OK) return st;
    const cudaStream_t stream = static_cast<cudaStream_t>(a.stream);
    return finish(detail::run_forward(p, a, stream), stream, "forward");
}

int backward(const Problem& p, const BackwardArgs& a) {
    int st = preflight(p, "backward");
    if (st != BORA_OK) return st;
    const int es = element_size(p.dtype);
    PointerCheck pc;
    if ((st = pc.check(a.G, "G", es)) != BORA_OK || (st = pc.check(a.x, "x", es)) != BORA_OK ||
        (st = pc.check(a.A, "A", es)) != BORA_OK || (st = pc.check(a.B, "B", es)) != BORA_OK ||
        (st = pc.check(a.S, "S", es)) != BORA_OK || (st = pc.check(a.u_saved, "u_saved", 4)) != BORA_OK ||
        (st = pc.check(a.dA, "dA", es)) != BORA_OK || (st = pc.check(a.dB, "dB", es)) != BORA_OK ||
        (st = pc.check(a.dS, "dS", es)) != BORA_OK || (st = pc.check(a.dx, "dx", es)) != BORA_OK ||
        (st = pc.check(a.workspace, "workspace", 16)) != BORA_OK)
        return st;
    if (a.dA == nullptr && a.dB == nullptr && a.dS == nullptr && a.dx == nullptr) return BORA_OK;
    DeviceScope scope;
    if ((st = scope.enter(pc.device)) != BORA_OK) return st;
    const cudaStream_t stream = static_cast<cudaStream_t>(a.stream);
    return finish(detail::run_backward(p, a, stream), stream, "backward");
}

int delta(const Problem& p, const DeltaArgs& a) {
    int st = preflight(p, a.overwrite ? "delta_weight" : "merge");
    if (st != BORA_OK) return st;
    const int es = element_size(p.dtype);
    PointerCheck pc;
    if ((st = pc.check(a.A, "A", es)) != BORA_OK || (st = pc.check(a.B, "B", es)) != BORA_OK ||
        (st = pc.check(a.S, "S", es)) != BORA_OK || (st = pc.check(a.W, "W", es)) != BORA_OK)
        return st;
    DeviceScope scope;
    if ((st = scope.enter(pc.device)) != BORA_OK) return st;
    const cudaStream_t stream = static_cast<cudaStream_t>(a.stream);
    return finish(detail::run_delta(p, a, stream), stream, a.overwrite ? "delta_weight" : "merge");
}

}  // namespace cuda
}  // namespace bora
