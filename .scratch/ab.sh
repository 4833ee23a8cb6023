#!/bin/bash
# usage: ab.sh arch steps rounds
arch=$1; steps=${2:-4}; rounds=${3:-3}
cd /work/main && node bench/step.mjs --arch resnet20 --steps 1 --warmup 0 --no-torch --no-cpu >/dev/null 2>&1; cp /tmp/regbench-bench/step-runner.js /tmp/regbench-bench/new-runner.js
cd /tmp/regbench-bench
for r in $(seq $rounds); do
  for v in base new; do
    REGBENCH_NATIVE_ADDON=/tmp/ab/$v.node node $v-runner.js $arch 128 $steps wasm+native 1 '' 2>/dev/null | tail -1 | python3 -c "import json,sys; d=json.load(sys.stdin); print('$v', round(d['ms']), round(d['minMs']))"
  done
done
