// fast_f64.cpp - the optimised CPU passes (fast_passes.h) for double storage, in a
// translation unit of their own so that the dtypes compile in parallel.
#include "cpu/fast_passes.h"

BORA_FAST_PASSES_FOR(f64, double)
