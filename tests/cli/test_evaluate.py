"""``keras-facegen evaluate``: the table's figures are the library's, errors are one line."""

import numpy as np
import pytest
from gan_fixtures import tiny_generator

from keras_facegen import cli, latent, metrics, models
from keras_facegen.data import synthetic_faces

# Backend-independent (TensorFlow pass only): the command prints the library's figures; the metrics
# themselves are tested on every backend in tests/metrics/.
pytestmark = pytest.mark.backend_independent


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("evaluate") / "generator.keras"
    tiny_generator(size=16, latent_dim=4).save(path)
    return path


def _table(output):
    rows = {}
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("| metric"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = float(cells[1])
    return rows


def test_prints_the_library_figures(generator_path, capsys):
    code = cli.main(
        ["evaluate", "--model", str(generator_path), "--num", "8", "--projections", "16"]
    )
    assert code == 0
    rows = _table(capsys.readouterr().out)
    real, _ = synthetic_faces(8, resolution=16, seed=1000)
    generator = models.load_generator(generator_path)
    fake = latent.generate_images(generator, latent.sample_latents(8, 4, "normal", seed=0))
    swd = metrics.sliced_wasserstein_distance(real, fake, num_projections=16, seed=0)
    assert rows["SWD 16x16 (x1e3)"] == pytest.approx(swd.per_level[16], abs=1e-3)
    assert rows["SWD mean (x1e3)"] == pytest.approx(swd.mean, abs=1e-3)
    assert rows["MS-SSIM generated"] == pytest.approx(
        metrics.mean_ms_ssim(fake, num_pairs=32, seed=0), abs=1e-4
    )
    assert rows["MS-SSIM real"] == pytest.approx(
        metrics.mean_ms_ssim(real, num_pairs=32, seed=0), abs=1e-4
    )


def test_folder_data(generator_path, tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(
            tmp_path / f"{i}.png"
        )
    code = cli.main(
        [
            "evaluate",
            "--model",
            str(generator_path),
            "--data",
            str(tmp_path),
            "--num",
            "4",
            "--metrics",
            "ms_ssim",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "(4 images)" in out and "MS-SSIM generated" in out and "SWD" not in out
    code = cli.main(
        ["evaluate", "--model", str(generator_path), "--data", str(tmp_path), "--num", "10"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "holds 6 images; --num 10" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metrics", "swd,is"], "unknown ['is']"),
        (["--metrics", "fid"], "needs --fid-weights"),
        (["--num", "1"], "--num 1: expected at least 2 faces"),
    ],
)
def test_errors_are_one_line(generator_path, capsys, extra, message):
    assert cli.main(["evaluate", "--model", str(generator_path), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_floor_is_real_faces_against_a_disjoint_real_set(generator_path, capsys, tmp_path):
    argv = ["evaluate", "--model", str(generator_path), "--num", "8", "--projections", "16"]
    assert cli.main([*argv, "--metrics", "swd", "--floor"]) == 0
    rows = _table(capsys.readouterr().out)
    real, _ = synthetic_faces(8, resolution=16, seed=1000)
    other, _ = synthetic_faces(8, resolution=16, seed=1001)
    assert not np.isin(real.reshape(8, -1).sum(1), other.reshape(8, -1).sum(1)).any()
    floor = metrics.sliced_wasserstein_distance(real, other, num_projections=16, seed=0)
    assert rows["SWD mean, real vs real (x1e3)"] == pytest.approx(floor.mean, abs=1e-3)
    assert rows["SWD mean, real vs real (x1e3)"] > 0  # small samples: the floor is not 0

    # A folder: the first --num images against the next --num.
    from PIL import Image

    pictures = np.random.default_rng(1).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    for i, picture in enumerate(pictures):
        Image.fromarray(picture).save(tmp_path / f"{i}.png")
    folder = ["--data", str(tmp_path), "--metrics", "swd", "--floor"]
    argv = ["evaluate", "--model", str(generator_path), "--projections", "16", *folder]
    assert cli.main([*argv, "--num", "3"]) == 0
    rows = _table(capsys.readouterr().out)
    faces = pictures.astype("float32") / 127.5 - 1.0
    floor = metrics.sliced_wasserstein_distance(faces[:3], faces[3:], num_projections=16, seed=0)
    assert rows["SWD mean, real vs real (x1e3)"] == pytest.approx(floor.mean, abs=1e-3)
    assert cli.main([*argv, "--num", "4"]) == 2
    err = capsys.readouterr().err
    assert "holds 6 images; --num 4 with --floor" in err and "at least 8" in err
