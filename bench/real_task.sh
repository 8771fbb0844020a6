#!/usr/bin/env bash
# The real task: `bora4j finetune` (MiniLM on the LanguageTool acceptability data) for every
# configuration and seed, each into runs/<name>-s<seed>/, then the table of the "real-task"
# section of docs/RESULTS.md (bench/real_task_table.sh). Finished runs (summary.json present)
# are skipped, killed ones resume from their checkpoint.
#   bench/real_task.sh                      # the full sweep: every config, seeds 1 2 3, default flags
#   SEEDS="1" CONFIGS="lora-r8 bora-b4-r8" bench/real_task.sh --max-train 2000 --epochs 1
# Extra arguments go to every run (and are recorded with the table); runs made with other
# extra flags must use another RUNS folder.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"1 2 3"}
RUNS=${RUNS:-runs}
# name -> flags. Parameter counts are matched to LoRA r=8 (331,776 adapter parameters): MELoRA and
# HiRA have exactly LoRA's count, BoRA adds b*b*r per module (+1.4% at b=4), KronA with A 4x8
# has 332,928 (+0.35%).
declare -A FLAGS=(
  [lora-r8]="--method lora --r 8 --alpha 16"
  [melora-b4-r8]="--method melora --r 8 --b 4 --alpha 16"
  [bora-b2-r8]="--method bora --r 8 --b 2 --alpha 16"
  [bora-b4-r8]="--method bora --r 8 --b 4 --alpha 16"
  [bora-b8-r8]="--method bora --r 8 --b 8 --alpha 16"
  [hira-r8]="--method hira --r 8 --alpha 16"
  [krona-4x8]="--method krona --kron-a1 4 --kron-a2 8 --r 8 --alpha 16"
  [bora-b4-r8-raw]="--method bora --r 8 --b 4 --alpha 16 --sigma raw"
  [bora-b4-r8-exp]="--method bora --r 8 --b 4 --alpha 16 --sigma exp"
)
ALL="lora-r8 melora-b4-r8 bora-b2-r8 bora-b4-r8 bora-b8-r8 hira-r8 krona-4x8 bora-b4-r8-raw bora-b4-r8-exp"
CONFIGS=${CONFIGS:-$ALL}
CP=$(bench/classpath.sh)
mkdir -p "$RUNS"
printf '%s\n' "$*" > "$RUNS/extra_flags.txt"
for seed in $SEEDS; do
  for name in $CONFIGS; do
    [ -n "${FLAGS[$name]:-}" ] || { echo "unknown config '$name'; known: $ALL" >&2; exit 2; }
    out="$RUNS/$name-s$seed"
    if [ -f "$out/summary.json" ]; then echo "done already: $out"; continue; fi
    echo "== $out: ${FLAGS[$name]} $*"
    # shellcheck disable=SC2086
    java -Xmx6g -cp "$CP" dev.bora4j.cli.Bora4jCommand finetune ${FLAGS[$name]} --seed "$seed" \
      --output "$out" --no-progress-bar "$@" > "$out.log" 2>&1 || { echo "FAILED: $out (see $out.log)" >&2; exit 1; }
    tail -n 3 "$out.log"
  done
done
bench/real_task_table.sh "$RUNS"
