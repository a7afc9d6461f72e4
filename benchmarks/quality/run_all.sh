#!/usr/bin/env bash
# The documented runs of the quality studies (docs/benchmarks.md): short runs on a shared
# 2-core CPU, TensorFlow backend (the fastest on CPU here). Scale --steps / --images-shown up
# on a real machine. Usage: bash benchmarks/quality/run_all.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}" TF_CPP_MIN_LOG_LEVEL=2
out=../../docs/benchmarks
cache="${CACHE:-/tmp/keras_facegen_quality}"
run() { echo "=== $(date +%T) $*"; nice -n 10 python "$@" --out "$out" --cache "$cache"; }
run matching.py --preset face64_small --steps 600 --eval-every 150 --num-eval 256
# One face64_small GAN (trained once, cached) serves the next three studies.
shared=(--steps 800 --classifier-images 3000 --classifier-epochs 6 --swd-repeats 1)
run ranking.py "${shared[@]}" --num-samples 512 --top-k 64
run offsets.py "${shared[@]}" --num-rank 512 --top-k 32 --num-test 128 --scales 1,2
run coverage.py "${shared[@]}" --num-samples 512
# The PGGAN arm of this run was stopped after 17 min (docs/benchmarks.md); `--skip pggan` to omit.
run recipes.py --images-shown 6400 --num-eval 128 --swd-repeats 1
echo "=== $(date +%T) done"
