// fast_bf16.cpp - the optimised CPU passes (fast_passes.h) for bf16_t storage, in a
// translation unit of their own so that the dtypes compile in parallel.
#include "cpu/fast_passes.h"

BORA_FAST_PASSES_FOR(bf16, bf16_t)
