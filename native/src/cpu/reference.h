// reference.h - the plain CPU reference: loops over the formulas of bora.h with double
// accumulation. Obviously right rather than fast; the oracle for tests and benchmarks
// (selected with BORA_FLAG_REFERENCE).
#pragma once

#include "backend.h"

namespace bora {
namespace cpu {
namespace reference {

int forward(const Problem& p, const ForwardArgs& a);
int backward(const Problem& p, const BackwardArgs& a);
int delta(const Problem& p, const DeltaArgs& a);

}  // namespace reference
}  // namespace cpu
}  // namespace bora
