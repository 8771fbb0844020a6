// emu_kernels.cpp - the CUDA passes compiled as C++ for the fiber emulator (cuda_emu.h).
// Build with -DBORA_CUDA_EMULATE and include paths native/include, native/src,
// native/src/cuda and tests/gpu/emulated.
#ifndef BORA_CUDA_EMULATE
#error "emu_kernels.cpp needs -DBORA_CUDA_EMULATE"
#endif
#include "forward.cu"
#include "backward.cu"
#include "delta.cu"
