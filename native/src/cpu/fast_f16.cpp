// fast_f16.cpp - the optimised CPU passes (fast_passes.h) for f16_t storage, in a
// translation unit of their own so that the dtypes compile in parallel.
#include "cpu/fast_passes.h"

BORA_FAST_PASSES_FOR(f16, f16_t)
