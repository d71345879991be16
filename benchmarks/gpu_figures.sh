#!/usr/bin/env bash
# Every GPU figure benchmarks/README.md asks for, in one run of a few minutes on one GPU: the
# CUDA/Triton tests, the fused LeakyReLU kernel's bandwidth against a copy, the training-step table
# (fp32 eager vs bf16 + compile + channels-last + fused kernel, CUDA graphs, --fast; ganzoo vs the
# hand loop) at 28/32/64, a profile of the fastest step, and a 1-GPU DDP/NCCL run.
# Each part has its own time limit and log; a failing part does not stop the others.
# Usage: [PARTS="speed profile"] bash benchmarks/gpu_figures.sh [OUT_DIR]   (device tool: $OUT)
# Worst case (every limit reached) is over 10 minutes: split it over two calls with PARTS.
set -uo pipefail
out=${1:-gpu-figures}
mkdir -p "$out"
py=${PYTHON:-python}
part() {  # part NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  case " ${PARTS:-all} " in *" all "* | *" $name "*) ;; *) return 0 ;; esac
  echo "== $name: $*"
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  echo "   exit $? after $((SECONDS - start)) s; last lines:"
  tail -n 20 "$out/$name.log" | sed 's/^/   /'
}
part gpu 20 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
part cuda-tests 150 "$py" -m pytest -q -x -p no:cacheprovider tests/test_fused_leaky_relu.py \
  tests/test_step.py tests/test_fast.py
part kernel-fp32 60 "$py" benchmarks/kernel_leaky_relu.py --device cuda --repeats 20
part kernel-bf16 60 "$py" benchmarks/kernel_leaky_relu.py --device cuda --repeats 20 --dtype bfloat16
part speed 300 "$py" benchmarks/train_speed.py --device cuda --sizes 28,32,64 \
  --modes eager,compile+bf16+cl,compile+bf16+cudagraphs --rounds 3 --warmup 3 \
  --min-round-seconds 0.5 --patience 5 --json "$out/train_speed_gpu.json"
part profile 60 "$py" benchmarks/profile_step.py --device cuda --size 64 --mode fast --steps 20 \
  --json "$out/profile_gpu.json"
part ddp 90 "$py" -m ganzoo run dcgan --dataset fake --set data.params.length=2048 \
  --set data.image_size=32 --steps 50 --device cuda --nproc-per-node 1 --fast -o "$out/ddp-run"
