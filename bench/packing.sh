#!/usr/bin/env bash
# Token packing on this CPU: MiniLM training steps on random batches of the task's sentences with
# the encoder on the padded batch, on the real tokens only, and on the real tokens with fused
# attention (sdpa), LoRA and BoRA, interleaved in one process; writes the "token-packing-cpu"
# section of docs/RESULTS.md. Usage: bench/packing.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
CP=$(bench/classpath.sh)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
exec java -Xmx4g -cp "$CP" dev.bora4j.bench.TokenPackingEfficiency "${1:-10}"
