#!/usr/bin/env bash
# The documented runs of the quality studies (docs/benchmarks.md) on a 2-core CPU, TensorFlow
# backend (the fastest on CPU here): the face64_small GANs train for the README quick start's
# 3,000 steps. About 80 minutes with two studies at a time (PARALLEL=0: one at a time).
# Usage: bash benchmarks/quality/run_all.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}" TF_CPP_MIN_LOG_LEVEL=2
out=../../docs/benchmarks
cache="${CACHE:-/tmp/keras_facegen_quality}"
run() { echo "=== $(date +%T) $*"; nice -n 10 python "$@" --out "$out" --cache "$cache"; }
matching() { run matching.py --preset face64_small --steps 3000 --eval-every 500 --num-eval 256; }
# One face64_small GAN (trained once, cached) serves the next three studies.
shared=(--steps 3000 --swd-repeats 1)
trained() {
    run coverage.py "${shared[@]}" --num-samples 512
    run ranking.py "${shared[@]}" --num-samples 512 --top-k 64
    run offsets.py "${shared[@]}" --num-rank 512 --top-k 32 --num-test 128 --scales 1,2
}
if [[ "${PARALLEL:-1}" == 1 ]]; then
    matching &
    pid=$!
    trained
    wait "$pid"
else
    matching
    trained
fi
run recipes.py --images-shown 16000 --num-eval 256 --swd-repeats 1
# The quick start's budget (96,000 images; ~25 min, the Keras arm most of it), PGGAN left out.
tmp=$(mktemp -d)
echo "=== $(date +%T) recipes.py --images-shown 96000"
nice -n 10 python recipes.py --images-shown 96000 --num-eval 256 --swd-repeats 1 --skip pggan \
    --out "$tmp" --cache "$cache"
cp "$tmp/recipes.md" "$out/recipes_96000.md"
echo "=== $(date +%T) done"
