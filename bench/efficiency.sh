#!/usr/bin/env bash
# Efficiency suite on this CPU: MiniLM training-step time and transient memory of BoRA, LoRA
# (same r and budget-matched), HiRA and KronA, interleaved in one process; writes the
# "efficiency-cpu" section of docs/RESULTS.md. Usage: bench/efficiency.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
CP=$(bench/classpath.sh)
exec java -Xmx4g -cp "$CP" dev.bora4j.bench.TrainingStepEfficiency "${1:-15}"
