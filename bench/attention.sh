#!/usr/bin/env bash
# Eager vs fused (sdpa) attention on this CPU: MiniLM's layer-0 self-attention block forward and
# backward at sequence lengths 32 to 512, interleaved in one process; writes the "attention-cpu"
# section of docs/RESULTS.md. Usage: bench/attention.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
CP=$(bench/classpath.sh)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
exec java -Xmx4g -cp "$CP" dev.bora4j.bench.AttentionEfficiency "${1:-10}"
