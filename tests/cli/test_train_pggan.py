"""``keras-facegen train --model pggan``: the run folder, resume, and one-line errors."""

import json

import keras
import numpy as np
import pytest

from keras_facegen import cli


# Tests marked backend_independent run in the TensorFlow pass only: option checking. The pggan run
# itself (train_progressive, the saved networks, resume) runs on every backend.
def _train(out, *extra):
    argv = ["train", "--model", "pggan", "--resolution", "16", "--phase-images", "32"]
    argv += ["--num-images", "32", "--quiet", "--out", str(out), *extra]
    return cli.main(argv)


def test_train_pggan_writes_final_resolution_networks(tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(out) == 0
    assert "trained 5 steps (160 images, 4x4 -> 16x16)" in capsys.readouterr().out
    generator = keras.saving.load_model(out / "generator.keras", compile=False)
    discriminator = keras.saving.load_model(out / "discriminator.keras", compile=False)
    assert generator.output_shape == (None, 16, 16, 3)
    assert discriminator.input_shape == (None, 16, 16, 3)
    faces = keras.ops.convert_to_numpy(generator(np.zeros((2, 64), "float32")))
    assert faces.shape == (2, 16, 16, 3) and np.isfinite(faces).all()
    info = json.loads((out / "facegen.json").read_text())
    assert (info["model"], info["preset"], info["phase_images"]) == ("pggan", "pggan64_small", 32)
    assert (out / "progression.png").is_file()
    # A finished run resumes to nothing new.
    assert cli.main(["train", "--resume", "--out", str(out), "--quiet"]) == 0
    assert "trained 5 steps (160 images" in capsys.readouterr().out


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--resolution", "12"], "resolution must be a power of two"),
        (["--steps", "5"], "--steps does not apply to --model pggan"),
        (["--preset", "face96"], "--model pggan needs a progressive preset"),
    ],
)
def test_bad_pggan_options_are_one_line_errors(tmp_path, capsys, extra, message):
    assert _train(tmp_path / "run", *extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.backend_independent
def test_phase_images_needs_pggan(tmp_path, capsys):
    argv = ["train", "--phase-images", "5", "--out", str(tmp_path / "r"), "--quiet"]
    assert cli.main(argv) == 2
    assert "--phase-images applies to --model pggan only" in capsys.readouterr().err


@pytest.mark.once
def test_throughput_benchmark_quick_run(capsys):
    from helpers import load_benchmark

    # The parent runs here (TensorFlow is already imported); each side in its own worker process.
    returned = load_benchmark("pggan_throughput").main(["--quick", "--json"])
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["results"]
    ((backend, stages),) = report.items()
    assert backend == keras.backend.backend()
    assert sorted(stages, key=int) == ["4", "8"]
    assert list(returned[backend]) == [4, 8]
    for row in stages.values():
        assert row["progressive_images_per_s"] > 0 and row["reference_images_per_s"] > 0
        assert row["ratio"] == pytest.approx(
            row["progressive_images_per_s"] / row["reference_images_per_s"], rel=0.01
        )
