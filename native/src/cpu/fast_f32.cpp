// fast_f32.cpp - the optimised CPU passes (fast_passes.h) for float storage, in a
// translation unit of their own so that the dtypes compile in parallel.
#include "cpu/fast_passes.h"

BORA_FAST_PASSES_FOR(f32, float)
