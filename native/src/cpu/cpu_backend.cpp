// cpu_backend.cpp - the bora::cpu entry points of backend.h: choose the reference or the
// optimised implementation, and hold the one piece of process-wide state, the thread count.
#include <atomic>

#include "backend.h"
#include "cpu/fast.h"
#include "cpu/reference.h"

namespace bora {
namespace cpu {
namespace {

std::atomic<int> g_num_threads{1};

bool use_reference(const Problem& p) { return (p.flags & BORA_FLAG_REFERENCE) != 0; }

}  // namespace

// The CPU path allocates its scratch memory itself (and fails cleanly when it cannot).
int64_t forward_workspace_bytes(const Problem&) { return 0; }
int64_t backward_workspace_bytes(const Problem&) { return 0; }

int forward(const Problem& p, const ForwardArgs& a) {
    return use_reference(p) ? reference::forward(p, a) : fast::forward(p, a, num_threads());
}

int backward(const Problem& p, const BackwardArgs& a) {
    return use_reference(p) ? reference::backward(p, a) : fast::backward(p, a, num_threads());
}

int delta(const Problem& p, const DeltaArgs& a) {
    return use_reference(p) ? reference::delta(p, a) : fast::delta(p, a, num_threads());
}

void set_num_threads(int n) { g_num_threads.store(n, std::memory_order_relaxed); }
int num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

}  // namespace cpu
}  // namespace bora
