// bora_bench: side-by-side ratios of the native kernels, measured in one run.
//   1. optimised CPU path vs the plain reference (BORA_FLAG_REFERENCE), forward and backward;
//   2. BoRA vs LoRA (b = 1, same rank r) in our own optimised kernels, forward and
//      forward + backward;
// for MiniLM-size layers (n = m = 384, T = 4096, r = 8, b = 4) and a larger CPU shape
// (n = m = 1024, T = 2048, r = 16, b = 8), with 1 and 2 threads. Each number is the median
// of several repetitions; the variants compared are run interleaved, round by round, so
// that machine noise hits them alike; ratios of the minima and, for 1 thread, of the
// thread CPU times are printed too (both less sensitive to a busy machine).
// Usage: bora_bench [reps] (default 21).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <vector>

#include "bora/bora.h"

namespace {

struct Shape {
    const char* name;
    int64_t T, n, m, r, b;
};

struct Problem {
    Shape s;
    std::vector<float> x, A, B, S, y, G, U, dA, dB, dS, dx;
    explicit Problem(const Shape& sh) : s(sh) {
        uint64_t state = 0x12345678u + uint64_t(sh.b);
        auto fill = [&](std::vector<float>& v, size_t n) {
            v.resize(n);
            for (auto& e : v) {
                state = state * 6364136223846793005ull + 1442695040888963407ull;
                e = float(int64_t(state >> 40) % 2000 - 1000) / 1000.0f + 0.0005f;  // never zero
            }
        };
        fill(x, size_t(s.T * s.n));
        fill(A, size_t(s.r * s.n));
        fill(B, size_t(s.m * s.r));
        fill(S, size_t(s.b * s.b * s.r));
        fill(y, size_t(s.T * s.m));
        fill(G, size_t(s.T * s.m));
        fill(dx, size_t(s.T * s.n));
        U.resize(size_t(s.T * s.b * s.r));
        dA.resize(A.size());
        dB.resize(B.size());
        dS.resize(S.size());
    }
    void forward(int flags) {
        check(bora_forward(BORA_DEVICE_CPU, BORA_DTYPE_F32, s.T, s.n, s.m, s.r, s.b, 0.5f, x.data(), A.data(),
                           B.data(), S.data(), y.data(), U.data(), nullptr, 0, nullptr, flags));
    }
    // All gradients (dA, dB, dS, and dx as for a layer that is not the first), from saved U.
    void backward(int flags) {
        check(bora_backward(BORA_DEVICE_CPU, BORA_DTYPE_F32, s.T, s.n, s.m, s.r, s.b, 0.5f, G.data(), x.data(),
                            A.data(), B.data(), S.data(), U.data(), dA.data(), dB.data(), dS.data(), dx.data(),
                            nullptr, 0, nullptr, flags));
    }
    static void check(int status) {
        if (status != BORA_OK) {
            std::fprintf(stderr, "bora call failed: %s: %s\n", bora_status_string(status), bora_last_error());
            std::exit(1);
        }
    }
};

double now_ms() {
    using clock = std::chrono::steady_clock;
    return std::chrono::duration<double, std::milli>(clock::now().time_since_epoch()).count();
}

// CPU time of the calling thread: on a shared machine this leaves out the time the thread
// waited for a core (meaningful for the 1-thread runs, where all work is on this thread).
double thread_cpu_ms() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t k = v.size() / 2;
    return v.size() % 2 ? v[k] : 0.5 * (v[k - 1] + v[k]);
}

struct Timing {
    std::vector<double> median, min, cpu_median;  // wall-clock median and minimum, thread CPU-time median
};

// Runs the variants round-robin (rotating the order each round); returns the median and the
// minimum time of each (the minimum is the least disturbed run on a busy machine).
// per_round[v] (default 1): how many timed runs variant v gets in each round.
Timing interleaved(const std::vector<std::function<void()>>& variants, int reps, std::vector<int> per_round = {}) {
    per_round.resize(variants.size(), 1);
    std::vector<std::vector<double>> times(variants.size()), cpu(variants.size());
    for (auto& f : variants) f();  // warm-up: threads, page faults, caches
    for (int rep = 0; rep < reps; ++rep)
        for (size_t k = 0; k < variants.size(); ++k) {
            const size_t v = (k + size_t(rep)) % variants.size();
            for (int i = 0; i < per_round[v]; ++i) {
                const double t0 = now_ms(), c0 = thread_cpu_ms();
                variants[v]();
                times[v].push_back(now_ms() - t0);
                cpu[v].push_back(thread_cpu_ms() - c0);
            }
        }
    Timing r;
    for (size_t v = 0; v < times.size(); ++v) {
        r.median.push_back(median(times[v]));
        r.min.push_back(*std::min_element(times[v].begin(), times[v].end()));
        r.cpu_median.push_back(median(cpu[v]));
    }
    return r;
}

void bench_shape(const Shape& shape, int reps) {
    Shape lora_shape = shape;
    lora_shape.b = 1;
    Problem bora(shape), lora(lora_shape);
    std::printf("\n%s: T=%lld n=%lld m=%lld r=%lld b=%lld (fp32)\n", shape.name, (long long)shape.T,
                (long long)shape.n, (long long)shape.m, (long long)shape.r, (long long)shape.b);

    // The reference is single-threaded and slow: a few rounds, each with one reference run
    // and several optimised runs (1 thread), interleaved.
    bora_set_num_threads(1);
    const int ref_reps = 5, fast_per_round = 5;
    const Timing tr = interleaved({[&] { bora.forward(BORA_FLAG_REFERENCE); }, [&] { bora.forward(0); },
                                   [&] { bora.backward(BORA_FLAG_REFERENCE); }, [&] { bora.backward(0); }},
                                  ref_reps, {1, fast_per_round, 1, fast_per_round});
    const auto& ref = tr.median;
    std::printf("  optimised vs reference, 1 thread (medians of %d reference and %d optimised runs):\n", ref_reps,
                ref_reps * fast_per_round);
    const auto& rc = tr.cpu_median;
    std::printf("    %-18s %12s %12s %10s %12s %12s\n", "op", "reference ms", "optimised ms", "speedup", "(of minima)",
                "(CPU time)");
    std::printf("    %-18s %12.2f %12.3f %9.1fx %11.1fx %11.1fx\n", "forward", ref[0], ref[1], ref[0] / ref[1],
                tr.min[0] / tr.min[1], rc[0] / rc[1]);
    std::printf("    %-18s %12.2f %12.3f %9.1fx %11.1fx %11.1fx\n", "backward", ref[2], ref[3], ref[2] / ref[3],
                tr.min[2] / tr.min[3], rc[2] / rc[3]);

    for (int threads : {1, 2}) {
        bora_set_num_threads(threads);
        const Timing tt = interleaved({[&] { bora.forward(0); }, [&] { lora.forward(0); },
                                       [&] { bora.forward(0), bora.backward(0); },
                                       [&] { lora.forward(0), lora.backward(0); }},
                                      reps);
        const auto& t = tt.median;
        std::printf("  BoRA (b=%lld) vs LoRA (b=1), same r=%lld, optimised path, %d thread%s (median of %d):\n",
                    (long long)shape.b, (long long)shape.r, threads, threads > 1 ? "s" : "", reps);
        // Thread CPU time covers all the work only with 1 thread.
        const auto& c = tt.cpu_median;
        std::printf("    %-18s %12s %12s %10s %12s %12s\n", "op", "BoRA ms", "LoRA ms", "BoRA/LoRA", "(of minima)",
                    threads == 1 ? "(CPU time)" : "");
        std::printf("    %-18s %12.3f %12.3f %10.3f %12.3f", "forward", t[0], t[1], t[0] / t[1], tt.min[0] / tt.min[1]);
        if (threads == 1) std::printf(" %12.3f", c[0] / c[1]);
        std::printf("\n    %-18s %12.3f %12.3f %10.3f %12.3f", "forward+backward", t[2], t[3], t[2] / t[3],
                    tt.min[2] / tt.min[3]);
        if (threads == 1) std::printf(" %12.3f", c[2] / c[3]);
        std::printf("\n");
        if (threads == 2) {
            const auto r2 = interleaved({[&] { bora.forward(0); }, [&] { bora.backward(0); }}, reps).median;
            std::printf("    2 threads vs reference: forward %.1fx, backward %.1fx\n", ref[0] / r2[0],
                        ref[2] / r2[1]);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::max(3, std::atoi(argv[1])) : 21;
    std::printf("bora_bench: libbora %d, CUDA compiled %d; times are medians, runs interleaved\n", bora_version(),
                bora_cuda_compiled());
    bench_shape({"MiniLM size", 4096, 384, 384, 8, 4}, reps);
    bench_shape({"larger CPU shape", 2048, 1024, 1024, 16, 8}, reps);
    bora_set_num_threads(1);
    return 0;
}
