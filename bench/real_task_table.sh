#!/usr/bin/env bash
# Aggregates runs/<name>-s<seed>/summary.json into the "real-task" section of docs/RESULTS.md.
# Usage: bench/real_task_table.sh [runs-folder]
set -euo pipefail
cd "$(dirname "$0")/.."
CP=${CP:-$(bench/classpath.sh)}
exec java -cp "$CP" dev.bora4j.bench.RealTaskTable "${1:-runs}"
