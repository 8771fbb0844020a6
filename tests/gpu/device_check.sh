#!/usr/bin/env bash
# device_check.sh - the one GPU check: build the library with CUDA, run the CPU tests,
# check the CUDA kernels against the CPU reference through torch (check_cuda.py), and
# print the benchmark table last (bench_cuda.py). Run from the repository root on a
# machine with a GPU, CMake, nvcc and Python with torch; no Java, no network needed.
# Each step runs under a time limit and keeps its whole output in a log under $OUT (or
# build-gpu/ when OUT is unset): check_cuda.log, bench_cuda.log, ctest.log, and
# build.log when the build fails; stdout gets the head and tail of each. Writes
# $OUT/gpu_table.md and $OUT/gpu_kernels.md (the per-kernel profile) when OUT is set.
# Exit status: non-zero if any step failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOG=${OUT:-build-gpu}
mkdir -p build-gpu "$LOG"
export PYTHONUNBUFFERED=1   # a step killed at its limit still leaves all it printed
export PYTHONFAULTHANDLER=1 # a crash in native code prints the Python stack
t0=$(date +%s)
phase() { echo "=== [$(($(date +%s) - t0))s] $*"; }
status=0
# The whole run should end within DEADLINE seconds (the device loan's window), with the
# benchmark table, which comes last, still inside it.
DEADLINE=${BORA_GPU_DEADLINE:-420}
# limit MAX RESERVE: MAX seconds, or fewer so that RESERVE seconds stay before the deadline
# (at least 30).
limit() {
  local left=$((DEADLINE - ($(date +%s) - t0) - $2))
  ((left < $1)) && echo $((left > 30 ? left : 30)) || echo "$1"
}

# clip HEAD TAIL: the first HEAD and last TAIL lines of stdin, so that a step failing on
# every case cannot push the rest out of a short output tail (the log has it all).
clip() {
  awk -v head="$1" -v tail="$2" '
    NR <= head { print; fflush(); next }
    { buf[NR % tail] = $0 }
    END {
      from = NR - tail + 1
      if (from <= head) from = head + 1
      else printf "... %d lines left out (see the log)\n", from - head - 1
      for (i = from; i <= NR; i++) print buf[i % tail]
    }'
}

# step NAME LIMIT HEAD TAIL CMD...: CMD under a time limit (SIGTERM, which the scripts turn
# into KeyboardInterrupt so that they print where they were; SIGKILL 10 s later), its output
# in $LOG/NAME.log and clipped on stdout. A failure sets status=1; the next step still runs.
step() {
  local name=$1 limit=$2 head=$3 tail=$4 rc=0
  shift 4
  phase "$name (limit ${limit}s, log $LOG/$name.log)"
  timeout -k 10 "$limit" "$@" 2>&1 | tee "$LOG/$name.log" | clip "$head" "$tail" || rc=$?
  case $rc in
    0) ;;
    124) echo "$name: TIMED OUT after ${limit}s"; status=1 ;;
    137) echo "$name: KILLED (still running 10 s after its ${limit}s limit, or out of memory)"; status=1 ;;
    *) echo "$name: FAILED (exit status $rc)"; status=1 ;;
  esac
}

# fail_log FILE: the first error lines and the tail of a failed phase's log, the log
# itself copied to $LOG; then exit.
fail_log() {
  echo "--- first error lines of $1:"
  grep -m40 -iE 'error' "$1" | cut -c1-240 || true
  echo "--- last lines of $1:"
  tail -n 25 "$1" | cut -c1-240
  [[ "$LOG" == build-gpu ]] || cp "$1" "$LOG/"
  phase "done (status 1)"
  exit 1
}

phase "preflight"
if command -v nvidia-smi > /dev/null; then
  timeout 60 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "nvidia-smi failed"
  # The library links the CUDA 13.0 runtime statically, which needs driver >= 580.
  driver=$(timeout 60 nvidia-smi --query-gpu=driver_version --format=csv,noheader 2> /dev/null | sed -n 1p || true)
  if [[ "${driver%%.*}" =~ ^[0-9]+$ ]] && ((${driver%%.*} < 580)); then
    echo "WARNING: driver $driver is older than 580, which the library's static CUDA 13.0 runtime needs:"
    echo "         it will find no usable GPU (the CPU tests still run)"
  fi
else
  echo "nvidia-smi not found"
fi
timeout 120 python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda,
                                             'available', torch.cuda.is_available())" ||
  { echo "python3 with torch is required (the import failed or hung)"; exit 1; }
if [[ "${BORA_GPU_DRY_RUN:-0}" != 1 ]] &&
  ! timeout 120 python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "torch sees no usable CUDA device: nothing here can test the kernels (BORA_GPU_DRY_RUN=1 goes on anyway)"
  exit 1
fi
# nvcc is often installed off the PATH
if ! command -v nvcc > /dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi

phase "configure (build-gpu, Release, sm_90)"
timeout -k 10 60 cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DBORA_BUILD_BENCH=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=90 > build-gpu/configure.log 2>&1 || fail_log build-gpu/configure.log
grep -E "^-- bora:" build-gpu/configure.log || true
# a CPU-only build can answer nothing the GPU check asks: stop before spending the time
grep -q 'backends CPU + CUDA' build-gpu/configure.log ||
  { echo "CMake found no usable nvcc: the library would be built without CUDA"; fail_log build-gpu/configure.log; }

phase "build (log build-gpu/build.log)"
timeout -k 10 180 cmake --build build-gpu -j16 > build-gpu/build.log 2>&1 || fail_log build-gpu/build.log
echo "$(grep -ciE 'warning' build-gpu/build.log || true) warning lines"
grep -m5 -iE 'warning' build-gpu/build.log | cut -c1-240 || true

LIB=$(find build-gpu -name 'libbora.so' \( -type f -o -type l \) -print -quit)
if [[ -z "$LIB" ]]; then
  echo "libbora.so not found under build-gpu"
  exit 1
fi
echo "library: $LIB"

# The CPU tests; the scripts' CPU dry run and the emulated kernels (CPU-only checks that CI
# runs) are left out: the scripts and the kernels run for real below.
step ctest 60 10 30 ctest --test-dir build-gpu --output-on-failure -j8 -E '^gpu_script_|emulated'

# BORA_CUDA_SYNC=1: each CUDA call waits for its kernels, so a fault in them is reported by
# the call that launched them (the check's times do not matter; the benchmark's do).
step check_cuda "$(limit 180 160)" 40 15 env BORA_CUDA_SYNC=1 python3 tests/gpu/check_cuda.py "$LIB"

step bench_cuda "$(limit 150 0)" 15 45 python3 tests/gpu/bench_cuda.py "$LIB"

phase "done (status $status)"
exit $status
