#!/usr/bin/env bash
# Regenerates the pictures of docs/gallery.md and docs/attribute_directions.md from the examples.
#
# One generator serves every picture: the README quick-start run,
#   keras-facegen train --preset face64_small --data synthetic --steps 3000 --ema 0.995
# (64x64, 16-d uniform latent, batches of 32 on 10,000 synthetic faces, seed 0; about 9 minutes
# on a shared 2-core CPU, TensorFlow backend). Its EMA generator.keras and its
# discriminator.keras are copied to $WORK/attribute_directions/. Then
# examples/attribute_directions.py trains only the attribute classifier (about 3 minutes at
# 64x64), finds the directions and draws the strips; latent_walk.py and offset_vectors.py reuse
# the networks. A second run skips GAN training when $WORK/attribute_directions already holds
# generator.keras (put your own there, with its discriminator.keras, to draw the pictures from
# it).
#
#   bash docs/make_pictures.sh                 # from the repository root
#   STEPS=200 WORK=/tmp/pics bash docs/make_pictures.sh   # a quick, low-quality pass
#
# Environment: PYTHON (default: python), KERAS_BACKEND (default: tensorflow), WORK (default:
# outputs/docs_pictures), STEPS (GAN steps, default 3000), RESOLUTION (default 64),
# IMAGES (default: docs/images; where the copies go).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
WORK=${WORK:-outputs/docs_pictures}
STEPS=${STEPS:-3000}
RESOLUTION=${RESOLUTION:-64}
IMAGES=${IMAGES:-docs/images}
DIRECTIONS="$WORK/attribute_directions"

# === 1. Train the generator (once): the README quick start ===
if [[ ! -f "$DIRECTIONS/generator.keras" ]]; then
    "$PYTHON" -m keras_facegen.cli train --preset face64_small --data synthetic \
        --steps "$STEPS" --ema 0.995 --resolution "$RESOLUTION" --seed 0 --quiet \
        --out "$WORK/quickstart"
    mkdir -p "$DIRECTIONS"
    cp "$WORK/quickstart/generator.keras" "$WORK/quickstart/discriminator.keras" "$DIRECTIONS/"
fi

# === 2. Train the attribute classifier, find the directions, draw the strips ===
# The classifier is trained again on every run, so results.json keeps its held-out errors.
"$PYTHON" examples/attribute_directions.py --scales=-3,-2,-1,0,1,2,3 --strip-rows 4 --seed 0 \
    --generator "$DIRECTIONS/generator.keras" --out-dir "$DIRECTIONS"

# === 3. A morph GIF between two faces ===
"$PYTHON" examples/latent_walk.py --model "$DIRECTIONS/generator.keras" \
    --seed-a 1 --seed-b 10 --method slerp --steps 24 --duration 90 --out-dir "$WORK/latent_walk"

# === 4. The discriminator's worst and best faces ===
"$PYTHON" examples/offset_vectors.py --model "$DIRECTIONS/generator.keras" \
    --discriminator "$DIRECTIONS/discriminator.keras" --num-samples 256 --top-k 8 \
    --num-fresh 16 --seed 0 --out-dir "$WORK/offset_vectors"

# === Copies for the docs (synthetic_faces.png belongs to the data docs and is left alone) ===
mkdir -p "$IMAGES"
cp "$DIRECTIONS/strip_yaw.png" "$IMAGES/direction_strip_yaw.png"
cp "$DIRECTIONS/strip_smile.png" "$IMAGES/direction_strip_smile.png"
cp "$DIRECTIONS/results.json" "$IMAGES/attribute_directions_results.json"
cp "$WORK/latent_walk/morph_slerp.gif" "$IMAGES/morph.gif"
cp "$WORK/latent_walk/slerp_strip.png" "$IMAGES/slerp_strip.png"
cp "$WORK/offset_vectors/ranked.png" "$IMAGES/ranked_sheet.png"
echo "pictures written to $IMAGES"
