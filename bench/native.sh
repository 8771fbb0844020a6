#!/usr/bin/env bash
# Native kernel suite: builds bench/native (CPU only, Release) into build-bench/ and writes the
# output of `bora_bench [reps]` into the "native-cpu" section of docs/RESULTS.md.
# Usage: bench/native.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-15}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBORA_ENABLE_CUDA=OFF -DBORA_BUILD_TESTS=OFF \
  -DBORA_BUILD_BENCH=ON > /dev/null
cmake --build build-bench --target bora_bench --parallel 2 > /dev/null
BIN=$(find build-bench -name bora_bench -type f -perm -u+x | head -n 1)
"$BIN" "$REPS" | tee build-bench/bora_bench.txt
CP=$(bench/classpath.sh)
java -cp "$CP" dev.bora4j.bench.TextSection native-cpu "Native kernels on this CPU (bora_bench)" \
  "bench/native.sh $REPS" build-bench/bora_bench.txt
