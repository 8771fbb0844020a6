#!/usr/bin/env bash
# The native test suite once more, built with AddressSanitizer and UndefinedBehaviorSanitizer:
# any read or write out of bounds, use after free or undefined behaviour in the library (CPU
# path, and the CUDA kernels through the emulator) fails the test that caused it. CPU-only
# build, so it needs no nvcc beyond the CUDA headers of the emulated test.
# Usage: tests/native/sanitize.sh   (from anywhere; build in target/cmake-asan, or $BORA_ASAN_BUILD)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BORA_ASAN_BUILD:-target/cmake-asan}
mkdir -p "$build"
# -O1, as AddressSanitizer recommends: it finds the same errors, and the optimised CPU path's
# template-heavy translation unit compiles in 0.6x the time of -O2 with instrumentation.
cmake -S . -B "$build" -DBORA_SANITIZE=ON -DBORA_ENABLE_CUDA=OFF -DBORA_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g -DNDEBUG" \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --parallel "${BORA_JOBS:-2}" > "$build/build.log" 2>&1 || { tail -50 "$build/build.log"; exit 1; }
ctest --test-dir "$build" --output-on-failure
