#!/usr/bin/env bash
# Each regularizer and augmentation alone on Fashion-MNIST at 2,000 steps (28x28, batch 64,
# seed 0, fp32), scored by `ganzoo eval -m fd -n 10000` (the ganzoo-fmnist domain extractor,
# 10k samples vs the test split). Two lanes of one thread each keep both cores busy without
# oversubscribing them. Usage: bash benchmarks/regularizers.sh [OUT_DIR]
set -euo pipefail
out=${1:-bench/regularizers}
mkdir -p "$out"
common=(dcgan --steps 2000 --seed 0 --set log.checkpoint_every=2000 --set log.sample_every=1000)
declare -A recipes=(
  [bce]="--loss bce"
  [bce+r1]="--loss bce --reg r1 --set reg.r1.gamma=0.1"
  [bce+r2]="--loss bce --reg r2 --set reg.r2.gamma=0.1"
  [bce+gp]="--loss bce --reg gp --set reg.gp.lambda_gp=1"
  [bce+lecam]="--loss bce --reg lecam"
  [bce+bcr]="--loss bce --reg bcr"
  [bce+diffaugment]="--loss bce --aug diffaugment"
  [bce+ada]="--loss bce --aug ada"
)
lane() {
  for name in "$@"; do
    run="$out/$name"
    if [ ! -f "$run/summary.json" ]; then
      rm -rf "$run"
      # shellcheck disable=SC2086
      OMP_NUM_THREADS=1 ganzoo run "${common[@]}" ${recipes[$name]} -o "$run" > "$run.log" 2>&1
    fi
    ls "$run"/eval/*.json > /dev/null 2>&1 || OMP_NUM_THREADS=1 ganzoo eval "$run" -m fd -n 10000 --json > "$run.eval.json"
    echo "$name done"
  done
}
lane bce bce+gp bce+bcr bce+ada &
lane bce+r1 bce+r2 bce+lecam bce+diffaugment &
wait
