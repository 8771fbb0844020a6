// fast.h - the optimised CPU path: token tiles streamed once per pass, register-blocked
// micro-kernels (AVX2+FMA when the CPU has them, chosen at run time), a persistent thread
// pool, and per-thread partial sums reduced in a fixed order (deterministic for a given
// thread count).
#pragma once

#include "backend.h"

namespace bora {
namespace cpu {
namespace fast {

int forward(const Problem& p, const ForwardArgs& a, int threads);
int backward(const Problem& p, const BackwardArgs& a, int threads);
int delta(const Problem& p, const DeltaArgs& a, int threads);

}  // namespace fast
}  // namespace cpu
}  // namespace bora
