#!/usr/bin/env bash
# The real task: `bora4j finetune` (MiniLM on the LanguageTool acceptability data) for every
# configuration and seed, each into runs/<name>-s<seed>/, then the table of the "real-task"
# section of docs/RESULTS.md (bench/real_task_table.sh). Finished runs (summary.json present)
# are skipped, killed ones resume from their checkpoint.
#   bench/real_task.sh                      # the full sweep: every config, seeds 1 2 3, default flags
#   SEEDS="1" CONFIGS="lora-r8 bora-b4-r8" bench/real_task.sh --max-train 2000 --epochs 1
#   JOBS=2 bench/real_task.sh               # two runs at a time, each on 1 thread (OpenBLAS too)
# Extra arguments go to every run (and are recorded with the table); runs made with other
# extra flags must use another RUNS folder. CP may name a prebuilt class path (bench/classpath.sh
# output) so that rebuilding the tree does not change the classes under running jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"1 2 3"}
RUNS=${RUNS:-runs}
JOBS=${JOBS:-1}
# name -> flags. Parameter counts are matched to LoRA r=8 (331,776 adapter parameters): MELoRA and
# HiRA have exactly LoRA's count, BoRA adds b*b*r per module (+1.4% at b=4), KronA with A 4x8
# has 332,928 (+0.35%). lora-r9 (373,248, the same scaling alpha/r = 2) has more than BoRA b=8
# (350,208): the smallest LoRA at or above BoRA b=8's budget. sigma-only-b4 starts from the trained lora-r8 run of the same seed and
# trains only Sigma (A, B and the head frozen); lora-r8-continued, its control, trains that LoRA
# (A, B and head) for the same extra steps. Both run after lora-r8.
# bora-b8-r8-raw / -exp (the Sigma ablation at b=8), bora-b8-r8-sigma-lr10 (exp_norm Sigma with ten
# times the learning rate of A and B) and bora-b8-r8-exp-sigma-lr10 (exp Sigma, the same) run only
# when named in CONFIGS.
declare -A FLAGS=(
  [lora-r8]="--method lora --r 8 --alpha 16"
  [lora-r9]="--method lora --r 9 --alpha 18"
  [melora-b4-r8]="--method melora --r 8 --b 4 --alpha 16"
  [bora-b2-r8]="--method bora --r 8 --b 2 --alpha 16"
  [bora-b4-r8]="--method bora --r 8 --b 4 --alpha 16"
  [bora-b8-r8]="--method bora --r 8 --b 8 --alpha 16"
  [hira-r8]="--method hira --r 8 --alpha 16"
  [krona-4x8]="--method krona --kron-a1 4 --kron-a2 8 --r 8 --alpha 16"
  [bora-b4-r8-raw]="--method bora --r 8 --b 4 --alpha 16 --sigma raw"
  [bora-b4-r8-exp]="--method bora --r 8 --b 4 --alpha 16 --sigma exp"
  [bora-b8-r8-raw]="--method bora --r 8 --b 8 --alpha 16 --sigma raw"
  [bora-b8-r8-exp]="--method bora --r 8 --b 8 --alpha 16 --sigma exp"
  [bora-b8-r8-sigma-lr10]="--method bora --r 8 --b 8 --alpha 16 --sigma-lr 1e-2"
  [bora-b8-r8-exp-sigma-lr10]="--method bora --r 8 --b 8 --alpha 16 --sigma exp --sigma-lr 1e-2"
  [sigma-only-b4]="--method bora --r 8 --b 4 --alpha 16 --train-only sigma --init-from {RUNS}/lora-r8-s{SEED}/adapter"
  [lora-r8-continued]="--method lora --r 8 --alpha 16 --init-from {RUNS}/lora-r8-s{SEED}/adapter"
)
ALL="lora-r8 lora-r9 melora-b4-r8 bora-b2-r8 bora-b4-r8 bora-b8-r8 hira-r8 krona-4x8 bora-b4-r8-raw bora-b4-r8-exp sigma-only-b4 lora-r8-continued"
CONFIGS=${CONFIGS:-$ALL}
CP=${CP:-$(bench/classpath.sh)}
THREAD_FLAGS=()
if [ "$JOBS" -gt 1 ]; then
  export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
  THREAD_FLAGS=(--threads 1)
fi
mkdir -p "$RUNS"
printf '%s\n' "$*" > "$RUNS/extra_flags.txt"

# One run: config name, seed, extra flags.
run_one() {
  local name=$1 seed=$2; shift 2
  local out="$RUNS/$name-s$seed"
  if [ -f "$out/summary.json" ]; then echo "done already: $out"; return 0; fi
  local flags=${FLAGS[$name]//\{RUNS\}/$RUNS}
  flags=${flags//\{SEED\}/$seed}
  echo "== $out: $flags $*"
  # shellcheck disable=SC2086
  java -Xmx6g -cp "$CP" dev.bora4j.cli.Bora4jCommand finetune $flags --seed "$seed" \
    --output "$out" --no-progress-bar "${THREAD_FLAGS[@]}" "$@" > "$out.log" 2>&1 \
    || { echo "FAILED: $out (see $out.log)" >&2; return 1; }
  tail -n 3 "$out.log"
}

jobs_list=()
for seed in $SEEDS; do
  for name in $CONFIGS; do
    [ -n "${FLAGS[$name]:-}" ] || { echo "unknown config '$name'; known: $ALL" >&2; exit 2; }
    jobs_list+=("$name $seed")
  done
done
failed=0
running=0
for job in "${jobs_list[@]}"; do
  # shellcheck disable=SC2086
  run_one $job "$@" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then wait -n || failed=1; running=$((running - 1)); fi
done
while [ "$running" -gt 0 ]; do wait -n || failed=1; running=$((running - 1)); done
[ "$failed" -eq 0 ] || { echo "some runs failed; the table covers the finished ones" >&2; }
bench/real_task_table.sh "$RUNS"
exit "$failed"
