#!/usr/bin/env bash
# The torch backend on a GPU machine, in one go (or its CPU-only part: --device cpu, which CI runs).
# Needs only Node 20+, a C++ compiler and a PyTorch install (with CUDA for --device cuda): no npm,
# no apt, no download. It runs from a built dist/ (with dist/torch-backend/, the addon's build
# script and sources) and templates/ beside it:
#
#   bash bench/gpu-check.sh [--device cuda|cuda:N|cpu] [--python PY] [--benches a,b] [--batch N]
#                           [--steps N] [--data-dir DIR] [--budget quick|smoke]
#
# 1. builds the addon against that PyTorch (per-user cache, ~/.cache/regbench/torch-backend);
# 2. runs the torch backend's kernel tests (dist/test/torch-backend.test.js) on the device;
# 3. `regbench parity --backend torch --device D` on each benchmark (both engines on D);
# 4. times a training step of each architecture on D for both engines (batch 128 by default);
# 5. a run of resnet20-cifar10 on D (budget quick on CUDA; smoke on the CPU), on --data-dir or
#    REGBENCH_DATA, else on synthetic CIFAR-10 written to a temp dir (said so in the table);
# then prints one table. Exit 0 when every step passed, 1 otherwise.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# From the repository (bench/gpu-check.sh) or from a copy of dist/ (dist/bench/gpu-check.sh).
if [ -f "$root/dist/cli.js" ]; then dist="$root/dist"; elif [ -f "$root/cli.js" ]; then dist="$root"; else echo "gpu-check: no built dist/ beside $here (run npm run build where npm is, and copy dist/ and templates/)"; exit 2; fi

device=cuda
python="${REGBENCH_PYTHON:-python3}"
benches="resnet20-cifar10,resnet56-cifar100,resnet110-cifar100,vgg16bn-cifar100,mobilenetv2-fmnist"
batch=128
steps=3
data_dir="${REGBENCH_DATA:-}"
budget=""
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --benches) benches="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    *) echo "gpu-check: unknown option $1"; exit 2 ;;
  esac
done
[ -n "$budget" ] || { case "$device" in cuda*) budget=quick ;; *) budget=smoke ;; esac; }

rows=()
failed=0
row() { rows+=("| $1 | $2 | $3 |"); [ "$2" = "ok" ] || [ "$2" = "info" ] || failed=1; }
t_start=$(date +%s)

# 0. What the machine has.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then echo "gpu-check: Node 20 or later needed (found $(node --version 2>/dev/null || echo none))"; exit 2; fi
torch_line=$("$python" -c 'import torch; print(torch.__version__, int(torch.cuda.is_available()), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")' 2>/dev/null) || { echo "gpu-check: $python cannot import torch (give --python PY)"; exit 2; }
read -r torch_version cuda_ok gpu_name <<<"$torch_line"
case "$device" in cuda*) [ "$cuda_ok" = 1 ] || { echo "gpu-check: --device $device but PyTorch $torch_version of $python has no CUDA device"; exit 2; } ;; esac
gpu_note=""; [ "$gpu_name" = "-" ] || gpu_note=" ($gpu_name)"
row "machine" info "node $(node --version), PyTorch $torch_version, device $device$gpu_note"

# 1. Build the addon against this PyTorch.
t0=$(date +%s)
build=$(REGBENCH_LIBTORCH= node "$dist/torch-backend/build-torch-backend.mjs" --python "$python" --src "$dist/torch-backend/src" --out "$dist/native" 2>&1 | tail -1)
if [ -f "$dist/native/regbench_torch.node" ]; then row "build" ok "$build ($(( $(date +%s) - t0 )) s)"; else row "build" FAIL "$build"; fi
export REGBENCH_TORCH_ADDON="$dist/native/regbench_torch.node" REGBENCH_PYTHON="$python"

# 2. Kernel tests on the device.
t0=$(date +%s)
if [ -f "$dist/test/torch-backend.test.js" ]; then
  # env -u: run from a test, the child would report to the parent's test runner instead of printing.
  out=$(env -u NODE_TEST_CONTEXT REGBENCH_TEST_DEVICE="$device" REGBENCH_EXPECT_TORCH=1 node --test "$dist/test/torch-backend.test.js" 2>&1)
  pass=$(grep -E '^# pass' <<<"$out" | awk '{print $3}'); fail=$(grep -E '^# fail' <<<"$out" | awk '{print $3}')
  if [ "${fail:-1}" = 0 ]; then row "kernel tests" ok "${pass} passed ($(( $(date +%s) - t0 )) s)"; else row "kernel tests" FAIL "${pass:-0} passed, ${fail:-?} failed: $(grep -m1 -E 'error:' <<<"$out" | sed 's/^ *//')"; fi
else
  row "kernel tests" FAIL "no dist/test/torch-backend.test.js"
fi

# 3. Parity, both engines on the device.
IFS=, read -r -a bench_list <<<"$benches"
for b in "${bench_list[@]}"; do
  t0=$(date +%s)
  json=$(node "$dist/cli.js" parity --bench "$b" --backend torch --device "$device" --python "$python" --json 2>/dev/null | tail -1)
  summary=$(node -e 'const r = JSON.parse(process.argv[1]); const w = r.checks.map((c) => c.id + " " + Number(c.error).toExponential(1) + (c.pass ? "" : " > " + c.tolerance)).join(", "); console.log((r.pass ? "ok" : "FAIL") + "\t" + w);' "$json" 2>/dev/null || printf 'FAIL\tno report')
  row "parity $b" "${summary%%$'\t'*}" "${summary#*$'\t'} ($(( $(date +%s) - t0 )) s)"
done

# 4. Training step times, TypeScript (torch backend) against PyTorch, on the device.
for b in "${bench_list[@]}"; do
  arch="${b%%-*}"
  ts=$(node "$dist/bench/gpu-step.js" "$arch" "$batch" "$steps" "$device" 1 2>&1 | tail -1)
  py=$("$python" "$dist/bench/torch_step.py" --arch "$arch" --batch "$batch" --steps "$steps" --warmup 1 --device "$device" 2>&1 | tail -1)
  line=$(node -e 'const [t, p] = process.argv.slice(1).map((s) => JSON.parse(s)); const fb = Object.keys(t.fallback).length ? " CPU fallback " + JSON.stringify(t.fallback) : ""; console.log("ok\t" + t.ms.toFixed(0) + " ms vs PyTorch " + p.torchMs.toFixed(0) + " ms, ratio " + (t.ms / p.torchMs).toFixed(2) + ", peak RSS " + t.peakRssMb + " / " + p.peakRssMb + " MB" + fb);' "$ts" "$py" 2>/dev/null || printf 'FAIL\t%s | %s' "$ts" "$py")
  row "step $arch, batch $batch" "${line%%$'\t'*}" "${line#*$'\t'}"
done

# 5. A run on the device.
t0=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/regbench-gpu-check.XXXXXX")
data_note=""
if [ -z "$data_dir" ]; then
  data_dir="$work/data"; data_note=", synthetic CIFAR-10"
  node "$dist/cli.js" data synth --dataset cifar10 --out "$data_dir" --train 2560 --test 512 >/dev/null 2>&1
fi
templates="$root/templates"; [ -d "$templates" ] || templates="$root/../templates"
run_out=$(node "$dist/cli.js" run "$templates/regularizers/blank.ts" --bench resnet20-cifar10 --budget "$budget" --backend torch --device "$device" --data-dir "$data_dir" --workspace "$work" --json 2>/dev/null)
result=$(node -e 'const evs = process.argv[1].trim().split("\n").filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } }); const end = evs.find((e) => e.type === "run-end"); if (!end) { console.log("FAIL\tno run-end event"); process.exit(0); } console.log((end.status === "completed" ? "ok" : "FAIL") + "\t" + end.status + ", best test accuracy " + (end.bestTestAcc ?? end.result?.bestTestAcc ?? "?") + " %");' "$run_out" 2>/dev/null || printf 'FAIL\tno output')
row "run resnet20-cifar10 ($budget$data_note)" "${result%%$'\t'*}" "${result#*$'\t'} ($(( $(date +%s) - t0 )) s)"
rm -rf "$work"

echo
echo "gpu-check on $device ($(( $(date +%s) - t_start )) s)"
echo "| check | result | detail |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
exit $failed
