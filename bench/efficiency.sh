#!/usr/bin/env bash
# Efficiency suite on this CPU: MiniLM training-step time and transient memory of BoRA, LoRA
# (same r and budget-matched), HiRA and KronA, interleaved in one process; writes the
# "efficiency-cpu" section of docs/RESULTS.md. Usage: bench/efficiency.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
CP=$(bench/classpath.sh)
# One torch thread, OpenBLAS too. Times are taken with glibc's default malloc settings; the memory
# column comes from a child process that fixes the mmap threshold itself (see TrainingStepEfficiency).
unset MALLOC_MMAP_THRESHOLD_
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
exec java -Xmx4g -cp "$CP" dev.bora4j.bench.TrainingStepEfficiency "${1:-15}"
