#!/usr/bin/env bash
# The documented runs of the quality studies (docs/benchmarks.md): short runs on a shared CPU.
# Usage: bash benchmarks/quality/run_all.sh [extra flags for every study]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}" TF_CPP_MIN_LOG_LEVEL=2 OMP_NUM_THREADS=2
out=../../docs/benchmarks
cache="${CACHE:-/tmp/keras_facegen_quality}"
run() { echo "=== $(date +%T) $*"; nice -n 10 python "$@" --out "$out" --cache "$cache"; }
run matching.py --preset face64_small --steps 600 --eval-every 150 --num-eval 256
run ranking.py --steps 1200
run offsets.py --steps 1200
run coverage.py --steps 1200
run recipes.py --images-shown 12800
run matching.py --preset face96 --resolution 48 --batch-size 32 --steps 90 --eval-every 30 \
  --num-eval 256
echo "=== $(date +%T) done"
