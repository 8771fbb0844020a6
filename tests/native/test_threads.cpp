// test_threads: thread-count invariance (1, 2 and 3 library threads agree within fp32
// tolerance, and a given thread count is bitwise reproducible) and thread safety (several
// std::threads calling the library concurrently get the results of sequential calls,
// and each thread keeps its own last-error message), also in a child forked after the
// library's workers started.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace {

using tu::Shape;

struct Result {
    std::vector<float> y, U, dA, dB, dS, dx, dW;
    bool operator==(const Result& o) const {
        return y == o.y && U == o.U && dA == o.dA && dB == o.dB && dS == o.dS && dx == o.dx && dW == o.dW;
    }
};

// Runs forward, backward (all gradients, recomputed U) and delta; returns statuses through ok.
Result run_all(const tu::Tensors<float>& t, bool* ok) {
    Result r;
    r.y = t.y;
    r.U.assign(t.U.size(), 0.0f);
    r.dA.assign(t.dA.size(), 0.0f);
    r.dB.assign(t.dB.size(), 0.0f);
    r.dS.assign(t.dS.size(), 0.0f);
    r.dx = t.dx;
    r.dW.assign(size_t(t.s.m * t.s.n), 0.0f);
    const float s = 0.5f;
    *ok = tu::forward(t, r.y, r.U.data(), s, 0) == BORA_OK &&
          tu::backward(t, nullptr, r.dA.data(), r.dB.data(), r.dS.data(), r.dx.data(), s, 0) == BORA_OK &&
          tu::delta(t, r.dW, s, 0) == BORA_OK;
    return r;
}

void compare(const Result& a, const Result& b, const char* what) {
    const double tol = 1e-5;
    CHECK_MSG(tu::rel_err(a.y, b.y) < tol, "%s: y", what);
    CHECK_MSG(tu::rel_err(a.U, b.U) < tol, "%s: U", what);
    CHECK_MSG(tu::rel_err(a.dA, b.dA) < tol, "%s: dA %.3g", what, tu::rel_err(a.dA, b.dA));
    CHECK_MSG(tu::rel_err(a.dB, b.dB) < tol, "%s: dB %.3g", what, tu::rel_err(a.dB, b.dB));
    CHECK_MSG(tu::rel_err(a.dS, b.dS) < tol, "%s: dS %.3g", what, tu::rel_err(a.dS, b.dS));
    CHECK_MSG(tu::rel_err(a.dx, b.dx) < tol, "%s: dx", what);
    CHECK_MSG(tu::rel_err(a.dW, b.dW) < tol, "%s: dW", what);
}

void thread_count_invariance() {
    const Shape shapes[] = {{2000, 384, 384, 8, 4}, {777, 130, 90, 5, 5}, {3, 64, 64, 4, 2}};
    uint64_t seed = 40;
    for (const Shape& z : shapes) {
        tu::Rng rng(seed++);
        tu::Tensors<float> t(z, rng);
        bool ok = false;
        CHECK_OK(bora_set_num_threads(1));
        const Result r1 = run_all(t, &ok);
        CHECK(ok);
        for (int threads : {2, 3}) {
            CHECK_OK(bora_set_num_threads(threads));
            CHECK(bora_get_num_threads() == threads);
            const Result a = run_all(t, &ok);
            CHECK(ok);
            const Result b = run_all(t, &ok);
            CHECK(ok);
            CHECK_MSG(a == b, "%d threads: two runs differ bitwise", threads);
            compare(a, r1, threads == 2 ? "2 vs 1 threads" : "3 vs 1 threads");
        }
    }
    CHECK_OK(bora_set_num_threads(1));
}

void concurrent_callers() {
    const int kCallers = 4;
    CHECK_OK(bora_set_num_threads(2));  // callers also contend for the library's pool
    std::vector<tu::Tensors<float>> problems;
    std::vector<Result> expected;
    for (int c = 0; c < kCallers; ++c) {
        tu::Rng rng(500 + uint64_t(c));
        problems.emplace_back(Shape{600 + 37 * c, 96, 128, 8, 4}, rng);
        bool ok = false;
        expected.push_back(run_all(problems.back(), &ok));
        CHECK(ok);
    }
    std::vector<int> mismatches(kCallers, 0), failures(kCallers, 0), error_leaks(kCallers, 0);
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c)
        callers.emplace_back([&, c] {
            for (int it = 0; it < 6; ++it) {
                bool ok = false;
                const Result r = run_all(problems[size_t(c)], &ok);
                if (!ok) ++failures[size_t(c)];
                if (!(r == expected[size_t(c)])) ++mismatches[size_t(c)];
                // Odd callers provoke an error; even callers must never see a message.
                if (c % 2) {
                    bora_set_num_threads(-1);
                    if (std::string(bora_last_error()).find("thread count -1") == std::string::npos)
                        ++error_leaks[size_t(c)];
                } else if (bora_last_error()[0] != '\0') {
                    ++error_leaks[size_t(c)];
                }
            }
        });
    for (auto& th : callers) th.join();
    for (int c = 0; c < kCallers; ++c) {
        CHECK_MSG(failures[size_t(c)] == 0, "caller %d: %d failed calls", c, failures[size_t(c)]);
        CHECK_MSG(mismatches[size_t(c)] == 0, "caller %d: %d results differ from sequential", c, mismatches[size_t(c)]);
        CHECK_MSG(error_leaks[size_t(c)] == 0, "caller %d: last error not thread-local", c);
    }
    CHECK_OK(bora_set_num_threads(1));
}

// A forked child has none of its parent's threads: its calls must neither wait for the
// parent's workers (which hung) nor compute anything else than the parent does.
void calls_in_a_forked_child() {
    CHECK_OK(bora_set_num_threads(3));
    tu::Rng rng(900);
    const tu::Tensors<float> t(Shape{1500, 96, 128, 8, 4}, rng);
    bool ok = false;
    const Result parent = run_all(t, &ok);  // starts the workers
    CHECK(ok);
    const pid_t pid = fork();
    if (pid == 0) {
        alarm(60);  // a hang ends as SIGALRM, which the parent reports
        int status = 0;
        for (int round = 0; round < 3 && status == 0; ++round) {
            const Result child = run_all(t, &ok);
            status = !ok ? 2 : !(child == parent) ? 3 : 0;
        }
        _exit(status);
    }
    CHECK_MSG(pid > 0, "fork failed");
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status), "forked child did not exit (signal %d%s)", WIFSIGNALED(status) ? WTERMSIG(status) : 0,
              WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? ": hung in the library" : "");
    CHECK_MSG(!WIFEXITED(status) || WEXITSTATUS(status) == 0, "forked child: %s",
              WEXITSTATUS(status) == 2 ? "a call failed" : "results differ from the parent's");
    const Result again = run_all(t, &ok);  // and the parent's pool still works
    CHECK(ok && again == parent);
    CHECK_OK(bora_set_num_threads(1));
}

}  // namespace

int main() {
    thread_count_invariance();
    concurrent_callers();
    calls_in_a_forked_child();
    return check::exit_code("test_threads");
}
