// fast.cpp - placeholder that routes to the reference until the tiled path lands.
#include "cpu/fast.h"

#include "cpu/reference.h"

namespace bora {
namespace cpu {
namespace fast {

int forward(const Problem& p, const ForwardArgs& a, int) { return reference::forward(p, a); }
int backward(const Problem& p, const BackwardArgs& a, int) { return reference::backward(p, a); }
int delta(const Problem& p, const DeltaArgs& a, int) { return reference::delta(p, a); }

}  // namespace fast
}  // namespace cpu
}  // namespace bora
