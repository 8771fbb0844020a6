// test_api_errors: every bad input returns the right status and a precise message, and
// writes nothing: every output buffer holds a sentinel pattern that must survive the call.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

const int64_t kT = 4, kN = 8, kM = 12, kR = 2, kB = 2;

// Valid inputs, and output buffers (generously sized) filled with a sentinel byte pattern.
struct Fixture {
    std::vector<float> x, A, B, S, G;
    std::vector<float> y, U, dA, dB, dS, dx, W;
    int64_t bytes = 0x5a5a5a5a;
    std::vector<std::vector<float>*> outs;
    std::vector<std::vector<unsigned char>> snapshot;
    int64_t bytes_snapshot = 0;

    Fixture() {
        tu::Rng rng(7);
        auto make = [&](std::vector<float>& v, size_t n) {
            v.resize(n);
            tu::fill(v, rng);
        };
        make(x, kT * kN);
        make(A, kR * kN);
        make(B, kM * kR);
        make(S, kB * kB * kR);
        make(G, kT * kM);
        outs = {&y, &U, &dA, &dB, &dS, &dx, &W};
        for (auto* o : outs) o->assign(256, 0.0f);
        for (auto* o : outs) std::memset(o->data(), 0xA5, o->size() * sizeof(float));
        for (auto* o : outs) {
            const auto* p = reinterpret_cast<const unsigned char*>(o->data());
            snapshot.emplace_back(p, p + o->size() * sizeof(float));
        }
        bytes_snapshot = bytes;
    }

    bool unchanged() const {
        for (size_t i = 0; i < outs.size(); ++i)
            if (std::memcmp(outs[i]->data(), snapshot[i].data(), snapshot[i].size()) != 0) return false;
        return bytes == bytes_snapshot;
    }
};

void expect(Fixture& f, int status, int expected, const char* message_part, const char* what) {
    const std::string msg = bora_last_error();
    CHECK_MSG(status == expected, "%s: status %d (%s), expected %d; message: %s", what, status,
              bora_status_string(status), expected, msg.c_str());
    CHECK_MSG(!msg.empty(), "%s: empty last error", what);
    CHECK_MSG(msg.find(message_part) != std::string::npos, "%s: message '%s' lacks '%s'", what, msg.c_str(),
              message_part);
    CHECK_MSG(f.unchanged(), "%s: an output buffer was written", what);
}

struct Fwd {
    int device = BORA_DEVICE_CPU, dtype = BORA_DTYPE_F32;
    int64_t T = kT, n = kN, m = kM, r = kR, b = kB;
    float scale = 0.5f;
    const void *x, *A, *B, *S;
    void *y, *u;
    void* ws = nullptr;
    int64_t ws_bytes = 0;
    int flags = 0;
    explicit Fwd(Fixture& f) : x(f.x.data()), A(f.A.data()), B(f.B.data()), S(f.S.data()), y(f.y.data()), u(f.U.data()) {}
    int call() const { return bora_forward(device, dtype, T, n, m, r, b, scale, x, A, B, S, y, u, ws, ws_bytes, nullptr, flags); }
};

struct Bwd {
    int device = BORA_DEVICE_CPU, dtype = BORA_DTYPE_F32;
    int64_t T = kT, n = kN, m = kM, r = kR, b = kB;
    float scale = 0.5f;
    const void *G, *x, *A, *B, *S, *u = nullptr;
    void *dA, *dB, *dS, *dx;
    void* ws = nullptr;
    int64_t ws_bytes = 0;
    int flags = 0;
    explicit Bwd(Fixture& f)
        : G(f.G.data()), x(f.x.data()), A(f.A.data()), B(f.B.data()), S(f.S.data()), dA(f.dA.data()),
          dB(f.dB.data()), dS(f.dS.data()), dx(f.dx.data()) {}
    int call() const {
        return bora_backward(device, dtype, T, n, m, r, b, scale, G, x, A, B, S, u, dA, dB, dS, dx, ws, ws_bytes,
                             nullptr, flags);
    }
};

using DeltaFn = int (*)(int, int, int64_t, int64_t, int64_t, int64_t, float, const void*, const void*, const void*,
                        void*, void*, int);

struct Dlt {
    DeltaFn fn;
    int device = BORA_DEVICE_CPU, dtype = BORA_DTYPE_F32;
    int64_t n = kN, m = kM, r = kR, b = kB;
    float scale = 0.5f;
    const void *A, *B, *S;
    void* W;
    int flags = 0;
    Dlt(Fixture& f, DeltaFn fn_) : fn(fn_), A(f.A.data()), B(f.B.data()), S(f.S.data()), W(f.W.data()) {}
    int call() const { return fn(device, dtype, n, m, r, b, scale, A, B, S, W, nullptr, flags); }
};

void forward_errors(Fixture& f) {
    { Fwd c(f); c.x = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "x is null", "fwd x null"); }
    { Fwd c(f); c.A = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "A is null", "fwd A null"); }
    { Fwd c(f); c.B = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "B is null", "fwd B null"); }
    { Fwd c(f); c.S = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "S is null", "fwd S null"); }
    { Fwd c(f); c.y = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "y is null", "fwd y null"); }
    { Fwd c(f); c.T = 0; expect(f, c.call(), BORA_ERR_BAD_SIZE, "T=0 must be > 0", "fwd T=0"); }
    { Fwd c(f); c.n = -8; expect(f, c.call(), BORA_ERR_BAD_SIZE, "n=-8 must be > 0", "fwd n<0"); }
    { Fwd c(f); c.m = 0; expect(f, c.call(), BORA_ERR_BAD_SIZE, "m=0", "fwd m=0"); }
    { Fwd c(f); c.r = 0; expect(f, c.call(), BORA_ERR_BAD_SIZE, "r=0", "fwd r=0"); }
    { Fwd c(f); c.b = -1; expect(f, c.call(), BORA_ERR_BAD_SIZE, "b=-1", "fwd b<0"); }
    { Fwd c(f); c.b = 3; c.m = 9; expect(f, c.call(), BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "b=3 does not divide n=8", "fwd b!|n"); }
    { Fwd c(f); c.b = 4; c.m = 6; expect(f, c.call(), BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "b=4 does not divide m=6", "fwd b!|m"); }
    // T*n overflows int64 (2^61 * 8 = 2^64); the buffers are tiny, so a write would be out of bounds.
    { Fwd c(f); c.T = int64_t(1) << 61; expect(f, c.call(), BORA_ERR_OVERFLOW, "x (T*n)", "fwd T*n overflow"); }
    // T*n fits in int64 but its byte count does not.
    { Fwd c(f); c.T = int64_t(1) << 59; expect(f, c.call(), BORA_ERR_OVERFLOW, "bytes overflows", "fwd T*n bytes overflow"); }
    // T*m overflows, T*n does not.
    { Fwd c(f); c.T = int64_t(1) << 58; c.n = 2; c.b = 2; c.m = 64; expect(f, c.call(), BORA_ERR_OVERFLOW, "y (T*m)", "fwd T*m overflow"); }
    // T*b*r overflows (U), T*n and T*m do not.
    { Fwd c(f); c.T = int64_t(1) << 40; c.n = 2; c.m = 2; c.b = 2; c.r = int64_t(1) << 22; expect(f, c.call(), BORA_ERR_OVERFLOW, "U (T*b*r)", "fwd T*b*r overflow"); }
    { Fwd c(f); c.ws_bytes = -1; expect(f, c.call(), BORA_ERR_WORKSPACE_TOO_SMALL, "workspace_bytes=-1 is below", "fwd workspace"); }
    { Fwd c(f); c.dtype = 7; expect(f, c.call(), BORA_ERR_BAD_DTYPE, "unknown dtype 7", "fwd dtype"); }
    { Fwd c(f); c.dtype = -1; expect(f, c.call(), BORA_ERR_BAD_DTYPE, "unknown dtype -1", "fwd dtype<0"); }
    { Fwd c(f); c.device = 5; expect(f, c.call(), BORA_ERR_BAD_DEVICE, "unknown device 5", "fwd device"); }
    { Fwd c(f); c.flags = 64; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "unsupported flag bits 0x40", "fwd flags"); }
    { Fwd c(f); c.flags = BORA_FLAG_ACCUMULATE; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "unsupported flag bits 0x1", "fwd accumulate"); }
    { Fwd c(f); c.scale = NAN; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "scale", "fwd scale nan"); }
    { Fwd c(f); c.scale = INFINITY; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "scale", "fwd scale inf"); }
    { Fwd c(f); c.y = const_cast<void*>(c.x); expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "output y overlaps input x", "fwd alias"); }
    { Fwd c(f); c.u = static_cast<float*>(c.y) + 3; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "overlaps output", "fwd alias out"); }
    if (!bora_cuda_available()) {
        Fwd c(f);
        c.device = BORA_DEVICE_CUDA;
        expect(f, c.call(), BORA_ERR_NO_CUDA, "BORA_DEVICE_CUDA", "fwd cuda");
    } else {
        Fwd c(f);
        c.device = BORA_DEVICE_CUDA;
        c.dtype = BORA_DTYPE_F64;
        expect(f, c.call(), BORA_ERR_BAD_DTYPE, "F64", "fwd cuda f64");
    }
}

void backward_errors(Fixture& f) {
    { Bwd c(f); c.G = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "G is null", "bwd G null"); }
    { Bwd c(f); c.x = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "x is null", "bwd x null"); }
    { Bwd c(f); c.A = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "A is null", "bwd A null"); }
    { Bwd c(f); c.B = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "B is null", "bwd B null"); }
    { Bwd c(f); c.S = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "S is null", "bwd S null"); }
    { Bwd c(f); c.T = -3; expect(f, c.call(), BORA_ERR_BAD_SIZE, "T=-3", "bwd T<0"); }
    { Bwd c(f); c.r = -2; expect(f, c.call(), BORA_ERR_BAD_SIZE, "r=-2", "bwd r<0"); }
    { Bwd c(f); c.b = 3; expect(f, c.call(), BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "b=3 does not divide n=8", "bwd b!|n"); }
    { Bwd c(f); c.T = int64_t(1) << 61; expect(f, c.call(), BORA_ERR_OVERFLOW, "x (T*n)", "bwd T*n overflow"); }
    { Bwd c(f); c.T = INT64_MAX; c.n = 2; c.b = 1; expect(f, c.call(), BORA_ERR_OVERFLOW, "overflows", "bwd T max"); }
    { Bwd c(f); c.ws_bytes = -5; expect(f, c.call(), BORA_ERR_WORKSPACE_TOO_SMALL, "below", "bwd workspace"); }
    { Bwd c(f); c.dtype = 4; expect(f, c.call(), BORA_ERR_BAD_DTYPE, "unknown dtype 4", "bwd dtype"); }
    { Bwd c(f); c.device = -1; expect(f, c.call(), BORA_ERR_BAD_DEVICE, "unknown device -1", "bwd device"); }
    { Bwd c(f); c.flags = 64; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "unsupported flag bits 0x40", "bwd flags"); }
    { Bwd c(f); c.dB = static_cast<float*>(c.dA) + 1; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "output dA overlaps output dB", "bwd alias outs"); }
    { Bwd c(f); c.dx = const_cast<void*>(c.x); expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "output dx overlaps input x", "bwd alias dx"); }
    { Bwd c(f); c.dS = const_cast<void*>(c.S); expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "output dS overlaps input S", "bwd alias dS"); }
    if (!bora_cuda_available()) {
        Bwd c(f);
        c.device = BORA_DEVICE_CUDA;
        expect(f, c.call(), BORA_ERR_NO_CUDA, "BORA_DEVICE_CUDA", "bwd cuda");
    }
}

void delta_errors(Fixture& f) {
    const DeltaFn fns[] = {bora_delta_weight, bora_merge, bora_unmerge};
    for (DeltaFn fn : fns) {
        { Dlt c(f, fn); c.A = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "A is null", "delta A null"); }
        { Dlt c(f, fn); c.B = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "B is null", "delta B null"); }
        { Dlt c(f, fn); c.S = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "S is null", "delta S null"); }
        { Dlt c(f, fn); c.W = nullptr; expect(f, c.call(), BORA_ERR_NULL_POINTER, "W is null", "delta W null"); }
        { Dlt c(f, fn); c.n = 0; expect(f, c.call(), BORA_ERR_BAD_SIZE, "n=0", "delta n=0"); }
        { Dlt c(f, fn); c.b = 5; expect(f, c.call(), BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "b=5 does not divide n=8", "delta b"); }
        { Dlt c(f, fn); c.m = int64_t(1) << 62; c.n = 8; expect(f, c.call(), BORA_ERR_OVERFLOW, "overflows", "delta m*n"); }
        { Dlt c(f, fn); c.dtype = 9; expect(f, c.call(), BORA_ERR_BAD_DTYPE, "unknown dtype 9", "delta dtype"); }
        { Dlt c(f, fn); c.device = 2; expect(f, c.call(), BORA_ERR_BAD_DEVICE, "unknown device 2", "delta device"); }
        { Dlt c(f, fn); c.flags = BORA_FLAG_ACCUMULATE; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "unsupported flag", "delta flags"); }
        { Dlt c(f, fn); c.flags = BORA_FLAG_NO_TENSOR_CORES; expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "unsupported flag bits 0x8", "delta tensor-core flag"); }
        { Dlt c(f, fn); c.W = const_cast<void*>(c.A); expect(f, c.call(), BORA_ERR_BAD_ARGUMENT, "overlaps input A", "delta alias"); }
        if (!bora_cuda_available()) {
            Dlt c(f, fn);
            c.device = BORA_DEVICE_CUDA;
            expect(f, c.call(), BORA_ERR_NO_CUDA, "BORA_DEVICE_CUDA", "delta cuda");
        }
    }
}

void misc_errors(Fixture& f) {
    expect(f, bora_forward_workspace_bytes(BORA_DEVICE_CPU, BORA_DTYPE_F32, kT, kN, kM, kR, kB, nullptr),
           BORA_ERR_NULL_POINTER, "bytes is null", "fwd ws null");
    expect(f, bora_forward_workspace_bytes(BORA_DEVICE_CPU, BORA_DTYPE_F32, kT, kN, kM, kR, 3, &f.bytes),
           BORA_ERR_BLOCKS_DO_NOT_DIVIDE, "b=3 does not divide n=8", "fwd ws b");
    expect(f, bora_backward_workspace_bytes(BORA_DEVICE_CPU, BORA_DTYPE_F32, 0, kN, kM, kR, kB, 0, &f.bytes),
           BORA_ERR_BAD_SIZE, "T=0", "bwd ws T");
    expect(f, bora_backward_workspace_bytes(BORA_DEVICE_CPU, 12, kT, kN, kM, kR, kB, 0, &f.bytes),
           BORA_ERR_BAD_DTYPE, "unknown dtype 12", "bwd ws dtype");
    expect(f, bora_backward_workspace_bytes(BORA_DEVICE_CPU, BORA_DTYPE_F32, kT, kN, kM, kR, kB, 256, &f.bytes),
           BORA_ERR_BAD_ARGUMENT, "unsupported flag", "bwd ws flags");
    if (!bora_cuda_available())
        expect(f, bora_forward_workspace_bytes(BORA_DEVICE_CUDA, BORA_DTYPE_F32, kT, kN, kM, kR, kB, &f.bytes),
               BORA_ERR_NO_CUDA, "BORA_DEVICE_CUDA", "fwd ws cuda");

    const int before = bora_get_num_threads();
    expect(f, bora_set_num_threads(0), BORA_ERR_BAD_ARGUMENT, "thread count 0", "threads 0");
    expect(f, bora_set_num_threads(-4), BORA_ERR_BAD_ARGUMENT, "thread count -4", "threads <0");
    expect(f, bora_set_num_threads(100000), BORA_ERR_BAD_ARGUMENT, "thread count 100000", "threads huge");
    CHECK(bora_get_num_threads() == before);
}

// Valid calls succeed and clear the last error; the CPU needs no workspace.
void valid_calls(Fixture& f) {
    bora_set_num_threads(0);  // leaves an error message behind
    int64_t bytes = -1;
    CHECK_OK(bora_forward_workspace_bytes(BORA_DEVICE_CPU, BORA_DTYPE_F32, kT, kN, kM, kR, kB, &bytes));
    CHECK(bytes == 0);
    CHECK(std::string(bora_last_error()).empty());
    CHECK_OK(bora_backward_workspace_bytes(BORA_DEVICE_CPU, BORA_DTYPE_BF16, kT, kN, kM, kR, kB,
                                           BORA_FLAG_ACCUMULATE, &bytes));
    CHECK(bytes == 0);
    Fwd fw(f);
    CHECK_OK(fw.call());
    Bwd bw(f);
    bw.u = f.U.data();
    CHECK_OK(bw.call());
    // No gradient requested: a valid no-op.
    Bwd none(f);
    none.dA = none.dB = none.dS = none.dx = nullptr;
    CHECK_OK(none.call());
}

void status_strings() {
    for (int s = -2; s <= 14; ++s) {
        const char* m = bora_status_string(s);
        CHECK(m != nullptr && m[0] != '\0');
    }
    CHECK(std::string(bora_status_string(BORA_OK)) == "success");
    CHECK(std::string(bora_status_string(99)) == "unknown status code");
    CHECK(bora_version() == BORA_VERSION_MAJOR * 10000 + BORA_VERSION_MINOR * 100 + BORA_VERSION_PATCH);
    CHECK(bora_cuda_available() == 0 || bora_cuda_compiled() == 1);
}

}  // namespace

int main() {
    Fixture f;
    forward_errors(f);
    backward_errors(f);
    delta_errors(f);
    misc_errors(f);
    valid_calls(f);
    status_strings();
    return check::exit_code("test_api_errors");
}
