"""``train --augment`` and ``crop-faces`` run for real (active backend)."""

import json

import numpy as np
import pytest
from helpers import run_python
from PIL import Image
from skimage import data as photos

from keras_facegen import cli

# Backend-independent (TensorFlow pass only): --augment's defaults and recording in facegen.json,
# and crop-faces (OpenCV); training with ADA, and an interrupted ADA run resumed, are tested on
# every backend in tests/augment/test_gan_augment.py.
pytestmark = pytest.mark.backend_independent

TRAIN = ["train", "--preset", "face64_small", "--resolution", "32", "--num-images", "32"]
TRAIN += ["--batch-size", "8", "--checkpoint-every", "2", "--seed", "3", "--quiet"]


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def lfw_folder(tmp_path_factory):
    """100 real face crops (scikit-image's LFW sample, 25x25 grey), upscaled to 32x32 RGB PNGs."""
    folder = tmp_path_factory.mktemp("lfw")
    for i, face in enumerate(photos.lfw_subset()[:100]):
        grey = Image.fromarray((face * 255).astype(np.uint8)).resize((32, 32))
        grey.convert("RGB").save(folder / f"face{i:03d}.png")
    return folder


def _info(out):
    return json.loads((out / "facegen.json").read_text())


def test_folder_defaults_to_ada_and_resume_keeps_it(capsys, tmp_path, lfw_folder):
    out = tmp_path / "run"
    status, _, err = run(capsys, *TRAIN, "--data", lfw_folder, "--steps", "2", "--out", out)
    assert status == 0, err
    info = _info(out)
    assert (info["augment"], info["ada_target"], info["mirror"]) == ("ada", 0.6, False)
    status, _, err = run(capsys, "train", "--out", out, "--steps", "4", "--resume", "--quiet")
    assert status == 0, err
    assert _info(out)["augment"] == "ada"
    status, _, err = run(
        capsys, "train", "--out", out, "--steps", "6", "--resume", "--augment", "none"
    )
    assert status == 2 and "--augment none (the run has --augment ada)" in err
    assert len(err.strip().splitlines()) == 1


def test_synthetic_defaults_to_none_and_flags_are_recorded(capsys, tmp_path):
    status, _, err = run(capsys, *TRAIN, "--steps", "2", "--out", tmp_path / "plain")
    assert status == 0, err
    assert _info(tmp_path / "plain")["augment"] == "none"
    args = [*TRAIN, "--steps", "2", "--augment", "diffaugment", "--mirror"]
    status, _, err = run(capsys, *args, "--out", tmp_path / "diff")
    assert status == 0, err
    info = _info(tmp_path / "diff")
    assert (info["augment"], info["ada_target"], info["mirror"]) == ("diffaugment", None, True)
    status, _, err = run(
        capsys, *TRAIN, "--augment", "none", "--ada-target", "0.7", "--out", tmp_path / "bad"
    )
    assert status == 2 and "--ada-target applies to --augment ada only" in err
    with pytest.raises(SystemExit) as exit_info:  # argparse refuses it
        cli.main([*TRAIN, "--ada-target", "1.5", "--out", str(tmp_path / "bad")])
    assert exit_info.value.code == 2 and "'1.5'" in capsys.readouterr().err


def test_crop_faces_command(capsys, tmp_path):
    photos_dir = tmp_path / "photos"
    photos_dir.mkdir()
    Image.fromarray(photos.astronaut()).save(photos_dir / "astronaut.jpg")
    Image.fromarray(photos.coffee()).save(photos_dir / "coffee.jpg")
    out = tmp_path / "crops"
    status, stdout, err = run(
        capsys, "crop-faces", photos_dir, "--out", out, "--resolution", "64", "--quiet"
    )
    assert status == 0, err
    assert stdout.strip() == f"wrote 1 crop(s) to {out}; 1 photo(s) without a face"
    with Image.open(out / "astronaut.png") as crop:
        assert crop.size == (64, 64)
    status, stdout, _ = run(capsys, "crop-faces", photos_dir, "--out", out, "--quiet")
    assert "wrote 0 crop(s)" in stdout and "kept 1 already there" in stdout
    status, _, err = run(capsys, "crop-faces", tmp_path / "nowhere.jpg", "--out", out)
    assert status == 2 and "does not exist" in err


def test_crop_faces_without_opencv_is_one_line(tmp_path):
    result = run_python(
        f"""
        import contextlib, io, json, sys
        sys.modules["cv2"] = None  # as if opencv-python-headless were not installed
        from keras_facegen import cli
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = cli.main(["crop-faces", {str(tmp_path)!r}, "--out", {str(tmp_path / "o")!r}])
        print(json.dumps([status, err.getvalue()]))
        """,
        backend="jax",  # NumPy and OpenCV code: the lightest start-up (TensorFlow hidden)
        without_tensorflow=True,
    )
    status, err = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and 'pip install "keras-facegen[faces]"' in err
