#!/usr/bin/env bash
# Builds the CUDA kernels as plain C++ with the fiber emulator and checks them against a
# double-precision reference. Needs only g++ and the CUDA headers (no GPU, no driver).
# Usage: tests/gpu/emulated/run.sh [--quick]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../../.."
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
OUT=${BORA_EMU_BUILD:-build-emu}
mkdir -p "$OUT"
FLAGS=(-std=c++17 -O1 -g -Wall -Wextra -Wno-unknown-pragmas -Wno-clobbered -DBORA_CUDA_EMULATE -Inative/include -Inative/src -Inative/src/cuda
       -Itests/gpu/emulated -I"$CUDA_HOME/include" ${BORA_EMU_FLAGS:-})
g++ "${FLAGS[@]}" tests/gpu/emulated/emu_test.cpp tests/gpu/emulated/emu_kernels.cpp \
  -L"$CUDA_HOME/lib64" -lcudart_static -ldl -lpthread -lrt -o "$OUT/emu_test"
"$OUT/emu_test" "$@"
