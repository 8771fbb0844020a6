// isa.h - which instruction set the optimised CPU kernels use, decided once at run time.
#pragma once

namespace bora {
namespace cpu {

// True when the CPU (and OS) support AVX2 and FMA, unless the environment variable
// BORA_CPU_ISA=generic asks for the portable kernels (used by the tests to cover both).
bool use_avx2_fma();

}  // namespace cpu
}  // namespace bora
