"""Smoke test of examples/train_pggan.py (tiny settings), and the CLI on its output."""

import importlib.util
import json

import numpy as np
import pytest
from helpers import REPO_ROOT
from PIL import Image

from keras_facegen import cli

# Backend-independent (TensorFlow pass only): the example script is under test; train_progressive
# (the saved networks, resume) runs on every backend in tests/cli/test_train_pggan.py,
# ProgressiveGAN in tests/models/test_progressive.py.
pytestmark = pytest.mark.backend_independent


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_pggan_runs_and_writes_its_outputs(tmp_path, capsys):
    example = load_example("train_pggan")
    out = tmp_path / "run"
    args = example.parse_args(
        [
            "--num-images",
            "32",
            "--resolution",
            "16",
            "--phase-images",
            "32",
            "--num-samples",
            "4",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    result = example.main(args)
    # pggan64_small's batch is 32 up to 16x16: one step per phase, 4x4 stable + 2 x (fade, stable).
    assert result.steps == 5
    info = json.loads((out / "facegen.json").read_text())
    assert (info["preset"], info["model"], info["images_seen"]) == ("pggan64_small", "pggan", 160)
    assert info["schedule"]["fade_images"] == info["schedule"]["stable_images"] == 32
    for tag in ("04x04", "08x08", "16x16"):
        with Image.open(out / "samples" / f"stage_{tag}.png") as grid:
            assert grid.size == (2 * 16 + 3 * 2,) * 2  # every stage's grid at the final size
        assert np.load(out / "samples" / f"stage_{tag}.npy").dtype == np.uint8
    with Image.open(out / "progression.png") as progression:  # 4 faces x 3 stages
        assert progression.size == (3 * 16 + 4 * 2, 4 * 16 + 5 * 2)
        pixels = np.asarray(progression)
    # The 4x4 column is blocky: each 4x4 block of its 16x16 faces is one colour.
    first = pixels[2 : 2 + 16, 2 : 2 + 16].astype(int)
    blocks = first.reshape(4, 4, 4, 4, 3)
    assert (blocks.max(axis=(1, 3)) - blocks.min(axis=(1, 3))).max() == 0
    assert "trained 5 steps (160 images)" in capsys.readouterr().out

    # The CLI's sample, sample --rank and morph work on the run's output.
    generator = str(out / "generator.keras")
    assert (
        cli.main(["sample", "--model", generator, "--num", "4", "--out", str(tmp_path / "g.png")])
        == 0
    )
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.size == (2 * 16 + 3 * 2,) * 2
    ranked = str(tmp_path / "ranked.png")
    argv = ["sample", "--model", generator, "--rank", "--num", "8", "--top-k", "2", "--out", ranked]
    assert cli.main(argv) == 0
    gif = str(tmp_path / "m.gif")
    argv = ["morph", "--model", generator, "--from", "1", "--to", "2", "--steps", "3", "--out", gif]
    assert cli.main(argv) == 0
    with Image.open(gif) as frames:
        assert frames.n_frames == 3
