#!/usr/bin/env bash
# Expressiveness suite: fits a target update with every adapter at equal budgets and writes the
# "expressiveness" section of docs/RESULTS.md. Usage: bench/expressiveness.sh [steps] [seeds]
set -euo pipefail
cd "$(dirname "$0")/.."
CP=$(bench/classpath.sh)
exec java -Xmx4g -cp "$CP" dev.bora4j.bench.Expressiveness "${1:-900}" "${2:-3}"
