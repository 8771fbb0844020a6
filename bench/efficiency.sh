#!/usr/bin/env bash
# Efficiency suite on this CPU: MiniLM training-step time and transient memory of BoRA, LoRA
# (same r and budget-matched), HiRA and KronA, interleaved in one process; writes the
# "efficiency-cpu" section of docs/RESULTS.md. Usage: bench/efficiency.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
CP=$(bench/classpath.sh)
# A fixed mmap threshold returns every large block to the system when it is freed, so a step's
# peak memory shows in VmHWM instead of hiding in malloc's cache. One torch thread, OpenBLAS too.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-131072} OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
exec java -Xmx4g -cp "$CP" dev.bora4j.bench.TrainingStepEfficiency "${1:-15}"
