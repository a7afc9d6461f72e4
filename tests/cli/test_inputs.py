"""Bad input is refused before anything is created, in one line that says what to change."""

import pytest
from PIL import Image

from keras_facegen import cli, models
from keras_facegen.cli import train

# Backend-independent (TensorFlow pass only): argument checking and one-line errors before any
# work; the shipped model's loading and generation are tested on every backend in
# tests/models/test_pretrained.py.
pytestmark = pytest.mark.backend_independent

TRAIN = ["train", "--preset", "face64_small", "--resolution", "32", "--num-images", "64"]
TRAIN += ["--batch-size", "8", "--steps", "1", "--quiet"]


def run(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(err):
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("keras-facegen: error: ")


# === Item 14: nothing is left behind by a refused command ===


def _empty(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return ["--data", str(folder)]


def _not_images(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(3):
        (folder / f"note{i}.txt").write_text("not a picture")
    return ["--data", str(folder)]


def test_a_missing_data_folder_is_named_by_its_flag(capsys, tmp_path):
    status, _, err = run(capsys, *TRAIN, "--data", str(tmp_path / "nosuch"), "--out", str(tmp_path))
    assert status == 2 and one_line_error(err)
    assert "--data" in err and "nosuch" in err, err


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("empty data folder", _empty),
        ("missing data folder", lambda tmp_path: ["--data", str(tmp_path / "nosuch")]),
        ("data of non-images", _not_images),
        ("unknown preset", lambda tmp_path: ["--preset", "nosuch"]),
        ("pggan at a non-power of two", lambda _: ["--model", "pggan", "--resolution", "48"]),
    ],
)
def test_train_refusals_create_no_run_folder(capsys, tmp_path, case, extra):
    out = tmp_path / "new" / "run"
    options = extra(tmp_path)
    argv = list(TRAIN)
    if "--model" in options:  # pggan takes neither --steps nor --batch-size
        argv = ["train", "--num-images", "64", "--quiet"]
    status, _, err = run(capsys, *argv, *options, "--out", str(out))
    assert status == 2 and one_line_error(err), (case, err)
    assert not (tmp_path / "new").exists(), case


def test_sample_with_a_missing_model_creates_no_folder(capsys, tmp_path):
    out = tmp_path / "new" / "sub" / "g.png"
    status, _, err = run(
        capsys, "sample", "--model", str(tmp_path / "none.keras"), "--out", str(out)
    )
    assert status == 2 and "no model file" in err
    assert not (tmp_path / "new").exists()


def test_morph_with_a_bad_code_creates_no_folder(capsys, tmp_path):
    out = tmp_path / "d" / "m.gif"
    argv = ["morph", "--model", "face64_synthetic", "--from", "zz", "--to", "seed:1"]
    status, _, err = run(capsys, *argv, "--out", str(out))
    assert status == 2 and "--from='zz'" in err
    assert not (tmp_path / "d").exists()


def test_a_good_command_still_creates_the_missing_folders(capsys, tmp_path):
    out = tmp_path / "new" / "sub" / "g.png"
    argv = ["sample", "--model", "face64_synthetic", "--num", "4", "--out", str(out)]
    status, stdout, _ = run(capsys, *argv)
    assert status == 0 and stdout.strip() == f"wrote {out}"
    width, height = Image.open(out).size
    assert 128 <= width < 160 and 128 <= height < 160  # 2 x 2 faces of 64 x 64 (and padding)


# === Item 15: one-line errors that name what is wrong ===


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["train", "--steps", "0"], "--steps"),
        (["train", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_argument_errors_are_one_line_without_usage(capsys, argv, argument):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert one_line_error(err) and f"argument {argument}:" in err and "usage:" not in err


def test_a_text_file_named_keras_is_not_reported_missing(capsys, tmp_path):
    fake = tmp_path / "generator.keras"
    fake.write_text("hello")
    status, _, err = run(capsys, "sample", "--model", str(fake), "--out", str(tmp_path / "g.png"))
    assert status == 2 and one_line_error(err)
    assert "not a zip archive" in err and "File not found" not in err


def test_code_encode_out_of_range_points_to_the_clip_flag(capsys):
    status, _, err = run(capsys, "code", "encode", "1.5", "-2")
    assert status == 2 and one_line_error(err)
    assert "--clip" in err and "clip=True" not in err and "1.5, -2" in err
    status, out, _ = run(capsys, "code", "encode", "--clip", "1.5", "-2", "0")
    # Clipped to 1 and -1: bytes 255 and 0; 0 -> 128.
    assert status == 0 and out.strip() == "ff0080"


# === Item 16: help that names what exists ===


def test_train_help_lists_every_preset_by_family(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "progressive GAN" in text and "--model pggan" in text
    for name in models.preset_names():
        assert name in text, name
    families = {}
    for name, preset in models.PRESETS.items():
        families.setdefault(preset["family"], []).append(name)
    assert {k: list(v) for k, v in train.PRESETS_BY_FAMILY.items()} == families


def test_quickstart_states_the_grid_size_train_writes():
    import inspect

    from helpers import REPO_ROOT

    from keras_facegen.training import train as train_function

    grid = inspect.signature(train_function).parameters["num_samples"].default
    assert grid == 64
    text = (REPO_ROOT / "docs" / "guides" / "quickstart.md").read_text()
    assert f"grids of the same {grid} latents" in text
