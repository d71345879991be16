#!/usr/bin/env bash
# The quality study in lanes: each quoted argument after OUT is one lane, a space-separated list of
# recipes of benchmarks/configs/fashion_mnist_quality.toml trained one after another with one
# thread; lanes run side by side. Then one table over every run of OUT.
#   bash benchmarks/quality.sh OUT "plain ema" "linear" [...]      (SEEDS=0,1,2 for other seeds)
# BENCH_ARGS are added to every `ganzoo bench` (e.g. "--steps 100"); GANZOO is the command to call;
# CONFIG is another config of recipes (e.g. benchmarks/configs/fashion_mnist_quality_lsgan.toml).
set -euo pipefail
out=${1:?usage: quality.sh OUT "RECIPE ..." ["RECIPE ..." ...]}
shift
config=${CONFIG:-$(dirname "$0")/configs/fashion_mnist_quality.toml}
seeds=${SEEDS:-0}
ganzoo=${GANZOO:-ganzoo}
read -r -a extra <<< "${BENCH_ARGS:-}"
i=0
pids=()
for lane in "$@"; do
  i=$((i + 1))
  mkdir -p "$out"
  OMP_NUM_THREADS=1 $ganzoo bench -c "$config" --seeds "$seeds" --recipes "${lane// /,}" \
    "${extra[@]}" -o "$out/lane$i-${seeds//,/-}" > "$out/lane$i-${seeds//,/-}.log" 2>&1 &
  pids+=($!)
done
i=0
for pid in "${pids[@]}"; do
  i=$((i + 1))
  wait "$pid" || { echo "lane $i failed: see $out/lane$i-${seeds//,/-}.log" >&2; exit 1; }
done
$ganzoo bench -c "$config" --from "$out"/lane*/runs/* "${extra[@]}" -o "$out/table"
