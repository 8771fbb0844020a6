#!/usr/bin/env bash
# device_check.sh - the one GPU check: build the library with CUDA, run the CPU tests,
# check the CUDA kernels against the CPU reference through torch (check_cuda.py), and
# print the benchmark table last (bench_cuda.py). Run from the repository root on a
# machine with a GPU, CMake, nvcc and Python with torch; no Java, no network needed.
# Writes $OUT/gpu_table.md when OUT is set. Exit status: non-zero if any step failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
phase() { echo "=== [$(($(date +%s) - t0))s] $*"; }
status=0

phase "configure (build-gpu, Release, sm_90)"
mkdir -p build-gpu
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DBORA_BUILD_BENCH=OFF -DCMAKE_CUDA_ARCHITECTURES=90 \
  > build-gpu/configure.log 2>&1 || { cat build-gpu/configure.log; exit 1; }
grep -E "^-- bora:" build-gpu/configure.log || true

phase "build"
cmake --build build-gpu -j16 2>&1 | tail -n 20

LIB=$(find build-gpu -name 'libbora.so' \( -type f -o -type l \) | head -n 1)
if [[ -z "$LIB" ]]; then
  echo "libbora.so not found under build-gpu"
  exit 1
fi
echo "library: $LIB"

phase "ctest (CPU tests; the scripts' CPU dry run is left out: they run for real below)"
ctest --test-dir build-gpu --output-on-failure -j8 -E '^gpu_script_' || status=1

phase "check_cuda.py"
python3 tests/gpu/check_cuda.py "$LIB" || status=1

phase "bench_cuda.py"
python3 tests/gpu/bench_cuda.py "$LIB" || status=1

phase "done (status $status)"
exit $status
