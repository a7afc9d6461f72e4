"""The ``keras-facegen`` command: every subcommand run for real on the active backend."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import keras_facegen
from keras_facegen import cli, latent

TRAIN = ["train", "--preset", "face64_small", "--resolution", "32", "--num-images", "64"]
TRAIN += ["--batch-size", "8", "--checkpoint-every", "2", "--seed", "3", "--quiet"]


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"keras-facegen {keras_facegen.__version__}"
    status, out, _ = run(capsys)
    assert status == 0
    for command in ("train", "sample", "morph", "code"):
        assert command in out


def test_console_script_is_installed():
    # The script pip wrote into this interpreter's environment (the venv's bin/).
    script = Path(sys.executable).parent / "keras-facegen"
    assert script.is_file(), f"{script} missing: is the package installed (pip install -e .)?"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.strip() == f"keras-facegen {keras_facegen.__version__}"


def test_code_encode_decode_average(capsys):
    status, out, _ = run(capsys, "code", "encode", "-1", "0", "1", "0.5")
    assert status == 0
    assert out.strip() == "0080ffbf"
    status, out, _ = run(capsys, "code", "decode", "0080FFbf")
    # The CLI prints six decimals.
    expected = [-1.0, 128 / 127.5 - 1, 1.0, 191 / 127.5 - 1]
    np.testing.assert_allclose(json.loads(out), expected, rtol=0, atol=5e-7)
    status, out, _ = run(capsys, "code", "average", "00ff", "0100")
    # Byte-wise means 0.5 -> 0 and 127.5 -> 127, truncated toward zero.
    assert out.strip() == "007f"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["code", "decode", "0g"], "non-hex"),
        (["code", "decode", "abc"], "has 3 digits"),
        (["code", "encode", "1.5"], "[-1, 1]"),
        (["code", "average", "00ff", "00"], "same length"),
    ],
)
def test_code_bad_input_exits_2_with_message(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert message in err


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """Four steps of the CLI's training on tiny synthetic faces (two checkpoint epochs)."""
    out = tmp_path_factory.mktemp("run") / "full"
    assert cli.main([*TRAIN, "--steps", "5", "--out", str(out)]) == 0
    return out


def test_train_writes_models_grids_checkpoint_and_info(trained_run):
    info = json.loads((trained_run / "facegen.json").read_text())
    assert info["steps"] == 5
    assert info["latent_dim"] == 16
    assert info["latent_distribution"] == "uniform"
    assert info["resolution"] == 32
    assert info["preset"] == "face64_small"
    assert (trained_run / "checkpoint" / "checkpoint.npz").is_file()
    for name in ("generator.keras", "discriminator.keras"):
        assert (trained_run / name).stat().st_size > 1000
    grids = sorted(p.name for p in (trained_run / "samples").glob("*.png"))
    assert grids == ["step_0000002.png", "step_0000004.png"]
    with Image.open(trained_run / "samples.png") as grid:
        assert grid.size == (8 * 32 + 9 * 2, 8 * 32 + 9 * 2)


def test_resume_matches_uninterrupted_run(trained_run, tmp_path):
    import keras

    # Three steps, then resume to five: the same weights as five steps in one go.
    out = tmp_path / "resumed"
    assert cli.main([*TRAIN, "--steps", "3", "--out", str(out)]) == 0
    assert cli.main([*TRAIN, "--steps", "5", "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "facegen.json").read_text())["steps"] == 5
    for name in ("generator.keras", "discriminator.keras"):
        full = keras.saving.load_model(trained_run / name, compile=False)
        resumed = keras.saving.load_model(out / name, compile=False)
        for a, b in zip(full.get_weights(), resumed.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_resume_without_checkpoint_is_a_clear_error(capsys, tmp_path):
    status, _, err = run(capsys, *TRAIN, "--steps", "2", "--out", str(tmp_path), "--resume")
    assert status == 2
    assert "no checkpoint" in err and str(tmp_path) in err


def test_sample_grid_and_ranked_sheet(capsys, trained_run, tmp_path):
    model = str(trained_run / "generator.keras")
    status, out, _ = run(
        capsys,
        "sample",
        "--model",
        model,
        "--num",
        "6",
        "--rows",
        "2",
        "--out",
        str(tmp_path / "grid.png"),
    )
    assert status == 0 and "grid.png" in out
    with Image.open(tmp_path / "grid.png") as grid:
        assert grid.size == (3 * 32 + 4 * 2, 2 * 32 + 3 * 2)
    status, out, _ = run(
        capsys,
        "sample",
        "--model",
        model,
        "--num",
        "12",
        "--rank",
        "--top-k",
        "4",
        "--out",
        str(tmp_path / "ranked.png"),
    )
    assert status == 0
    lowest = [float(v) for v in out.splitlines()[0].split(":")[1].split(",")]
    highest = [float(v) for v in out.splitlines()[1].split(":")[1].split(",")]
    assert lowest == sorted(lowest) and highest == sorted(highest, reverse=True)
    assert max(lowest) <= min(highest)
    with Image.open(tmp_path / "ranked.png") as sheet:
        assert sheet.size == (4 * 32 + 5 * 2, 2 * 32 + 3 * 2)


def test_morph_gif_between_code_and_seed(capsys, trained_run, tmp_path):
    code = latent.encode_hex(np.linspace(-1, 1, 16))
    out_path = tmp_path / "morph.gif"
    status, out, _ = run(
        capsys,
        "morph",
        "--model",
        str(trained_run / "generator.keras"),
        "--from",
        code,
        "--to",
        "7",
        "--steps",
        "4",
        "--method",
        "slerp",
        "--out",
        str(out_path),
    )
    assert status == 0 and "4 frames" in out
    with Image.open(out_path) as gif:
        assert gif.n_frames >= 2  # Pillow merges identical consecutive frames
        assert gif.size == (32, 32)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "--model", "missing.keras"], "no model file"),
        (["morph", "--model", "missing.keras", "--from", "1", "--to", "2"], "no model file"),
    ],
)
def test_missing_model_is_a_clear_error(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 2 and message in err and "missing.keras" in err


def test_morph_rejects_bad_code(capsys, trained_run, tmp_path):
    status, _, err = run(
        capsys,
        "morph",
        "--model",
        str(trained_run / "generator.keras"),
        "--from",
        "zz",
        "--to",
        "1",
        "--out",
        str(tmp_path / "m.gif"),
    )
    assert status == 2 and "--from='zz'" in err


def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "keras_facegen.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_train_from_an_image_folder(capsys, tmp_path):
    folder = tmp_path / "faces" / "nested"
    folder.mkdir(parents=True)
    colours = np.random.default_rng(0).integers(0, 256, (10, 3), dtype=np.uint8)
    for i, colour in enumerate(colours):
        Image.fromarray(np.tile(colour, (40, 48, 1))).save(folder / f"face{i}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="broken.jpg"):
        status, _, _ = run(
            capsys, *TRAIN, "--data", str(tmp_path / "faces"), "--steps", "1", "--out", str(out)
        )
    assert status == 0
    info = json.loads((out / "facegen.json").read_text())
    assert info["data"] == str(tmp_path / "faces") and info["steps"] == 1


def test_train_from_an_empty_folder_is_a_clear_error(capsys, tmp_path):
    status, _, err = run(
        capsys, *TRAIN, "--data", str(tmp_path), "--steps", "1", "--out", str(tmp_path / "run")
    )
    assert status == 2 and str(tmp_path) in err
