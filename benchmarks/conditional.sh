#!/usr/bin/env bash
# Unconditional vs class-conditional (projection D) vs ACGAN DCGAN on Fashion-MNIST: 28x28,
# batch 64, fp32, EPOCHS epochs (default 5), scored by `ganzoo eval -m fd -n 10000` (the
# ganzoo-fmnist domain extractor, 10k samples vs the test split; conditional runs add intra-class
# FD and the domain classifier's accuracy on generated images). The three recipes train side by
# side, one thread each. Usage: [EPOCHS=5] bash benchmarks/conditional.sh [OUT_DIR] [SEEDS...]
set -euo pipefail
out=${1:-bench/conditional}
shift || true
seeds=("${@:-0}")
epochs=${EPOCHS:-5}
mkdir -p "$out"
declare -A recipes=(
  [unconditional]="--preset dcgan"
  [projection]="--preset cgan-pd"
  [acgan]="--preset acgan"
)
lane() {
  local name=$1
  for seed in "${seeds[@]}"; do
    run="$out/$name-e$epochs-s$seed"
    shorter="$out/$name-e${CONTINUE_FROM:-none}-s$seed"
    if [ ! -f "$run/summary.json" ] && [ -f "$shorter/summary.json" ]; then
      rm -rf "$run" && cp -r "$shorter" "$run" && rm -rf "$run/summary.json" "$run/eval"
      OMP_NUM_THREADS=1 ganzoo run --resume "$run" --epochs "$epochs" > "$run.log" 2>&1
    elif [ ! -f "$run/summary.json" ]; then
      rm -rf "$run"
      # shellcheck disable=SC2086
      OMP_NUM_THREADS=1 ganzoo run dcgan ${recipes[$name]} --epochs "$epochs" --batch-size 64 \
        --seed "$seed" --set log.checkpoint_every=5000 --set log.sample_every=1000 -o "$run" \
        > "$run.log" 2>&1
    fi
    [ -s "$run.eval.json" ] || OMP_NUM_THREADS=1 ganzoo eval "$run" -m fd -n 10000 --json > "$run.eval.json"
    echo "$name seed $seed done"
  done
}
for name in unconditional projection acgan; do
  lane "$name" &
done
wait
