#!/usr/bin/env bash
# Regenerates the pictures of docs/gallery.md and docs/attribute_directions.md from the examples.
#
# One training run serves every picture: examples/attribute_directions.py trains a small face
# DCGAN on the built-in synthetic faces (about 15 minutes for 3000 steps at 48x48 on a 2-core
# CPU, TensorFlow backend), saves generator.keras / discriminator.keras / classifier.keras and
# draws the attribute-direction strips; latent_walk.py and offset_vectors.py reuse the networks.
# A second run skips GAN training when $WORK already holds generator.keras.
#
#   bash docs/make_pictures.sh                 # from the repository root
#   STEPS=200 WORK=/tmp/pics bash docs/make_pictures.sh   # a quick, low-quality pass
#
# Environment: PYTHON (default: python), KERAS_BACKEND (default: tensorflow), WORK (default:
# outputs/docs_pictures), STEPS (GAN steps, default 3000), RESOLUTION (default 48),
# IMAGES (default: docs/images; where the copies go).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
export KERAS_BACKEND=${KERAS_BACKEND:-tensorflow}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
WORK=${WORK:-outputs/docs_pictures}
STEPS=${STEPS:-3000}
RESOLUTION=${RESOLUTION:-48}
IMAGES=${IMAGES:-docs/images}
DIRECTIONS="$WORK/attribute_directions"

# === 1. Train (once), find the directions, draw the strips ===
common=(--resolution "$RESOLUTION" --scales=-3,-2,-1,0,1,2,3 --strip-rows 4 --seed 0
    --out-dir "$DIRECTIONS")
if [[ -f "$DIRECTIONS/generator.keras" ]]; then
    # The classifier is trained again (~4 min), so results.json keeps its held-out errors.
    "$PYTHON" examples/attribute_directions.py "${common[@]}" \
        --generator "$DIRECTIONS/generator.keras"
else
    "$PYTHON" examples/attribute_directions.py "${common[@]}" --steps "$STEPS"
fi

# === 2. A morph GIF between two faces ===
"$PYTHON" examples/latent_walk.py --model "$DIRECTIONS/generator.keras" \
    --seed-a 1 --seed-b 10 --method slerp --steps 24 --duration 90 --out-dir "$WORK/latent_walk"

# === 3. The discriminator's worst and best faces ===
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
